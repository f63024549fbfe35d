"""Starting, cancelling, continuing and recovering runs: check, do, notify."""

import logging
import math
import os
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from canvas.validation import Issue
from orchestration import engine, prefect_engine, transitions
from orchestration.execution import robot as robots
from orchestration.execution.run import signal_cancel
from orchestration.hosts import HOST, process_alive
from orchestration.models import RUN_TERMINAL, Engine, NodeState, RunState, WorkflowRun
from orchestration.plan import InvalidWorkflow, compile_plan
from robots import dryrun

log = logging.getLogger(__name__)


class RunRefused(Exception):
    def __init__(self, message: str, issues: list[Issue] | None = None, status: int = 422):
        super().__init__(message)
        self.issues = issues or []
        self.status = status


UNCHANGED = object()  # an argument not given (None means "no robot")


def create_run(
    workflow,
    *,
    user=None,
    engine_name: str | None = None,
    parameters: dict | None = None,
    robot=None,
    options: dict | None = None,
    trigger: str = "api",
    version=None,
    start: bool = True,
) -> WorkflowRun:
    """Check (valid document, parameters, engine, robot), create the run record with every
    node pending, and start it once the transaction commits. Returns at once."""
    if workflow.deleted_at is not None:
        raise RunRefused(f"workflow {workflow.pk} was deleted", status=409)
    engine_name = engine_name or settings.SDL_DEFAULT_ENGINE
    version = version or workflow.versions.get(number=workflow.version)
    options = dict(options or {})
    if engine_name not in Engine.values:
        raise RunRefused(f"unknown engine {engine_name}: use native or prefect")
    if engine_name == Engine.PREFECT and start:
        try:
            prefect_engine.check_available()
        except prefect_engine.PrefectUnavailable as exc:
            raise RunRefused(str(exc), status=503)
    try:
        plan = compile_plan(version.document, parameters or {})
    except InvalidWorkflow as exc:
        raise RunRefused(f"cannot run: {exc}", exc.issues)
    if robot is not None:
        refusal = robot.refusal()
        if refusal:
            raise RunRefused(refusal, status=409)
        robot_type = plan.document.robot.type if plan.document.robot else None
        if robot_type and robot.robot_type != robot_type:
            raise RunRefused(
                f"robot {robot.name} is an {robot.robot_type}; the workflow is for the {robot_type}"
            )
        current = robots.holder(robot.pk)
        if options.get("no_wait") and current is not None:
            raise RunRefused(robots.busy_message(robot, current, viewer=user), status=409)
        if not robot.simulate and start:
            refuse_after_dry_run(version.document, plan.parameters)
    with transaction.atomic():
        run = WorkflowRun.objects.create(
            workflow=workflow,
            version=version,
            engine=engine_name,
            parameters=plan.parameters,
            options=options,
            robot=robot,
            started_by=user,
            trigger=trigger,
            host=HOST,
            pid=os.getpid(),
        )
        transitions.run_created(run.pk, plan.steps)
        if start:
            transaction.on_commit(lambda: launch(run, plan))
    return run


def refuse_after_dry_run(document: dict, parameters: dict) -> None:
    """Before a real robot moves: the whole workflow, with the run's parameters, on the
    simulator. What it finds refuses the run; so does a dry run that crashed or took too long."""
    report = dryrun.DRY_RUNS.wait(document, parameters)
    if report["status"] in (dryrun.PASSED, dryrun.NOT_APPLICABLE):
        return
    if report["status"] == dryrun.PROBLEMS:
        issues = [Issue(p["path"], p["message"]) for p in report["problems"]]
        raise RunRefused(f"the dry run with these parameters found: {issues[0]}", issues)
    raise RunRefused(f"the dry run {report['status']}: {report.get('why', '')}", status=503)


def launch(run: WorkflowRun, plan=None):
    """Hand the run to its engine; the native engine takes the plan compiled already."""
    if run.engine == Engine.PREFECT:
        prefect_engine.start(run)
    else:
        engine.start(run.pk, plan)


def cancel_run(run: WorkflowRun, user=None) -> WorkflowRun:
    """A queued run ends at once; a running one starts no new node, asks running nodes to stop
    and ends `cancelled` (the engine writes that)."""
    run.refresh_from_db()
    if run.state in RUN_TERMINAL:
        raise RunRefused(f"run {run.pk} has already ended ({run.state})", status=409)
    WorkflowRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    signal_cancel(run.pk)
    who = user.get_username() if user else "someone"
    transitions.log(run.pk, "", f"cancel requested by {who}", "warning")
    if run.engine == Engine.PREFECT:
        try:
            prefect_engine.cancel(run)
        except Exception as exc:  # the flag alone still stops a running flow
            log.warning("could not cancel run %s in Prefect: %s", run.pk, exc)
    run.refresh_from_db()
    return run


def continue_run(run: WorkflowRun, user, answers: dict | None = None) -> WorkflowRun:
    """A paused run goes on; one waiting for a person's input (control.input) needs their
    `answers`, each checked against its field (RunRefused naming the field)."""
    run.refresh_from_db()
    if run.state != RunState.PAUSED:
        raise RunRefused(f"run {run.pk} is not paused (it is {run.state})", status=409)
    checked = {}
    if run.input_request:
        checked = check_answers(run.input_request, answers or {})
    who = user.get_username()
    try:
        transitions.move_run(
            run.pk, RunState.RUNNING, continued_by=who, answers=checked, input_request=None
        )
    except transitions.IllegalTransition as exc:
        raise RunRefused(str(exc), status=409)
    if run.input_request:
        node = run.input_request["node"]
        transitions.log(run.pk, node, f"answered by {who}: {checked}")
    run.refresh_from_db()
    return run


def check_answers(request: dict, answers: dict) -> dict:
    checked = {}
    for spec in request.get("fields") or []:
        name, kind = spec["name"], spec.get("type", "number")
        value = answers.get(name)
        where = f"answers.{name}"
        if value is None or value == "":
            raise RunRefused(f"{where}: an answer is needed", [Issue(where, "an answer is needed")])
        if kind in ("number", "integer"):
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or (kind == "integer" and value != int(value)):
                message = f"{answers.get(name)!r} is not {'an integer' if kind == 'integer' else 'a number'}"
                raise RunRefused(f"{where}: {message}", [Issue(where, message)])
            low, high = spec.get("minimum"), spec.get("maximum")
            if (low is not None and value < low) or (high is not None and value > high):
                message = f"{value:g} is outside {low if low is not None else '…'}–{high if high is not None else '…'} {spec.get('unit', '')}".strip()
                raise RunRefused(f"{where}: {message}", [Issue(where, message)])
            value = int(value) if kind == "integer" else value
        elif kind == "choice":
            if value not in spec.get("choices", []):
                message = f"{value!r} is not one of {', '.join(spec.get('choices', []))}"
                raise RunRefused(f"{where}: {message}", [Issue(where, message)])
        else:
            value = str(value)[:2000]
        checked[name] = value
    return checked


def rerun(run: WorkflowRun, user) -> WorkflowRun:
    return create_run(
        run.workflow,
        user=user,
        engine_name=run.engine,
        parameters=run.parameters,
        robot=run.robot,
        options={k: v for k, v in run.options.items() if k not in ("carried", "resumed_from")},
        trigger=f"rerun of run {run.pk}",
        version=run.version,
    )


def resume_from(
    run: WorkflowRun,
    node_id: str,
    user,
    parameters: dict | None = None,
    robot=UNCHANGED,
    deck_confirmed: bool = False,
    fresh_tip: bool = False,
) -> WorkflowRun:
    """A new run of the same version that treats the old run's completed nodes — except
    `node_id` and everything after it — as done, outputs included, and begins at `node_id`,
    with `parameters` over the old ones and `robot` (default: the old run's). The robot's
    state before `node_id` is re-established when the run opens its session (Execution)."""
    plan = compile_plan(run.version.document, run.parameters)
    if node_id not in plan.steps:
        raise RunRefused(f"the workflow has no node {node_id}", status=404)
    redo = {node_id} | plan.descendants(node_id)
    carried = {
        n.node_id: n.output or {}
        for n in run.nodes.filter(state=NodeState.COMPLETED)
        if n.node_id not in redo
    }
    missing = sorted(p for p in plan.parents(node_id) if p not in carried)
    if missing:
        raise RunRefused(
            f"cannot resume from {node_id}: {', '.join(missing)} did not complete in run {run.pk}",
            status=409,
        )
    robot = run.robot if robot is UNCHANGED else robot
    moved_robot = any(plan.steps[n].uses_robot for n in carried)
    if robot is not None and not robot.simulate and moved_robot and not deck_confirmed:
        raise RunRefused(
            f"resuming from {node_id} on robot {robot.name} continues from what the completed "
            f"steps ({', '.join(sorted(carried))}) left on the deck: check that the labware, "
            "liquids and tips are as they left them (a stopped robot has dropped its tips), "
            "then confirm the deck (deck_confirmed), and ask for a fresh tip if the step "
            "needs one (fresh_tip)",
            status=409,
        )
    resumed_from = {"run": run.pk, "node": node_id}
    if deck_confirmed and robot is not None and not robot.simulate:
        resumed_from["deck_confirmed_by"] = user.get_username() if user else "someone"
        resumed_from["fresh_tip"] = fresh_tip
    options = {**run.options, "carried": carried, "resumed_from": resumed_from}
    return create_run(
        run.workflow,
        user=user,
        engine_name=run.engine,
        parameters={**run.parameters, **(parameters or {})},
        robot=robot,
        options=options,
        trigger=f"resume of run {run.pk} from {node_id}",
        version=run.version,
    )


def recover_interrupted_runs() -> list[int]:
    """At server start: runs left queued/running/paused by a process of this machine that no
    longer exists end `interrupted` — never restarted, a robot may have been half-way."""
    interrupted = []
    unfinished = WorkflowRun.objects.unfinished().filter(engine=Engine.NATIVE, host=HOST)
    for run in unfinished:
        if run.pid == os.getpid() or process_alive(run.pid):
            continue
        why = (
            f"the process running it (pid {run.pid}) stopped; check the robot before running again"
        )
        if transitions.end_abandoned(run.pk, RunState.INTERRUPTED, why):
            interrupted.append(run.pk)
    if interrupted:
        log.warning("marked runs %s interrupted", interrupted)
    return interrupted


LOST_AFTER = timedelta(seconds=60)


def end_lost_runs() -> list[int]:
    """Runs this process started and no longer holds (its engine could not record their end)
    end `interrupted`, by the supervisor, without waiting for a restart."""
    lost = []
    older = timezone.now() - LOST_AFTER
    mine = WorkflowRun.objects.unfinished().filter(
        engine=Engine.NATIVE, host=HOST, pid=os.getpid(), created_at__lt=older
    )
    for run_id in mine.values_list("pk", flat=True):
        if engine.held_here(run_id):
            continue
        why = "the engine lost track of this run; check the robot before running again"
        if transitions.end_abandoned(run_id, RunState.INTERRUPTED, why):
            lost.append(run_id)
    if lost:
        log.warning("ended lost runs %s", lost)
    return lost


class StillRunning(Exception):
    pass


def wait(
    run_id: int, states=RUN_TERMINAL, timeout: float = 600, every: float = 0.02
) -> WorkflowRun:
    """The run once it is in one of `states` (by default: once it has ended), asking every
    `every` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        run = WorkflowRun.objects.get(pk=run_id)
        if run.state in states:
            return run
        if time.monotonic() >= deadline:
            raise StillRunning(f"run {run_id} is still {run.state} after {timeout:g} s")
        time.sleep(every)
