"""The `opentrons.*` node types: parameters named after the Protocol API's own arguments.

Execution goes through the run's robot controller (simulator or HTTP back end), so both
engines and both back ends share one implementation per type.
"""

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from orchestration.registry import NodeType, Params
from robots import definitions as defs

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


class OpentronsNode(NodeType):
    category = "opentrons"
    uses_robot = True
    deck_fields: ClassVar[dict[str, str]] = {"pipette": "pipette"}
    # Fields that must name exactly one well, and volume fields the pipette must hold.
    single_well: ClassVar[tuple[str, ...]] = ()
    holds_volume: ClassVar[bool] = False

    def check(self, params, deck):
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
        return errors

    def check_module(self, deck, field, module_id):
        return []

    def execute(self, context, params):
        session = context.robot()
        try:
            return session.execute(self.type, params, context)
        finally:
            context.record_commands(session.last_commands)


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


# --- Liquid handling -----------------------------------------------------------------------


class TipParams(PipetteParams):
    location: Wells | None = Field(default=None, description="Default: the next tip / trash")


class PickUpTip(OpentronsNode):
    type = "opentrons.pick_up_tip"
    title = "Pick up tip"
    Params = TipParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    outputs = {"tip": "the well the tip came from"}


class DropTip(OpentronsNode):
    type = "opentrons.drop_tip"
    title = "Drop tip"
    Params = TipParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    outputs = {"tips_dropped": "1"}


class ReturnTip(OpentronsNode):
    type = "opentrons.return_tip"
    title = "Return tip"
    Params = PipetteParams
    outputs = {"tips_returned": "1"}


class AspirateParams(PipetteParams):
    volume: float = Volume
    location: Wells
    rate: float = Rate


class Aspirate(OpentronsNode):
    type = "opentrons.aspirate"
    title = "Aspirate"
    Params = AspirateParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    holds_volume = True
    outputs = {"volume": "µL aspirated", "current_volume": "µL now in the tip"}


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
    outputs = {"volume": "µL dispensed", "current_volume": "µL left in the tip"}


class OptionalLocationParams(PipetteParams):
    location: Wells | None = None


class BlowOut(OpentronsNode):
    type = "opentrons.blow_out"
    title = "Blow out"
    Params = OptionalLocationParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)


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


class AirGapParams(PipetteParams):
    volume: float = Volume
    height: float | None = Field(default=None, ge=0, le=100)


class AirGap(OpentronsNode):
    type = "opentrons.air_gap"
    title = "Air gap"
    Params = AirGapParams
    holds_volume = True
    outputs = {"volume": "µL of air drawn"}


class MixParams(PipetteParams):
    repetitions: int = Field(default=1, ge=1, le=100)
    volume: float = Volume
    location: Wells
    rate: float = Rate


class Mix(OpentronsNode):
    type = "opentrons.mix"
    title = "Mix"
    Params = MixParams
    deck_fields = {"pipette": "pipette", "location": "location"}
    single_well = ("location",)
    holds_volume = True
    outputs = {"volume": "µL moved in all"}


MixSpec = tuple[int, float]  # (repetitions, volume), as `mix_after=(3, 50)` in the API


class TransferParams(PipetteParams):
    volume: float = Volume
    source: Wells
    dest: Wells
    new_tip: Literal["once", "always", "never"] = "once"
    mix_before: MixSpec | None = None
    mix_after: MixSpec | None = None
    touch_tip: bool = False
    blow_out: bool = False
    air_gap: float = Field(default=0, ge=0)


class BulkNode(OpentronsNode):
    deck_fields = {"pipette": "pipette", "source": "location", "dest": "location"}
    outputs = {
        "volume": "µL moved in all",
        "transfers": "number of aspirate–dispense moves",
        "tips_used": "tips picked up",
    }

    def check(self, params, deck):
        errors = super().check(params, deck)
        source, dest = len(params.source.names()), len(params.dest.names())
        if source > 1 and dest > 1 and source != dest:
            errors.append(
                (
                    "dest",
                    f"{source} source wells and {dest} destination wells: "
                    "give one, or as many as the other",
                )
            )
        return errors


class Transfer(BulkNode):
    type = "opentrons.transfer"
    title = "Transfer"
    Params = TransferParams


class DistributeParams(PipetteParams):
    volume: float = Volume
    source: Wells
    dest: Wells
    new_tip: Literal["once", "always", "never"] = "once"
    disposal_volume: float | None = Field(default=None, ge=0)
    mix_before: MixSpec | None = None
    touch_tip: bool = False
    blow_out: bool = False


class Distribute(BulkNode):
    type = "opentrons.distribute"
    title = "Distribute"
    Params = DistributeParams


class ConsolidateParams(PipetteParams):
    volume: float = Volume
    source: Wells
    dest: Wells
    new_tip: Literal["once", "always", "never"] = "once"
    mix_after: MixSpec | None = None
    blow_out: bool = False


class Consolidate(BulkNode):
    type = "opentrons.consolidate"
    title = "Consolidate"
    Params = ConsolidateParams


class Home(OpentronsNode):
    type = "opentrons.home"
    title = "Home"
    Params = Params
    deck_fields = {}


class MoveLabwareParams(Params):
    labware: str = Field(min_length=1, description="Deck labware id")
    new_location: str = Field(min_length=1, description="A slot, or a module id")
    use_gripper: bool = False


class MoveLabware(OpentronsNode):
    type = "opentrons.move_labware"
    title = "Move labware"
    Params = MoveLabwareParams
    deck_fields = {"labware": "labware"}
    outputs = {"location": "where the labware is now"}

    def check(self, params, deck):
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


# --- Modules -------------------------------------------------------------------------------


class ModuleNode(OpentronsNode):
    category = "opentrons.modules"
    deck_fields = {"module": "module"}
    module_type: ClassVar[str]
    # (parameter, config key of its minimum, config key of its maximum) in the definition
    limits: ClassVar[tuple[str, str, str] | None] = None

    def check_module(self, deck, field, module_id):
        spec = deck.module_def(module_id)
        if module_id not in deck.modules:
            return [(field, f"no module {module_id} on the deck")]
        if spec is None:
            return []  # reported on the deck
        if spec.module_type != self.module_type:
            return [
                (
                    field,
                    f"{module_id} is a {spec.display_name}, not a "
                    f"{self.module_type.removesuffix('Type')}",
                )
            ]
        return []

    def check(self, params, deck):
        errors = super().check(params, deck)
        spec = deck.module_def(params.module)
        if not errors and self.limits and spec:
            name, low_key, high_key = self.limits
            value, low, high = (
                getattr(params, name),
                spec.config.get(low_key),
                spec.config.get(high_key),
            )
            if low is not None and high is not None and not low <= value <= high:
                errors.append(
                    (name, f"{value:g} is outside what the {spec.display_name} does ({low}–{high})")
                )
        return errors


class ModuleParams(Params):
    module: str = Field(min_length=1, description="Deck module id")


class CelsiusParams(ModuleParams):
    celsius: float = Field(ge=4, le=95, description="°C")


class TemperatureSet(ModuleNode):
    type = "opentrons.temperature.set"
    title = "Set temperature"
    Params = CelsiusParams
    module_type = "temperatureModuleType"
    outputs = {"temperature": "°C reached"}


class TemperatureDeactivate(ModuleNode):
    type = "opentrons.temperature.deactivate"
    title = "Temperature module off"
    Params = ModuleParams
    module_type = "temperatureModuleType"


class HeaterShakerTemperatureParams(CelsiusParams):
    wait: bool = Field(default=True, description="Wait until the temperature is reached")


class HeaterShakerSetTemperature(ModuleNode):
    type = "opentrons.heater_shaker.set_temperature"
    title = "Heater-Shaker temperature"
    Params = HeaterShakerTemperatureParams
    module_type = "heaterShakerModuleType"
    limits = ("celsius", "minPlateTemperature", "maxPlateTemperature")
    outputs = {"temperature": "°C target"}


class ShakeParams(ModuleParams):
    rpm: int = Field(ge=0, le=3000)


class HeaterShakerShake(ModuleNode):
    type = "opentrons.heater_shaker.shake"
    title = "Shake"
    Params = ShakeParams
    module_type = "heaterShakerModuleType"
    limits = ("rpm", "minShakeSpeed", "maxShakeSpeed")
    outputs = {"rpm": "speed set"}


class HeaterShakerStop(ModuleNode):
    type = "opentrons.heater_shaker.stop"
    title = "Stop shaking"
    Params = ModuleParams
    module_type = "heaterShakerModuleType"


class ProfileStep(Params):
    temperature: float = Field(ge=4, le=99)
    hold_time_seconds: float = Field(ge=0, le=24 * 3600)


class ProfileParams(ModuleParams):
    steps: list[ProfileStep] = Field(min_length=1, max_length=100)
    repetitions: int = Field(default=1, ge=1, le=1000)
    block_max_volume: float | None = Field(default=None, gt=0, le=100)
    lid_temperature: float | None = Field(default=None, ge=37, le=110)


class ThermocyclerRunProfile(ModuleNode):
    type = "opentrons.thermocycler.run_profile"
    title = "Thermocycler profile"
    Params = ProfileParams
    module_type = "thermocyclerModuleType"
    outputs = {"cycles": "repetitions run"}


class EngageParams(ModuleParams):
    height_from_base: float | None = Field(default=None, ge=0, le=45)


class MagneticEngage(ModuleNode):
    type = "opentrons.magnetic.engage"
    title = "Engage magnets"
    Params = EngageParams
    module_type = "magneticModuleType"


class MagneticDisengage(ModuleNode):
    type = "opentrons.magnetic.disengage"
    title = "Disengage magnets"
    Params = ModuleParams
    module_type = "magneticModuleType"


# Steps that throw tips away, so a Flex deck must name a trash bin.
def drops_tips(node_type: str, params: dict) -> bool:
    if node_type in ("opentrons.drop_tip",):
        return not params.get("location")
    if node_type in ("opentrons.transfer", "opentrons.distribute", "opentrons.consolidate"):
        return params.get("new_tip", "once") != "never"
    return False
