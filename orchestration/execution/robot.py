"""Where a run meets its robot: the database lock, and the controller session.

A robot runs one workflow run at a time. The lock is a `RobotLock` row (one per robot): taken
by INSERT when the run starts, deleted when it ends in any state.
"""

import time

from django.db import IntegrityError, connection, transaction

from canvas import permissions
from canvas.models import Permission
from orchestration import transitions
from orchestration.models import RUN_TERMINAL, RobotLock, RunState, WorkflowRun
from robots.controller import ControllerError, SessionCancelled, open_session
from robots.models import Robot, mark_needs_check

LOCK_POLL_S = 0.25

__all__ = [
    "ControllerError",
    "SessionCancelled",
    "acquire",
    "busy_message",
    "close",
    "holder",
    "open",
    "release",
]


def holder(robot_id: int) -> WorkflowRun | None:
    lock = (
        RobotLock.objects.select_related("run__started_by", "run__workflow")
        .filter(robot_id=robot_id)
        .first()
    )
    return lock.run if lock else None


def busy_message(robot, holder: WorkflowRun, for_run=None, viewer=None) -> str:
    """Why the robot cannot take a run now, naming the run that holds it only to those who
    may see that run: `viewer` (a user), or everyone who sees `for_run` (its own workflow)."""
    if viewer is not None:
        may_see = permissions.may(viewer, holder.workflow, Permission.VIEW)
    else:
        may_see = for_run is not None and holder.workflow_id == for_run.workflow_id
    if not may_see:
        return f"robot {robot.name} is busy with another run"
    who = holder.started_by.get_username() if holder.started_by else holder.trigger or "someone"
    return (
        f"robot {robot.name} is busy with run {holder.pk} ({holder.workflow.name}), "
        f"started by {who}"
    )


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


def acquire(run) -> bool:
    """Wait (in `queued`) until the run's robot is free. False when the run must not start."""
    if run.robot_id is None:
        return True
    said = False
    while not try_lock(run.robot_id, run.pk):
        current = holder(run.robot_id)
        if current is None:
            continue
        if run.options.get("no_wait"):
            transitions.move_run(
                run.pk, RunState.FAILED, error=busy_message(run.robot, current, for_run=run)
            )
            return False
        if not said:
            busy = busy_message(run.robot, current, for_run=run)
            transitions.log(run.pk, "", f"waiting: {busy}", "warning")
            said = True
        fresh = WorkflowRun.objects.filter(pk=run.pk).values("cancel_requested", "state").get()
        if fresh["state"] != RunState.QUEUED:
            return False
        if fresh["cancel_requested"]:
            transitions.move_run(
                run.pk, RunState.CANCELLED, error="cancelled while waiting for robot"
            )
            return False
        if getattr(connection, "pool", None) is not None:
            connection.close()  # waiting holds no pooled connection
        time.sleep(LOCK_POLL_S)
    refusal = Robot.objects.get(pk=run.robot_id).refusal()  # it may have changed meanwhile
    if refusal:
        transitions.move_run(run.pk, RunState.FAILED, error=refusal)  # releases the lock
        return False
    return True


def open(run, document, cancelled):  # noqa: A001  (the module is used as `robot.open`)
    """The run's robot session: its robot, or a simulator of the workflow's robot type.
    ControllerError when it cannot begin, SessionCancelled when `cancelled()` turned true."""
    return open_session(run, document, cancelled)


def close(session, cancelled: bool, run_id: int) -> None:
    """End the session, stopping the robot after a cancel. The lock is not released here: it
    goes with the run's end, in the same transaction (transitions.move_run). A robot we lost
    contact with mid-command is left *needs check*: what it did is unknown."""
    if session is None:
        return
    session.end(cancelled=cancelled)
    if getattr(session, "lost", False):
        mark_needs_check(
            session.robot.pk,
            f"run {run_id} lost contact with it mid-command; what the robot did is unknown",
        )
