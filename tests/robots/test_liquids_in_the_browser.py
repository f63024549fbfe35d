"""Liquids as a scientist meets them in a real browser: placed with the plate map, flagged where
a step would fail, and filling the wells of the run page as the run goes."""

import os

import pytest
from playwright.sync_api import expect

from canvas.document import Document
from canvas.models import Workflow
from robots.export import export_protocol
from tests.browser import browser, login  # noqa: F401  (fixture)
from tests.factories import demo, make_robot, make_workflow
from tests.robots.test_dry_run import dry_run
from tests.robots.test_export import analyze

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def editor(browser, site, workflow):  # noqa: F811
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    return page


def test_define_liquids_place_them_with_the_plate_map_save_and_export(
    browser,  # noqa: F811
    site,
    owner,
    tmp_path,  # noqa: F811
):
    doc = demo("serial_dilution")
    doc["deck"].pop("liquids")
    for labware in doc["deck"]["labware"]:
        labware.pop("contents", None)
    workflow = make_workflow(owner, doc)
    page = editor(browser, site, workflow)
    page.get_by_test_id("tab-liquids").click()
    page.get_by_test_id("liquid-add").click()
    page.get_by_test_id("liquid-name-liquid1").fill("Buffer")
    page.get_by_test_id("liquid-labware").select_option("reservoir")
    page.get_by_test_id("liquid-well-A1").click()
    page.get_by_test_id("liquid-well-A2").click(modifiers=["Shift"])
    page.get_by_test_id("liquid-choice").select_option(label="Buffer")
    page.get_by_test_id("liquid-volume").fill("5000")
    page.get_by_test_id("liquid-assign").click()
    expect(page.get_by_test_id("liquid-well-A2")).to_have_attribute("title", "A2: 5000 µL Buffer")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("edit-notice")).to_contain_text("Saved version 2")

    saved = Workflow.objects.get(pk=workflow.pk).document
    assert saved["deck"]["liquids"][0]["name"] == "Buffer"
    contents = next(lw for lw in saved["deck"]["labware"] if lw["id"] == "reservoir")["contents"]
    assert contents == {
        "A1": {"liquid": "liquid1", "volume": 5000},
        "A2": {"liquid": "liquid1", "volume": 5000},
    }
    analysis = analyze(tmp_path, export_protocol(Document.model_validate(saved)))
    assert [liquid["displayName"] for liquid in analysis["liquids"]] == ["Buffer"]
    loads = [c["params"] for c in analysis["commands"] if c["commandType"] == "loadLiquid"]
    assert sorted(w for p in loads for w in p["volumeByWell"].items()) == [
        ("A1", 5000.0),
        ("A2", 5000.0),
    ]


def test_the_editor_flags_a_mix_in_an_empty_well_and_a_pipette_without_tip_racks(
    browser,  # noqa: F811
    site,
    owner,  # noqa: F811
):
    doc = demo("serial_dilution")
    doc["nodes"] = [
        {
            "id": "stir",
            "type": "opentrons.mix",
            "params": {
                "pipette": "p300",
                "volume": 50,
                "location": {"labware": "plate", "well": "C3"},
            },
        }
    ]
    doc["edges"] = []
    page = editor(browser, site, make_workflow(owner, doc))
    expect(page.get_by_test_id("dry-run-status")).to_have_text("Dry run: 1 problem", timeout=60000)
    expect(page.get_by_test_id("validation-errors")).to_contain_text(
        "well C3 of plate holds 0 µL; cannot aspirate 50 µL"
    )
    expect(page.get_by_test_id("run-button")).to_be_disabled()

    doc["deck"]["pipettes"][0]["tip_racks"] = []
    page = editor(browser, site, make_workflow(owner, doc))
    expect(page.get_by_test_id("validation-errors")).to_contain_text(
        "pipette p300 has no tip racks, but step stir picks up tips"
    )
    expect(page.get_by_test_id("run-button")).to_be_disabled()


def test_the_run_page_fills_the_wells_as_the_dry_run_predicted(browser, site, owner, api):  # noqa: F811
    doc = demo("serial_dilution")
    workflow = make_workflow(owner, doc)
    make_robot("ot2-sim", simulate=True)
    predicted = dry_run(api, doc)["nodes"]["dilute"]["liquids"]["plate"]
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/workflows/{workflow.pk}/run")
    page.get_by_test_id("run-start").click()
    page.wait_for_url(f"{site}/runs/*/")
    expect(page.get_by_test_id("run-state")).to_have_attribute(
        "data-state", "completed", timeout=60000
    )
    for well, mix in predicted.items():
        expect(page.get_by_test_id(f"run-plate-well-{well}")).to_have_attribute(
            "data-volume", f"{round(sum(mix.values()), 3):g}"
        )
    expect(page.get_by_test_id("run-plate-well-B1")).to_have_attribute(
        "title", "B1: 40 µL Diluent + 40 µL Stock"
    )
