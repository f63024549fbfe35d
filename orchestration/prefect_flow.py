"""The Prefect engine's one generic flow, `sdl-workflow`: a run's plan as Prefect tasks.

A Prefect worker runs this module in a process of its own. The flow loads the run's compiled
plan from the database and submits one task per node, named after the node, with the node's
retries, retry delay and timeout as Prefect's own options and `wait_for` along the edges (so
independent branches run in parallel). Each task runs the node with the native engine's own
code (`orchestration.execution`), and `when`, `disabled`, pause and cancel mean what they mean
there. Tasks only report; one writer thread of the flow writes every state change, log and
output as `NodeRun`s and `RunEvent`s (and so to the channel layer) in the order they happened.
"""

import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a worker loads us by path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdl_site.settings")

import django  # noqa: E402

django.setup()

import graphlib  # noqa: E402
import logging  # noqa: E402

from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402
from prefect import flow, runtime, task  # noqa: E402
from prefect._internal.concurrency.cancellation import CancelledError as PrefectCancelled  # noqa: E402
from prefect._internal.concurrency.cancellation import shield  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.states import Cancelled, Completed, Failed  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402

from canvas.models import Workflow  # noqa: E402
from orchestration import events, prefect_engine, runs, schedules, transitions  # noqa: E402
from orchestration.execution.decide import RUN, may_retry, retry_delay  # noqa: E402
from orchestration.execution.messages import NodeEnded, NodeMoved  # noqa: E402
from orchestration.execution.run import SIGNAL_POLL_S, Execution  # noqa: E402
from orchestration.models import (  # noqa: E402
    RUN_TERMINAL,
    Engine,
    NodeState,
    RunState,
    Schedule,
    ScheduleFire,
    WorkflowRun,
)
from orchestration.plan import Step  # noqa: E402
from robots.models import Robot  # noqa: E402

log = logging.getLogger(__name__)
CANCEL_GRACE_S = 25  # Prefect's runner waits 30 s after SIGTERM before it kills us
HEARTBEAT_S = 5
RUNNING: dict[int, "PrefectRun"] = {}  # the runs whose flows execute in this process


class NodeAttemptFailed(Exception):
    """An attempt of a node failed; Prefect retries it only when `retryable`."""

    def __init__(self, message: str, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def retry_delays(step: Step) -> list[float]:
    """The native engine's doubling delays, as Prefect's list of retry delays."""
    return [retry_delay(step, attempt) for attempt in range(1, step.retries + 1)] or [0]


def _retryable(task, task_run, state) -> bool:
    failure = state.data
    return isinstance(failure, TimeoutError) or getattr(failure, "retryable", False)


@task(name="sdl-node", cache_policy=NO_CACHE, persist_result=False, log_prints=False)
def sdl_node(run_id: int, node_id: str):
    prefect_run = RUNNING[run_id]
    return prefect_run.run_task(
        prefect_run.execution.plan.steps[node_id], runtime.task_run.run_count
    )


class PrefectRun:
    """A run's plan as Prefect tasks: the same execution core as the native engine, with
    Prefect's task runner, retries and timeouts in place of its thread pool and loop."""

    def __init__(self, run_id: int):
        self.execution = Execution(run_id)
        self._terminated = False

    def run(self) -> None:
        RUNNING[self.execution.run_id] = self
        try:
            self.execution.run(self._submit_and_write)
        finally:
            RUNNING.pop(self.execution.run_id, None)

    # --- inside Prefect tasks (pool threads): report, never write -------------------------

    def run_task(self, step: Step, attempt: int):
        try:
            return self._run_task(step, attempt)
        except (NodeAttemptFailed, PrefectCancelled):
            raise
        except Exception as exc:  # never leave a node running behind a failed task
            log.exception("node %s crashed the Prefect task", step.id)
            with shield():
                self._end(step.id, NodeState.FAILED, f"internal error: {exc}")
            raise NodeAttemptFailed(f"internal error: {exc}", retryable=False)

    def _run_task(self, step: Step, attempt: int):
        execution, node_id = self.execution, step.id
        task_run_id = str(runtime.task_run.id or "")
        if attempt > 1:  # a retry: only a cancel stops it (as on the native engine)
            if execution.signals.cancel.is_set():
                self._end(node_id, NodeState.CANCELLED, "cancelled")
                return Cancelled(message="cancelled")
        else:  # a node that has not started: none starts while paused, failed or cancelled
            if node_id in execution.final:  # carried over from an earlier run
                return Completed(message="carried over")
            while execution.paused and not execution.stopping():
                time.sleep(0.05)
            if execution.stopping():
                return Cancelled(message=execution.stop_reason())
            decision, reason = execution.decide(step)
            if decision != RUN:
                execution.ended(node_id, decision)
                fields = {"error": reason, "prefect_task_run_id": task_run_id}
                execution.post(NodeMoved(node_id, decision, fields))
                if decision == NodeState.FAILED:
                    raise NodeAttemptFailed(reason, retryable=False)
                return Completed(message=f"skipped: {reason}")
        fields = {"attempts": attempt, "error": ""}
        if attempt == 1:
            fields["prefect_task_run_id"] = task_run_id
        execution.post(NodeMoved(node_id, NodeState.RUNNING, fields))
        try:
            outcome = execution.attempt(step, attempt)
        except PrefectCancelled:  # Prefect's own timeout (or cancel), injected into this thread
            with shield():
                if step.timeout_s is None:
                    self._end(node_id, NodeState.CANCELLED, "cancelled")
                else:
                    message = f"timed out after {step.timeout_s:g} s"
                    self._failed_attempt(step, attempt, message, True)
            raise
        with shield():
            if outcome.state == NodeState.COMPLETED:
                execution.outputs[node_id] = outcome.result
                self._end(node_id, NodeState.COMPLETED, outcome.result)
                return outcome.result
            if outcome.state == NodeState.CANCELLED:
                self._end(node_id, NodeState.CANCELLED, "cancelled")
                return Cancelled(message="cancelled")
            self._failed_attempt(step, attempt, outcome.result, outcome.retryable)
        raise NodeAttemptFailed(outcome.result, outcome.retryable)

    def _failed_attempt(self, step: Step, attempt: int, message: str, retryable: bool):
        if may_retry(step, attempt, retryable):  # Prefect retries it (retry_condition_fn)
            self.execution.post(NodeMoved(step.id, NodeState.RETRYING, {"error": message}))
        else:
            self._end(step.id, NodeState.FAILED, message)

    def _end(self, node_id: str, state: NodeState, result):
        self.execution.ended(node_id, state)
        self.execution.post(NodeEnded(node_id, state, result))

    # --- the flow's thread: submit every node, then let the writer record what happens ----

    def _submit_and_write(self):
        futures = self._submit()
        writer = threading.Thread(
            target=self._write,
            args=(futures,),
            name=f"sdl-writer-{self.execution.run_id}",
            daemon=True,
        )
        writer.start()
        # Prefect ends a flow run (cancelled in Prefect, or shutdown) by raising in this
        # thread, maybe more than once: stop the nodes and let the writer record the end.
        stopped_by, deadline = None, None
        while writer.is_alive() and (deadline is None or time.monotonic() < deadline):
            try:
                writer.join(0.2)
            except BaseException as exc:
                stopped_by = stopped_by or exc
                self._terminated = True
                self.execution.signals.cancel.set()
                deadline = deadline or time.monotonic() + CANCEL_GRACE_S
        if stopped_by is not None:
            raise stopped_by

    def _submit(self) -> list:
        plan, futures = self.execution.plan, {}
        for node_id in graphlib.TopologicalSorter(plan.graph()).static_order():
            step = plan.steps[node_id]
            name = node_id if step.label == node_id else f"{step.label} ({node_id})"
            # No tags: Prefect checks tag concurrency limits per tagged task (seconds each).
            node_task = sdl_node.with_options(
                name=name,
                task_run_name=node_id,
                retries=step.retries,
                retry_delay_seconds=retry_delays(step),
                retry_condition_fn=_retryable,
                timeout_seconds=step.timeout_s,
            )
            upstream = [futures[parent] for parent in sorted(plan.parents(node_id))]
            futures[node_id] = node_task.submit(self.execution.run_id, node_id, wait_for=upstream)
        return list(futures.values())

    def _write(self, futures: list):
        """Every database write of the run, in order, until every task has ended."""
        execution = self.execution
        close_old_connections()
        try:
            next_poll = next_heartbeat = 0.0
            while True:
                if time.monotonic() >= next_poll:
                    execution.poll_signals()
                    next_poll = time.monotonic() + SIGNAL_POLL_S
                if time.monotonic() >= next_heartbeat:
                    execution.heartbeat()
                    next_heartbeat = time.monotonic() + HEARTBEAT_S
                ended = all(f.wrapped_future.done() for f in futures)
                messages = execution.take(block=not ended)
                with transaction.atomic():
                    for message in messages:
                        try:
                            execution.record(message)
                        except (
                            transitions.IllegalTransition
                        ) as exc:  # reported twice: keep the first
                            log.warning("run %s: %s", execution.run_id, exc)
                if ended and not messages and execution.inbox.empty():
                    break
            if self._terminated:
                transitions.log(execution.run_id, "", "cancelled in Prefect", "warning")
            execution.finish()
        except Exception as exc:
            log.exception("run %s failed in the Prefect flow", execution.run_id)
            execution.fail(f"engine error: {exc}")
        finally:
            events.flush()
            connection.close()


def _create_run(workflow_id, parameters, robot_name, schedule_id) -> int:
    """A flow run started on Prefect's side (its UI, CLI or scheduler) gets its run here."""
    planned_at = runtime.flow_run.scheduled_start_time
    flow_run_id = str(runtime.flow_run.id)
    workflow = Workflow.objects.get(pk=workflow_id)
    robot = Robot.objects.get(name=robot_name) if robot_name else None
    schedule = Schedule.objects.filter(pk=schedule_id).first() if schedule_id else None
    trigger, options = f"prefect flow run {flow_run_id}", {}
    if schedule is not None:
        reason = schedules.refusal(schedule)  # checked at every fire, not only at save
        if reason:
            ScheduleFire.objects.get_or_create(
                schedule=schedule, planned_at=planned_at, defaults={"note": f"not run: {reason}"}
            )
            schedules.pause(schedule, reason)
            prefect_engine.publish(schedule.workflow)  # its Prefect schedule pauses too
            raise PermissionError(f"schedule {schedule.pk} is paused: {reason}")
        trigger = f"schedule {schedule.pk} for {planned_at.isoformat()} (Prefect)"
        options = {"schedule": schedule.pk, "planned_at": planned_at.isoformat()}
        robot = robot or schedule.robot
    with transaction.atomic():
        run = runs.create_run(
            workflow,
            user=schedule.created_by if schedule else None,
            engine_name=Engine.PREFECT,
            parameters=parameters or {},
            robot=robot,
            trigger=trigger,
            options=options,
            start=False,
        )
        if schedule is not None:
            ScheduleFire.objects.get_or_create(
                schedule=schedule, planned_at=planned_at, defaults={"run": run}
            )
    return run.pk


@flow(
    name=prefect_engine.FLOW_NAME,
    task_runner=ThreadPoolTaskRunner(max_workers=max(1, settings.SDL_ENGINE_THREADS)),
    persist_result=False,
    log_prints=False,
)
def sdl_workflow(
    run_id: int | None = None,
    workflow_id: int | None = None,
    parameters: dict | None = None,
    robot: str | None = None,
    schedule_id: int | None = None,
):
    """Run an SDL Canvas workflow run (`run_id`), or start a new run of `workflow_id`."""
    if run_id is None:
        run_id = _create_run(workflow_id, parameters, robot, schedule_id)
    WorkflowRun.objects.filter(pk=run_id).update(prefect_flow_run_id=str(runtime.flow_run.id))
    try:
        PrefectRun(run_id).run()
    except BaseException:
        _end_abruptly(run_id)
        raise
    run = WorkflowRun.objects.get(pk=run_id)
    connection.close()
    summary = f"run {run_id} {run.state}" + (f": {run.error}" if run.error else "")
    if run.state == RunState.COMPLETED:
        return Completed(message=summary)
    if run.state == RunState.CANCELLED:
        return Cancelled(message=summary)
    return Failed(message=summary)


def _end_abruptly(run_id: int):
    """Prefect stopped the flow before the run could end by itself: say so on our side."""
    try:
        close_old_connections()
        run = WorkflowRun.objects.get(pk=run_id)
        if run.state not in RUN_TERMINAL:
            runs.end_abandoned(run, RunState.CANCELLED, "cancelled in Prefect")
        events.flush()
    except Exception:
        log.exception("could not record the end of run %s", run_id)
