"""One controller, two back ends, behind the interface the Opentrons node types call:
`execute(node_type, params, context)`, `stop()`, `end(cancelled)`; a session is opened by
`open_session(run, document, cancelled)`."""

from canvas import document as workflow_document
from robots.dryrun import DRY_RUNS
from robots.http_robot import HttpSession, RobotError, SessionCancelled
from robots.models import Robot
from robots.simulator import DeckError, SimulatorSession, warm

__all__ = ["ControllerError", "SessionCancelled", "open_session", "warm_up"]


class ControllerError(Exception):
    """The robot session could not begin; the run fails with this message."""


def open_session(run, document, cancelled=lambda: False):
    """The run's robot, or — with no robot chosen — a simulator of the workflow's robot type.
    `cancelled()` is asked between the steps of opening; SessionCancelled when it says yes."""
    robot = run.robot
    try:
        if robot is None or robot.simulate:
            label = robot.name if robot else f"simulated {document.robot.type}"
            return SimulatorSession(document, label=label)
        script = DRY_RUNS.script(run.version.document, run.parameters)
        return HttpSession(robot, document, cancelled=cancelled, script=script)
    except (DeckError, RobotError) as exc:
        raise ControllerError(str(exc))


def warm_up() -> None:
    """In a process that will run nodes: prepare a simulator (the Protocol API import, ~3 s,
    and a context) for each robot type in use, and the dry-run workers, in the background, so
    the first run's session and the first dry run start at once."""
    level = workflow_document.Robot.model_fields["api_level"].default
    DRY_RUNS.warm()
    for robot_type in set(Robot.objects.filter(enabled=True).values_list("robot_type", flat=True)):
        warm(level, robot_type)
