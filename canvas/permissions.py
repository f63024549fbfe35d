"""Who may do what with a workflow: its owner, and the users and groups it is shared with.

Anyone else is told the workflow does not exist (404), never that it is private.
"""

from django.db.models import Q
from django.http import Http404

from canvas.models import LEVELS, Permission, Workflow


class Forbidden(Exception):
    """Visible, but this user may not do that (403)."""


def level(user, workflow: Workflow) -> int:
    if user.is_superuser or workflow.owner_id == user.pk:
        return LEVELS[Permission.EDIT]
    shares = workflow.shares.filter(Q(user=user) | Q(group__in=user.groups.all()))
    return max((LEVELS[Permission(s.permission)] for s in shares), default=0)


def may(user, workflow: Workflow, need: str) -> bool:
    """Whether the user may view, run or edit the workflow."""
    return level(user, workflow) >= LEVELS[Permission(need)]


def permission_name(user, workflow: Workflow) -> str | None:
    wanted = level(user, workflow)
    return next((p.value for p, n in LEVELS.items() if n == wanted), None)


def get_workflow(
    user, workflow_id: int, need: str = Permission.VIEW, deleted: bool = False
) -> Workflow:
    """The workflow if the user may do `need` with it (404 if they may not see it at all);
    a deleted one only when asked (the run history of a deleted workflow stays readable)."""
    workflow = Workflow.objects.visible_to(user, deleted).filter(pk=workflow_id).first()
    if workflow is None:
        raise Http404("no such workflow")
    if not may(user, workflow, need):
        raise Forbidden(f"you may not {need} this workflow")
    return workflow


def may_delete(user, workflow: Workflow) -> bool:
    return user.is_superuser or workflow.owner_id == user.pk


def delete_workflow(user, workflow_id: int) -> Workflow:
    """The owner (or a superuser) deletes a workflow: it leaves every list; its runs and
    versions stay, showing it as deleted."""
    workflow = get_workflow(user, workflow_id)
    if not may_delete(user, workflow):
        raise Forbidden("only the owner may delete a workflow")
    workflow.soft_delete()
    return workflow
