"""Where a run meets its robot: the database lock, and the controller session.

A robot runs one workflow run at a time. The lock is a `RobotLock` row (one per robot): taken
by INSERT when the run starts, deleted when it ends in any state.
"""

import time

from django.db import IntegrityError, transaction

from orchestration import states
from orchestration.models import RobotLock, RunState, WorkflowRun
from orchestration.states import RUN_TERMINAL

LOCK_POLL_S = 0.25


def holder(robot_id: int) -> WorkflowRun | None:
    lock = RobotLock.objects.select_related("run__started_by").filter(robot_id=robot_id).first()
    return lock.run if lock else None


def busy_message(robot, run: WorkflowRun) -> str:
    who = run.started_by.get_username() if run.started_by else run.trigger or "someone"
    return f"robot {robot.name} is busy with run {run.pk} ({run.workflow.name}), started by {who}"


def try_lock(robot_id: int, run_id: int) -> bool:
    try:
        with transaction.atomic():
            RobotLock.objects.create(robot_id=robot_id, run_id=run_id)
        return True
    except IntegrityError:
        # A lock left by a run that has ended (a crash between end and release) is stale.
        RobotLock.objects.filter(robot_id=robot_id, run__state__in=RUN_TERMINAL).delete()
        return False


def release(run_id: int) -> None:
    RobotLock.objects.filter(run_id=run_id).delete()


def acquire(executor, run) -> bool:
    """Wait (in `queued`) until the run's robot is free. False when the run must not start."""
    if run.robot_id is None:
        return True
    said = False
    while not try_lock(run.robot_id, run.pk):
        current = holder(run.robot_id)
        if current is None:
            continue
        if run.options.get("no_wait"):
            states.move_run(run.pk, RunState.FAILED, error=busy_message(run.robot, current))
            return False
        if not said:
            states.log(run.pk, "", f"waiting: {busy_message(run.robot, current)}", "warning")
            said = True
        fresh = WorkflowRun.objects.filter(pk=run.pk).values("cancel_requested", "state").get()
        if fresh["state"] != RunState.QUEUED:
            return False
        if fresh["cancel_requested"]:
            states.move_run(run.pk, RunState.CANCELLED, error="cancelled while waiting for robot")
            return False
        time.sleep(LOCK_POLL_S)
    return True


def begin(executor, run) -> bool:
    """Open the robot session when the plan has robot steps; False (run failed) if it cannot."""
    if not any(step.uses_robot for step in executor.plan.steps.values()):
        return True
    from robots.controller import ControllerError, open_session

    try:
        executor._robot = open_session(run, executor.plan.document, executor.options)
    except ControllerError as exc:
        states.move_run(run.pk, RunState.FAILED, error=str(exc))
        return False
    if executor._robot.simulated and not executor.options.get("real_time_delays"):
        executor.options["skip_delays"] = True  # a dry run does not wait out delays
    states.log(run.pk, "", f"robot session open: {executor._robot.label}")
    return True


def end(executor) -> None:
    session, executor._robot = executor._robot, None
    try:
        if session is not None:
            session.end(cancelled=executor.signals.cancel.is_set())
    finally:
        release(executor.run_id)
