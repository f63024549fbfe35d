"""The editor in a real browser, used as a person would."""

import os

import pytest
from playwright.sync_api import expect

from canvas.models import Workflow
from tests.browser import browser, login, place_labware  # noqa: F401  (fixture)
from tests.factories import demo, make_workflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def signed_in(browser, site, user="olivia"):  # noqa: F811
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(page, site, user)
    return page


def connect(page, source, target):
    page.get_by_test_id(f"port-out-{source}").hover()
    page.mouse.down()
    page.get_by_test_id(f"port-in-{target}").hover()
    page.mouse.up()


def test_build_connect_refuse_a_cycle_save_and_undo(browser, site, owner):  # noqa: F811
    page = signed_in(browser, site)
    page.get_by_test_id("new-workflow").click()
    page.wait_for_url(f"{site}/workflows/new")
    page.get_by_test_id("palette-item-control.log").drag_to(page.get_by_test_id("canvas"))
    page.get_by_test_id("field-message").fill("first")
    page.get_by_test_id("palette-item-control.delay").click()  # by click: after log1, joined
    page.get_by_test_id("field-seconds").fill("0.1")
    page.get_by_test_id("layout-button").click()
    page.wait_for_timeout(600)  # the view glides to fit the new layout
    expect(page.locator(".react-flow__edge[data-id='log1->delay1']")).to_have_count(1)
    connect(page, "delay1", "log1")
    expect(page.get_by_test_id("edit-notice")).to_contain_text("would make a cycle")
    page.get_by_test_id("workflow-name").fill("Built by hand")
    page.wait_for_selector("[data-testid=validation-errors]:has-text('No problems')")
    assert not Workflow.objects.exists()  # a new workflow is stored when it is first saved
    page.get_by_test_id("save-message").fill("first draft")
    page.get_by_test_id("save-button").click()
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Saved version 1')")
    workflow = Workflow.objects.get(name="Built by hand")
    assert page.url == f"{site}/workflows/{workflow.pk}/edit"
    doc = workflow.document
    assert [n["type"] for n in doc["nodes"]] == ["control.log", "control.delay"]
    assert doc["edges"] == [{"source": "log1", "target": "delay1"}]
    assert doc["nodes"][0]["params"] == {"message": "first"}
    assert workflow.versions.get(number=1).message == "first draft"
    expect(page.get_by_test_id("run-button")).to_be_enabled()
    page.get_by_test_id("undo-button").click()
    page.wait_for_selector("[data-testid=unsaved]")
    page.get_by_test_id("redo-button").click()
    page.wait_for_selector("[data-testid=unsaved]", state="detached")


def test_an_error_shows_on_its_field_and_goes_when_fixed(browser, site, owner):  # noqa: F811
    workflow = make_workflow(owner, demo("serial_dilution"))
    page = signed_in(browser, site)
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("palette-search").fill("aspirate")
    page.get_by_test_id("palette-item-opentrons.aspirate").click()
    page.get_by_test_id("field-pipette").select_option("p300")
    page.get_by_test_id("field-location-labware").select_option("plate")
    page.get_by_test_id("field-location-wells").fill("A1")
    page.get_by_test_id("field-location-wells").blur()
    page.get_by_test_id("field-volume").fill("1000")
    error = page.get_by_test_id("field-error-volume")
    error.wait_for()
    expect(error).to_contain_text("more than pipette p300 (p300_single_gen2) holds (300 µL)")
    expect(page.get_by_test_id("run-button")).to_be_disabled()
    page.get_by_test_id("field-volume").fill("100")
    error.wait_for(state="detached")


def test_a_save_after_someone_else_saved_offers_a_copy_and_loses_nothing(browser, site, owner):  # noqa: F811
    workflow = make_workflow(owner, demo("buffer_check"))
    mine = signed_in(browser, site)
    theirs = signed_in(browser, site)
    for page in (mine, theirs):
        page.goto(f"{site}/workflows/{workflow.pk}/edit")
        page.get_by_test_id("workflow-name").wait_for()
    theirs.get_by_test_id("workflow-name").fill("Their name")
    theirs.get_by_test_id("save-button").click()
    theirs.wait_for_selector("[data-testid=edit-notice]:has-text('Saved version 2')")
    mine.get_by_test_id("workflow-name").fill("My name")
    mine.get_by_test_id("save-button").click()
    mine.get_by_test_id("conflict-dialog").wait_for()
    mine.get_by_test_id("conflict-copy").click()
    mine.wait_for_url(lambda url: url.endswith("/edit") and f"/workflows/{workflow.pk}/" not in url)
    workflow.refresh_from_db()
    assert workflow.name == "Their name" and workflow.version == 2
    assert Workflow.objects.filter(name="My name (copy)").exists()


def test_set_up_a_deck_and_a_transfer_from_an_empty_workflow(browser, site, owner):  # noqa: F811
    page = signed_in(browser, site)
    page.get_by_test_id("new-workflow").click()
    page.wait_for_url(f"{site}/workflows/new")
    page.get_by_test_id("deck-robot").select_option("OT-2")
    place_labware(page, "1", "opentrons_96_tiprack_300ul", "tip rack 300")
    place_labware(page, "2", "nest_12_reservoir_15ml", "nest 12 reservoir", "reservoir")
    place_labware(page, "3", "nest_96_wellplate_200ul_flat", "nest 96 200 flat", "plate")
    page.get_by_test_id("deck-pipette-left").select_option("p300_single_gen2")
    page.get_by_test_id("palette-item-opentrons.transfer").click()
    page.get_by_test_id("field-pipette").select_option("left")
    page.get_by_test_id("field-volume").fill("100")
    page.get_by_test_id("field-source-labware").select_option("reservoir")
    page.get_by_test_id("field-source-wells").fill("A1")
    page.get_by_test_id("field-dest-labware").select_option("plate")
    page.get_by_test_id("field-dest-wells").fill("A1, A2, A3")
    page.get_by_test_id("field-dest-wells").blur()
    page.wait_for_selector("[data-testid=validation-errors]:has-text('No problems')")
    page.get_by_test_id("save-button").click()
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Saved version 1')")
    doc = Workflow.objects.get(owner=owner).document
    assert doc["robot"] == {"type": "OT-2", "api_level": "2.20"}
    assert {lw["id"]: (lw["load_name"], lw["slot"]) for lw in doc["deck"]["labware"]} == {
        "tips": ("opentrons_96_tiprack_300ul", "1"),
        "reservoir": ("nest_12_reservoir_15ml", "2"),
        "plate": ("nest_96_wellplate_200ul_flat", "3"),
    }
    assert doc["deck"]["pipettes"] == [
        {"id": "left", "instrument": "p300_single_gen2", "mount": "left", "tip_racks": ["tips"]}
    ]
    assert doc["nodes"][0]["params"] == {
        "pipette": "left",
        "volume": 100,
        "source": {"labware": "reservoir", "wells": ["A1"]},
        "dest": {"labware": "plate", "wells": ["A1", "A2", "A3"]},
    }


def test_copy_two_connected_nodes_and_paste_them_into_another_workflow(browser, site, owner):  # noqa: F811
    source = make_workflow(owner, demo("buffer_check"))
    target = make_workflow(
        owner, {"schema": "sdl-workflow/1", "name": "Empty", "nodes": [], "edges": []}
    )
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/workflows/{source.pk}/edit")
    page.get_by_test_id("node-reading").click()
    page.get_by_test_id("node-ok").click(modifiers=["Shift"])
    page.keyboard.press("Control+c")
    page.wait_for_selector("[data-testid=edit-notice]:has-text('Copied')")
    other = context.new_page()
    other.goto(f"{site}/workflows/{target.pk}/edit")
    other.get_by_test_id("canvas").click()
    other.keyboard.press("Control+v")
    other.wait_for_selector("[data-testid=edit-notice]:has-text('Pasted')")
    other.keyboard.press("Control+s")
    other.wait_for_selector("[data-testid=edit-notice]:has-text('Saved version 2')")
    doc = Workflow.objects.get(pk=target.pk).document
    assert [n["type"] for n in doc["nodes"]] == ["data.record", "control.log"]
    assert doc["edges"] == [
        {"source": "record1", "target": "log1", "when": "{{ nodes.record1.output.ph }} >= 6.5"}
    ]


def test_select_an_edge_give_it_a_condition_and_delete_it(browser, site, owner):  # noqa: F811
    from tests.factories import document

    doc = document(
        nodes=[
            {
                "id": "a",
                "type": "control.log",
                "params": {"message": "hi"},
                "position": {"x": 0, "y": 0},
            },
            {
                "id": "b",
                "type": "data.record",
                "params": {"values": {"ok": True}},
                "position": {"x": 400, "y": 0},
            },
            {
                "id": "c",
                "type": "control.log",
                "params": {"message": "then"},
                "position": {"x": 800, "y": 0},
            },
        ],
        edges=[{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
    )
    workflow = make_workflow(owner, doc)
    page = signed_in(browser, site)
    page.goto(f"{site}/workflows/{workflow.pk}/edit")

    def click_edge(edge_id):  # its middle, where a person clicks a line
        expect(page.get_by_test_id("node-c")).to_be_in_viewport()  # the view has fitted
        box = page.locator(f".react-flow__edge[data-id='{edge_id}'] path").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    click_edge("b->c")
    expect(page.get_by_test_id("edge-form")).to_contain_text("b → c")
    page.get_by_test_id("edge-when-ref").select_option(label="b → ok")  # the picker
    page.get_by_test_id("edge-when-value").fill("true")
    expect(page.locator(".react-flow__edge[data-id='b->c']")).to_contain_text("== true")
    click_edge("a->b")
    expect(page.get_by_test_id("edge-form")).to_contain_text("a → b")
    page.keyboard.press("Delete")
    expect(page.locator(".react-flow__edge[data-id='a->b']")).to_have_count(0)
    expect(page.locator(".react-flow__edge[data-id='b->c']")).to_have_count(1)
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("edit-notice")).to_contain_text("Saved version 2")
    saved = Workflow.objects.get(pk=workflow.pk).document["edges"]
    assert saved == [{"source": "b", "target": "c", "when": "{{ nodes.b.output.ok }} == true"}]


def test_three_steps_added_by_click_land_in_three_places_each_after_the_last(
    browser,  # noqa: F811
    site,
    owner,
):
    page = signed_in(browser, site)
    page.get_by_test_id("new-workflow").click()
    page.wait_for_url(f"{site}/workflows/new")
    for _ in range(3):
        page.get_by_test_id("palette-item-control.log").click()
    expect(page.locator(".react-flow__node")).to_have_count(3)
    boxes = [page.get_by_test_id(f"node-log{i}").bounding_box() for i in (1, 2, 3)]
    places = {(round(b["x"]), round(b["y"])) for b in boxes}
    assert len(places) == 3
    for a, b in zip(boxes, boxes[1:], strict=False):  # none overlaps the one before
        assert abs(a["x"] - b["x"]) >= a["width"] or abs(a["y"] - b["y"]) >= a["height"]
    expect(page.locator(".react-flow__edge")).to_have_count(2)  # each joined to the last


def test_dark_mode_follows_the_system_and_the_site_has_an_icon(browser, site, owner):  # noqa: F811
    page = browser.new_context(color_scheme="dark").new_page()
    login(page, site, "olivia")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 23, 32)"
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(f"{site}{icon}").ok
    light = browser.new_context(color_scheme="light").new_page()
    login(light, site, "olivia")
    assert light.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(247, 249, 251)"


def test_a_mix_is_two_numbers_and_broken_json_shows_its_error(browser, site, owner):  # noqa: F811
    from tests.factories import document

    page = signed_in(browser, site)
    workflow = make_workflow(owner, demo("serial_dilution"))
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("node-stock").click()
    expect(page.get_by_test_id("field-mix_after-0")).to_have_value("3")
    expect(page.get_by_test_id("field-mix_after-1")).to_have_value("50")
    page.get_by_test_id("field-mix_after-1").fill("40")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("edit-notice")).to_contain_text("Saved version 2")
    stock = next(
        n for n in Workflow.objects.get(pk=workflow.pk).document["nodes"] if n["id"] == "stock"
    )
    assert stock["params"]["mix_after"] == [3, 40]

    asking = document(
        nodes=[
            {
                "id": "ask",
                "type": "control.input",
                "params": {"message": "Weigh", "fields": [{"name": "mass"}]},
            }
        ],
        edges=[],
    )
    page.goto(f"{site}/workflows/{make_workflow(owner, asking).pk}/edit")
    page.get_by_test_id("node-ask").click()
    fields = page.get_by_test_id("field-fields")
    fields.fill('[{"name": "mass", ')
    expect(page.get_by_test_id("field-fields-json-error")).to_contain_text("not valid JSON yet")
    expect(fields).to_have_value('[{"name": "mass", ')  # kept as typed, not thrown away
    fields.fill('[{"name": "mass", "unit": "g"}]')
    expect(page.get_by_test_id("field-fields-json-error")).to_have_count(0)

    # Record data: a table of names and values
    other = make_workflow(owner, document())
    page.goto(f"{site}/workflows/{other.pk}/edit")
    page.get_by_test_id("node-b").click()
    expect(page.get_by_test_id("field-values-key-0")).to_have_value("n")
    page.get_by_test_id("field-values-add").click()
    page.get_by_test_id("field-values-key-1").fill("ph")
    page.get_by_test_id("field-values-value-1").fill("7.4")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("edit-notice")).to_contain_text("Saved version 2")
    node = Workflow.objects.get(pk=other.pk).document["nodes"][1]
    assert node["params"]["values"] == {"n": "{{ params.n }}", "ph": 7.4}


def test_the_list_searches_duplicates_and_deletes_after_asking(browser, site, owner):  # noqa: F811
    from tests.factories import document

    make_workflow(owner, document(name="Buffer prep", description="Makes the PBS"))
    make_workflow(owner, document(name="Serial dilution"))
    page = signed_in(browser, site)
    page.get_by_test_id("workflow-search").fill("pbs")
    page.get_by_test_id("workflow-search").press("Enter")
    rows = page.locator("[data-testid=workflow-list] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Makes the PBS")
    buffer = Workflow.objects.get(name="Buffer prep")
    page.get_by_test_id(f"duplicate-{buffer.pk}").click()
    page.wait_for_url(f"{site}/workflows/*/edit")
    assert Workflow.objects.filter(name="Buffer prep (copy)").count() == 1
    page.goto(f"{site}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_test_id(f"delete-{buffer.pk}").click()
    expect(page.get_by_test_id(f"workflow-{buffer.pk}")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id(f"delete-{buffer.pk}").click()
    expect(page.get_by_test_id(f"workflow-{buffer.pk}")).to_have_count(0)
    buffer.refresh_from_db()
    assert buffer.deleted_at is not None


def test_fields_show_their_unit_and_bounds_from_the_schema(browser, site, owner):  # noqa: F811
    page = signed_in(browser, site)
    workflow = make_workflow(owner, demo("serial_dilution"))
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("node-stock").click()
    form = page.get_by_test_id("node-form")
    expect(form.locator("label:has([data-testid=field-volume])")).to_contain_text("Volume (µL)")
    expect(page.get_by_test_id("help-volume")).to_have_text("more than 0 to 100000")


def test_a_field_takes_a_run_parameter_or_an_upstream_output_from_the_picker(
    browser,  # noqa: F811
    site,
    owner,
):
    page = signed_in(browser, site)
    workflow = make_workflow(owner, demo("serial_dilution"))
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("node-dilute").click()
    picker = page.get_by_test_id("ref-volume")
    expect(picker.locator("option")).to_contain_text(["run parameter volume", "diluent → volume"])
    expect(picker.locator("option", has_text="dilute → ")).to_have_count(0)  # not itself
    picker.select_option(label="diluent → volume")
    expect(page.get_by_test_id("field-volume")).to_have_value("{{ nodes.diluent.output.volume }}")


def test_go_to_a_step_by_its_name(browser, site, owner):  # noqa: F811
    page = signed_in(browser, site)
    workflow = make_workflow(owner, demo("serial_dilution"))
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("step-search").fill("dilute")
    page.get_by_test_id("step-search").press("Enter")
    expect(page.get_by_test_id("node-form")).to_contain_text("dilute")
    expect(page.get_by_test_id("node-dilute")).to_be_in_viewport()
    page.get_by_test_id("step-search").fill("nothing like it")
    page.get_by_test_id("step-search").press("Enter")
    expect(page.get_by_test_id("edit-notice")).to_contain_text("No step matches")


def test_group_steps_move_them_by_the_title_and_leave_a_sticky_note(browser, site, owner):  # noqa: F811
    from tests.factories import document

    doc = document(
        nodes=[
            {
                "id": "a",
                "type": "control.log",
                "params": {"message": "1"},
                "position": {"x": 0, "y": 0},
            },
            {
                "id": "b",
                "type": "control.log",
                "params": {"message": "2"},
                "position": {"x": 300, "y": 0},
            },
            {
                "id": "c",
                "type": "control.log",
                "params": {"message": "3"},
                "position": {"x": 600, "y": 0},
            },
        ],
        edges=[{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
    )
    workflow = make_workflow(owner, doc)
    page = signed_in(browser, site)
    page.goto(f"{site}/workflows/{workflow.pk}/edit")
    page.get_by_test_id("node-a").click()
    page.get_by_test_id("node-b").click(modifiers=["Shift"])
    page.get_by_test_id("group-button").click()
    title = page.get_by_test_id("group-title-group1")
    expect(title).to_have_text("Group 1")
    title.click()
    page.get_by_test_id("group-title-input").fill("Prepare")
    page.get_by_test_id("group-title-input").blur()
    expect(title).to_have_text("Prepare")

    before = {n: page.get_by_test_id(f"node-{n}").bounding_box() for n in "abc"}
    box = title.bounding_box()
    page.mouse.move(box["x"] + 10, box["y"] + 5)
    page.mouse.down()
    page.mouse.move(box["x"] + 60, box["y"] + 125, steps=8)
    page.mouse.up()
    after = {n: page.get_by_test_id(f"node-{n}").bounding_box() for n in "abc"}
    for n in "ab":  # the group's steps moved with it, together
        assert after[n]["y"] - before[n]["y"] > 50
        assert round(after[n]["y"] - before[n]["y"]) == round(after["a"]["y"] - before["a"]["y"])
    assert after["c"] == before["c"]

    page.get_by_test_id("note-button").click()
    note = page.get_by_test_id("note-text-note1")
    note.fill("Check the tip boxes first")
    note.blur()
    page.wait_for_selector("[data-testid=validation-errors]:has-text('No problems')")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("edit-notice")).to_contain_text("Saved version 2")
    saved = Workflow.objects.get(pk=workflow.pk).document
    assert saved["groups"] == [{"id": "group1", "title": "Prepare", "nodes": ["a", "b"]}]
    assert saved["notes"][0]["text"] == "Check the tip boxes first"
    at = {n["id"]: n["position"] for n in saved["nodes"]}
    assert at["a"]["y"] == at["b"]["y"] > 0 and at["c"] == {"x": 600, "y": 0}
    assert [n["type"] for n in saved["nodes"]] == ["control.log"] * 3  # a note is not a step

    title.click()  # Delete on the box ungroups; the steps stay
    page.keyboard.press("Delete")
    expect(title).to_have_count(0)
    expect(page.locator(".react-flow__node-step")).to_have_count(3)


def test_a_deck_drawn_to_scale_built_by_searching_labware(browser, site, owner):  # noqa: F811
    page = signed_in(browser, site)
    page.get_by_test_id("new-workflow").click()
    page.get_by_test_id("deck-robot").select_option("OT-2")
    page.get_by_test_id("deck-slot-1").click()
    page.get_by_test_id("deck-slot-1-search").fill("tip rack")  # an OT-2 is offered no Flex tips
    expect(page.get_by_test_id("deck-option-opentrons_96_tiprack_300ul")).to_be_visible()
    expect(page.locator("[data-testid^=deck-option-opentrons_flex]")).to_have_count(0)
    place_labware(page, "1", "opentrons_96_tiprack_300ul", "tip rack 300")
    place_labware(page, "3", "corning_96_wellplate_360ul_flat", "corning 96 flat 360", "plate")
    expect(page.locator("[data-testid=deck-labware-plate] .well")).to_have_count(96)
    expect(page.locator("[data-testid=deck-labware-tips] .well")).to_have_count(96)

    # to scale: slot 3 right of 1, slot 4 behind 1 (drawn above), each 128 × 86 mm
    one, three, four = (page.get_by_test_id(f"deck-slot-{s}").bounding_box() for s in "134")
    assert three["x"] > one["x"] + one["width"] and four["y"] + four["height"] < one["y"]
    assert abs(one["width"] / one["height"] - 128 / 86) < 0.05

    page.get_by_test_id("deck-pipette-left").select_option("p300_single_gen2")
    chip = page.get_by_test_id("deck-pipette-left-tips-tips")
    expect(chip).to_have_attribute("aria-pressed", "true")  # the fitting rack, by itself
    chip.click()
    expect(chip).to_have_attribute("aria-pressed", "false")
    chip.click()
    expect(chip).to_have_attribute("aria-pressed", "true")

    page.get_by_test_id("deck-slot-7").click()  # the thermocycler covers 7, 8, 10 and 11
    page.get_by_test_id("deck-slot-7-module").select_option("thermocyclerModuleV2")
    expect(page.get_by_test_id("deck-slot-10")).to_have_count(0)
    expect(page.get_by_test_id("deck-slot-8")).to_have_count(0)
    page.get_by_test_id("deck-slot-7-module-search").fill("reservoir")  # plates only, on it
    expect(page.locator("[data-testid^=deck-option-]")).to_have_count(0)

    page.get_by_test_id("workflow-name").fill("Deck by search")
    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("edit-notice")).to_contain_text("Saved version 1")
    deck = Workflow.objects.get(name="Deck by search").document["deck"]
    assert {lw["id"]: lw["slot"] for lw in deck["labware"]} == {"tips": "1", "plate": "3"}
    assert deck["pipettes"][0]["tip_racks"] == ["tips"]
    assert deck["modules"] == [{"id": "thermocycler", "model": "thermocyclerModuleV2", "slot": "7"}]

    # the starting liquids are coloured in their wells
    mixing = make_workflow(owner, demo("colour_mixing"))
    page.goto(f"{site}/workflows/{mixing.pk}/edit")
    expect(page.locator("[data-testid=deck-labware-dyes] .well[style*=fill]")).to_have_count(3)
    expect(page.get_by_test_id("deck-slot-A3")).to_contain_text("Trash")
