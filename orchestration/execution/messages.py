"""What node threads (or Prefect tasks) report to the one thread that records a run."""

from dataclasses import dataclass, field
from typing import Any

from orchestration.models import NodeState


@dataclass(frozen=True)
class NodeMoved:
    """The node changed state without ending (running again, retrying, skipped …)."""

    node_id: str
    state: NodeState
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Logged:
    node_id: str
    message: str
    level: str = "info"


@dataclass(frozen=True)
class CommandsSent:
    node_id: str
    commands: list


@dataclass(frozen=True)
class Paused:
    node_id: str
    message: str
    form: list | None = None  # control.input: the fields a person fills in to continue


@dataclass(frozen=True)
class NodeEnded:
    """The node ended: `result` is its output when completed, else the error."""

    node_id: str
    state: NodeState
    result: Any


Message = NodeMoved | Logged | CommandsSent | Paused | NodeEnded
