"""What the databases cannot store (NaN, Infinity, NUL) never fails a run or a request."""

import math

import pytest

from tests.factories import document, make_workflow
from tests.orchestration.runhelpers import assert_events_complete, nodes, run_document

pytestmark = pytest.mark.django_db(transaction=True)


def weird(kind: str):
    """Registered for python.call below: what an instrument driver might really return."""
    return {
        "nan": math.nan,
        "inf": math.inf,
        "nul": "plate\x00reader",
        "nested": {"a": [1.0, -math.inf], "b\x00": 2},
    }[kind]


@pytest.fixture(autouse=True)
def registered(settings):
    settings.SDL_PYTHON_CALLABLES = ["tests.orchestration.test_storable.weird"]


def call(kind):
    return document(
        nodes=[
            {
                "id": "f",
                "type": "python.call",
                "params": {
                    "function": "tests.orchestration.test_storable.weird",
                    "kwargs": {"kind": kind},
                },
            },
            {"id": "after", "type": "control.log", "params": {"message": "still here"}},
        ],
        edges=[{"source": "f", "target": "after"}],
        parameters={},
    )


@pytest.mark.parametrize(
    "kind, stored",
    [
        ("nan", "NaN"),
        ("inf", "Infinity"),
        ("nul", "plate\ufffdreader"),
        ("nested", {"a": [1.0, "-Infinity"], "b\ufffd": 2}),
    ],
)
def test_a_node_output_the_database_cannot_hold_is_stored_as_text_and_the_run_goes_on(
    owner, kind, stored
):
    run = run_document(owner, "native", call(kind))
    assert run.state == "completed", run.error
    node = nodes(run)["f"]
    assert node.output == {"result": stored}
    assert any("stored as" in line["message"] for line in node.log)
    assert_events_complete(run)


@pytest.mark.parametrize(
    "body, says",
    [
        (b'{"schema": "sdl-workflow/1", "name": "x", "nodes": [], "edges": [], "n": NaN}', "NaN"),
        (
            b'{"schema": "sdl-workflow/1", "name": "x", "nodes": [], "edges": [], "n": 1e400}',
            "1e400",
        ),
        (b'{"schema": "sdl-workflow/1", "name": "x\\u0000", "nodes": [], "edges": []}', "NUL"),
        (
            b'{"schema": "sdl-workflow/1", "name": "x", "nodes": [], "edges": [], "n": Infinity}',
            "Infinity",
        ),
    ],
)
def test_a_request_with_numbers_or_text_the_database_cannot_hold_is_refused(api, body, says):
    answer = api.post("/api/workflows", body)
    assert answer.status_code == 400 and says in answer.json()["detail"]


def test_run_parameters_with_nan_are_refused(api, owner):
    workflow = make_workflow(owner)
    answer = api.post(f"/api/workflows/{workflow.pk}/runs", b'{"parameters": {"n": NaN}}')
    assert answer.status_code == 400 and "NaN" in answer.json()["detail"]
