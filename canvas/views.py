from django import forms
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from canvas import permissions
from canvas.models import Notifications, Permission, Workflow

NEW_DOCUMENT = {"schema": "sdl-workflow/1", "name": "New workflow", "nodes": [], "edges": []}


def workflow_list(request):
    workflows = Workflow.objects.visible_to(request.user).select_related("owner")
    query = request.GET.get("q", "").strip()
    if query:
        workflows = workflows.filter(
            Q(name__icontains=query) | Q(document__description__icontains=query)
        )
    return render(request, "canvas/workflow_list.html", {"workflows": workflows, "query": query})


@require_POST
def duplicate_workflow(request, workflow_id: int):
    """A copy of the workflow's current version, owned by whoever copies it."""
    original = permissions.get_workflow(request.user, workflow_id)
    document = {**original.document, "name": f"{original.name} (copy)"[:200]}
    copy = Workflow.create(document, request.user, message=f"Copy of {original.name}")
    return redirect("canvas:edit", workflow_id=copy.pk)


@require_POST
def delete_workflow(request, workflow_id: int):
    permissions.delete_workflow(request.user, workflow_id)
    return redirect("canvas:workflow-list")


def new_workflow(request):
    """The editor on an empty workflow: nothing is stored until it is saved."""
    config = {"workflowId": None, "version": 0, "document": NEW_DOCUMENT, "mayEdit": True}
    return render(request, "canvas/edit.html", {"config": {**config, "mayRun": True}})


def edit_workflow(request, workflow_id: int):
    workflow = permissions.get_workflow(request.user, workflow_id)
    return render(
        request,
        "canvas/edit.html",
        {
            "workflow": workflow,
            "config": {
                "workflowId": workflow.pk,
                "version": workflow.version,
                "document": workflow.document,
                "mayEdit": permissions.may(request.user, workflow, Permission.EDIT),
                "mayRun": permissions.may(request.user, workflow, Permission.RUN),
            },
        },
    )


class NotificationsForm(forms.ModelForm):
    email = forms.EmailField(required=False, help_text="Where e-mail notifications go")

    class Meta:
        model = Notifications
        fields = ("by_email", "webhook_url", "on_pause", "on_failure", "on_end")


def notifications(request):
    """What the signed-in user is told about their runs, and how."""
    choice, _ = Notifications.objects.get_or_create(user=request.user)
    form = NotificationsForm(
        request.POST or None, instance=choice, initial={"email": request.user.email}
    )
    saved = False
    if request.method == "POST" and form.is_valid():
        form.save()
        request.user.email = form.cleaned_data["email"]
        request.user.save(update_fields=["email"])
        saved = True
    return render(request, "canvas/notifications.html", {"form": form, "saved": saved})
