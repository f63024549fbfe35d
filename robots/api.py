"""What the deck editor offers (Opentrons' own labware, pipettes, modules and slots), and a
workflow exported as an Opentrons protocol."""

import re
from functools import cache
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Router, Schema, Status

from canvas import permissions
from canvas.api import Refused
from canvas.validation import validate
from robots import definitions
from robots.dryrun import DRY_RUNS
from robots.export import ExportError, export_protocol

router = Router(tags=["opentrons"])


@cache
def _catalogue(robot: str) -> dict:
    return definitions.catalogue(robot)


@router.get("/opentrons/definitions")
def opentrons_definitions(request, robot: Literal["OT-2", "Flex"] = "OT-2"):
    return _catalogue(robot)


@router.get("/opentrons/labware/{load_name}", response={200: dict, 404: Refused})
def opentrons_labware(request, load_name: str):
    """One labware's footprint and wells in mm, to draw it to scale."""
    found = definitions.labware_geometry(load_name)
    if found is None:
        return Status(404, {"detail": f"no Opentrons labware {load_name}", "errors": []})
    return found


@router.get("/workflows/{int:workflow_id}/protocol.py", response={422: Refused}, tags=["opentrons"])
def export_opentrons_protocol(request, workflow_id: int):
    """The workflow as an Opentrons Python protocol (opens in the Opentrons App)."""
    workflow = permissions.get_workflow(request.user, workflow_id)
    report = validate(workflow.document)
    if not report.valid:
        return Status(
            422,
            {"detail": f"fix the workflow first: {report.issues[0]}", "errors": report.as_json()},
        )
    try:
        text = export_protocol(
            report.document, f"workflow {workflow.pk}, version {workflow.version}"
        )
    except ExportError as exc:
        return Status(422, {"detail": str(exc), "errors": []})
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", workflow.name).strip("_").lower() or "protocol"
    response = HttpResponse(text, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}.py"'
    return response


class DryRunIn(Schema):
    document: dict[str, Any]
    parameters: dict[str, Any] = {}


@router.post("/dry-run", tags=["opentrons"])
def start_dry_run(request, body: DryRunIn):
    """Play the whole document on the Opentrons simulator (in a worker process). The answer is
    the report, or `{"status": "checking"}` with a `key` to ask `GET /api/dry-run/{key}`."""
    key, report = DRY_RUNS.start(body.document, body.parameters)
    return {"key": key, **report}


@router.get("/dry-run/{key}", tags=["opentrons"])
def dry_run_result(request, key: str):
    return {"key": key, **DRY_RUNS.result(key)}
