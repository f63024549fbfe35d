"""The words every page's scripts share with the server, served once per page (base.html):
which run and node states are terminal or active, and how each node type looks on the canvas."""

from functools import cache

from canvas import registry
from orchestration.models import NODE_ACTIVE, NODE_TERMINAL, RUN_ACTIVE, RUN_TERMINAL


@cache
def _vocabulary() -> dict:
    return {
        "runTerminal": sorted(RUN_TERMINAL),
        "runActive": sorted(RUN_ACTIVE),
        "nodeTerminal": sorted(NODE_TERMINAL),
        "nodeActive": sorted(NODE_ACTIVE),
        "nodeLooks": {
            t.type: {"category": t.category, "summary": t.summary} for t in registry.all_types()
        },
    }


def vocabulary(request) -> dict:
    """A template context processor."""
    return {"vocabulary": _vocabulary()}
