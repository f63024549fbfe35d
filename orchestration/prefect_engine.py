"""The web side of the Prefect engine: the work pool, one deployment per workflow, flow runs
for our runs, cancel, and keeping our records in step with what Prefect says.

Every call goes to the Prefect server named by `PREFECT_API_URL`; without one the Prefect engine
is refused with a message that says how to start one — never a temporary server inside a
web request.
"""

import logging
import os
import re
import shlex
import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from uuid import UUID

import httpx
from django.conf import settings
from django.utils import timezone

from orchestration import prefect_schedules, transitions
from orchestration.hosts import HOST, process_alive
from orchestration.models import RUN_TERMINAL, Engine, RunState, WorkflowRun

log = logging.getLogger(__name__)
FLOW_NAME = "sdl-workflow"
ENTRYPOINT = "orchestration/prefect_flow.py:sdl_workflow"
HOW_TO_START = (
    "start a Prefect server (`make prefect-server`, or `manage.py sdl server`) and a worker "
    "(`make prefect-worker`), then set PREFECT_API_URL=http://127.0.0.1:4200/api "
    "for SDL Canvas and restart it"
)


class PrefectUnavailable(Exception):
    pass


@contextmanager
def client():
    """A synchronous Prefect client for `settings.PREFECT_API_URL` (refused without one)."""
    url = settings.PREFECT_API_URL
    if not url:
        raise PrefectUnavailable(f"the Prefect engine needs a Prefect server: {HOW_TO_START}")
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: url}), get_client(sync_client=True) as prefect:
        yield prefect


def check_available() -> None:
    """Refuse at once (PrefectUnavailable) when the server is not set or does not answer."""
    if not settings.PREFECT_API_URL:
        raise PrefectUnavailable(f"the Prefect engine needs a Prefect server: {HOW_TO_START}")
    try:
        # Refused at once when nothing listens; a busy server gets time to answer.
        timeout = httpx.Timeout(30.0, connect=3.0)
        answer = httpx.get(settings.PREFECT_API_URL.rstrip("/") + "/health", timeout=timeout)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise PrefectUnavailable(
            f"the Prefect server at {settings.PREFECT_API_URL} does not answer ({exc}): "
            f"{HOW_TO_START}"
        )


UI_PATHS = {
    "flow-run": "runs/flow-run",
    "task-run": "runs/task-run",
    "deployment": "deployments/deployment",
}


def ui_url(kind: str, prefect_id: str) -> str:
    """A link into Prefect's UI (`flow-run`, `task-run` or `deployment`), or ''."""
    base = os.getenv("PREFECT_UI_URL") or re.sub(r"/api/?$", "", settings.PREFECT_API_URL)
    return f"{base}/{UI_PATHS[kind]}/{prefect_id}" if base and prefect_id else ""


# --- deployments -----------------------------------------------------------------------------


def deployment_name(workflow) -> str:
    """Prefect names may not hold '/' or '%'."""
    return re.sub(r"[/%]", "-", workflow.name).strip() or f"workflow {workflow.pk}"


def ensure_pool(prefect) -> str:
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    pool = settings.SDL_PREFECT_WORK_POOL
    try:
        prefect.read_work_pool(pool)
    except ObjectNotFound:
        try:
            prefect.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass
    return pool


def _ours(prefect, workflow) -> list:
    """The deployments of our flow that belong to this workflow (whatever their names)."""
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    deployments = prefect.read_deployments(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME]))
    )
    return [d for d in deployments if (d.parameters or {}).get("workflow_id") == workflow.pk]


def publish(workflow) -> UUID:
    """Create or update the workflow's deployment of `sdl-workflow` in the work pool, tagged
    with the workflow's name, with the workflow's Prefect schedules. Returns its id."""
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    with client() as prefect:
        pool = ensure_pool(prefect)
        name = deployment_name(workflow)
        mine = _ours(prefect, workflow)
        try:
            existing = prefect.read_deployment_by_name(f"{FLOW_NAME}/{name}")
            if (existing.parameters or {}).get("workflow_id") != workflow.pk:
                name = f"{name} #{workflow.pk}"  # another workflow has this name
                existing = next((d for d in mine if d.name == name), None)
        except ObjectNotFound:
            existing = None
        for stale in mine:  # the workflow was renamed since
            if existing is None or stale.id != existing.id:
                prefect.delete_deployment(stale.id)
        fields = {
            "version": str(workflow.version),
            "description": f"SDL Canvas workflow {workflow.pk}: {workflow.name}",
            "parameters": {"workflow_id": workflow.pk},
            "tags": [workflow.name, "sdl"],
            "work_pool_name": pool,
            "path": str(settings.SDL_PREFECT_PROJECT_DIR),
            "entrypoint": ENTRYPOINT,
            "parameter_openapi_schema": _parameter_schema(),
            "job_variables": {"command": flow_command()},
        }
        if existing is not None:
            prefect.update_deployment(existing.id, DeploymentUpdate(**fields))
            deployment_id = existing.id
        else:
            deployment_id = prefect.create_deployment(
                flow_id=prefect.create_flow_from_name(FLOW_NAME),
                name=name,
                enforce_parameter_schema=False,
                pull_steps=[
                    {
                        "prefect.deployments.steps.set_working_directory": {
                            "directory": str(settings.SDL_PREFECT_PROJECT_DIR)
                        }
                    }
                ],
                **fields,
            )
        prefect_schedules.sync(prefect, deployment_id, workflow)
    return deployment_id


def flow_command() -> str:
    """How a worker starts a flow run: with this Python when workers find the project where it
    is here, else with the project's own `.venv` where they find it. Named, so that the process
    worker runs it directly (without its workspace supervisor: one process and ~3 s less per
    flow run)."""
    project = Path(settings.SDL_PREFECT_PROJECT_DIR).resolve()
    here = project == Path(settings.BASE_DIR).resolve()
    python = Path(sys.executable) if here else project / ".venv" / "bin" / "python"
    return f"{shlex.quote(str(python))} -m prefect.engine"


@cache
def _parameter_schema() -> dict:
    """The flow's parameters, read from its source (Prefect's CLI checks them on a run)."""
    from prefect.utilities.callables import parameter_schema_from_entrypoint

    path = settings.BASE_DIR / ENTRYPOINT.split(":")[0]
    schema = parameter_schema_from_entrypoint(f"{path}:{ENTRYPOINT.split(':')[1]}")
    return schema.model_dump(exclude_unset=True)


def list_deployments() -> list[dict]:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with client() as prefect:
        deployments = prefect.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME]))
        )
        return [
            {
                "name": f"{FLOW_NAME}/{d.name}",
                "id": str(d.id),
                "workflow": (d.parameters or {}).get("workflow_id"),
                "pool": d.work_pool_name,
                "schedules": len(d.schedules or []),
                "paused": d.paused,
            }
            for d in deployments
        ]


# --- runs ------------------------------------------------------------------------------------


def start(run: WorkflowRun) -> None:
    """A flow run of the workflow's deployment for our run; a worker picks it up."""
    try:
        deployment_id = publish(run.workflow)
        with client() as prefect:
            flow_run = prefect.create_flow_run_from_deployment(
                deployment_id,
                parameters={"run_id": run.pk},
                name=f"sdl-run-{run.pk}",
                tags=[f"sdl-run:{run.pk}"],
            )
    except Exception as exc:
        log.exception("could not hand run %s to Prefect", run.pk)
        try:
            transitions.move_run(
                run.pk, RunState.FAILED, error=f"could not hand it to Prefect: {exc}"
            )
        except transitions.IllegalTransition:
            pass
        return
    WorkflowRun.objects.filter(pk=run.pk, prefect_flow_run_id="").update(
        prefect_flow_run_id=str(flow_run.id)
    )
    transitions.log(
        run.pk, "", f"handed to Prefect as flow run {flow_run.id}; waiting for a worker"
    )


def cancel(run: WorkflowRun) -> None:
    """Our cancel flag stops a flow that is running (it ends Cancelled in Prefect too); a flow
    run no worker has started yet is cancelled in Prefect, and our run with it."""
    if not run.prefect_flow_run_id:
        return
    from prefect.states import Cancelled

    with client() as prefect:
        flow_run = prefect.read_flow_run(UUID(run.prefect_flow_run_id))
        if flow_run.state and (flow_run.state.is_scheduled() or flow_run.state.is_pending()):
            prefect.set_flow_run_state(
                flow_run.id, Cancelled(message="cancelled in SDL Canvas"), force=True
            )
            try:
                transitions.move_run(run.pk, RunState.CANCELLED, error="cancelled")
            except transitions.IllegalTransition:
                pass  # the flow started meanwhile: it sees the flag


def reconcile() -> list[int]:
    """Mirror what only Prefect saw onto runs that have not ended: a flow run cancelled or
    crashed while its process could not say so, or a flow process that died on this host.
    Called by the scheduler loop; returns the runs it ended."""
    from prefect.states import Crashed

    unfinished = list(
        WorkflowRun.objects.filter(engine=Engine.PREFECT)
        .exclude(state__in=RUN_TERMINAL)
        .exclude(prefect_flow_run_id="")
    )
    ended = []
    if not unfinished:
        return ended
    with client() as prefect:
        for run in unfinished:
            try:
                flow_run = prefect.read_flow_run(UUID(run.prefect_flow_run_id))
            except Exception:
                log.warning("cannot read Prefect flow run %s", run.prefect_flow_run_id)
                continue
            state = flow_run.state
            dead = run.state != RunState.QUEUED and _gone(run)
            if dead and state and not state.is_final():
                prefect.set_flow_run_state(
                    flow_run.id,
                    Crashed(message=f"the flow's process ({run.host}, pid {run.pid}) is gone"),
                    force=True,
                )
                state = prefect.read_flow_run(flow_run.id).state
            if state is None or not state.is_final():
                continue
            to, why = _mirror(state)
            if transitions.end_abandoned(run.pk, to, why):
                ended.append(run.pk)
    return ended


def _gone(run: WorkflowRun) -> bool:
    """The flow's process is gone: on this machine its pid; elsewhere, no heartbeat lately."""
    if run.host == HOST:
        return bool(run.pid) and not process_alive(run.pid)
    silent = timezone.now() - run.heartbeat_at if run.heartbeat_at else None
    return silent is not None and silent.total_seconds() > settings.SDL_PREFECT_HEARTBEAT_TIMEOUT_S


def _mirror(state) -> tuple[RunState, str]:
    if state.is_cancelled():
        return RunState.CANCELLED, "cancelled in Prefect"
    return RunState.INTERRUPTED, (
        f"Prefect marked the flow run {state.name.lower()}: {state.message or 'no message'}; "
        "check the robot before running again"
    )
