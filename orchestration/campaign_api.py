"""Campaigns over the API: define, start, pause, resume, stop, read, export."""

from typing import Any, Literal

from django.http import Http404, HttpResponse
from ninja import Router, Schema, Status

from canvas import permissions
from canvas.models import Permission
from orchestration import campaigns, optimisers, provenance
from orchestration.models import Campaign, CampaignState
from robots.models import Robot

router = Router(tags=["campaigns"])


class CampaignIn(Schema):
    workflow: int
    name: str = ""
    engine: Literal["native", "prefect"] = "native"
    robots: list[str] = []
    space: list[dict[str, Any]]
    fixed: dict[str, Any] = {}
    objectives: list[dict[str, Any]]
    optimiser: str = "optuna"
    optimiser_settings: dict[str, Any] = {}
    initial_design: Literal["random", "sobol"] = "sobol"
    initial_runs: int = 5
    batch_size: int = 1
    budget: int = 30
    patience: int | None = None
    seed: int = 0
    start: bool = False


class Refused(Schema):
    detail: str
    path: str = ""


def campaign_out(campaign: Campaign, with_trials: bool = True) -> dict:
    best = campaigns.best(campaign)
    out = {
        "id": campaign.pk,
        "name": campaign.name,
        "workflow": campaign.workflow_id,
        "version": campaign.version.number,
        "engine": campaign.engine,
        "robots": [r.name for r in campaign.robots.all()],
        "state": campaign.state,
        "reason": campaign.reason,
        "space": campaign.space,
        "fixed": campaign.fixed,
        "objectives": campaign.objectives,
        "optimiser": campaign.optimiser,
        "optimiser_settings": campaign.optimiser_settings,
        "initial_design": campaign.initial_design,
        "initial_runs": campaign.initial_runs,
        "batch_size": campaign.batch_size,
        "budget": campaign.budget,
        "patience": campaign.patience,
        "seed": campaign.seed,
        "created_at": campaign.created_at,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
        "best": best.number if best else None,
    }
    if with_trials:
        out["trials"] = [
            {
                "number": t.number,
                "state": t.state,
                "parameters": t.parameters,
                "values": t.values,
                "error": t.error,
                "run": t.run_id,
                "run_state": t.run.state if t.run else None,
                "suggested_by": t.suggested_by,
            }
            for t in campaign.trials.select_related("run").order_by("number")
        ]
    return out


def visible_campaign(user, campaign_id: int, need: str = Permission.VIEW) -> Campaign:
    campaign = Campaign.objects.select_related("workflow", "version").filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("no such campaign")
    permissions.get_workflow(user, campaign.workflow_id, need, deleted=need == Permission.VIEW)
    return campaign


@router.get("/optimisers")
def list_optimisers(request):
    """Each optimiser with its settings form (a small JSON Schema) and whether it is installed."""
    out = []
    for name, kind in optimisers.registered().items():
        try:
            optimisers.check_installed(name)
            problem = ""
        except optimisers.OptimiserError as exc:
            problem = str(exc)
        out.append(
            {
                "name": name,
                "doc": (kind.__doc__ or "").strip(),
                "settings": kind.SETTINGS,
                "problem": problem,
            }
        )
    return out


@router.post("/campaigns", response={201: dict, 422: Refused})
def create_campaign(request, body: CampaignIn):
    workflow = permissions.get_workflow(request.user, body.workflow, Permission.RUN)
    robots = []
    for name in body.robots:
        robot = Robot.objects.filter(name=name).first()
        if robot is None:
            return Status(422, {"detail": f"no robot named {name}", "path": "robots"})
        robots.append(robot)
    try:
        campaign = campaigns.create(
            workflow, request.user, body.name, body.dict(), robots=robots, start=body.start
        )
    except campaigns.CampaignError as exc:
        return Status(422, {"detail": str(exc), "path": exc.path})
    return Status(201, campaign_out(campaign))


@router.get("/campaigns")
def list_campaigns(request, workflow: int | None = None):
    query = Campaign.objects.visible_to(request.user).select_related("version")
    if workflow is not None:
        query = query.filter(workflow_id=workflow)
    return [campaign_out(c, with_trials=False) for c in query[:500]]


@router.get("/campaigns/{int:campaign_id}")
def get_campaign(request, campaign_id: int):
    return campaign_out(visible_campaign(request.user, campaign_id))


@router.get("/campaigns/{int:campaign_id}/trials.csv")
def campaign_csv(request, campaign_id: int):
    campaign = visible_campaign(request.user, campaign_id)
    response = HttpResponse(campaigns.export_csv(campaign), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}.csv"'
    return response


@router.get("/campaigns/{int:campaign_id}/ro-crate")
def campaign_ro_crate(request, campaign_id: int):
    """The campaign as an RO-Crate: its definition, every trial and its run."""
    campaign = visible_campaign(request.user, campaign_id)
    response = HttpResponse(provenance.campaign_crate(campaign), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-ro-crate.zip"'
    return response


ACTIONS = {
    "start": CampaignState.RUNNING,
    "resume": CampaignState.RUNNING,
    "pause": CampaignState.PAUSED,
    "stop": CampaignState.STOPPING,
}


@router.post(
    "/campaigns/{int:campaign_id}/{action}", response={200: dict, 404: Refused, 409: Refused}
)
def control_campaign(request, campaign_id: int, action: str):
    """start (a draft), pause (running trials finish, none starts), resume, stop (cancels the
    running trials)."""
    campaign = visible_campaign(request.user, campaign_id, Permission.RUN)
    if action not in ACTIONS:
        return Status(404, {"detail": f"no action {action}: use {', '.join(ACTIONS)}"})
    who = request.user.get_username()
    if not campaigns.move(
        campaign.pk, ACTIONS[action], f"{action} by {who}" if action == "stop" else ""
    ):
        campaign.refresh_from_db()
        return Status(
            409, {"detail": f"campaign {campaign.pk} is {campaign.state}: cannot {action}"}
        )
    campaign.refresh_from_db()
    return campaign_out(campaign)
