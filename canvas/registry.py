"""The node-type contract and the one registry of node types.

Palette, forms, validation, both engines and the protocol export all read it. A node type is
one class, declared once in the app that owns what it does; the registry finds the classes in
the modules that `settings.SDL_NODE_TYPE_MODULES` lists (the one way this bottom layer reaches
code of the apps above it) and imports them when first asked.
"""

import importlib
from functools import cache
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, ConfigDict

CATEGORIES = {
    "control": "Control",
    "opentrons": "Liquid handling",
    "opentrons.modules": "Modules",
    "integration": "Integration",
    "data": "Data",
}


class NodeError(Exception):
    """A node failed. `retryable` says whether another attempt could help."""

    def __init__(self, message: str, retryable: bool = True):
        super().__init__(message)
        self.retryable = retryable


class NodeContext(Protocol):
    """What an engine hands to `NodeType.execute`."""

    node_id: str
    attempt: int

    def log(self, message: str, level: str = "info") -> None: ...

    def sleep(self, seconds: float) -> None:
        """Wait, in short steps; raises if the run is cancelled meanwhile."""

    def check_cancelled(self) -> None: ...

    def wait_for_continue(self, message: str) -> str: ...

    def robot(self) -> Any:
        """The run's robot controller (robots app); NodeError when the run has none."""

    def record_commands(self, commands: list[dict]) -> None:
        """Store the robot commands this node sent, as its command log."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoProtocol(NodeError):
    """The node has no Opentrons protocol equivalent."""

    def __init__(self, node_type: str):
        super().__init__(f"{node_type} has no Opentrons protocol equivalent", retryable=False)


class NodeType:
    """Everything about one kind of step. Subclasses set the class attributes and override
    what they do; `type` names it in documents."""

    type: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]  # a key of CATEGORIES: where the palette shows it
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = Params
    outputs: ClassVar[dict[str, str]] = {}
    uses_robot: ClassVar[bool] = False
    # Finishes at once, never waits and changes nothing outside the run's records (no robot,
    # no I/O, no sleep): an engine may run it in its own thread instead of handing it to a
    # worker thread, before the database has confirmed that the node was its to run.
    inline: ClassVar[bool] = False
    # Fields whose value names a deck item, so the editor offers a drop-down of those ids.
    deck_fields: ClassVar[dict[str, str]] = {}
    # The node's one line on the canvas: `{field}` is replaced by that parameter, shown
    # readably (wells as a range, references as $name), e.g. "{volume} µL {source} → {dest}".
    summary: ClassVar[str] = ""

    def output_keys(self, params: dict) -> set[str] | None:
        """The keys this node's output will have, or None when they cannot be known."""
        return set(self.outputs)

    def check(self, params: BaseModel, document) -> list[tuple[str, str]]:
        """Checks that need the rest of the document (its robot, deck):
        (field path, message). `document` is a `canvas.document.Header`."""
        return []

    def drops_tips(self, params: dict) -> bool:
        """Whether this step throws tips away (so a Flex deck needs a trash bin)."""
        return False

    def picks_up_tips(self, params: dict) -> bool:
        """Whether this step takes tips from the pipette's tip racks."""
        return False

    def execute(self, context: NodeContext, params: BaseModel) -> dict:
        raise NodeError(f"{self.type} cannot be executed", retryable=False)

    def protocol(self, session, params: BaseModel) -> None:
        """The Opentrons Protocol API calls this step makes on `session` (its `context`,
        `labware`, `pipettes` and `modules` by deck id): run by the simulator, sent to robots
        and written into exported protocols alike."""
        raise NoProtocol(self.type)

    def describe(self) -> dict:
        return {
            "type": self.type,
            "title": self.title,
            "category": self.category,
            "description": self.description,
            "schema": self.Params.model_json_schema(),
            "outputs": self.outputs,
            "uses_robot": self.uses_robot,
            "deck_fields": self.deck_fields,
            "summary": self.summary,
        }


@cache
def _types() -> dict[str, NodeType]:
    """Every NodeType subclass that names a `type`, in the order its module declares it."""
    found: dict[str, NodeType] = {}
    for module_name in settings.SDL_NODE_TYPE_MODULES:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            declared_here = isinstance(value, type) and value.__module__ == module.__name__
            if declared_here and issubclass(value, NodeType) and "type" in vars(value):
                if value.type in found:
                    raise ImproperlyConfigured(f"node type {value.type} is declared twice")
                found[value.type] = value()
    return found


def get(type_name: str) -> NodeType | None:
    return _types().get(type_name)


def all_types() -> list[NodeType]:
    return list(_types().values())


def catalogue() -> list[dict]:
    """The palette: categories in order, each with its node types."""
    groups = []
    for key, title in CATEGORIES.items():
        types = [t.describe() for t in all_types() if t.category == key]
        groups.append({"category": key, "title": title, "types": types})
    return groups
