"""One controller, two back ends, behind the interface the Opentrons node types call:
`execute(node_type, params, context)`, `stop()`, `end(cancelled)`; a session is opened by
`open_session(run, document, cancelled)`."""

from robots.http_robot import HttpSession, RobotError, SessionCancelled
from robots.simulator import DeckError, SimulatorSession

__all__ = ["ControllerError", "SessionCancelled", "open_session"]


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
        return HttpSession(robot, document, cancelled=cancelled)
    except (DeckError, RobotError) as exc:
        raise ControllerError(str(exc))
