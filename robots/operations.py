"""Each `opentrons.*` node as Protocol API calls on a live context, argument for argument."""

from orchestration.registry import NodeError


def _well(session, location):
    if location is None:
        return None
    labware = session.labware.get(location.labware)
    if labware is None:
        raise NodeError(f"no labware {location.labware} on the deck", retryable=False)
    return labware[location.names()[0]]


def _wells(session, location):
    labware = session.labware[location.labware]
    return [labware[name] for name in location.names()]


def _pipette(session, params):
    try:
        return session.pipettes[params.pipette]
    except KeyError:
        raise NodeError(f"no pipette {params.pipette} on the deck", retryable=False)


def _module(session, params):
    try:
        return session.modules[params.module]
    except KeyError:
        raise NodeError(f"no module {params.module} on the deck", retryable=False)


def _one(wells):
    return wells[0] if len(wells) == 1 else wells


def pick_up_tip(s, p):
    location = _well(s, p.location)
    _pipette(s, p).pick_up_tip(location) if location else _pipette(s, p).pick_up_tip()


def drop_tip(s, p):
    location = _well(s, p.location)
    _pipette(s, p).drop_tip(location) if location else _pipette(s, p).drop_tip()


def bulk(method):
    def run(s, p):
        options = {"new_tip": p.new_tip}
        for name in (
            "mix_before",
            "mix_after",
            "touch_tip",
            "blow_out",
            "air_gap",
            "disposal_volume",
        ):
            value = getattr(p, name, None)
            if value not in (None, False, 0):
                options[name] = tuple(value) if isinstance(value, list | tuple) else value
        pipette = _pipette(s, p)
        getattr(pipette, method)(
            p.volume, _one(_wells(s, p.source)), _one(_wells(s, p.dest)), **options
        )

    return run


def profile(s, p):
    module = _module(s, p)
    module.close_lid()
    if p.lid_temperature is not None:
        module.set_lid_temperature(p.lid_temperature)
    steps = [
        {"temperature": st.temperature, "hold_time_seconds": st.hold_time_seconds} for st in p.steps
    ]
    module.execute_profile(
        steps=steps, repetitions=p.repetitions, block_max_volume=p.block_max_volume
    )


def heater_shaker_temperature(s, p):
    module = _module(s, p)
    if p.wait:
        module.set_and_wait_for_temperature(p.celsius)
    else:
        module.set_target_temperature(p.celsius)


def move_labware(s, p):
    target = s.modules.get(p.new_location, p.new_location)
    s.context.move_labware(s.labware[p.labware], target, use_gripper=p.use_gripper)


def engage(s, p):
    module = _module(s, p)
    if p.height_from_base is None:
        module.engage()
    else:
        module.engage(height_from_base=p.height_from_base)


OPERATIONS = {
    "opentrons.pick_up_tip": pick_up_tip,
    "opentrons.drop_tip": drop_tip,
    "opentrons.return_tip": lambda s, p: _pipette(s, p).return_tip(),
    "opentrons.aspirate": lambda s, p: _pipette(s, p).aspirate(
        p.volume, _well(s, p.location), p.rate
    ),
    "opentrons.dispense": lambda s, p: _pipette(s, p).dispense(
        p.volume, _well(s, p.location), p.rate
    ),
    "opentrons.blow_out": lambda s, p: _pipette(s, p).blow_out(_well(s, p.location)),
    "opentrons.touch_tip": lambda s, p: _pipette(s, p).touch_tip(
        _well(s, p.location), radius=p.radius, v_offset=p.v_offset, speed=p.speed
    ),
    "opentrons.air_gap": lambda s, p: _pipette(s, p).air_gap(p.volume, p.height),
    "opentrons.mix": lambda s, p: _pipette(s, p).mix(
        p.repetitions, p.volume, _well(s, p.location), p.rate
    ),
    "opentrons.transfer": bulk("transfer"),
    "opentrons.distribute": bulk("distribute"),
    "opentrons.consolidate": bulk("consolidate"),
    "opentrons.home": lambda s, p: s.context.home(),
    "opentrons.move_labware": move_labware,
    "opentrons.temperature.set": lambda s, p: _module(s, p).set_temperature(p.celsius),
    "opentrons.temperature.deactivate": lambda s, p: _module(s, p).deactivate(),
    "opentrons.heater_shaker.set_temperature": heater_shaker_temperature,
    "opentrons.heater_shaker.shake": lambda s, p: _module(s, p).set_and_wait_for_shake_speed(p.rpm),
    "opentrons.heater_shaker.stop": lambda s, p: _module(s, p).deactivate_shaker(),
    "opentrons.thermocycler.run_profile": profile,
    "opentrons.magnetic.engage": engage,
    "opentrons.magnetic.disengage": lambda s, p: _module(s, p).disengage(),
}
