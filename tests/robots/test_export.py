"""Export to an Opentrons protocol: it passes Opentrons' own analysis, and does what the
node-by-node run does."""

import json
import subprocess
import sys

import pytest

from canvas.document import Document
from robots.export import ExportError, export_protocol
from tests.factories import SHARED_EXAMPLES, demo, make_workflow
from tests.orchestration.runhelpers import run_document

MOTION = ("pickUpTip", "aspirate", "dispense", "dropTipInPlace")
OPENTRONS_EXAMPLES = (
    [p for p in sorted(SHARED_EXAMPLES.glob("*.json")) if '"opentrons.' in p.read_text()]
    if SHARED_EXAMPLES.exists()
    else []
)


def analyze(tmp_path, text: str) -> dict:
    protocol = tmp_path / "protocol.py"
    protocol.write_text(text)
    out = tmp_path / "analysis.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "opentrons.cli",
            "analyze",
            "--json-output",
            str(out),
            str(protocol),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    analysis = json.loads(out.read_text())
    assert result.returncode == 0 and not analysis["errors"], (
        result.stderr[-2000:],
        analysis["errors"],
    )
    return analysis


def analysed_motion(analysis) -> list[tuple]:
    names = {lw["id"]: lw["loadName"] for lw in analysis["labware"]}
    return [
        (
            c["commandType"],
            names.get(c["params"].get("labwareId")),
            c["params"].get("wellName"),
            c["params"].get("volume"),
        )
        for c in analysis["commands"]
        if c["commandType"] in MOTION
    ]


def run_motion(run, doc) -> list[tuple]:
    names = {lw["id"]: lw["load_name"] for lw in doc["deck"]["labware"]}
    names.update(
        {
            m["labware"]["id"]: m["labware"]["load_name"]
            for m in doc["deck"].get("modules", [])
            if m.get("labware")
        }
    )
    out = []
    for node in run.nodes.order_by("started_at"):
        out += [
            (
                c["commandType"],
                names.get(c["params"].get("labwareId")),
                c["params"].get("wellName"),
                c["params"].get("volume"),
            )
            for c in node.commands
            if c["commandType"] in MOTION
        ]
    return out


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "doc",
    [
        demo("serial_dilution"),
        demo("flex_cold_block"),
        *[json.loads(p.read_text()) for p in OPENTRONS_EXAMPLES],
    ],
    ids=lambda d: d["name"],
)
def test_the_exported_protocol_passes_analysis_and_matches_the_node_by_node_run(
    owner, tmp_path, doc
):
    text = export_protocol(Document.model_validate(doc))
    analysis = analyze(tmp_path, text)
    run = run_document(owner, "native", doc)
    assert run.state == "completed", run.error
    expected = run_motion(run, doc)
    assert expected and analysed_motion(analysis) == expected


def test_run_parameters_become_opentrons_runtime_parameters():
    text = export_protocol(Document.model_validate(demo("serial_dilution")))
    assert "parameters.add_float(variable_name='volume'" in text
    assert "p300.transfer(protocol.params.volume, reservoir['A1']" in text


@pytest.mark.parametrize(
    "node, words",
    [
        (
            {"id": "h", "type": "http.request", "params": {"url": "http://lims.local/x"}},
            "no Opentrons protocol equivalent",
        ),
        (
            {"id": "r", "type": "data.record", "params": {"values": {"x": 1}}},
            "no Opentrons protocol equivalent",
        ),
    ],
)
def test_nodes_without_an_opentrons_meaning_are_refused(node, words):
    doc = demo("serial_dilution")
    doc["nodes"].append(node)
    with pytest.raises(ExportError, match=words):
        export_protocol(Document.model_validate(doc))


def test_text_from_the_document_never_becomes_code():
    doc = demo("serial_dilution")
    doc["name"] = 'x"""\nimport os; os.system("rm -rf /")\n"""'
    doc["description"] = "line\\"
    doc["nodes"][3]["params"]["message"] = "'); import os #"
    text = export_protocol(Document.model_validate(doc))
    compile(text, "protocol.py", "exec")
    code_lines = [line for line in text.splitlines() if line and not line.lstrip().startswith("#")]
    assert not any(line.startswith("import os") for line in code_lines)
    assert 'protocol.comment("\'); import os #")' in text


@pytest.mark.django_db
def test_the_protocol_download_needs_access(api, api_for, owner, outsider):
    wf = make_workflow(owner, demo("serial_dilution"))
    response = api.get(f"/api/workflows/{wf.pk}/protocol.py")
    assert response.status_code == 200 and response["Content-Disposition"].endswith('.py"')
    assert b"def run(protocol" in response.content
    assert api_for(outsider).get(f"/api/workflows/{wf.pk}/protocol.py").status_code == 404
    buffer = make_workflow(owner, demo("buffer_check"))
    assert api.get(f"/api/workflows/{buffer.pk}/protocol.py").status_code == 422


def test_the_decks_liquids_are_defined_and_loaded_in_the_exported_protocol(tmp_path):
    doc = demo("serial_dilution")  # diluent and stock in the reservoir
    analysis = analyze(tmp_path, export_protocol(Document.model_validate(doc)))
    liquids = {liquid["displayName"]: liquid for liquid in analysis["liquids"]}
    assert set(liquids) == {"Diluent", "Stock"}
    assert liquids["Stock"]["displayColor"].lower() == "#dc2626"
    loaded = {
        (c["params"]["liquidId"], tuple(c["params"]["volumeByWell"].items()))
        for c in analysis["commands"]
        if c["commandType"] == "loadLiquid"
    }
    by_name = {liquid["id"]: liquid["displayName"] for liquid in analysis["liquids"]}
    assert {(by_name[i], wells) for i, wells in loaded} == {
        ("Diluent", (("A1", 12000.0),)),
        ("Stock", (("A2", 2000.0),)),
    }
