"""Pages for campaigns: the New campaign form (from the workflow's run parameters), the live
campaign page and the list."""

from django.conf import settings
from django.shortcuts import redirect, render

from canvas import permissions
from canvas.document import Document
from canvas.models import Permission
from orchestration import campaigns, optimisers
from orchestration.campaign_api import campaign_out, visible_campaign
from orchestration.models import Campaign
from robots.models import Robot


def _number(text: str | None):
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _definition(post, parameters) -> dict:
    """The form's fields as a campaign definition (campaigns.check says what is wrong)."""
    space, fixed = [], {}
    for name, spec in parameters.items():
        if post.get(f"search-{name}") == "on":
            dimension = {"parameter": name, "kind": "int" if spec.type == "integer" else "float"}
            if spec.enum:
                dimension = {"parameter": name, "kind": "choice", "choices": spec.enum}
            else:
                dimension.update(
                    low=_number(post.get(f"low-{name}")), high=_number(post.get(f"high-{name}"))
                )
                if _number(post.get(f"step-{name}")):
                    dimension["step"] = _number(post.get(f"step-{name}"))
            space.append(dimension)
        elif post.get(f"fixed-{name}") not in (None, ""):
            raw = post.get(f"fixed-{name}")
            fixed[name] = _number(raw) if spec.type in ("number", "integer") else raw
    objective = {"path": post.get("objective", ""), "direction": post.get("direction", "minimize")}
    if _number(post.get("target")) is not None:
        objective["target"] = _number(post.get("target"))
    integer = lambda key, default: int(_number(post.get(key)) or default)  # noqa: E731
    return {
        "space": space,
        "fixed": fixed,
        "objectives": [objective],
        "optimiser": post.get("optimiser", "optuna"),
        "initial_design": post.get("initial_design", "sobol"),
        "initial_runs": integer("initial_runs", 5),
        "batch_size": integer("batch_size", 1),
        "budget": integer("budget", 30),
        "patience": integer("patience", 0) or None,
        "engine": post.get("engine", "native"),
        "seed": integer("seed", 0),
    }


def new_campaign(request, workflow_id: int):
    workflow = permissions.get_workflow(request.user, workflow_id, Permission.RUN)
    document = Document.model_validate(workflow.document)
    robot_type = document.robot.type if document.robot else None
    robots = Robot.objects.filter(enabled=True, robot_type=robot_type) if robot_type else []
    outputs = sorted(campaigns.producible(document))
    problem, path = "", ""
    if request.method == "POST":
        chosen = [r for r in robots if r.name in request.POST.getlist("robots")]
        try:
            campaign = campaigns.create(
                workflow,
                request.user,
                request.POST.get("name", ""),
                _definition(request.POST, document.parameters),
                robots=chosen,
                start=request.POST.get("start") == "on",
            )
        except campaigns.CampaignError as exc:
            problem, path = str(exc), exc.path
        else:
            return redirect("orchestration:campaign", campaign_id=campaign.pk)
    return render(
        request,
        "orchestration/new_campaign.html",
        {
            "workflow": workflow,
            "parameters": document.parameters,
            "outputs": outputs,
            "optimisers": list(optimisers.registered()),
            "robots": robots,
            "prefect": bool(settings.PREFECT_API_URL),
            "problem": problem,
            "path": path,
            "post": request.POST,
        },
    )


def campaign_page(request, campaign_id: int):
    campaign = visible_campaign(request.user, campaign_id)
    may_run = permissions.may(request.user, campaign.workflow, Permission.RUN)
    return render(
        request,
        "orchestration/campaign.html",
        {
            "campaign": campaign,
            "config": {"campaign": campaign_out(campaign), "mayControl": may_run},
        },
    )


def campaign_list(request):
    found = Campaign.objects.visible_to(request.user).select_related("workflow")
    return render(request, "orchestration/campaign_list.html", {"campaigns": found[:200]})
