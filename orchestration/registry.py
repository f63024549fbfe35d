"""The one registry of node types.

Palette, forms, validation, both engines and the protocol export all read it. Each type is a
small class (declared once, in the app that owns what it does), listed here by dotted path and
imported when first asked for.
"""

from functools import cache
from typing import Any, ClassVar, Protocol

from django.utils.module_loading import import_string
from pydantic import BaseModel, ConfigDict

NODE_TYPES = {
    "control.start": "orchestration.nodes.control.Start",
    "control.delay": "orchestration.nodes.control.Delay",
    "control.pause": "orchestration.nodes.control.Pause",
    "control.comment": "orchestration.nodes.control.Comment",
    "control.log": "orchestration.nodes.control.Log",
    "opentrons.pick_up_tip": "robots.nodes.PickUpTip",
    "opentrons.drop_tip": "robots.nodes.DropTip",
    "opentrons.return_tip": "robots.nodes.ReturnTip",
    "opentrons.aspirate": "robots.nodes.Aspirate",
    "opentrons.dispense": "robots.nodes.Dispense",
    "opentrons.blow_out": "robots.nodes.BlowOut",
    "opentrons.touch_tip": "robots.nodes.TouchTip",
    "opentrons.air_gap": "robots.nodes.AirGap",
    "opentrons.mix": "robots.nodes.Mix",
    "opentrons.transfer": "robots.nodes.Transfer",
    "opentrons.distribute": "robots.nodes.Distribute",
    "opentrons.consolidate": "robots.nodes.Consolidate",
    "opentrons.home": "robots.nodes.Home",
    "opentrons.move_labware": "robots.nodes.MoveLabware",
    "opentrons.temperature.set": "robots.nodes.TemperatureSet",
    "opentrons.temperature.deactivate": "robots.nodes.TemperatureDeactivate",
    "opentrons.heater_shaker.set_temperature": "robots.nodes.HeaterShakerSetTemperature",
    "opentrons.heater_shaker.shake": "robots.nodes.HeaterShakerShake",
    "opentrons.heater_shaker.stop": "robots.nodes.HeaterShakerStop",
    "opentrons.thermocycler.run_profile": "robots.nodes.ThermocyclerRunProfile",
    "opentrons.magnetic.engage": "robots.nodes.MagneticEngage",
    "opentrons.magnetic.disengage": "robots.nodes.MagneticDisengage",
    "http.request": "orchestration.nodes.integration.HttpRequest",
    "python.call": "orchestration.nodes.integration.PythonCall",
    "data.record": "orchestration.nodes.data.Record",
}

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


class NodeType:
    type: ClassVar[str]
    title: ClassVar[str]
    category: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = Params
    outputs: ClassVar[dict[str, str]] = {}
    uses_robot: ClassVar[bool] = False
    # Fields whose value names a deck item, so the editor offers a drop-down of those ids.
    deck_fields: ClassVar[dict[str, str]] = {}

    def output_keys(self, params: dict) -> set[str] | None:
        """The keys this node's output will have, or None when they cannot be known."""
        return set(self.outputs)

    def check(self, params: BaseModel, deck) -> list[tuple[str, str]]:
        """Checks that need the deck (robots.deck.DeckInfo): (field path, message)."""
        return []

    def execute(self, context: NodeContext, params: BaseModel) -> dict:
        raise NodeError(f"{self.type} cannot be executed", retryable=False)

    def summary(self) -> dict:
        return {
            "type": self.type,
            "title": self.title,
            "category": self.category,
            "description": self.description,
            "schema": self.Params.model_json_schema(),
            "outputs": self.outputs,
            "uses_robot": self.uses_robot,
            "deck_fields": self.deck_fields,
        }


@cache
def get(type_name: str) -> NodeType | None:
    path = NODE_TYPES.get(type_name)
    if path is None:
        return None
    node_type = import_string(path)()
    assert node_type.type == type_name, f"{path} declares {node_type.type}"
    return node_type


def all_types() -> list[NodeType]:
    return [get(name) for name in NODE_TYPES]


def catalogue() -> list[dict]:
    """The palette: categories in order, each with its node types."""
    groups = []
    for key, title in CATEGORIES.items():
        types = [t.summary() for t in all_types() if t.category == key]
        groups.append({"category": key, "title": title, "types": types})
    return groups
