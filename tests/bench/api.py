"""Runs started through the HTTP API (in this process, Django's test client): the time from
the request to the first node running, and a 1,000-node chain end to end, per node."""

import time
from datetime import datetime

from django.contrib.auth import get_user_model
from django.test import Client

from canvas.models import ApiToken, Workflow
from orchestration import runs
from orchestration.models import RunEvent
from tests.bench.engine import dag


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


def start(client, workflow_id) -> tuple[int, float]:
    """(run id, the wall-clock time the request was sent)."""
    sent = time.time()
    answer = client.post(
        f"/api/workflows/{workflow_id}/runs", data={}, content_type="application/json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["id"], sent


def first_node_running_ms(client, workflow_id) -> float:
    run_id, sent = start(client, workflow_id)
    runs.wait(run_id)
    first = RunEvent.objects.filter(run_id=run_id, type="node", state="running").order_by("seq")
    at: datetime = first.first().at
    return (at.timestamp() - sent) * 1000


def run():
    user, _ = get_user_model().objects.get_or_create(username="bench-api")
    _, token = ApiToken.issue(user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    small = Workflow.create(dag(5, "chain"), user).pk
    first_node_running_ms(client, small)  # warm up
    samples = sorted(first_node_running_ms(client, small) for _ in range(20))
    figure("api.start_to_first_node_running.p50", samples[len(samples) // 2], "ms")
    figure("api.start_to_first_node_running.max", samples[-1], "ms")
    chain = Workflow.create(dag(1000, "chain"), user).pk
    run_id, _ = start(client, chain)  # warm up
    runs.wait(run_id)
    started = time.perf_counter()
    run_id, _ = start(client, chain)
    run = runs.wait(run_id)
    assert run.state == "completed", run.error
    per_node_ms = (time.perf_counter() - started) * 1000 / 1000
    figure("api.chain_1000.end_to_end_per_node", per_node_ms, "ms")
