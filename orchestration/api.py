"""Node types and validation. (Runs are added by the native engine.)"""

from typing import Any

from ninja import Body, Router, Schema

from orchestration import registry
from orchestration.validation import validate

router = Router(tags=["orchestration"])


class Problem(Schema):
    path: str
    message: str


class ValidationOut(Schema):
    valid: bool
    errors: list[Problem]


@router.get("/node-types")
def node_types(request):
    """Every node type, grouped by category, with its parameters as JSON Schema."""
    return registry.catalogue()


@router.post("/validate", response=ValidationOut)
def validate_document(request, document: Body[Any]):
    """Check a document without saving it; nothing in it is executed."""
    report = validate(document)
    return {"valid": report.valid, "errors": report.as_json()}
