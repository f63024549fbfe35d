"""The Prefect engine end to end: a real Prefect server, a real process worker, real Redis.

The engine-independent cases (retries, timeouts, skips, pause, cancel, resume) run on both
engines in test_engine.py; here is what only Prefect has: deployments, Prefect's own CLI,
cancel from either side, a worker that dies, the comparison command.
"""

import io
import json
import os
import signal
import time
from datetime import timedelta
from uuid import UUID

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.core.management import call_command

from orchestration import prefect_engine, runs
from orchestration.hosts import process_alive
from orchestration.models import RunState, WorkflowRun
from sdl_site import settings as site_settings
from tests.factories import ROOT, demo, document, make_robot, make_workflow
from tests.orchestration.runhelpers import nodes, wait_for
from tests.orchestration.test_live import communicator, receive_until_end

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_layer(prefect, settings):
    """This process listens on the Redis the worker publishes to."""
    settings.CHANNEL_LAYERS = {"default": site_settings.channel_layer(prefect.redis_url)}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def fan_out_doc() -> dict:
    return json.loads((ROOT / "tests" / "fixtures" / "fan_out.json").read_text())


def long_doc(name: str) -> dict:
    return document(
        name=name,
        nodes=[{"id": "d", "type": "control.delay", "params": {"seconds": 120}}],
        edges=[],
    )


def flow_run_state(run: WorkflowRun, until=None, timeout: float = 30):
    """The Prefect flow run's state (waiting until `until(state)` holds)."""
    deadline = time.monotonic() + timeout
    while True:
        with prefect_engine.client() as prefect:
            state = prefect.read_flow_run(UUID(run.prefect_flow_run_id)).state
        if until is None or until(state) or time.monotonic() > deadline:
            return state
        time.sleep(0.3)


def wait_for_node(run, node_id, state, timeout=90):
    deadline = time.monotonic() + timeout
    while run.nodes.get(node_id=node_id).state != state:
        assert time.monotonic() < deadline, f"{node_id} never {state}"
        time.sleep(0.1)


def commands(node) -> list:
    """A node's robot commands without the ids each session makes up."""
    return [
        (c["commandType"], {k: v for k, v in c["params"].items() if not k.endswith("Id")})
        for c in node.commands
    ]


@pytest.mark.db_concurrency  # a worker's process writes while this one reads: PostgreSQL too
@pytest.mark.parametrize("example", ["serial_dilution", "fan_out"])
async def test_a_deployment_run_streams_every_node_in_order_and_matches_the_native_run(
    owner, prefect, redis_layer, example
):
    doc = demo("serial_dilution") if example == "serial_dilution" else fan_out_doc()
    robot = await sync_to_async(make_robot)("ot2-sim") if example == "serial_dilution" else None
    workflow = await sync_to_async(make_workflow)(owner, doc)
    run = await sync_to_async(runs.create_run)(
        workflow, user=owner, engine_name="prefect", robot=robot
    )
    ws = await communicator(f"/ws/runs/{run.pk}/?after=0", owner)
    assert (await ws.connect())[0]
    messages = await receive_until_end(ws, timeout=120)
    await ws.disconnect()

    run = await sync_to_async(wait_for)(run.pk)
    assert run.state == RunState.COMPLETED, run.error
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    for node_id in doc_ids(doc):
        changes = [
            m["state"] for m in messages if m.get("node_id") == node_id and m["type"] == "node"
        ]
        assert changes == ["running", "completed"], (node_id, changes)
    await sync_to_async(same_as_native)(run, owner, robot)


def same_as_native(run, owner, robot):
    assert run.prefect_flow_run_id and all(n.prefect_task_run_id for n in nodes(run).values())
    native = wait_for(runs.create_run(run.workflow, user=owner, robot=robot).pk)
    on_prefect, on_native = nodes(run), nodes(native)
    for node_id, node in on_native.items():
        assert on_prefect[node_id].output == node.output
        assert commands(on_prefect[node_id]) == commands(node)
    if robot is not None:
        assert any(n.commands for n in on_prefect.values())


def doc_ids(doc) -> list[str]:
    return [n["id"] for n in doc["nodes"]]


def test_prefect_cli_lists_the_deployment_and_its_runs_show_up_here(owner, prefect):
    workflow = make_workflow(owner, document(name="Made in Prefect"))
    prefect_engine.publish(workflow)
    listing = prefect.prefect("deployment", "ls")
    assert "sdl-workflow/Made in Prefect" in listing
    started = prefect.prefect(
        "deployment", "run", "sdl-workflow/Made in Prefect", "--param", 'parameters={"n": 5}'
    )
    deadline = time.monotonic() + 90
    while not (found := WorkflowRun.objects.filter(workflow=workflow).first()):
        assert time.monotonic() < deadline, started
        time.sleep(0.3)
    assert found.prefect_flow_run_id in started
    run = wait_for(found.pk)
    assert run.state == RunState.COMPLETED, run.error
    assert run.engine == "prefect" and run.trigger.startswith("prefect flow run")
    assert nodes(run)["b"].output == {"n": 5}


def test_cancel_in_sdl_canvas_cancels_the_flow_run(owner, prefect):
    run = runs.create_run(
        make_workflow(owner, long_doc("Cancel here")), user=owner, engine_name="prefect"
    )
    wait_for(run.pk, {RunState.RUNNING})
    runs.cancel_run(run, owner)
    run = wait_for(run.pk, timeout=90)
    assert run.state == RunState.CANCELLED and nodes(run)["d"].state == "cancelled"
    assert flow_run_state(run, lambda s: s.is_final()).is_cancelled()


def test_cancel_in_prefect_ends_our_run_cancelled(owner, prefect):
    from prefect.states import Cancelling

    run = runs.create_run(
        make_workflow(owner, long_doc("Cancel there")), user=owner, engine_name="prefect"
    )
    wait_for_node(run, "d", "running")
    run.refresh_from_db()
    with prefect_engine.client() as client:
        client.set_flow_run_state(UUID(run.prefect_flow_run_id), Cancelling(), force=True)
    run = wait_for(run.pk, timeout=60)
    assert run.state == RunState.CANCELLED and nodes(run)["d"].state == "cancelled"
    assert flow_run_state(run, lambda s: s.is_final()).is_cancelled()


@pytest.mark.parametrize("where", ["this machine", "another machine"])
def test_a_killed_worker_leaves_the_run_interrupted(owner, prefect, settings, where):
    settings.SDL_PREFECT_WORK_POOL = f"sdl-doomed-{where.split()[0]}"
    doomed = prefect.start_worker(
        pool=settings.SDL_PREFECT_WORK_POOL, name=f"doomed-{where.split()[0]}"
    )
    run = runs.create_run(
        make_workflow(owner, long_doc(f"Doomed on {where}")), user=owner, engine_name="prefect"
    )
    wait_for_node(run, "d", "running")
    run.refresh_from_db()
    assert run.heartbeat_at is not None  # the flow's process says it is alive
    os.killpg(doomed.pid, signal.SIGKILL)  # the worker, as if its machine lost power …
    os.kill(run.pid, signal.SIGKILL)  # … and the flow's process with it
    doomed.wait(10)
    deadline = time.monotonic() + 10
    while process_alive(run.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if where == "another machine":  # no pid to look at: a heartbeat that stopped a while ago
        WorkflowRun.objects.filter(pk=run.pk).update(
            host="bench-2", heartbeat_at=run.heartbeat_at - timedelta(seconds=61)
        )
    assert prefect_engine.reconcile() == [run.pk]  # what the scheduler loop does each tick
    run.refresh_from_db()
    assert run.state == RunState.INTERRUPTED and "crashed" in run.error
    assert nodes(run)["d"].state == "cancelled"
    assert flow_run_state(run).is_crashed()


def test_compare_prints_both_engines_figures(owner, prefect):
    make_workflow(owner, fan_out_doc())
    out = io.StringIO()
    call_command("sdl", "compare", "Fan out", stdout=out)
    text = out.getvalue()
    assert "native" in text and "prefect" in text and "overhead per node (ms)" in text
    status_line = next(line for line in text.splitlines() if line.startswith("status"))
    assert status_line.split()[1:] == ["completed", "completed"]


def test_without_a_prefect_server_the_engine_is_refused_with_how_to_start_one(owner, settings):
    settings.PREFECT_API_URL = ""
    workflow = make_workflow(owner)
    with pytest.raises(runs.RunRefused) as refused:  # at once: nothing is started or waited for
        runs.create_run(workflow, user=owner, engine_name="prefect")
    assert "make prefect-server" in str(refused.value) and "PREFECT_API_URL" in str(refused.value)
    assert not WorkflowRun.objects.exists()
