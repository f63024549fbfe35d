"""Liquid handling on the Opentrons: tips, aspirate and dispense, mixing, bulk transfers and
moving labware. Parameters are named after the Protocol API's own arguments."""

from typing import Literal

from pydantic import Field

from canvas.registry import Params
from robots import definitions as defs
from robots.nodes.base import (
    OpentronsNode,
    PipetteParams,
    Rate,
    Volume,
    Wells,
    pipette,
    succeeded,
    total_volume,
    well,
    wells,
)


def current_volume(session, params) -> float | None:
    """µL now in the pipette's tip, as the simulator counts it."""
    found = session.pipettes.get(params.pipette)
    return round(found.current_volume, 3) if found is not None else None


# --- tips ------------------------------------------------------------------------------------

# Protocol Designer's tip policy: a new tip for every well ("always"), one for the step
# ("once"), or the tip already on the pipette ("never").
NewTip = Literal["once", "always", "never"]


def fresh_tip(session, params) -> None:
    """Before a step with new_tip once/always: replace whatever tip the pipette holds."""
    session.replace_tip(pipette(session, params))


class TipParams(PipetteParams):
    location: Wells | None = Field(default=None, description="Default: the next tip / trash")


class PickUpTip(OpentronsNode):
    type = "opentrons.pick_up_tip"
    title = "Pick up tip"
    Params = TipParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    outputs = {"tip": "the well the tip came from"}

    def picks_up_tips(self, params):
        return params.get("location") is None

    def protocol(self, session, params):
        location = well(session, params.location)
        if location:
            pipette(session, params).pick_up_tip(location)
        else:
            pipette(session, params).pick_up_tip()

    def read_outputs(self, params, commands, session):
        picked = succeeded(commands, "pickUpTip")
        return {"tip": picked[0]["params"].get("wellName") if picked else None}


class DropTip(OpentronsNode):
    type = "opentrons.drop_tip"
    title = "Drop tip"
    Params = TipParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    outputs = {"tips_dropped": "1"}

    def picks_up_tips(self, params):
        return False

    def drops_tips(self, params):
        return not params.get("location")

    def protocol(self, session, params):
        location = well(session, params.location)
        if location:
            pipette(session, params).drop_tip(location)
        else:
            pipette(session, params).drop_tip()

    def read_outputs(self, params, commands, session):
        return {"tips_dropped": 1}


class ReturnTip(OpentronsNode):
    type = "opentrons.return_tip"
    title = "Return tip"
    Params = PipetteParams
    outputs = {"tips_returned": "1"}

    def protocol(self, session, params):
        pipette(session, params).return_tip()

    def read_outputs(self, params, commands, session):
        return {"tips_returned": 1}


# --- single moves ----------------------------------------------------------------------------


class AspirateParams(PipetteParams):
    volume: float = Volume
    location: Wells
    rate: float = Rate
    new_tip: NewTip = Field(
        default="never", description="once / always: pick up a fresh tip first; never: the tip on"
    )


class Aspirate(OpentronsNode):
    type = "opentrons.aspirate"
    title = "Aspirate"
    Params = AspirateParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    holds_volume = True
    summary = "{volume} µL {location}"
    outputs = {"volume": "µL aspirated", "current_volume": "µL now in the tip"}

    def drops_tips(self, params):
        return params.get("new_tip", "never") != "never"

    def protocol(self, session, params):
        if params.new_tip != "never":
            fresh_tip(session, params)
        pipette(session, params).aspirate(
            params.volume, well(session, params.location), params.rate
        )

    def read_outputs(self, params, commands, session):
        return {
            "volume": total_volume(commands, "aspirate"),
            "current_volume": current_volume(session, params),
        }


class DispenseParams(PipetteParams):
    volume: float | None = Field(default=None, gt=0, le=100_000, description="Default: all")
    location: Wells
    rate: float = Rate


class Dispense(OpentronsNode):
    type = "opentrons.dispense"
    title = "Dispense"
    Params = DispenseParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    holds_volume = True
    summary = "{volume} µL {location}"
    outputs = {"volume": "µL dispensed", "current_volume": "µL left in the tip"}

    def protocol(self, session, params):
        pipette(session, params).dispense(
            params.volume, well(session, params.location), params.rate
        )

    def read_outputs(self, params, commands, session):
        return {
            "volume": total_volume(commands, "dispense"),
            "current_volume": current_volume(session, params),
        }


class OptionalLocationParams(PipetteParams):
    location: Wells | None = None


class BlowOut(OpentronsNode):
    type = "opentrons.blow_out"
    title = "Blow out"
    Params = OptionalLocationParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)

    def protocol(self, session, params):
        pipette(session, params).blow_out(well(session, params.location))


class TouchTipParams(OptionalLocationParams):
    radius: float = Field(default=1.0, gt=0, le=1.0)
    v_offset: float = Field(default=-1.0, ge=-100, le=100)
    speed: float = Field(default=60.0, ge=1, le=80)


class TouchTip(OpentronsNode):
    type = "opentrons.touch_tip"
    title = "Touch tip"
    Params = TouchTipParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)

    def protocol(self, session, params):
        pipette(session, params).touch_tip(
            well(session, params.location),
            radius=params.radius,
            v_offset=params.v_offset,
            speed=params.speed,
        )


class AirGapParams(PipetteParams):
    volume: float = Volume
    height: float | None = Field(default=None, ge=0, le=100)
    new_tip: NewTip = Field(
        default="never", description="once / always: pick up a fresh tip first; never: the tip on"
    )


class AirGap(OpentronsNode):
    type = "opentrons.air_gap"
    title = "Air gap"
    Params = AirGapParams
    holds_volume = True
    summary = "{volume} µL air"
    outputs = {"volume": "µL of air drawn"}

    def drops_tips(self, params):
        return params.get("new_tip", "never") != "never"

    def protocol(self, session, params):
        if params.new_tip != "never":
            fresh_tip(session, params)
        pipette(session, params).air_gap(params.volume, params.height)

    def read_outputs(self, params, commands, session):
        return {"volume": total_volume(commands, "aspirate") or params.volume}


class MixParams(PipetteParams):
    repetitions: int = Field(default=1, ge=1, le=100)
    volume: float = Volume
    location: Wells
    rate: float = Rate
    new_tip: NewTip = Field(
        default="always",
        description="always / once (as Protocol Designer's Mix): a fresh tip, dropped after; "
        "never: mix with the tip on the pipette",
    )


class Mix(OpentronsNode):
    type = "opentrons.mix"
    title = "Mix"
    Params = MixParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    holds_volume = True
    summary = "{repetitions}× {volume} µL {location}"
    outputs = {"volume": "µL moved in all"}

    def drops_tips(self, params):
        return params.get("new_tip", "always") != "never"

    def protocol(self, session, params):
        if params.new_tip != "never":
            fresh_tip(session, params)
        pipette(session, params).mix(
            params.repetitions, params.volume, well(session, params.location), params.rate
        )
        if params.new_tip != "never":
            pipette(session, params).drop_tip()

    def read_outputs(self, params, commands, session):
        return {"volume": total_volume(commands, "aspirate")}


# --- bulk transfers --------------------------------------------------------------------------

MixSpec = tuple[int, float]  # (repetitions, volume), as `mix_after=(3, 50)` in the API
BULK_OPTIONS = ("mix_before", "mix_after", "touch_tip", "blow_out", "air_gap", "disposal_volume")


class BulkNode(OpentronsNode):
    deck_fields = {"pipette": "pipette", "source": "location", "dest": "location"}
    summary = "{volume} µL {source} → {dest}"
    outputs = {
        "volume": "µL moved in all",
        "transfers": "number of aspirate–dispense moves",
        "tips_used": "tips picked up",
    }
    method: str  # the InstrumentContext method of the same name

    def check_deck(self, params, deck):
        source, dest = len(params.source.names()), len(params.dest.names())
        if source > 1 and dest > 1 and source != dest:
            return [
                (
                    "dest",
                    f"{source} source wells and {dest} destination wells: "
                    "give one, or as many as the other",
                )
            ]
        return []

    def drops_tips(self, params):
        return params.get("new_tip", "once") != "never"

    def protocol(self, session, params):
        options = {"new_tip": params.new_tip}
        for name in BULK_OPTIONS:
            value = getattr(params, name, None)
            if value not in (None, False, 0):
                options[name] = tuple(value) if isinstance(value, list | tuple) else value
        getattr(pipette(session, params), self.method)(
            params.volume, wells(session, params.source), wells(session, params.dest), **options
        )

    def read_outputs(self, params, commands, session):
        # From the parameters: mixing aspirates and dispenses too, and big volumes split.
        pairs = max(len(params.source.names()), len(params.dest.names()))
        return {
            "volume": round(params.volume * pairs, 3),
            "transfers": pairs,
            "tips_used": len(succeeded(commands, "pickUpTip")),
        }


class TransferParams(PipetteParams):
    volume: float = Volume
    source: Wells
    dest: Wells
    new_tip: NewTip = "once"
    mix_before: MixSpec | None = None
    mix_after: MixSpec | None = None
    touch_tip: bool = False
    blow_out: bool = False
    air_gap: float = Field(default=0, ge=0)


class Transfer(BulkNode):
    type = "opentrons.transfer"
    title = "Transfer"
    Params = TransferParams
    method = "transfer"


class DistributeParams(PipetteParams):
    volume: float = Volume
    source: Wells
    dest: Wells
    new_tip: NewTip = "once"
    disposal_volume: float | None = Field(default=None, ge=0)
    mix_before: MixSpec | None = None
    touch_tip: bool = False
    blow_out: bool = False


class Distribute(BulkNode):
    type = "opentrons.distribute"
    title = "Distribute"
    Params = DistributeParams
    method = "distribute"


class ConsolidateParams(PipetteParams):
    volume: float = Volume
    source: Wells
    dest: Wells
    new_tip: NewTip = "once"
    mix_after: MixSpec | None = None
    blow_out: bool = False


class Consolidate(BulkNode):
    type = "opentrons.consolidate"
    title = "Consolidate"
    Params = ConsolidateParams
    method = "consolidate"


# --- the robot itself ------------------------------------------------------------------------


class Home(OpentronsNode):
    type = "opentrons.home"
    title = "Home"
    Params = Params
    deck_fields = {}
    summary = ""

    def protocol(self, session, params):
        session.context.home()


class RobotCommentParams(Params):
    text: str = Field(min_length=1, max_length=10000, description="What the run log says")


class RobotComment(OpentronsNode):
    type = "opentrons.comment"
    title = "Robot comment"
    description = "Writes a line into the robot's own run log (seen in the Opentrons App)."
    Params = RobotCommentParams
    deck_fields = {}
    summary = "{text}"

    def protocol(self, session, params):
        session.context.comment(params.text)


class MoveLabwareParams(Params):
    labware: str = Field(min_length=1, description="Deck labware id")
    new_location: str = Field(min_length=1, description="A slot, or a module id")
    use_gripper: bool = False


class MoveLabware(OpentronsNode):
    type = "opentrons.move_labware"
    title = "Move labware"
    Params = MoveLabwareParams
    deck_fields = {"labware": "labware"}
    summary = "{labware} → {new_location}"
    outputs = {"location": "where the labware is now"}

    def check_deck(self, params, deck):
        errors = []
        if params.labware not in deck.labware:
            errors.append(("labware", f"no labware {params.labware} on the deck"))
        slots = defs.SLOTS.get(deck.robot_type or "", [])
        if params.new_location not in slots and params.new_location not in deck.modules:
            errors.append(
                (
                    "new_location",
                    f"{params.new_location} is neither a slot of the "
                    f"{deck.robot_type} nor a module on the deck",
                )
            )
        if params.use_gripper and deck.robot_type != "Flex":
            errors.append(("use_gripper", "only a Flex has a gripper"))
        return errors

    def protocol(self, session, params):
        target = session.modules.get(params.new_location, params.new_location)
        session.context.move_labware(
            session.labware[params.labware], target, use_gripper=params.use_gripper
        )

    def read_outputs(self, params, commands, session):
        return {"location": params.new_location}
