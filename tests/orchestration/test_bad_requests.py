"""Requests that once answered 500: each now gets a 4xx that names the place."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from canvas.models import WorkflowShare
from canvas.validation import validate
from orchestration import runs
from orchestration.models import WorkflowRun
from robots.export import export_protocol
from tests.factories import demo, document, make_workflow

pytestmark = pytest.mark.django_db


def test_a_view_only_user_opening_the_run_page_gets_403(owner, teammate):
    workflow = make_workflow(owner)
    WorkflowShare.objects.create(workflow=workflow, user=teammate, permission="view")
    client = Client()
    client.force_login(teammate)
    assert client.get(f"/workflows/{workflow.pk}/run").status_code == 403


@pytest.mark.parametrize(
    "url",
    ["/api/runs?workflow=99999999999999999999", "/api/runs/99999999999999999999"],
)
def test_ids_beyond_64_bits_are_not_found_or_refused(api, url):
    response = api.get(url)
    assert response.status_code in (404, 422), response.content
    assert response.json()["detail"]


def test_a_page_with_an_id_beyond_64_bits_is_not_found(owner):
    client = Client()
    client.force_login(owner)
    assert client.get("/runs/99999999999999999999/").status_code == 404


@pytest.mark.parametrize("body", [b"[]", b"null", b"42", b'"run"'])
def test_a_run_body_that_is_not_an_object_is_refused_not_run_with_defaults(api, owner, body):
    workflow = make_workflow(owner)
    response = api.post(f"/api/workflows/{workflow.pk}/runs", body)
    assert response.status_code in (400, 422), response.content
    assert not WorkflowRun.objects.exists()


def test_a_nul_in_a_name_still_exports_a_protocol_python_can_read():
    doc = demo("serial_dilution")
    doc["name"] = "Dilution\x00 row B"
    doc["description"] = "line\x00one\nline two\x1b"
    doc["nodes"][0]["label"] = "pick\x00up"
    text = export_protocol(validate(doc).document)
    compile(text, "protocol.py", "exec")  # raises on a NUL or a broken line


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_message_nested_2000_deep_gets_an_error(owner):
    from tests.orchestration.test_live import communicator

    workflow = await sync_to_async(make_workflow)(owner, document())
    run = await sync_to_async(runs.create_run)(workflow, user=owner, start=False)
    ws = await communicator(f"/ws/runs/{run.pk}/", owner)
    assert (await ws.connect())[0]
    await ws.send_to(text_data="[" * 2000 + "]" * 2000)
    while True:
        reply = json.loads(await ws.receive_from(timeout=10))
        if reply.get("type") == "error":
            break
    assert reply["message"] == "that is not JSON"
    await ws.disconnect()
