import json
import re

import pytest

from canvas.validation import validate
from tests.factories import SHARED_EXAMPLES, demo, document


def messages(doc) -> list[str]:
    return [str(issue) for issue in validate(doc).issues]


def test_the_demo_workflows_are_valid():
    for name in ("buffer_check", "serial_dilution"):
        assert messages(demo(name)) == []


def test_it_names_a_cycle_in_the_order_of_its_edges_at_the_edge_that_closes_it():
    doc = document(
        nodes=[{"id": n, "type": "control.log", "params": {"message": n}} for n in ("a", "b", "c")],
        edges=[
            {"source": "a", "target": "b"},
            {"source": "b", "target": "c"},
            {"source": "c", "target": "a"},
        ],
    )
    (issue,) = [i for i in validate(doc).issues if "cycle" in i.message]
    path = issue.message.removeprefix("the cycle ").split(":")[0].split(" → ")
    edges = {(e["source"], e["target"]) for e in doc["edges"]}
    assert len(path) == 4 and path[0] == path[-1]
    assert all((x, y) in edges for x, y in zip(path, path[1:], strict=False))  # edge order
    closing = doc["edges"].index({"source": path[-2], "target": path[-1]})
    assert issue.path == f"edges[{closing}]"


def test_it_rejects_an_unknown_node_type_as_not_a_workflow():
    doc = document(nodes=[{"id": "x", "type": "opentrons.teleport", "params": {}}], edges=[])
    report = validate(doc)
    assert report.refused
    assert "nodes[x].type: node x: unknown type opentrons.teleport" in messages(doc)


def test_it_reports_a_dangling_edge():
    doc = document(edges=[{"source": "a", "target": "ghost"}])
    assert "edges[0]: edge a → ghost: no node ghost" in messages(doc)


def test_it_refuses_a_node_connected_to_itself():
    doc = document(edges=[{"source": "a", "target": "a"}])
    assert "edges[0]: edge a → a connects a node to itself" in messages(doc)


def test_it_reports_duplicate_ids():
    doc = document()
    doc["nodes"].append({"id": "a", "type": "control.comment", "params": {}})
    assert "nodes[a]: duplicate node id a" in messages(doc)


def test_references_must_point_upstream_and_to_declared_parameters():
    doc = document(
        nodes=[
            {"id": "a", "type": "control.log", "params": {"message": "{{ nodes.b.output.n }}"}},
            {"id": "b", "type": "data.record", "params": {"values": {"n": "{{ params.nope }}"}}},
        ]
    )
    found = messages(doc)
    assert (
        "nodes[a].params.message: node a: reference to nodes.b, which is not upstream of a" in found
    )
    assert any("params.nope, which is not a declared parameter" in m for m in found)


def test_a_reference_to_an_output_the_node_does_not_have_is_named():
    doc = document()
    doc["nodes"].append(
        {"id": "c", "type": "control.log", "params": {"message": "{{ nodes.b.output.x }}"}}
    )
    doc["edges"].append({"source": "b", "target": "c"})
    assert any("node b has no output x (it outputs n)" in m for m in messages(doc))


def test_a_malformed_reference_is_an_error_not_text():
    doc = document(
        nodes=[{"id": "a", "type": "control.log", "params": {"message": "{{ __import__('os') }}"}}],
        edges=[],
    )
    assert any("is not a reference" in m for m in messages(doc))


@pytest.mark.parametrize(
    "when, problem",
    [
        ('{{ nodes.a.output.message }} == "hello"', None),
        ("{{ nodes.a.output.message }} ~= 1", "a condition is one reference"),
        ("{{ nodes.a.output.message }} == hello", "is not a value"),
        ("{{ nodes.zz.output.x }} == 1", "not upstream of b"),
    ],
)
def test_when_conditions_are_checked(when, problem):
    doc = document()
    doc["edges"][0]["when"] = when
    found = [m for m in messages(doc) if m.startswith("edges[0].when")]
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0]


def test_parameter_types_are_checked_per_node_type():
    doc = document(
        nodes=[{"id": "d", "type": "control.delay", "params": {"seconds": -1}}], edges=[]
    )
    assert any(m.startswith("nodes[d].params.seconds") for m in messages(doc))


def test_a_missing_parameter_is_a_draft_problem_but_a_wrong_type_is_refused():
    missing = document(nodes=[{"id": "d", "type": "control.delay", "params": {}}], edges=[])
    report = validate(missing)
    assert "nodes[d].params.seconds: is required" in messages(missing) and not report.refused
    wrong = document(
        nodes=[{"id": "d", "type": "control.delay", "params": {"seconds": "soon"}}], edges=[]
    )
    assert validate(wrong).refused


def ot2(**deck):
    doc = demo("serial_dilution")
    doc["deck"].update(deck)
    return doc


def test_opentrons_names_are_checked_against_the_opentrons_package():
    doc = ot2(
        pipettes=[
            {"id": "p300", "instrument": "p300_imaginary", "mount": "right", "tip_racks": ["tips"]}
        ]
    )
    assert "deck.pipettes[p300].instrument: no Opentrons pipette named p300_imaginary" in messages(
        doc
    )
    doc = ot2(modules=[{"id": "m", "model": "teleporter", "slot": "4"}])
    assert "deck.modules[m].model: no Opentrons module named teleporter" in messages(doc)


def test_flex_slots_on_an_ot2_are_refused():
    doc = demo("serial_dilution")
    doc["deck"]["labware"][0]["slot"] = "C2"
    assert any(
        m.startswith("deck.labware[tips].slot: slot C2 is not a slot") for m in messages(doc)
    )


def test_a_flex_pipette_does_not_fit_an_ot2():
    doc = ot2(
        pipettes=[
            {
                "id": "p300",
                "instrument": "flex_1channel_1000",
                "mount": "right",
                "tip_racks": ["tips"],
            }
        ]
    )
    assert any("flex_1channel_1000 is a Flex pipette, not for the OT-2" in m for m in messages(doc))


def test_tip_racks_must_fit_the_pipette():
    doc = ot2(
        pipettes=[
            {
                "id": "p300",
                "instrument": "p300_single_gen2",
                "mount": "right",
                "tip_racks": ["plate"],
            }
        ]
    )
    assert any(
        "plate (corning_96_wellplate_360ul_flat) is not a tip rack" in m for m in messages(doc)
    )
    doc = demo("serial_dilution")
    doc["deck"]["labware"][0]["load_name"] = "opentrons_96_tiprack_20ul"
    assert any("does not fit pipette p300 (p300_single_gen2)" in m for m in messages(doc))


def test_wells_must_exist_in_the_labware():
    doc = demo("serial_dilution")
    doc["nodes"][0]["params"]["dest"]["wells"] = ["B1", "Z99"]
    assert any(
        "well Z99 is not in plate (corning_96_wellplate_360ul_flat)" in m for m in messages(doc)
    )


def test_two_things_in_one_slot_are_refused():
    doc = demo("serial_dilution")
    doc["deck"]["labware"][1]["slot"] = "1"
    assert any("slot 1 already holds tips" in m for m in messages(doc))


def test_a_flex_that_drops_tips_needs_a_trash():
    doc = {
        "schema": "sdl-workflow/1",
        "name": "Flex",
        "robot": {"type": "Flex", "api_level": "2.20"},
        "deck": {
            "labware": [
                {"id": "tips", "load_name": "opentrons_flex_96_tiprack_1000ul", "slot": "C1"},
                {"id": "plate", "load_name": "nest_96_wellplate_200ul_flat", "slot": "C2"},
            ],
            "pipettes": [
                {
                    "id": "p",
                    "instrument": "flex_1channel_1000",
                    "mount": "left",
                    "tip_racks": ["tips"],
                }
            ],
        },
        "nodes": [
            {
                "id": "t",
                "type": "opentrons.transfer",
                "params": {
                    "pipette": "p",
                    "volume": 50,
                    "source": {"labware": "plate", "well": "A1"},
                    "dest": {"labware": "plate", "well": "A2"},
                },
            }
        ],
        "edges": [],
    }
    assert "deck.trash: a Flex deck whose steps drop tips needs a trash bin" in messages(doc)
    doc["deck"]["trash"] = {"slot": "A3"}
    assert messages(doc) == []


def test_an_opentrons_step_needs_a_robot():
    doc = demo("serial_dilution")
    del doc["robot"]
    assert any(m.startswith("robot: robot is required: node diluent") for m in messages(doc))


def test_a_volume_the_pipette_cannot_hold_is_named_with_the_pipette():
    doc = demo("serial_dilution")
    doc["nodes"].append(
        {
            "id": "asp",
            "type": "opentrons.aspirate",
            "params": {
                "pipette": "p300",
                "volume": 400,
                "location": {"labware": "plate", "well": "A1"},
            },
        }
    )
    assert (
        "nodes[asp].params.volume: volume 400 µL is more than pipette p300 (p300_single_gen2) holds (300 µL)"
        in messages(doc)
    )


def test_parameter_defaults_are_checked_against_their_bounds():
    doc = document(parameters={"n": {"type": "number", "default": 20, "maximum": 10}})
    assert "parameters.n.default: parameter n is 20, above its maximum 10" in messages(doc)


def test_validation_never_executes_anything(monkeypatch):
    import builtins

    calls = []
    monkeypatch.setattr(builtins, "eval", lambda *a: calls.append(a))
    doc = document(
        nodes=[
            {
                "id": "p",
                "type": "python.call",
                "params": {"function": "os.system", "kwargs": {"command": "touch /tmp/pwned"}},
            }
        ],
        edges=[],
    )
    assert any("os.system is not a registered function" in m for m in messages(doc))
    assert calls == []


# --- Conformance with the design's shared examples (whenever that folder exists) ----------

EXAMPLES = sorted(SHARED_EXAMPLES.glob("*.json")) if SHARED_EXAMPLES.exists() else []
INVALID = SHARED_EXAMPLES / "invalid"
EXPECTED = json.loads((INVALID / "EXPECTED.json").read_text()) if INVALID.exists() else {}
# Words of the expected sentences that carry no fact of their own.
FILLER = {
    "the",
    "a",
    "no",
    "of",
    "is",
    "to",
    "than",
    "which",
    "not",
    "more",
    "holds",
    "named",
    "deck",
    "node",
    "edge",
    "µL",
    "labware",
    "pipette",
    "reference",
    "id",
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_shared_example_validates_clean(path):
    assert messages(json.loads(path.read_text())) == []


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=str)
def test_every_invalid_shared_example_gives_the_expected_facts(name):
    found = " | ".join(messages(json.loads((INVALID / name).read_text())))
    facts = [w for w in re.findall(r"[\w.]+", EXPECTED[name]) if w not in FILLER]
    assert facts and all(re.search(rf"(?<![\w.]){re.escape(f)}(?![\w])", found) for f in facts), (
        f"expected {EXPECTED[name]!r}, got {found!r}"
    )


def test_group_boxes_and_notes_are_checked_and_never_steps():
    note = {"id": "n1", "text": "Check the tips", "position": {"x": 0, "y": 0}}
    fine = document(groups=[{"id": "g1", "title": "Start", "nodes": ["a", "b"]}], notes=[note])
    report = validate(fine)
    assert report.valid and [n.id for n in report.document.nodes] == ["a", "b"]
    wrong = document(
        groups=[
            {"id": "g1", "title": "One", "nodes": ["a", "x"]},
            {"id": "a", "title": "Two", "nodes": ["a"]},
        ]
    )
    assert messages(wrong) == [
        "groups[a]: a is also the id of another item",
        "groups[g1].nodes: group g1: no step x",
        "groups[a].nodes: a is in groups g1 and a",
    ]
    assert validate(document(notes=[{"id": "n1"}])).refused  # a note needs its place
