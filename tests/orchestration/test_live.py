"""Live runs over websockets: the consumer in-process, and daphne with Redis across processes."""

import asyncio
import contextlib
import json
import subprocess
import sys
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from canvas.models import WorkflowShare
from orchestration import runs
from orchestration.models import RunState, WorkflowRun
from tests.dbenv import child_env
from tests.factories import ROOT, document, make_user, make_workflow
from tests.orchestration.runhelpers import wait_for
from tests.servers import daphne, redis_server

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def communicator(path, user=None, origin=ORIGIN):
    headers = [(b"host", b"localhost"), origin]
    headers += [(b"cookie", await sync_to_async(cookie_for)(user))] if user else []
    from sdl_site.asgi import application  # here: imported with the test's settings

    return WebsocketCommunicator(application, path, headers=headers)


async def receive_until_end(ws, timeout=60) -> list[dict]:
    received = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = json.loads(await ws.receive_from(timeout=max(0.1, deadline - time.monotonic())))
        received.append(message)
        if message["type"] == "run" and message["state"] in ("completed", "failed", "cancelled"):
            return received
    raise AssertionError(f"no end of run in {received[-5:]}")


async def watch_a_paused_chain(owner, step_type: str, params: dict, count: int) -> list[int]:
    """A run that pauses, then `count` steps in a chain: the event numbers a websocket client
    connected during the pause receives, to the end of the run."""
    doc = document(
        nodes=[{"id": "p", "type": "control.pause", "params": {}}]
        + [{"id": f"s{i}", "type": step_type, "params": params} for i in range(count)],
        edges=[{"source": "p", "target": "s0"}]
        + [{"source": f"s{i}", "target": f"s{i + 1}"} for i in range(count - 1)],
    )
    workflow = await sync_to_async(make_workflow)(owner, doc)
    run = await sync_to_async(runs.create_run)(workflow, user=owner)
    await sync_to_async(wait_for)(run.pk, {RunState.PAUSED})
    ws = await communicator(f"/ws/runs/{run.pk}/?after=0", owner)
    assert (await ws.connect())[0]
    await sync_to_async(runs.continue_run)(run, owner)
    seqs = [m["seq"] for m in await receive_until_end(ws)]
    await ws.disconnect()
    return seqs


def slow_document():
    return document(
        nodes=[
            {"id": "a", "type": "control.delay", "params": {"seconds": 0.6}},
            {"id": "b", "type": "control.log", "params": {"message": "half way"}},
            {"id": "c", "type": "control.delay", "params": {"seconds": 0.3}},
        ],
        edges=[{"source": "a", "target": "b"}, {"source": "b", "target": "c"}],
    )


async def test_a_client_that_connects_mid_run_gets_the_history_then_the_live_tail(owner):
    workflow = await sync_to_async(make_workflow)(owner, slow_document())
    run = await sync_to_async(runs.create_run)(workflow, user=owner)
    await sync_to_async(wait_for)(run.pk, {RunState.RUNNING})
    ws = await communicator(f"/ws/runs/{run.pk}/?after=0", owner)
    connected, _ = await ws.connect()
    assert connected
    messages = await receive_until_end(ws)
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(1, len(seqs) + 1))
    stored = await sync_to_async(
        lambda: list(WorkflowRun.objects.get(pk=run.pk).events.values_list("seq", flat=True))
    )()
    assert seqs == stored
    assert messages[0]["state"] == "queued" and messages[-1]["state"] == "completed"
    assert {"run", "seq", "type", "at"} <= set(messages[1])
    await ws.disconnect()


async def test_a_reconnecting_client_receives_only_what_it_missed(owner):
    workflow = await sync_to_async(make_workflow)(owner, document())
    run = await sync_to_async(runs.create_run)(workflow, user=owner)
    await sync_to_async(wait_for)(run.pk)
    ws = await communicator(f"/ws/runs/{run.pk}/?after=4", owner)
    assert (await ws.connect())[0]
    first = json.loads(await ws.receive_from())
    assert first["seq"] == 5
    await ws.disconnect()


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
async def test_anonymous_and_unshared_users_are_refused_with_4403(owner, who):
    workflow = await sync_to_async(make_workflow)(owner, document())
    run = await sync_to_async(runs.create_run)(workflow, user=owner, start=False)
    user = None if who == "anonymous" else await sync_to_async(make_user)("oscar")
    ws = await communicator(f"/ws/runs/{run.pk}/", user)
    await ws.connect()
    assert (await ws.receive_output(timeout=10)) == {"type": "websocket.close", "code": 4403}


async def test_a_bad_origin_is_refused(owner):
    workflow = await sync_to_async(make_workflow)(owner, document())
    run = await sync_to_async(runs.create_run)(workflow, user=owner, start=False)
    ws = await communicator(
        f"/ws/runs/{run.pk}/", owner, origin=(b"origin", b"http://evil.example")
    )
    connected, _ = await ws.connect()
    assert not connected


@pytest.mark.parametrize(
    "origin",
    [b"http://localhost:8001", b"https://localhost", b"http://localhost.evil.example", b"null"],
)
async def test_an_origin_on_another_port_or_scheme_is_refused(owner, origin):
    workflow = await sync_to_async(make_workflow)(owner, document())
    run = await sync_to_async(runs.create_run)(workflow, user=owner, start=False)
    ws = await communicator(f"/ws/runs/{run.pk}/", owner, origin=(b"origin", origin))
    connected, _ = await ws.connect()
    assert not connected


async def test_bad_messages_get_an_error_and_the_connection_stays(owner, teammate):
    doc = document(
        nodes=[{"id": "p", "type": "control.pause", "params": {"message": "wait"}}], edges=[]
    )
    workflow = await sync_to_async(make_workflow)(owner, doc)
    await sync_to_async(WorkflowShare.objects.create)(
        workflow=workflow, user=teammate, permission="view"
    )
    run = await sync_to_async(runs.create_run)(workflow, user=owner)
    await sync_to_async(wait_for)(run.pk, {RunState.PAUSED})

    viewer = await communicator(f"/ws/runs/{run.pk}/?after=1000", teammate)
    assert (await viewer.connect())[0]
    for text in ("{not json", json.dumps({"action": "explode"}), "x" * 100_000, json.dumps([1])):
        await viewer.send_to(text_data=text)
        reply = json.loads(await viewer.receive_from())
        assert reply["type"] == "error"
    await viewer.send_to(text_data=json.dumps({"action": "cancel"}))
    assert json.loads(await viewer.receive_from()) == {
        "type": "error",
        "message": "you may not cancel this run",
    }
    await viewer.disconnect()

    last = await sync_to_async(lambda: WorkflowRun.objects.get(pk=run.pk).last_seq)()
    ws = await communicator(f"/ws/runs/{run.pk}/?after={last}", owner)
    assert (await ws.connect())[0]
    await ws.send_to(text_data=json.dumps({"action": "continue"}))
    replies = [json.loads(await ws.receive_from()) for _ in range(2)]
    assert {"type": "ack", "action": "continue"} in replies
    assert any(
        r.get("type") == "run" and r["state"] == "running" and r["continued_by"] == "olivia"
        for r in replies
    )
    assert (await sync_to_async(wait_for)(run.pk)).state == RunState.COMPLETED
    await ws.disconnect()


def test_a_run_in_another_process_reaches_a_websocket_client_through_redis(owner, tmp_path):
    """daphne with the Redis layer; `manage.py run_workflow` in a separate process."""
    from websockets.sync.client import connect

    path = tmp_path / "slow.json"
    doc = slow_document()
    doc["name"] = "Across processes"
    path.write_text(json.dumps(doc))
    with redis_server() as redis_url:
        env = child_env(REDIS_URL=redis_url)
        with daphne(env) as host:
            headers = {"Cookie": cookie_for(owner).decode(), "Origin": f"http://{host}"}
            with connect(f"ws://{host}/ws/runs/", additional_headers=headers) as runs_stream:
                cli = subprocess.Popen(
                    [
                        sys.executable,
                        str(ROOT / "manage.py"),
                        "run_workflow",
                        str(path),
                        "--user",
                        owner.username,
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                # Run-level changes stream live only (no replay): they came through Redis.
                live_states = []
                while "completed" not in live_states:
                    message = json.loads(runs_stream.recv(timeout=30))
                    live_states.append(message["state"])
                assert live_states == ["queued", "running", "completed"]
                run = WorkflowRun.objects.get(workflow__name="Across processes")
            assert cli.wait(30) == 0, cli.stdout.read().decode()
            with connect(
                f"ws://{host}/ws/runs/{run.pk}/?after=0", additional_headers=headers
            ) as ws:
                received = []
                while len(received) < run.events.count():
                    received.append(json.loads(ws.recv(timeout=30)))
            assert [m["seq"] for m in received] == list(run.events.values_list("seq", flat=True))


async def test_a_run_with_more_events_than_the_layer_holds_still_arrives_complete(owner, settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 3}}
    }
    channel_layers.backends.clear()
    try:
        # a slow reader: the layer drops, the tail too
        seqs = await watch_a_paused_chain(owner, "control.log", {"message": "a line"}, 40)
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 120
    finally:
        channel_layers.backends.clear()


async def test_a_socket_is_closed_when_its_viewer_loses_the_share(owner, teammate, monkeypatch):
    from orchestration import consumers

    monkeypatch.setattr(consumers, "RECHECK_S", 0.2)
    doc = document(
        nodes=[{"id": "p", "type": "control.pause", "params": {"message": "wait"}}], edges=[]
    )
    workflow = await sync_to_async(make_workflow)(owner, doc)
    share = await sync_to_async(WorkflowShare.objects.create)(
        workflow=workflow, user=teammate, permission="view"
    )
    run = await sync_to_async(runs.create_run)(workflow, user=owner)
    await sync_to_async(wait_for)(run.pk, {RunState.PAUSED})
    viewer = await communicator(f"/ws/runs/{run.pk}/", teammate)
    assert (await viewer.connect())[0]
    await sync_to_async(share.delete)()
    while True:  # what was sent before the revocation, then the close
        output = await viewer.receive_output(timeout=30)
        if output["type"] == "websocket.close":
            break
    assert output == {"type": "websocket.close", "code": 4403}
    await sync_to_async(runs.cancel_run)(run, owner)


async def test_on_redis_the_hub_hears_a_run_while_the_processs_sockets_wait_on_the_layer():
    """The layer the settings choose for Redis. With channels_redis's queued layer, a hub
    channel of a prefix of its own waited behind every socket's own receive (one queue per
    prefix, one receiver at a time), so its events came only by the once-a-second gap check;
    whatever the layer, the hub must hear the run while sockets are waiting on theirs."""
    import asyncio

    from django.utils.module_loading import import_string

    from orchestration import events
    from orchestration.hub import Hub
    from sdl_site.settings import channel_layer

    class Socket:
        def __init__(self):
            self.got = asyncio.Queue()

        def live(self, event, text):
            self.got.put_nowait(event)

    with redis_server() as url:
        config = channel_layer(url)
        layer = import_string(config["BACKEND"])(**config["CONFIG"])
        publisher = import_string(config["BACKEND"])(**config["CONFIG"])  # another process's
        hub, socket = Hub(asyncio.get_running_loop(), layer), Socket()
        consumer = await layer.new_channel()  # a consumer's own channel, as Channels makes it
        waiting = asyncio.create_task(layer.receive(consumer))  # blocks, as a socket does
        await hub.watch(7, socket)
        event, heard = {"run": 7}, None
        for _ in range(150):  # subscribing may take a moment: publish until heard (≤ 30 s)
            await publisher.group_send(events.run_group(7), {"type": "run.update", "event": event})
            with contextlib.suppress(TimeoutError):
                heard = await asyncio.wait_for(socket.got.get(), 0.2)
                break
        assert heard == event
        assert not waiting.done()  # the socket's receive was waiting all along
        waiting.cancel()
        hub.task.cancel()
        await layer.flush()
        await publisher.flush()


async def test_a_socket_that_is_sent_every_event_reads_the_database_only_to_replay(
    owner, monkeypatch
):
    """The gap check asks the database only when a socket has heard nothing for a while and
    is behind: sockets that are merely slow must not all read it again and again."""
    from orchestration import consumers, hub

    monkeypatch.setattr(consumers, "WATCHDOG_S", 0.05)
    monkeypatch.setattr(hub, "LATEST_S", 0.0)
    reads = []
    stored_after = consumers.RunConsumer.__dict__["stored_after"]

    async def counted(self, seq):
        reads.append(seq)
        return await stored_after.__get__(self, type(self))(seq)

    monkeypatch.setattr(consumers.RunConsumer, "stored_after", counted)
    deliver = consumers.RunConsumer.deliver

    async def slowly(self, message, text=None):  # a socket slower than the run
        await asyncio.sleep(0.03)
        await deliver(self, message, text)

    monkeypatch.setattr(consumers.RunConsumer, "deliver", slowly)
    seqs = await watch_a_paused_chain(owner, "control.delay", {"seconds": 0.02}, 30)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 60
    assert reads == [0]  # the replay on connecting, nothing after
