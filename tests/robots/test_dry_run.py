"""The whole-workflow dry run: what a robot would refuse is found before Run, at its node."""

import os
import re
import time

import pytest
from playwright.sync_api import expect

from orchestration import runs
from tests.browser import browser, login  # noqa: F401  (fixture)
from tests.factories import demo, make_robot, make_workflow
from tests.robots.test_http_robot import fake_for, over_http
from tests.robots.test_robot_safety import tip_steps

pytestmark = pytest.mark.django_db(transaction=True)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
WELL = {"labware": "plate", "well": "A1"}
SOURCE = {"labware": "reservoir", "well": "A1"}


def transfer_then(kind: str, **params) -> dict:
    """A Transfer, then one step on the same pipette."""
    doc = demo("serial_dilution")
    doc["nodes"] = [
        {
            "id": "move",
            "type": "opentrons.transfer",
            "params": {"pipette": "p300", "volume": 100, "source": SOURCE, "dest": WELL},
        },
        {"id": "then", "type": kind, "params": {"pipette": "p300", **params}},
    ]
    doc["edges"] = [{"source": "move", "target": "then"}]
    return doc


def dry_run(api, doc, parameters=None) -> dict:
    answer = api.post("/api/dry-run", {"document": doc, "parameters": parameters or {}}).json()
    deadline = time.monotonic() + 90  # a deadline for a stuck dry run, not a speed goal
    while answer["status"] == "checking":
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)
        answer = api.get(f"/api/dry-run/{answer['key']}").json()
    return answer


def test_a_step_without_a_tip_is_found_at_its_node_and_the_rest_said_not_reached(api):
    doc = transfer_then("opentrons.aspirate", volume=50, location=SOURCE)
    doc["nodes"].append(
        {
            "id": "after",
            "type": "opentrons.dispense",
            "params": {"pipette": "p300", "location": WELL},
        }
    )
    doc["edges"].append({"source": "then", "target": "after"})
    report = dry_run(api, doc)
    assert report["status"] == "problems"
    assert [p["path"] for p in report["problems"]] == ["nodes[then]"]
    assert "should have a tip attached" in report["problems"][0]["message"]
    assert report["nodes"]["move"]["state"] == "completed"
    assert (
        report["nodes"]["move"]["tips_used"] == 1 and "plate:A1" in report["nodes"]["move"]["wells"]
    )
    assert report["nodes"]["after"] == {"state": "not reached", "why": "then did not complete"}
    again = api.post("/api/dry-run", {"document": doc}).json()  # cached: answered at once
    assert again["status"] == "problems" and again["key"] == report["key"]


def test_a_mix_after_a_transfer_passes_and_parameters_are_the_runs(api):
    assert dry_run(api, transfer_then("opentrons.mix", volume=50, location=WELL))["status"] == (
        "passed"
    )
    doc = tip_steps()  # aspirates {{ params.v }}
    assert dry_run(api, doc)["status"] == "passed"
    report = dry_run(api, doc, {"v": 400})  # more than the tip holds
    assert report["status"] == "problems" and report["parameters"]["v"] == 400
    assert report["problems"][0]["path"] == "nodes[take].params.volume"


def test_a_document_without_robot_steps_needs_no_dry_run(api):
    doc = demo("serial_dilution")
    doc["nodes"] = [{"id": "hi", "type": "control.log", "params": {"message": "hi"}}]
    doc["edges"] = []
    assert dry_run(api, doc)["status"] == "not applicable"


def test_a_real_robot_run_is_refused_by_the_dry_run_before_anything_is_sent(api, owner):
    doc = transfer_then("opentrons.aspirate", volume=50, location=SOURCE)
    fake = fake_for(doc)
    try:
        workflow = make_workflow(owner, doc)
        over_http("bay-9", fake)
        answer = api.post(f"/api/workflows/{workflow.pk}/runs", {"robot": "bay-9"})
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["path"] == "nodes[then]"
        assert "the dry run with these parameters found" in answer.json()["detail"]
        assert fake.requests == [] and not workflow.runs.exists()
    finally:
        fake.close()
    # On a simulated robot the run itself is the dry run: it starts, and fails at the node.
    make_robot("sim", simulate=True)
    assert runs.create_run(workflow, user=owner, robot=None).pk


@pytest.mark.browser
def test_the_editor_flags_the_step_the_dry_run_refuses_and_keeps_run_off(browser, site, owner):  # noqa: F811
    workflow = make_workflow(owner, transfer_then("opentrons.aspirate", volume=50, location=SOURCE))
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    expect(page.get_by_test_id("dry-run-status")).to_have_text("Dry run: 1 problem", timeout=60000)
    expect(page.get_by_test_id("validation-errors")).to_contain_text("should have a tip attached")
    flagged = page.get_by_test_id("node-then")
    expect(flagged).to_have_class(re.compile("has-problems"))
    expect(flagged).to_have_attribute("title", re.compile("should have a tip attached"))
    expect(page.get_by_test_id("run-button")).to_be_disabled()
    # Protocol Designer's way: a Mix after the Transfer takes its own tip, and Run is on.
    good = make_workflow(owner, transfer_then("opentrons.mix", volume=50, location=WELL))
    page.goto(f"{site}/workflows/{good.pk}/edit")
    expect(page.get_by_test_id("dry-run-status")).to_have_text("Dry run: passed", timeout=60000)
    expect(page.get_by_test_id("run-button")).to_be_enabled()


def test_a_dry_run_over_its_budget_is_reported_as_such_never_as_valid(api, settings):
    settings.SDL_DRY_RUN_BUDGET_S = 0
    doc = transfer_then("opentrons.mix", volume=50, location=WELL)
    doc["name"] = "Over budget"  # not in the cache
    report = dry_run(api, doc)
    assert report["status"] == "timed out" and "took over 0 s" in report["why"]


def test_bad_liquids_are_refused_at_their_place(api):
    doc = demo("serial_dilution")
    doc["deck"]["liquids"].append(
        {"id": "ink", "name": "Ink", "absorbance": {"450": -1, "blue": 1}}
    )
    reservoir = doc["deck"]["labware"][1]
    reservoir["contents"]["Z9"] = {"liquid": "ink", "volume": 10}
    reservoir["contents"]["A3"] = {"liquid": "ink", "volume": 20000}
    reservoir["contents"]["A4"] = {"liquid": "gone", "volume": 10}
    problems = {p["path"]: p["message"] for p in api.post("/api/validate", doc).json()["errors"]}
    assert problems == {
        "deck.liquids[ink].absorbance.450": "absorbance -1.0 is not a finite number ≥ 0",
        "deck.liquids[ink].absorbance.blue": "'blue' is not a wavelength in nm (200–1000)",
        "deck.labware[reservoir].contents.Z9": "well Z9 is not in reservoir (nest_12_reservoir_15ml)",
        "deck.labware[reservoir].contents.A3.volume": (
            "20000 µL is more than well A3 of reservoir holds (15000 µL)"
        ),
        "deck.labware[reservoir].contents.A4.liquid": "no liquid gone on the deck",
    }
    doc = demo("serial_dilution")
    doc["robot"]["api_level"] = "2.13"
    assert {p["path"] for p in api.post("/api/validate", doc).json()["errors"]} == {"deck.liquids"}
