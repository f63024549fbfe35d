import json

import pytest

from canvas.models import Workflow, WorkflowVersion
from tests.factories import demo, document, make_workflow


def test_it_creates_a_workflow_from_the_document_itself(api):
    response = api.post("/api/workflows", demo("serial_dilution"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and body["valid"] and body["errors"] == []
    assert body["document"] == demo("serial_dilution")
    assert Workflow.objects.get(pk=body["id"]).versions.count() == 1


def test_a_draft_with_problems_is_saved_with_its_errors(api):
    doc = document(edges=[{"source": "a", "target": "ghost"}])
    response = api.post("/api/workflows", doc)
    assert response.status_code == 201
    assert response.json()["errors"] == [
        {"path": "edges[0]", "message": "edge a → ghost: no node ghost"}
    ]


def test_it_saves_versions_and_restores_an_old_one_as_a_new_version(api):
    original = demo("serial_dilution")
    wf = api.post("/api/workflows", original).json()
    changed = json.loads(json.dumps(original))
    changed["parameters"]["volume"]["default"] = 60
    response = api.put(
        f"/api/workflows/{wf['id']}",
        {"document": changed, "base_version": 1, "message": "less volume"},
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    versions = api.get(f"/api/workflows/{wf['id']}/versions").json()
    assert [(v["number"], v["message"]) for v in versions] == [(2, "less volume"), (1, "Created")]
    assert api.get(f"/api/workflows/{wf['id']}/versions/1").json()["document"] == original

    restored = api.post(f"/api/workflows/{wf['id']}/versions/1/restore").json()
    assert restored["version"] == 3 and restored["document"] == original
    export = api.get(f"/api/workflows/{wf['id']}/export")
    assert export["Content-Disposition"].endswith('.json"')
    assert json.loads(export.content) == original


def test_a_save_based_on_an_old_version_is_refused_with_the_current_one(api, owner):
    wf = make_workflow(owner)
    assert (
        api.put(
            f"/api/workflows/{wf.pk}", {"document": document(name="One"), "base_version": 1}
        ).status_code
        == 200
    )
    response = api.put(
        f"/api/workflows/{wf.pk}", {"document": document(name="Two"), "base_version": 1}
    )
    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    wf.refresh_from_db()
    assert wf.document["name"] == "One" and wf.versions.count() == 2


def test_export_then_import_gives_the_same_document(api, owner):
    wf = make_workflow(owner, demo("buffer_check"))
    exported = api.get(f"/api/workflows/{wf.pk}/export").content
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("buffer.json", exported, content_type="application/json")
    response = api.client.post("/api/workflows/import", {"file": upload})
    assert response.status_code == 201, response.content
    assert response.json()["document"] == demo("buffer_check")
    assert Workflow.objects.count() == 2


def test_delete_removes_the_workflow_from_every_list_and_keeps_its_history(api, owner):
    wf = make_workflow(owner)
    assert api.delete(f"/api/workflows/{wf.pk}").status_code == 204
    assert api.get("/api/workflows").json() == []
    assert api.get(f"/api/workflows/{wf.pk}").status_code == 404
    assert api.delete(f"/api/workflows/{wf.pk}").status_code == 404
    assert WorkflowVersion.objects.filter(workflow=wf).exists()  # history is never lost


@pytest.mark.django_db(transaction=True)
def test_a_workflow_that_has_run_can_be_deleted_and_its_runs_stay(api, owner):
    from orchestration import runs
    from tests.orchestration.runhelpers import wait_for

    wf = make_workflow(owner)
    run = wait_for(runs.create_run(wf, user=owner).pk)
    assert api.delete(f"/api/workflows/{wf.pk}").status_code == 204
    shown = api.get(f"/api/runs/{run.pk}").json()
    assert shown["state"] == "completed" and shown["workflow_deleted"] is True
    assert [r["id"] for r in api.get("/api/runs").json()] == [run.pk]
    again = api.post(f"/api/runs/{run.pk}/rerun")
    assert again.status_code == 404  # nothing to run any more
    api.client.force_login(owner)
    page = api.client.get(f"/runs/{run.pk}/")
    assert page.status_code == 200 and b"(deleted)" in page.content


def test_versions_are_immutable(owner):
    version = make_workflow(owner).versions.get()
    version.message = "rewritten"
    try:
        version.save()
    except ValueError:
        pass
    assert WorkflowVersion.objects.get().message == "Created"


def test_validate_lists_errors_without_saving(api):
    response = api.post("/api/validate", {"hello": "world"})
    assert response.status_code == 200
    body = response.json()
    assert not body["valid"] and "missing schema/name/nodes/edges" in body["errors"][0]["message"]
    assert api.post("/api/validate", demo("serial_dilution")).json() == {
        "valid": True,
        "errors": [],
    }
    assert not Workflow.objects.exists()


def test_node_types_are_grouped_with_their_json_schemas(api):
    groups = api.get("/api/node-types").json()
    by_type = {t["type"]: t for g in groups for t in g["types"]}
    assert [g["category"] for g in groups][:2] == ["control", "opentrons"]
    transfer = by_type["opentrons.transfer"]
    assert transfer["schema"]["properties"]["new_tip"]["enum"] == ["once", "always", "never"]
    assert set(transfer["schema"]["required"]) >= {"pipette", "volume", "source", "dest"}
    assert "volume" in transfer["outputs"]


def test_opentrons_definitions_are_the_packages_own(api):
    ot2 = api.get("/api/opentrons/definitions?robot=OT-2").json()
    assert ot2["slots"] == [str(n) for n in range(1, 12)]
    plate = next(lw for lw in ot2["labware"] if lw["load_name"] == "nest_96_wellplate_200ul_flat")
    assert plate["display_name"] == "NEST 96 Well Plate 200 µL Flat" and plate["wells"][0][:2] == [
        "A1",
        "B1",
    ]
    assert "p300_single_gen2" in [p["name"] for p in ot2["pipettes"]]
    flex = api.get("/api/opentrons/definitions?robot=Flex").json()
    assert flex["slots"][0] == "A1" and "flex_1channel_1000" in [
        p["name"] for p in flex["pipettes"]
    ]
    temp = next(m for m in flex["modules"] if m["model"] == "temperatureModuleV2")
    assert set(temp["slots"]) == {"A1", "B1", "C1", "D1", "A3", "B3", "C3", "D3"}
    assert api.get("/api/opentrons/definitions?robot=OT-3").status_code == 422


def test_the_deck_and_labware_geometry_for_drawing_to_scale(api):
    ot2 = api.get("/api/opentrons/definitions?robot=OT-2").json()
    assert ot2["deck"]["slots"]["1"] == [0.0, 0.0, 128.0, 86.0]  # Opentrons' deck definition
    assert ot2["deck"]["slots"]["3"][0] == 265.0 and ot2["deck"]["fixed_trash"] == "12"
    by_name = {lw["load_name"]: lw for lw in ot2["labware"]}
    assert by_name["opentrons_flex_96_tiprack_1000ul"]["robots"] == ["Flex"]
    assert by_name["opentrons_96_tiprack_300ul"]["robots"] == ["OT-2"]
    assert not by_name["opentrons_1_trash_1100ml_fixed"]["offered"]
    plate = api.get("/api/opentrons/labware/corning_96_wellplate_360ul_flat").json()
    assert plate["footprint"] == [127.76, 85.47] and len(plate["wells"]) == 96
    assert plate["wells"]["A1"] == [14.37, 74.24, 6.86]  # x, y, diameter in mm
    missing = api.get("/api/opentrons/labware/no_such_plate")
    assert missing.status_code == 404 and "no_such_plate" in missing.json()["detail"]


def test_openapi_and_docs_are_served(api):
    spec = api.get("/api/openapi.json").json()
    assert "/api/workflows/{workflow_id}/versions/{number}/restore" in spec["paths"]
    assert api.get("/api/docs").status_code == 200


def test_lists_show_the_stored_validation_report_without_validating_again(api, owner, monkeypatch):
    make_workflow(owner, document(nodes=[], edges=[]))  # a draft: "no steps yet"
    from canvas import api as canvas_api
    from canvas import models, validation, views

    def no_validation(document):
        raise AssertionError("a list validated a stored document again")

    for module in (validation, canvas_api, models, views):
        monkeypatch.setattr(module, "validate", no_validation, raising=False)
    [listed] = api.get("/api/workflows").json()
    assert not listed["valid"] and listed["errors"][0]["message"] == "the workflow has no steps yet"
    api.client.force_login(owner)
    assert "1 problem" in api.client.get("/").content.decode()
