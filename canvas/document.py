"""The workflow document (`sdl-workflow/1`): its shape as strict pydantic models.

`../shared/design/workflow-format.md` is the contract; read documents through these models,
never as raw dicts.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = "sdl-workflow/1"
NODE_ID = r"^[A-Za-z0-9_-]{1,64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- the deck: what stands on the robot (checked against Opentrons' definitions by robots)

Id = Field(pattern=NODE_ID)


class Liquid(_Strict):
    """A liquid the deck holds. `absorbance`: its absorbance at full strength over 1 cm, by
    wavelength in nm (for simulated plate readings; optional)."""

    id: str = Id
    name: str = Field(min_length=1, max_length=200)
    color: str = Field(default="#3b82f6", pattern=r"^#[0-9a-fA-F]{6}$")
    description: str = Field(default="", max_length=2000)
    absorbance: dict[str, float] = Field(default={}, max_length=64)


class Amount(_Strict):
    liquid: str = Field(min_length=1, max_length=64)
    volume: float = Field(gt=0, le=10_000_000, description="µL")


# Well name → what it holds at the start, e.g. {"A1": {"liquid": "dye", "volume": 200}}.
Contents = dict[str, Amount]


class Labware(_Strict):
    id: str = Id
    load_name: str = Field(min_length=1, max_length=200)
    slot: str = Field(min_length=1, max_length=8)
    contents: Contents = Field(default={}, max_length=1536)


class Pipette(_Strict):
    id: str = Id
    instrument: str = Field(min_length=1, max_length=100)
    mount: str = Field(pattern=r"^(left|right)$")
    tip_racks: list[str] = []


class ModuleLabware(_Strict):
    id: str = Id
    load_name: str = Field(min_length=1, max_length=200)
    contents: Contents = Field(default={}, max_length=1536)


class Module(_Strict):
    id: str = Id
    model: str = Field(min_length=1, max_length=100)
    slot: str = Field(min_length=1, max_length=8)
    labware: ModuleLabware | None = None


class Trash(_Strict):
    slot: str = Field(min_length=1, max_length=8)


class Deck(_Strict):
    liquids: list[Liquid] = []
    labware: list[Labware] = []
    pipettes: list[Pipette] = []
    modules: list[Module] = []
    trash: Trash | None = None

    def all_labware(self) -> list[Labware | ModuleLabware]:
        """Labware in slots and on modules."""
        return [*self.labware, *(m.labware for m in self.modules if m.labware)]


class Robot(_Strict):
    type: Literal["OT-2", "Flex"]
    api_level: str = Field(default="2.20", max_length=10)


class Parameter(_Strict):
    type: Literal["number", "integer", "string", "boolean"]
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    enum: list[Any] | None = None
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class Position(_Strict):
    x: float
    y: float


class Note(_Strict):
    """A sticky note on the canvas; never run."""

    id: str = Id
    text: str = Field(default="", max_length=5000)
    position: Position


class Group(_Strict):
    """A titled box around steps on the canvas; never run. A step is in one group at most."""

    id: str = Id
    title: str = Field(min_length=1, max_length=200)
    nodes: list[str] = Field(min_length=1, max_length=100_000)


class Node(_Strict):
    id: str = Field(pattern=NODE_ID)
    type: str = Field(min_length=1, max_length=100)
    label: str | None = Field(default=None, max_length=200)
    position: Position | None = None
    params: dict[str, Any]
    retries: int = Field(default=0, ge=0, le=100)
    retry_delay_s: float = Field(default=1.0, ge=0, le=3600)
    timeout_s: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    disabled: bool = False


class Edge(_Strict):
    source: str = Field(min_length=1, max_length=64)
    target: str = Field(min_length=1, max_length=64)
    when: str | None = Field(default=None, max_length=500)


class Header(BaseModel):
    """The top level, with nodes and edges still raw so each can be checked on its own."""

    model_config = ConfigDict(extra="allow")

    schema_: Literal["sdl-workflow/1"] = Field(alias="schema")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20000)
    robot: Robot | None = None
    deck: Deck | None = None
    parameters: dict[str, Parameter] = {}
    groups: list[Group] = []  # the canvas's group boxes and sticky notes: a compatible
    notes: list[Note] = []  # extension of the format, ignored by execution
    nodes: list[Any]
    edges: list[Any]


class Document(Header):
    nodes: list[Node]
    edges: list[Edge]
