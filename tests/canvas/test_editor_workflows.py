"""Longer editor sessions in a real browser: building a protocol by hand, undo and redo,
history, import and export, the deck's modules, help, and a run shown on the canvas."""

import json
import os
import re

import pytest
from playwright.sync_api import expect

from canvas.models import Workflow
from tests.browser import browser, login, place_labware  # noqa: F401  (fixture)
from tests.canvas.test_editor import connect, signed_in
from tests.factories import ROOT, SHARED_EXAMPLES, demo, document, make_workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
PLATE_ROW_A = [f"A{n}" for n in range(1, 13)]


def settle(page):
    page.wait_for_selector("[data-testid=validation-errors]:has-text('No problems')")


def save(page, version: int, message: str = ""):
    if message:
        page.get_by_test_id("save-message").fill(message)
    page.get_by_test_id("save-button").click()
    page.wait_for_selector(f"[data-testid=edit-notice]:has-text('Saved version {version}')")


def drag_wells(page, field: str, first: str, last: str):
    """Select a box of wells on a field's plate map, as a person drags the mouse."""
    # Each hover finds its well where it is at that moment (the form may still be moving as
    # validation answers), and waits until it holds still.
    page.get_by_test_id(f"field-{field}-well-{first}").hover()
    page.mouse.down()
    page.get_by_test_id(f"field-{field}-well-{last}").hover()
    page.mouse.up()


def transfer(page, node_id, at, source, source_wells, dest_wells, new_tip, mix_after=None):
    page.get_by_test_id("palette-item-opentrons.transfer").drag_to(
        page.get_by_test_id("canvas"), target_position=at
    )
    expect(page.get_by_test_id("node-id")).to_have_value(
        re.compile(r"^transfer\d+$"), timeout=15000
    )  # the new one (a busy machine drops it late)
    page.get_by_test_id("node-id").fill(node_id)
    page.get_by_test_id("node-id").blur()
    page.get_by_test_id(f"node-{node_id}").wait_for()
    page.get_by_test_id("field-pipette").select_option("left")
    page.get_by_test_id("field-volume").fill("{{ params.volume }}")
    page.get_by_test_id("field-source-labware").select_option(source)
    if len(source_wells) == 1:
        page.get_by_test_id(f"field-source-well-{source_wells[0]}").click()
    else:
        drag_wells(page, "source", source_wells[0], source_wells[-1])
    page.get_by_test_id("field-dest-labware").select_option("plate")
    if len(dest_wells) == 1:
        page.get_by_test_id(f"field-dest-well-{dest_wells[0]}").click()
    else:
        drag_wells(page, "dest", dest_wells[0], dest_wells[-1])
    page.get_by_test_id("field-new_tip").select_option(new_tip)
    if mix_after:  # times × µL
        page.get_by_test_id("field-mix_after-0").fill(str(mix_after[0]))
        page.get_by_test_id("field-mix_after-1").fill(str(mix_after[1]))


@pytest.mark.skipif(not SHARED_EXAMPLES.exists(), reason="needs ../shared/examples")
def test_build_the_serial_dilution_example_by_hand(browser, site, owner):  # noqa: F811
    example = json.loads((SHARED_EXAMPLES / "serial_dilution_ot2.json").read_text())
    page = signed_in(browser, site)
    page.get_by_test_id("new-workflow").click()
    page.wait_for_url(f"{site}/workflows/new")
    page.get_by_test_id("workflow-name").fill(example["name"])

    page.get_by_test_id("tab-workflow").click()
    page.get_by_test_id("workflow-description").fill(example["description"])
    page.get_by_test_id("parameter-new-name").fill("volume")
    page.get_by_test_id("parameter-add").click()
    page.get_by_test_id("parameter-volume-default").fill("100")
    page.get_by_test_id("parameter-volume-minimum").fill("1")
    page.get_by_test_id("parameter-volume-maximum").fill("300")

    page.get_by_test_id("tab-deck").click()
    page.get_by_test_id("deck-robot").select_option("OT-2")
    place_labware(page, "1", "opentrons_96_tiprack_300ul", "tip rack 300")
    place_labware(page, "2", "nest_12_reservoir_15ml", "nest 12 reservoir", "reservoir")
    place_labware(page, "3", "nest_96_wellplate_200ul_flat", "nest 96 200 flat", "plate")
    page.get_by_test_id("deck-pipette-left").select_option("p300_single_gen2")

    transfer(page, "diluent", {"x": 100, "y": 100}, "reservoir", ["A1"], PLATE_ROW_A, "once")
    page.get_by_test_id("canvas").click(position={"x": 500, "y": 600})  # nothing selected
    transfer(page, "solution", {"x": 100, "y": 250}, "reservoir", ["A2"], ["A1"], "always", [3, 50])
    page.get_by_test_id("canvas").click(position={"x": 500, "y": 600})
    transfer(
        page,
        "dilute",
        {"x": 750, "y": 150},
        "plate",
        PLATE_ROW_A[:11],
        PLATE_ROW_A[1:],
        "always",
        [3, 50],
    )
    page.get_by_test_id("layout-button").click()
    page.wait_for_timeout(600)  # the view glides to fit the new layout
    connect(page, "diluent", "solution")
    connect(page, "solution", "dilute")
    page.wait_for_function("document.querySelectorAll('.react-flow__edge').length === 2")
    settle(page)
    save(page, 1, "built by hand")
    if os.environ.get("SDL_README_SCREENSHOTS"):  # refresh the README's picture of the editor
        page.get_by_test_id("layout-button").click()
        page.wait_for_timeout(600)
        page.get_by_test_id("node-dilute").click()
        page.wait_for_timeout(300)
        page.screenshot(path=str(ROOT / "static" / "img" / "editor.png"))

    saved = Workflow.objects.get(name=example["name"]).document

    def comparable(doc):
        doc = json.loads(json.dumps(doc))
        for node in doc["nodes"]:
            node.pop("position", None)
            node.pop("label", None)
        doc["nodes"].sort(key=lambda n: n["id"])
        return doc

    got, want = comparable(saved), comparable(example)
    for mine, theirs in zip(got.pop("nodes"), want.pop("nodes"), strict=True):
        assert mine == theirs, f"node {theirs['id']}: {json.dumps(mine)}"
    assert got == want


def test_undo_ten_edits_redo_them_copy_paste_and_lay_out(browser, site, owner):  # noqa: F811
    doc = document(
        name="Ten edits",
        nodes=[
            {
                "id": "wait",
                "type": "control.delay",
                "position": {"x": 0, "y": 0},
                "params": {"seconds": 1},
            },
            {
                "id": "say",
                "type": "control.log",
                "position": {"x": 300, "y": 0},
                "params": {"message": "hi"},
            },
        ],
        edges=[{"source": "wait", "target": "say"}],
    )
    workflow = make_workflow(owner, doc)
    page = signed_in(browser, site)
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("node-wait").click()
    seconds = page.get_by_test_id("field-seconds")
    for n in range(2, 12):  # ten edits
        seconds.fill(str(n))
    expect(seconds).to_have_value("11")
    undo, redo = page.get_by_test_id("undo-button"), page.get_by_test_id("redo-button")
    for _ in range(10):
        undo.click()
    expect(seconds).to_have_value("1")
    expect(undo).to_be_disabled()
    page.wait_for_selector("[data-testid=unsaved]", state="detached")  # back to what is saved
    for _ in range(10):
        redo.click()
    expect(seconds).to_have_value("11")
    expect(redo).to_be_disabled()

    page.get_by_test_id("node-say").click(modifiers=["Shift"])
    page.keyboard.press("Control+c")
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Copied')")
    page.keyboard.press("Control+v")
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Pasted')")
    page.get_by_test_id("layout-button").click()
    page.wait_for_timeout(400)
    save(page, 2)
    saved = Workflow.objects.get(pk=workflow.pk).document
    assert {n["id"] for n in saved["nodes"]} == {"wait", "say", "delay1", "log1"}
    assert {"source": "delay1", "target": "log1"} in saved["edges"]
    positions = {(n["position"]["x"], n["position"]["y"]) for n in saved["nodes"]}
    assert len(positions) == 4  # laid out: nobody sits on anybody
    assert next(n for n in saved["nodes"] if n["id"] == "wait")["params"] == {"seconds": 11}


def test_restore_version_one_see_the_diff_and_export_then_import(browser, site, owner, tmp_path):  # noqa: F811
    workflow = make_workflow(owner, demo("buffer_check"))
    page = signed_in(browser, site)
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("node-ok").click()
    page.keyboard.press("Delete")
    page.get_by_test_id("node-ok").wait_for(state="detached")
    save(page, 2, "no ok branch")

    page.get_by_test_id("canvas").click(position={"x": 700, "y": 550})
    page.get_by_test_id("tab-history").click()
    page.get_by_test_id("diff-from").select_option("1")
    page.get_by_test_id("diff-to").select_option("2")
    page.get_by_test_id("diff-button").click()
    expect(page.get_by_test_id("diff")).to_contain_text("node ok (control.log) removed")
    page.get_by_test_id("restore-1").click()
    page.get_by_test_id("node-ok").wait_for()  # the canvas changed back
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Restored version 1 as version 3')")
    workflow.refresh_from_db()
    assert workflow.version == 3 and workflow.document == workflow.versions.get(number=1).document

    with page.expect_download() as download:
        page.get_by_test_id("export-button").click()
    exported = tmp_path / "exported.json"
    download.value.save_as(exported)
    assert json.loads(exported.read_text()) == workflow.document

    page.goto(f"{site}/")
    page.get_by_test_id("new-workflow").click()
    page.wait_for_url(f"{site}/workflows/new")
    page.get_by_test_id("import-file").set_input_files(str(exported))
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Imported')")
    page.get_by_test_id("node-ok").wait_for()
    save(page, 1, "imported")
    copy = Workflow.objects.exclude(pk=workflow.pk).get()
    assert copy.document == workflow.document


def test_modules_on_the_deck_help_and_a_live_run_on_the_canvas(browser, site, owner):  # noqa: F811
    page = signed_in(browser, site)
    page.get_by_test_id("new-workflow").click()
    page.wait_for_url(f"{site}/workflows/new")
    page.get_by_test_id("deck-robot").select_option("Flex")
    page.get_by_test_id("deck-slot-D1").click()
    page.get_by_test_id("deck-slot-D1-module").select_option("temperatureModuleV2")
    page.get_by_test_id("deck-slot-D1-module-search").fill("aluminum 1.5 snap")
    page.get_by_test_id("deck-option-opentrons_24_aluminumblock_nest_1.5ml_snapcap").click()
    expect(page.get_by_test_id("deck-labware-aluminumBlock")).to_be_visible()  # drawn on it
    page.keyboard.press("?")
    page.get_by_test_id("help-overlay").wait_for()
    expect(page.get_by_test_id("help-overlay")).to_contain_text("Ctrl+Shift+Z")
    page.keyboard.press("Escape")
    page.get_by_test_id("help-overlay").wait_for(state="detached")
    save(page, 1)
    deck = Workflow.objects.get(owner=owner).document["deck"]
    assert deck["modules"] == [
        {
            "id": "temperature",
            "model": "temperatureModuleV2",
            "slot": "D1",
            "labware": {
                "id": "aluminumBlock",
                "load_name": "opentrons_24_aluminumblock_nest_1.5ml_snapcap",
            },
        }
    ]

    paused = make_workflow(
        owner,
        document(
            name="Waits for a person",
            nodes=[
                {"id": "p", "type": "control.pause", "position": {"x": 0, "y": 0}, "params": {}},
                {
                    "id": "after",
                    "type": "control.log",
                    "position": {"x": 300, "y": 0},
                    "params": {"message": "go"},
                },
            ],
            edges=[{"source": "p", "target": "after"}],
        ),
    )
    page.goto(f"{site}/workflows/{paused.pk}/edit")
    page.get_by_test_id("node-p").wait_for()
    started = page.evaluate(
        """async (id) => {
             const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
             const r = await fetch(`/api/workflows/${id}/runs`, {method: "POST", credentials: "same-origin",
               headers: {"Content-Type": "application/json", "X-CSRFToken": csrf}, body: "{}"});
             return (await r.json()).id;
           }""",
        paused.pk,
    )
    page.get_by_test_id("editor-live-run").wait_for(timeout=15000)
    page.wait_for_selector("[data-testid=node-p][data-state=running]")
    page.evaluate(
        """async (id) => {
             const csrf = document.cookie.match(/csrftoken=([^;]+)/)[1];
             await fetch(`/api/runs/${id}/continue`, {method: "POST", credentials: "same-origin",
               headers: {"X-CSRFToken": csrf}});
           }""",
        started,
    )
    page.wait_for_selector("[data-testid=node-after][data-state=completed]")
