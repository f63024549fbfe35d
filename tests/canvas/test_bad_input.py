"""Bad input gets a clear 4xx and changes nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas.models import Workflow
from tests.factories import demo, document, make_workflow


def assert_refused(response, status, words):
    assert response.status_code == status, response.content
    assert words in json.dumps(response.json()), response.json()
    assert not Workflow.objects.exists()


def test_a_malformed_body_is_refused(api):
    assert_refused(api.post("/api/workflows", b"{not json"), 400, "not valid JSON")


def test_an_empty_body_is_refused(api):
    assert_refused(api.post("/api/workflows", b""), 422, "document")


def test_a_10_mb_document_is_refused(api):
    doc = document(description="x" * 10_000_000)
    assert_refused(api.post("/api/workflows", doc), 413, "larger than")


def test_deeply_nested_json_is_refused(api):
    deep = "[" * 100_000 + "]" * 100_000
    body = '{"schema": "sdl-workflow/1", "name": "d", "nodes": [], "edges": [], "x": ' + deep + "}"
    assert_refused(api.post("/api/workflows", body), 400, "nested")


def test_a_wrong_type_in_a_field_is_refused(api):
    assert_refused(api.post("/api/workflows", document(name=42)), 422, "name")
    doc = document()
    doc["nodes"][0]["retries"] = "many"
    assert_refused(api.post("/api/workflows", doc), 422, "nodes[a].retries")
    doc = document()
    doc["nodes"][1]["params"]["values"] = ["not", "a", "dict"]
    assert_refused(api.post("/api/workflows", doc), 422, "nodes[b].params.values")


def test_an_unknown_node_type_is_refused(api):
    doc = document(nodes=[{"id": "a", "type": "opentrons.teleport", "params": {}}], edges=[])
    assert_refused(api.post("/api/workflows", doc), 422, "unknown type opentrons.teleport")


def test_a_document_that_is_not_an_object_is_refused(api):
    assert_refused(api.post("/api/workflows", [1, 2]), 422, "")


def test_a_put_with_a_bad_body_changes_nothing(api, owner):
    wf = make_workflow(owner, demo("buffer_check"))
    for body in ({"document": {"hello": 1}, "base_version": 1}, {"base_version": "x"}, b"[]"):
        assert 400 <= api.put(f"/api/workflows/{wf.pk}", body).status_code < 500
    wf.refresh_from_db()
    assert wf.version == 1 and wf.document == demo("buffer_check")


def test_an_import_that_is_not_json_is_refused(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("x.json", b"\x00\xff garbage")
    response = api.client.post("/api/workflows/import", {"file": upload})
    assert_refused(response, 400, "not valid JSON")


# The shapes that once answered 500: huge integers, NUL characters, ids of any JSON type.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.just("nul\x00text"),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
node_types = st.sampled_from(
    ["control.log", "control.delay", "opentrons.transfer", "data.record", "nope", 3]
)
nodes = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c", "", "bad id"]) | json_values, "type": node_types},
    optional={
        "params": st.dictionaries(
            st.sampled_from(["message", "seconds", "volume", "values", "pipette", "source"]),
            json_values,
            max_size=3,
        ),
        "retries": json_values,
    },
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.sampled_from(["sdl-workflow/1", "other"]),
        "name": st.text(max_size=5) | st.integers() | st.just("x\x00y"),
        "nodes": st.lists(nodes, max_size=4) | json_values,
        "edges": st.lists(
            st.fixed_dictionaries(
                {
                    "source": st.sampled_from(["a", "b", "x"]),
                    "target": st.sampled_from(["a", "b", "c"]),
                },
                optional={"when": st.text(max_size=30)},
            ),
            max_size=4,
        ),
        "robot": st.fixed_dictionaries(
            {
                "type": st.sampled_from(["OT-2", "Flex", "x"]),
                "api_level": st.sampled_from(["2.20", "9", "2.99"]),
            }
        ),
        "deck": json_values,
        "parameters": st.dictionaries(st.sampled_from(["n", "bad name"]), json_values, max_size=2),
    },
)


@pytest.mark.db_concurrency  # again on PostgreSQL in CI, which stores no NUL
@pytest.mark.django_db
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents)
def test_random_documents_never_cause_a_server_error(api, doc):
    for response in (api.post("/api/validate", doc), api.post("/api/workflows", doc)):
        assert response.status_code < 500, (doc, response.content)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, status, words",
    [
        # 1e400 as a position, a default or a bound: beyond a double
        (
            '{"schema": "sdl-workflow/1", "name": "x", "nodes": [{"id": "a", "type": "control.log",'
            ' "params": {"message": "m"}, "position": {"x": 1e400, "y": 0}}], "edges": []}',
            400,
            "too large a number",
        ),
        (
            '{"schema": "sdl-workflow/1", "name": "x", "nodes": [], "edges": [],'
            ' "parameters": {"n": {"type": "number", "default": 1e400}}}',
            400,
            "too large a number",
        ),
        (
            '{"schema": "sdl-workflow/1", "name": "x", "nodes": [], "edges": [],'
            ' "parameters": {"n": {"type": "number", "maximum": -1e400}}}',
            400,
            "too large a number",
        ),
        # a node id that is a list or an object
        (
            '{"schema": "sdl-workflow/1", "name": "x", "nodes": [{"id": ["a"], "type": "control.log",'
            ' "params": {}}], "edges": [{"source": "a", "target": "b"}]}',
            422,
            "nodes[0].id",
        ),
        (
            '{"schema": "sdl-workflow/1", "name": "x", "nodes": [{"id": {"a": 1}, "type":'
            ' "control.log", "params": {}}], "edges": []}',
            422,
            "nodes[0].id",
        ),
    ],
)
def test_what_once_answered_500_gets_a_4xx_naming_the_place(api, body, status, words):
    assert_refused(api.post("/api/workflows", body.encode()), status, words)


@pytest.mark.django_db
def test_a_numeric_log_message_is_a_message(api):
    doc = document(nodes=[{"id": "a", "type": "control.log", "params": {"message": 42}}], edges=[])
    response = api.post("/api/workflows", doc)
    assert response.status_code == 201 and response.json()["valid"], response.content
