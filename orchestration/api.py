"""Runs and schedules."""

import csv
import io
import json
from datetime import datetime
from typing import Any, Literal

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import ValidationError

from canvas import permissions
from canvas.api import Problem
from canvas.document import Document
from canvas.models import Permission, Workflow
from orchestration import prefect_engine, provenance, runs, schedules
from orchestration.models import Schedule, ScheduleKind, WorkflowRun
from orchestration.prefect_engine import ui_url
from robots import definitions, liquids
from robots.models import Robot

router = Router(tags=["orchestration"])
MAX_ID = 2**63 - 1  # what the databases' integer ids can hold


# --- Runs ----------------------------------------------------------------------------------


class RunIn(Schema):
    engine: str | None = None
    parameters: dict[str, Any] = {}
    robot: str | None = None
    wait_for_robot: bool = True
    real_time_delays: bool = False


class NodeRunOut(Schema):
    node_id: str
    state: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    output: Any
    error: str
    log: list[dict]
    commands: list[dict]
    prefect_task_run_id: str
    prefect_url: str


class RunOut(Schema):
    id: int
    workflow: int
    workflow_name: str
    workflow_deleted: bool
    version: int
    engine: str
    state: str
    parameters: dict[str, Any]
    robot: str | None
    robot_lock: bool
    started_by: str | None
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    last_seq: int
    input_request: dict[str, Any] | None = None
    prefect_flow_run_id: str
    prefect_url: str
    nodes: list[NodeRunOut]


class ContinueIn(Schema):
    answers: dict[str, Any] = {}


class RunRefusedOut(Schema):
    detail: str
    errors: list[Problem] = []


def run_out(run: WorkflowRun, with_nodes: bool = True) -> dict:
    return {
        "id": run.pk,
        "workflow": run.workflow_id,
        "workflow_name": run.workflow.name,
        "workflow_deleted": run.workflow.deleted_at is not None,
        "version": run.version.number,
        "engine": run.engine,
        "state": run.state,
        "parameters": run.parameters,
        "robot": run.robot.name if run.robot else None,
        "robot_lock": hasattr(run, "robot_lock"),  # select_related below: no query per run
        "started_by": run.started_by.get_username() if run.started_by else None,
        "trigger": run.trigger,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
        "last_seq": run.last_seq,
        "input_request": run.input_request,
        "prefect_flow_run_id": run.prefect_flow_run_id,
        "prefect_url": ui_url("flow-run", run.prefect_flow_run_id),
        "nodes": [node_out(n) for n in run.nodes.all()] if with_nodes else [],
    }


def node_out(node) -> dict:
    fields = {f: getattr(node, f) for f in NodeRunOut.model_fields if f != "prefect_url"}
    return {**fields, "prefect_url": ui_url("task-run", node.prefect_task_run_id)}


def visible_run(user, run_id: int, need: str = Permission.VIEW) -> WorkflowRun:
    run = (
        WorkflowRun.objects.visible_to(user)
        .select_related("workflow", "version", "robot", "started_by", "robot_lock")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404("no such run")
    permissions.get_workflow(user, run.workflow_id, need, deleted=need == Permission.VIEW)
    return run


# A new run, or why not (503: the Prefect engine without a Prefect server).
STARTED_OR_REFUSED = {201: RunOut, **dict.fromkeys((404, 409, 422, 503), RunRefusedOut)}


@router.post(
    "/workflows/{int:workflow_id}/runs",
    response=STARTED_OR_REFUSED,
    tags=["runs"],
)
def start_run(request, workflow_id: int, body: RunIn):
    """Start a run; it executes in the background. Needs "run" permission."""
    workflow = permissions.get_workflow(request.user, workflow_id, Permission.RUN)
    if not isinstance(getattr(request, "json_body", {}), dict):  # `[]`, `null`, `42` …
        return Status(422, {"detail": 'the body is a JSON object, e.g. {"parameters": {}}'})
    robot = None
    if body.robot:
        robot = Robot.objects.filter(name=body.robot).first()
        if robot is None:
            return Status(422, {"detail": f"no robot named {body.robot}"})
    options = {"no_wait": not body.wait_for_robot, "real_time_delays": body.real_time_delays}
    run = runs.create_run(
        workflow,
        user=request.user,
        engine_name=body.engine,
        parameters=body.parameters,
        robot=robot,
        options=options,
    )
    return Status(201, run_out(run))


class DeploymentOut(Schema):
    deployment: str
    id: str
    work_pool: str
    url: str


@router.post(
    "/workflows/{int:workflow_id}/deployment",
    response={200: DeploymentOut, 503: RunRefusedOut},
    tags=["runs"],
)
def publish_deployment(request, workflow_id: int):
    """Create or update the workflow's Prefect deployment (flow `sdl-workflow`, the work pool
    of SDL_PREFECT_WORK_POOL, tagged with the workflow's name). Needs "run" permission."""
    workflow = permissions.get_workflow(request.user, workflow_id, Permission.RUN)
    try:
        prefect_engine.check_available()
        deployment_id = prefect_engine.publish(workflow)
    except prefect_engine.PrefectUnavailable as exc:
        return Status(503, {"detail": str(exc)})
    return {
        "deployment": f"{prefect_engine.FLOW_NAME}/{prefect_engine.deployment_name(workflow)}",
        "id": str(deployment_id),
        "work_pool": settings.SDL_PREFECT_WORK_POOL,
        "url": ui_url("deployment", str(deployment_id)),
    }


@router.get("/runs", response=list[RunOut], tags=["runs"])
def list_runs(
    request,
    workflow: int | None = Query(None, ge=1, le=MAX_ID),
    state: str | None = None,
    campaign: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = 100,
):
    query = WorkflowRun.objects.visible_to(request.user)
    if workflow is not None:
        query = query.filter(workflow_id=workflow)
    if campaign is not None:
        query = query.filter(trial__campaign_id=campaign)
    if state:
        query = query.filter(state=state)
    query = query.select_related("workflow", "version", "robot", "started_by", "robot_lock")
    return [run_out(r, with_nodes=False) for r in query[: max(1, min(limit, 1000))]]


@router.get("/runs/{int:run_id}", response=RunOut, tags=["runs"])
def get_run(request, run_id: int):
    return run_out(visible_run(request.user, run_id))


def _flat(prefix: str, value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(f"{prefix}.{key}" if prefix else str(key), inner)
    else:
        yield prefix, value


@router.get("/runs/{int:run_id}/outputs.{fmt}", tags=["runs"])
def run_outputs(request, run_id: int, fmt: Literal["json", "csv"]):
    """Every step's outputs (recorded data included): JSON by step, or CSV rows of
    step, output (dotted for nested values) and value."""
    run = visible_run(request.user, run_id)
    outputs = {n.node_id: n.output for n in run.nodes.order_by("started_at", "node_id") if n.output}
    if fmt == "json":
        body = json.dumps(
            {
                "run": run.pk,
                "workflow": run.workflow.name,
                "parameters": run.parameters,
                "outputs": outputs,
            },
            indent=2,
        )
        response = HttpResponse(body, content_type="application/json")
    else:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["step", "output", "value"])
        for node_id, output in outputs.items():
            for key, value in _flat("", output):
                writer.writerow(
                    [node_id, key, json.dumps(value) if isinstance(value, list) else value]
                )
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-outputs.{fmt}"'
    return response


@router.get("/runs/{int:run_id}/ro-crate", tags=["runs"])
def run_ro_crate(request, run_id: int):
    """The run as an RO-Crate (Workflow Run Crate): workflow, parameters, robot, outputs and
    the robot's command log."""
    run = visible_run(request.user, run_id)
    response = HttpResponse(provenance.run_crate(run), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="run-{run.pk}-ro-crate.zip"'
    return response


@router.get("/runs/{int:run_id}/liquids", tags=["runs"])
def run_liquids(request, run_id: int):
    """What each well holds now: the deck's starting contents followed through the robot
    commands of every step that has run, in order (empty when the deck declares none)."""
    run = visible_run(request.user, run_id)
    try:
        deck = Document.model_validate(run.version.document).deck
    except ValidationError:
        deck = None
    if deck is None:
        return {"liquids": [], "labware": [], "wells": {}}
    steps = run.nodes.exclude(started_at=None).order_by("started_at", "pk")
    wells = liquids.followed(deck, [node.commands for node in steps])
    labware = [
        {"id": lw.id, "load_name": lw.load_name, "definition": spec.as_json()}
        for lw in deck.all_labware()
        if (spec := definitions.labware(lw.load_name)) and not spec.is_tiprack and spec.wells
    ]
    return {
        "liquids": [liquid.model_dump() for liquid in deck.liquids],
        "labware": labware,
        "wells": wells.snapshot() if wells.followed else {},
    }


@router.get("/runs/{int:run_id}/events", tags=["runs"])
def run_events(request, run_id: int, after: int = 0, limit: int = 10000):
    """Every event after sequence number `after`, in order."""
    run = visible_run(request.user, run_id)
    events = run.events.filter(seq__gt=after).order_by("seq")[: max(1, min(limit, 10000))]
    return [e.as_message() for e in events]


@router.post("/runs/{int:run_id}/cancel", response={200: RunOut, 409: RunRefusedOut}, tags=["runs"])
def cancel(request, run_id: int):
    run = visible_run(request.user, run_id, Permission.RUN)
    return run_out(runs.cancel_run(run, request.user))


@router.post(
    "/runs/{int:run_id}/continue",
    response={200: RunOut, 409: RunRefusedOut, 422: RunRefusedOut},
    tags=["runs"],
)
def continue_(request, run_id: int, body: ContinueIn | None = None):
    """Leave a pause; a run waiting for a person's input takes their `answers`."""
    run = visible_run(request.user, run_id, Permission.RUN)
    return run_out(runs.continue_run(run, request.user, (body or ContinueIn()).answers))


@router.post(
    "/runs/{int:run_id}/rerun",
    response=STARTED_OR_REFUSED,
    tags=["runs"],
)
def rerun(request, run_id: int):
    run = visible_run(request.user, run_id, Permission.RUN)
    return Status(201, run_out(runs.rerun(run, request.user)))


class ResumeIn(Schema):
    parameters: dict[str, Any] = {}  # over the old run's; what is not given stays
    robot: str | None = None  # another robot of the same type; default: the old run's
    deck_confirmed: bool = False  # a real robot: a person has checked what is on the deck
    fresh_tip: bool = False  # a real robot: pick up a new tip where the old run held one


@router.post(
    "/runs/{int:run_id}/resume-from/{node_id}",
    response=STARTED_OR_REFUSED,
    tags=["runs"],
)
def resume(request, run_id: int, node_id: str, body: ResumeIn | None = None):
    """A new run that keeps the completed nodes before `node_id` and starts there, with the
    parameters and robot given. On a simulator the completed robot steps are replayed first so
    tips and liquids are where the resumed node expects them; on a real robot a person must
    confirm the deck (`deck_confirmed`), and may ask for a fresh tip."""
    run = visible_run(request.user, run_id, Permission.RUN)
    body = body or ResumeIn()
    robot = run.robot
    if body.robot:
        robot = Robot.objects.filter(name=body.robot).first()
        if robot is None:
            return Status(422, {"detail": f"robot: no robot named {body.robot}"})
    resumed = runs.resume_from(
        run,
        node_id,
        request.user,
        parameters=body.parameters,
        robot=robot,
        deck_confirmed=body.deck_confirmed,
        fresh_tip=body.fresh_tip,
    )
    return Status(201, run_out(resumed))


# --- Schedules -----------------------------------------------------------------------------


class ScheduleIn(Schema):
    workflow: int
    engine: str = "native"
    robot: str | None = None
    parameters: dict[str, Any] = {}
    kind: str = "cron"
    expression: str
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    active: bool = True


class ScheduleOut(ScheduleIn):
    id: int
    next_fire_at: datetime | None
    paused_reason: str


def schedule_out(schedule: Schedule) -> dict:
    return {
        "id": schedule.pk,
        "workflow": schedule.workflow_id,
        "engine": schedule.engine,
        "robot": schedule.robot.name if schedule.robot else None,
        "parameters": schedule.parameters,
        "kind": schedule.kind,
        "expression": schedule.expression,
        "timezone": schedule.timezone,
        "start": schedule.start,
        "end": schedule.end,
        "active": schedule.active,
        "next_fire_at": schedule.next_fire_at,
        "paused_reason": schedule.paused_reason,
    }


def visible_schedule(user, schedule_id: int, need=Permission.VIEW) -> Schedule:
    schedule = (
        Schedule.objects.select_related("workflow", "robot")
        .filter(pk=schedule_id, workflow__in=Workflow.objects.visible_to(user))
        .first()
    )
    if schedule is None:
        raise Http404("no such schedule")
    permissions.get_workflow(user, schedule.workflow_id, need)
    return schedule


def save_schedule(request, schedule: Schedule, body: ScheduleIn):
    """Check every field (a clear message naming the field), then save and plan the next fire."""
    schedule.workflow = permissions.get_workflow(request.user, body.workflow, Permission.RUN)
    robot = None
    if body.robot:
        robot = Robot.objects.filter(name=body.robot).first()
        if robot is None:
            return Status(422, {"detail": f"robot: no robot named {body.robot}"})
    if body.kind not in ScheduleKind.values:
        return Status(422, {"detail": f"kind: use one of {', '.join(ScheduleKind.values)}"})
    for field in Schedule.FIELDS[3:] + ("engine",):  # workflow and robot are looked up above
        setattr(schedule, field, getattr(body, field))
    schedule.robot = robot
    try:
        schedules.save(schedule, request.user)
    except schedules.ScheduleError as exc:
        return Status(422, {"detail": str(exc)})
    return None


@router.get("/schedules", response=list[ScheduleOut], tags=["schedules"])
def list_schedules(request):
    query = Schedule.objects.filter(workflow__in=Workflow.objects.visible_to(request.user))
    return [schedule_out(s) for s in query.select_related("robot")]


@router.post("/schedules", response={201: ScheduleOut, 422: RunRefusedOut}, tags=["schedules"])
def create_schedule(request, body: ScheduleIn):
    schedule = Schedule()
    refused_answer = save_schedule(request, schedule, body)
    return refused_answer or Status(201, schedule_out(schedule))


@router.get("/schedules/{int:schedule_id}", response=ScheduleOut, tags=["schedules"])
def get_schedule(request, schedule_id: int):
    return schedule_out(visible_schedule(request.user, schedule_id))


@router.put(
    "/schedules/{int:schedule_id}",
    response={200: ScheduleOut, 422: RunRefusedOut},
    tags=["schedules"],
)
def update_schedule(request, schedule_id: int, body: ScheduleIn):
    schedule = visible_schedule(request.user, schedule_id, Permission.RUN)
    refused_answer = save_schedule(request, schedule, body)
    return refused_answer or schedule_out(schedule)


@router.delete("/schedules/{int:schedule_id}", response={204: None}, tags=["schedules"])
def delete_schedule(request, schedule_id: int):
    visible_schedule(request.user, schedule_id, Permission.RUN).delete()
    return Status(204, None)


@router.get("/schedules/{int:schedule_id}/preview", response=list[str], tags=["schedules"])
def preview_schedule(request, schedule_id: int, count: int = 5):
    """The next fire times, ISO 8601 with their UTC offsets, in the schedule's time zone."""
    schedule = visible_schedule(request.user, schedule_id)
    times = schedules.fire_times(schedule, timezone.now(), max(1, min(count, 100)))
    return [t.isoformat() for t in times]
