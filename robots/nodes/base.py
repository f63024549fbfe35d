"""What every `opentrons.*` node type shares: well locations, deck checks, execution through
the run's robot controller, and lookups of deck items on a session.

A node type's `protocol(session, params)` is its Protocol API calls, argument for argument: the
simulator runs them, the HTTP back end sends the commands they produce to the robot, and the
export writes them as lines of Python. `read_outputs` counts its outputs from the commands.
"""

from typing import ClassVar

from pydantic import Field, model_validator

from canvas.registry import NodeError, NodeType, Params
from robots.deck import DeckInfo

Volume = Field(gt=0, le=100_000, description="µL")
Rate = Field(default=1.0, gt=0, le=10, description="Multiple of the pipette's default flow rate")


class Wells(Params):
    """`{"labware": ID, "wells": [...]}` or `{"labware": ID, "well": "A1"}`."""

    labware: str = Field(min_length=1)
    well: str | None = None
    wells: list[str] | None = Field(default=None, min_length=1, max_length=1536)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.well is None) == (self.wells is None):
            raise ValueError("give either well or wells")
        return self

    def names(self) -> list[str]:
        return [self.well] if self.well is not None else list(self.wells)


class PipetteParams(Params):
    pipette: str = Field(min_length=1, description="Deck pipette id")


class ModuleParams(Params):
    module: str = Field(min_length=1, description="Deck module id")


class OpentronsNode(NodeType):
    category = "opentrons"
    uses_robot = True
    deck_fields: ClassVar[dict[str, str]] = {"pipette": "pipette"}
    summary = "{pipette}"
    # Fields that must name exactly one well, and volume fields the pipette must hold.
    single_well: ClassVar[tuple[str, ...]] = ()
    holds_volume: ClassVar[bool] = False

    def check(self, params, document):
        deck = DeckInfo(document.deck, document.robot.type if document.robot else None)
        errors = []
        pipette = getattr(params, "pipette", None)
        if pipette is not None and pipette not in deck.pipettes:
            errors.append(("pipette", f"no pipette {pipette} on the deck"))
        for field, kind in self.deck_fields.items():
            value = getattr(params, field, None)
            if kind == "location" and value is not None:
                errors += check_wells(deck, field, value, single=field in self.single_well)
            elif kind == "module" and value is not None:
                errors += self.check_module(deck, field, value)
        volume = getattr(params, "volume", None)
        if self.holds_volume and isinstance(volume, int | float) and pipette in deck.pipettes:
            spec = deck.pipette_def(pipette)
            if spec and volume > spec.max_volume:
                instrument = deck.pipettes[pipette].instrument
                errors.append(
                    (
                        "volume",
                        f"volume {volume:g} µL is more than pipette {pipette} "
                        f"({instrument}) holds ({spec.max_volume:g} µL)",
                    )
                )
        return errors + self.check_deck(params, deck)

    def check_deck(self, params, deck: DeckInfo) -> list[tuple[str, str]]:
        """Checks of this type beyond pipette, wells, modules and volume."""
        return []

    def check_module(self, deck, field, module_id):
        return []

    def picks_up_tips(self, params):
        """A step that drops tips picked them up first (Drop tip and Pick up tip say more)."""
        return self.drops_tips(params)

    def execute(self, context, params):
        session = context.robot()
        try:
            return session.execute(self, params, context)
        finally:
            context.record_commands(session.last_commands)

    def read_outputs(self, params, commands: list[dict], session) -> dict:
        """The outputs later nodes can reference, from the Protocol Engine commands this node
        produced (`session` is the simulator that produced them)."""
        return {}


def check_wells(deck, field: str, location: Wells, single: bool) -> list[tuple[str, str]]:
    spec = deck.labware_def(location.labware)
    if location.labware not in deck.labware:
        return [(f"{field}.labware", f"no labware {location.labware} on the deck")]
    names = location.names()
    if single and len(names) != 1:
        return [(field, "choose exactly one well")]
    if spec is None:
        return []  # an unknown load name is reported on the deck
    known = set(spec.wells)
    missing = [w for w in names if w not in known]
    if missing:
        return [
            (
                f"{field}.{'well' if location.well else 'wells'}",
                f"well {', '.join(missing[:5])} is not in {location.labware} ({spec.load_name})",
            )
        ]
    return []


# --- reading commands ---------------------------------------------------------------------


def succeeded(commands: list[dict], kind: str) -> list[dict]:
    return [c for c in commands if c.get("status") == "succeeded" and c["commandType"] == kind]


def total_volume(commands: list[dict], kind: str) -> float:
    return round(sum(c["params"].get("volume") or 0 for c in succeeded(commands, kind)), 3)


# --- deck items on a session (a live simulator context, or the export's recorders) --------


def well(session, location: Wells | None):
    if location is None:
        return None
    labware = session.labware.get(location.labware)
    if labware is None:
        raise NodeError(f"no labware {location.labware} on the deck", retryable=False)
    return labware[location.names()[0]]


def wells(session, location: Wells):
    labware = session.labware[location.labware]
    found = [labware[name] for name in location.names()]
    return found[0] if len(found) == 1 else found


def pipette(session, params):
    try:
        return session.pipettes[params.pipette]
    except KeyError:
        raise NodeError(f"no pipette {params.pipette} on the deck", retryable=False)


def module(session, params):
    try:
        return session.modules[params.module]
    except KeyError:
        raise NodeError(f"no module {params.module} on the deck", retryable=False)
