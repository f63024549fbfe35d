"""Every Opentrons node type, declared once: what it says it outputs is what a simulated run
of it returns, and its Protocol API calls are what the export writes."""

import pytest

from canvas import registry
from canvas.document import Document
from robots.export import export_protocol
from robots.simulator import SimulatorSession

DECK = {
    "labware": [
        {"id": "tips", "load_name": "opentrons_96_tiprack_300ul", "slot": "2"},
        {"id": "plate", "load_name": "corning_96_wellplate_360ul_flat", "slot": "5"},
        {"id": "reservoir", "load_name": "nest_12_reservoir_15ml", "slot": "3"},
    ],
    "pipettes": [
        {"id": "p300", "instrument": "p300_single_gen2", "mount": "right", "tip_racks": ["tips"]}
    ],
    "modules": [
        {"id": "cold", "model": "temperatureModuleV2", "slot": "1"},
        {"id": "mag", "model": "magneticModuleV2", "slot": "4"},
        {"id": "cycler", "model": "thermocyclerModuleV2", "slot": "7"},
    ],
}
WELL = {"labware": "plate", "well": "A1"}
SOURCE = {"labware": "reservoir", "well": "A1"}
# One example of each type, in an order a protocol could run them.
EXAMPLES = [
    ("opentrons.home", {}),
    ("opentrons.comment", {"text": "starting"}),
    ("opentrons.pick_up_tip", {"pipette": "p300"}),
    ("opentrons.aspirate", {"pipette": "p300", "volume": 100, "location": SOURCE}),
    ("opentrons.air_gap", {"pipette": "p300", "volume": 10}),
    ("opentrons.dispense", {"pipette": "p300", "location": WELL}),
    (
        "opentrons.mix",
        {"pipette": "p300", "repetitions": 2, "volume": 50, "location": WELL, "new_tip": "never"},
    ),
    ("opentrons.touch_tip", {"pipette": "p300", "location": WELL}),
    ("opentrons.blow_out", {"pipette": "p300", "location": WELL}),
    ("opentrons.return_tip", {"pipette": "p300"}),
    ("opentrons.pick_up_tip", {"pipette": "p300"}),
    ("opentrons.drop_tip", {"pipette": "p300"}),
    # Protocol Designer's default for a mix: its own fresh tip, dropped after
    ("opentrons.mix", {"pipette": "p300", "repetitions": 2, "volume": 50, "location": WELL}),
    ("opentrons.transfer", {"pipette": "p300", "volume": 50, "source": SOURCE, "dest": WELL}),
    (
        "opentrons.distribute",
        {
            "pipette": "p300",
            "volume": 20,
            "source": SOURCE,
            "dest": {"labware": "plate", "wells": ["B1", "B2"]},
        },
    ),
    (
        "opentrons.consolidate",
        {
            "pipette": "p300",
            "volume": 20,
            "source": {"labware": "plate", "wells": ["B1", "B2"]},
            "dest": {"labware": "reservoir", "well": "A2"},
        },
    ),
    ("opentrons.move_labware", {"labware": "plate", "new_location": "9"}),
    ("opentrons.temperature.set", {"module": "cold", "celsius": 8}),
    ("opentrons.temperature.deactivate", {"module": "cold"}),
    ("opentrons.magnetic.engage", {"module": "mag", "height_from_base": 5}),
    ("opentrons.magnetic.disengage", {"module": "mag"}),
    (
        "opentrons.thermocycler.run_profile",
        {"module": "cycler", "steps": [{"temperature": 95, "hold_time_seconds": 10}]},
    ),
]
# A Heater-Shaker keeps pipettes out of the slots beside it: it gets a deck of its own.
SHAKER_DECK = {"modules": [{"id": "shaker", "model": "heaterShakerModuleV1", "slot": "1"}]}
SHAKER_EXAMPLES = [
    ("opentrons.heater_shaker.set_temperature", {"module": "shaker", "celsius": 37}),
    ("opentrons.heater_shaker.shake", {"module": "shaker", "rpm": 500}),
    ("opentrons.heater_shaker.stop", {"module": "shaker"}),
]


# The Flex plate reader (Protocol API 2.21): lid, plate in with the gripper, initialise, read.
READER_ROBOT = {"type": "Flex", "api_level": "2.21"}
READER_DECK = {
    "liquids": [{"id": "dye", "name": "Dye", "absorbance": {"450": 2.0}}],
    "labware": [
        {
            "id": "plate",
            "load_name": "corning_96_wellplate_360ul_flat",
            "slot": "C2",
            "contents": {"A1": {"liquid": "dye", "volume": 200}},
        }
    ],
    "modules": [{"id": "reader", "model": "absorbanceReaderV1", "slot": "D3"}],
}
READER_EXAMPLES = [
    ("opentrons.plate_reader.lid", {"module": "reader", "action": "open"}),
    ("opentrons.move_labware", {"labware": "plate", "new_location": "reader", "use_gripper": True}),
    ("opentrons.plate_reader.lid", {"module": "reader", "action": "close"}),
    ("opentrons.plate_reader.initialize", {"module": "reader", "wavelengths": [450]}),
    ("opentrons.plate_reader.read", {"module": "reader"}),
]


def opentrons_types() -> set[str]:
    return {t.type for t in registry.all_types() if t.type.startswith("opentrons.")}


def document(deck=DECK, examples=EXAMPLES, robot=None) -> Document:
    nodes = [
        {"id": f"n{i}", "type": kind, "params": params} for i, (kind, params) in enumerate(examples)
    ]
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(len(nodes) - 1)]
    return Document.model_validate(
        {
            "schema": "sdl-workflow/1",
            "name": "Every Opentrons step",
            "robot": robot or {"type": "OT-2", "api_level": "2.20"},
            "deck": deck,
            "nodes": nodes,
            "edges": edges,
        }
    )


def test_the_examples_cover_every_registered_opentrons_type():
    covered = EXAMPLES + SHAKER_EXAMPLES + READER_EXAMPLES
    assert {kind for kind, _ in covered} == opentrons_types()


def play(deck, examples, robot=None) -> list[tuple[str, dict, list]]:
    """Each example on the real simulator: (type, its output, its command log)."""
    session = SimulatorSession(document(deck, examples, robot))
    try:
        results = []
        for kind, params in examples:
            node_type = registry.get(kind)
            output = session.execute(node_type, node_type.Params.model_validate(params))
            results.append((kind, output, session.last_commands))
        return results
    finally:
        session.end()


@pytest.fixture(scope="module")
def simulated_outputs():
    return (
        play(DECK, EXAMPLES)
        + play(SHAKER_DECK, SHAKER_EXAMPLES)
        + play(READER_DECK, READER_EXAMPLES, READER_ROBOT)
    )


def test_each_type_outputs_exactly_what_it_declares(simulated_outputs):
    for kind, output, _ in simulated_outputs:
        assert set(output) == set(registry.get(kind).outputs), kind


def test_each_type_moves_the_simulated_robot(simulated_outputs):
    for kind, _, commands in simulated_outputs:
        assert commands and all(c["status"] == "succeeded" for c in commands), kind


def test_a_robot_comment_is_a_comment_in_the_robots_run_log_and_the_exported_protocol(
    simulated_outputs,
):
    _, output, commands = simulated_outputs[1]
    assert output == {}
    assert commands == [
        {"commandType": "comment", "params": {"message": "starting"}, "status": "succeeded"}
    ]
    assert "    protocol.comment('starting')" in export_protocol(document()).splitlines()


def test_a_simulated_reading_follows_beer_lambert_from_the_wells_contents(simulated_outputs):
    _, output, _ = simulated_outputs[-1]
    readings = output["readings"]["450"]
    # 200 µL in a 6.858 mm well stands 5.41 mm high: 2.0 × 0.541 cm
    assert readings["A1"] == pytest.approx(2.0 * 200 / (3.14159265 * 3.429**2) / 10, rel=1e-3)
    assert readings["B1"] == 0.0 and len(readings) == 96
