"""Small factories with defaults, and the named users of permission tests."""

import copy
import json
from pathlib import Path

from django.contrib.auth import get_user_model

from canvas.models import ApiToken, Workflow

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "canvas" / "demo"
# The design's shared examples (CI always has them; a user's clone may not).
SHARED_EXAMPLES = ROOT.parent / "shared" / "examples"


def demo(name: str) -> dict:
    return json.loads((DEMOS / f"{name}.json").read_text())


def document(**overrides) -> dict:
    """A small valid workflow that needs no robot."""
    doc = {
        "schema": "sdl-workflow/1",
        "name": "Tiny",
        "parameters": {"n": {"type": "number", "default": 2, "minimum": 0, "maximum": 10}},
        "nodes": [
            {"id": "a", "type": "control.log", "params": {"message": "hello"}},
            {"id": "b", "type": "data.record", "params": {"values": {"n": "{{ params.n }}"}}},
        ],
        "edges": [{"source": "a", "target": "b"}],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def make_user(username: str, **kw):
    return get_user_model().objects.create_user(username, password="a-long-test-password", **kw)


def make_workflow(owner, doc: dict | None = None, **kw) -> Workflow:
    return Workflow.create(doc or document(**kw), owner)


def token_for(user) -> str:
    return ApiToken.issue(user)[1]


def make_robot(name="ot2-sim", **kw):
    from robots.models import Robot

    kw.setdefault("robot_type", "OT-2")
    return Robot.objects.create(name=name, **kw)
