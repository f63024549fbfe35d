"""Workflows, their versions, export and import; node types and validation."""

import json
import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from ninja import Body, File, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from canvas import permissions, registry
from canvas.jsonbody import BodyError, read_json
from canvas.models import Permission, VersionConflict, Workflow
from canvas.validation import validate

router = Router(tags=["workflows"])


class Problem(Schema):
    path: str
    message: str


class ValidationOut(Schema):
    valid: bool
    errors: list[Problem]


@router.get("/node-types", tags=["node types"])
def node_types(request):
    """Every node type, grouped by category, with its parameters as JSON Schema."""
    return registry.catalogue()


@router.post("/validate", response=ValidationOut, tags=["node types"])
def validate_document(request, document: Body[Any]):
    """Check a document without saving it; nothing in it is executed."""
    report = validate(document)
    return {"valid": report.valid, "errors": report.as_json()}


class WorkflowOut(Schema):
    id: int
    name: str
    version: int
    owner: str
    permission: str | None
    created_at: datetime
    updated_at: datetime
    valid: bool
    errors: list[Problem]
    document: dict[str, Any]


class VersionSummary(Schema):
    number: int
    author: str | None
    message: str
    created_at: datetime


class VersionOut(VersionSummary):
    valid: bool
    errors: list[Problem]
    document: dict[str, Any]


class Detail(Schema):
    detail: str


class Refused(Schema):
    detail: str
    errors: list[Problem]


class Conflict(Schema):
    detail: str
    current_version: int


class SaveIn(Schema):
    document: dict[str, Any]
    base_version: int
    message: str = ""


def workflow_out(workflow: Workflow, user) -> dict:
    return {
        "id": workflow.pk,
        "name": workflow.name,
        "version": workflow.version,
        "owner": workflow.owner.get_username(),
        "permission": permissions.permission_name(user, workflow),
        "created_at": workflow.created_at,
        "updated_at": workflow.updated_at,
        "valid": workflow.valid,
        "errors": workflow.problems,
        "document": workflow.document,
    }


def version_out(version, with_document=False) -> dict:
    out = {
        "number": version.number,
        "author": version.author.get_username() if version.author else None,
        "message": version.message,
        "created_at": version.created_at,
    }
    if with_document:
        out.update(valid=not version.problems, errors=version.problems, document=version.document)
    return out


def check_document(document: Any):
    """The validation report, and the 422 answer when the body is not a workflow at all."""
    report = validate(document)
    if report.refused:
        first = next(i for i in report.issues if i.fatal)
        return report, Status(422, {"detail": f"not saved: {first}", "errors": report.as_json()})
    return report, None


@router.get("/workflows", response=list[WorkflowOut])
def list_workflows(request):
    workflows = Workflow.objects.visible_to(request.user).select_related("owner")
    return [workflow_out(w, request.user) for w in workflows]


@router.post("/workflows", response={201: WorkflowOut, 422: Refused})
def create_workflow(request, document: Body[dict[str, Any]], message: str = "Created"):
    """The body is the workflow document itself (`message`: version 1's). A draft with problems
    is saved and its `errors` listed; a body that is not a workflow at all is refused (422)."""
    report, refused = check_document(document)
    if refused:
        return refused
    message = message[:500] or "Created"
    workflow = Workflow.create(document, request.user, message, problems=report.as_json())
    return Status(201, workflow_out(workflow, request.user))


@router.get("/workflows/{int:workflow_id}", response=WorkflowOut)
def get_workflow(request, workflow_id: int):
    return workflow_out(permissions.get_workflow(request.user, workflow_id), request.user)


@router.put(
    "/workflows/{int:workflow_id}", response={200: WorkflowOut, 409: Conflict, 422: Refused}
)
def save_workflow(request, workflow_id: int, body: SaveIn):
    """Save a new version. If the workflow moved on since `base_version`, nothing is written
    and the answer is 409 with the current version."""
    workflow = permissions.get_workflow(request.user, workflow_id, Permission.EDIT)
    report, refused = check_document(body.document)
    if refused:
        return refused
    try:
        workflow.save_version(
            body.document,
            request.user,
            body.message[:500],
            body.base_version,
            report.as_json(),
        )
    except VersionConflict as exc:
        return Status(
            409,
            {
                "detail": f"version {body.base_version} is out of date: someone saved "
                f"version {exc.current} since",
                "current_version": exc.current,
            },
        )
    return workflow_out(workflow, request.user)


@router.delete("/workflows/{int:workflow_id}", response={204: None})
def delete_workflow(request, workflow_id: int):
    permissions.delete_workflow(request.user, workflow_id)
    return Status(204, None)


@router.get("/workflows/{int:workflow_id}/versions", response=list[VersionSummary])
def list_versions(request, workflow_id: int):
    workflow = permissions.get_workflow(request.user, workflow_id)
    return [version_out(v) for v in workflow.versions.select_related("author")]


@router.get("/workflows/{int:workflow_id}/versions/{int:number}", response=VersionOut)
def get_version(request, workflow_id: int, number: int):
    workflow = permissions.get_workflow(request.user, workflow_id)
    version = workflow.versions.filter(number=number).first()
    if version is None:
        raise HttpError(404, f"workflow {workflow_id} has no version {number}")
    return version_out(version, with_document=True)


@router.post("/workflows/{int:workflow_id}/versions/{int:number}/restore", response=WorkflowOut)
def restore_version(request, workflow_id: int, number: int):
    """Restoring writes the old document as a new version; history is never rewritten."""
    workflow = permissions.get_workflow(request.user, workflow_id, Permission.EDIT)
    if not workflow.versions.filter(number=number).exists():
        raise HttpError(404, f"workflow {workflow_id} has no version {number}")
    for _ in range(3):  # someone may save in between; restore onto whatever is current
        try:
            workflow.restore(number, request.user)
            break
        except VersionConflict:
            workflow.refresh_from_db()
    else:
        raise HttpError(409, "the workflow kept changing; try again")
    return workflow_out(workflow, request.user)


@router.get("/workflows/{int:workflow_id}/export")
def export_workflow(request, workflow_id: int):
    """The current document as a `.json` download, exactly as saved."""
    workflow = permissions.get_workflow(request.user, workflow_id)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", workflow.name).strip("-").lower() or "workflow"
    response = HttpResponse(
        json.dumps(workflow.document, indent=2, ensure_ascii=False),
        content_type="application/json",
    )
    response["Content-Disposition"] = f'attachment; filename="{slug}.json"'
    return response


@router.post(
    "/workflows/import", response={201: WorkflowOut, 400: Detail, 413: Detail, 422: Refused}
)
def import_workflow(request, file: File[UploadedFile]):
    """A `.json` file exported from here (multipart field `file`) becomes a new workflow."""
    if file.size > settings.SDL_MAX_DOCUMENT_BYTES:
        return Status(413, {"detail": f"{file.name} is larger than the limit"})
    try:
        document = read_json(file.read())
    except BodyError as exc:
        return Status(exc.status, {"detail": f"{file.name}: {exc}"})
    if not isinstance(document, dict):
        return Status(400, {"detail": f"{file.name} does not hold a JSON object"})
    report, refused = check_document(document)
    if refused:
        return refused
    workflow = Workflow.create(
        document, request.user, f"Imported from {file.name}", report.as_json()
    )
    return Status(201, workflow_out(workflow, request.user))
