"""One controller, two back ends, behind the interface the Opentrons node types call:
`execute(node_type, params)`, `stop()`, `end()`; `open_session` is `begin(run, deck)`."""

from robots.http_robot import HttpSession, RobotError
from robots.simulator import DeckError, SimulatorSession


class ControllerError(Exception):
    """The robot session could not begin; the run fails with this message."""


def open_session(run, document):
    """The run's robot, or — with no robot chosen — a simulator of the workflow's robot type."""
    robot = run.robot
    try:
        if robot is None or robot.simulate:
            label = robot.name if robot else f"simulated {document.robot.type}"
            return SimulatorSession(document, label=label)
        return HttpSession(robot, document)
    except (DeckError, RobotError) as exc:
        raise ControllerError(str(exc))
