"""Opentrons modules: temperature, Heater-Shaker, Thermocycler and magnetic modules."""

from typing import ClassVar

from pydantic import Field

from canvas.registry import Params
from robots.nodes.base import ModuleParams, OpentronsNode, module


class ModuleNode(OpentronsNode):
    category = "opentrons.modules"
    deck_fields = {"module": "module"}
    summary = "{module}"
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

    def check_deck(self, params, deck):
        spec = deck.module_def(params.module)
        if not self.limits or spec is None or spec.module_type != self.module_type:
            return []
        name, low_key, high_key = self.limits
        value, low, high = (
            getattr(params, name),
            spec.config.get(low_key),
            spec.config.get(high_key),
        )
        if low is not None and high is not None and not low <= value <= high:
            return [
                (name, f"{value:g} is outside what the {spec.display_name} does ({low}–{high})")
            ]
        return []


class CelsiusParams(ModuleParams):
    celsius: float = Field(ge=4, le=95, description="°C")


class TemperatureSet(ModuleNode):
    type = "opentrons.temperature.set"
    title = "Set temperature"
    Params = CelsiusParams
    module_type = "temperatureModuleType"
    summary = "{module} → {celsius} °C"
    outputs = {"temperature": "°C reached"}

    def protocol(self, session, params):
        module(session, params).set_temperature(params.celsius)

    def read_outputs(self, params, commands, session):
        return {"temperature": params.celsius}


class TemperatureDeactivate(ModuleNode):
    type = "opentrons.temperature.deactivate"
    title = "Temperature module off"
    Params = ModuleParams
    module_type = "temperatureModuleType"

    def protocol(self, session, params):
        module(session, params).deactivate()


class HeaterShakerTemperatureParams(CelsiusParams):
    wait: bool = Field(default=True, description="Wait until the temperature is reached")


class HeaterShakerSetTemperature(ModuleNode):
    type = "opentrons.heater_shaker.set_temperature"
    title = "Heater-Shaker temperature"
    Params = HeaterShakerTemperatureParams
    module_type = "heaterShakerModuleType"
    limits = ("celsius", "minPlateTemperature", "maxPlateTemperature")
    summary = "{module} → {celsius} °C"
    outputs = {"temperature": "°C target"}

    def protocol(self, session, params):
        if params.wait:
            module(session, params).set_and_wait_for_temperature(params.celsius)
        else:
            module(session, params).set_target_temperature(params.celsius)

    def read_outputs(self, params, commands, session):
        return {"temperature": params.celsius}


class ShakeParams(ModuleParams):
    rpm: int = Field(ge=0, le=3000)


class HeaterShakerShake(ModuleNode):
    type = "opentrons.heater_shaker.shake"
    title = "Shake"
    description = "Closes the labware latch (the module refuses to shake otherwise), then shakes."
    Params = ShakeParams
    module_type = "heaterShakerModuleType"
    limits = ("rpm", "minShakeSpeed", "maxShakeSpeed")
    summary = "{module} at {rpm} rpm"
    outputs = {"rpm": "speed set"}

    def protocol(self, session, params):
        shaker = module(session, params)
        shaker.close_labware_latch()
        shaker.set_and_wait_for_shake_speed(params.rpm)

    def read_outputs(self, params, commands, session):
        return {"rpm": params.rpm}


class HeaterShakerStop(ModuleNode):
    type = "opentrons.heater_shaker.stop"
    title = "Stop shaking"
    description = "Closes the labware latch (the module refuses otherwise), then stops."
    Params = ModuleParams
    module_type = "heaterShakerModuleType"

    def protocol(self, session, params):
        shaker = module(session, params)
        shaker.close_labware_latch()
        shaker.deactivate_shaker()


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
    summary = "{module}: {repetitions}× profile"
    outputs = {"cycles": "repetitions run"}

    def protocol(self, session, params):
        thermocycler = module(session, params)
        thermocycler.close_lid()
        if params.lid_temperature is not None:
            thermocycler.set_lid_temperature(params.lid_temperature)
        steps = [
            {"temperature": s.temperature, "hold_time_seconds": s.hold_time_seconds}
            for s in params.steps
        ]
        thermocycler.execute_profile(
            steps=steps, repetitions=params.repetitions, block_max_volume=params.block_max_volume
        )

    def read_outputs(self, params, commands, session):
        return {"cycles": params.repetitions}


class EngageParams(ModuleParams):
    height_from_base: float | None = Field(default=None, ge=0, le=45)


class MagneticEngage(ModuleNode):
    type = "opentrons.magnetic.engage"
    title = "Engage magnets"
    Params = EngageParams
    module_type = "magneticModuleType"

    def protocol(self, session, params):
        if params.height_from_base is None:
            module(session, params).engage()
        else:
            module(session, params).engage(height_from_base=params.height_from_base)


class MagneticDisengage(ModuleNode):
    type = "opentrons.magnetic.disengage"
    title = "Disengage magnets"
    Params = ModuleParams
    module_type = "magneticModuleType"

    def protocol(self, session, params):
        module(session, params).disengage()
