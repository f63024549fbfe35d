"""Latency from a committed run event to websocket clients, on both channel layers."""

import asyncio
import json
import os
import statistics
import sys
import time
from datetime import datetime

from django.contrib.auth import get_user_model
from django.test import Client

from canvas.models import ApiToken, Workflow
from tests.factories import ROOT
from tests.servers import daphne, free_port, redis_server

STEPS = 150
PACE_S = 0.05  # latency is measured on a run that changes every 50 ms, like a busy lab run


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


def workflow_document(name: str, paced: bool) -> dict:
    """A pause (clients connect meanwhile), then a chain of steps."""
    if paced:
        kind, params, steps = "control.delay", {"seconds": PACE_S}, STEPS // 3
    else:
        kind, params, steps = "control.log", {"message": "x"}, STEPS
    nodes = [{"id": "hold", "type": "control.pause", "params": {"message": "clients connect"}}]
    nodes += [{"id": f"s{i}", "type": kind, "params": params} for i in range(steps)]
    edges = [{"source": "hold", "target": "s0"}]
    edges += [{"source": f"s{i}", "target": f"s{i + 1}"} for i in range(steps - 1)]
    return {"schema": "sdl-workflow/1", "name": name, "nodes": nodes, "edges": edges}


async def watch(url, headers, latencies, counts, done):
    import websockets

    async with websockets.connect(
        url, additional_headers=headers, max_size=2**22, open_timeout=120, ping_interval=None
    ) as ws:  # no keepalive pings: a client busy with 200 sockets is late, not gone
        if "replayed" in done:  # watching once the run's latest event is replayed to it
            await ws.recv()
        done["connected"] += 1
        while True:
            message = json.loads(await ws.recv())
            received = time.time()
            latencies.append(received - datetime.fromisoformat(message["at"]).timestamp())
            counts[0] += 1
            if message["type"] == "run" and message["state"] == "completed":
                return


async def measure(host, token, cookie, clients: int, workflow_id: int):
    import httpx

    async with httpx.AsyncClient(
        base_url=f"http://{host}", headers={"Authorization": f"Bearer {token}"}
    ) as api:
        run = (await api.post(f"/api/workflows/{workflow_id}/runs", json={})).json()
        while (await api.get(f"/api/runs/{run['id']}")).json()["state"] != "paused":
            await asyncio.sleep(0.05)
        # Each client asks for the latest event again, and watches once it has it: the
        # server has then checked its permission and subscribed it, as a browser showing the
        # run has been. Latency is measured on what comes after.
        after = (await api.get(f"/api/runs/{run['id']}")).json()["last_seq"] - 1
        latencies, counts, done = [], [0], {"connected": 0, "replayed": True}
        url = f"ws://{host}/ws/runs/{run['id']}/?after={after}"
        headers = {"Cookie": cookie, "Origin": f"http://{host}"}
        watchers = [
            asyncio.create_task(watch(url, headers, latencies, counts, done))
            for _ in range(clients)
        ]
        while done["connected"] < clients:
            failed = [w for w in watchers if w.done() and w.exception()]
            if failed:
                raise RuntimeError(f"a client could not watch: {failed[0].exception()!r}")
            await asyncio.sleep(0.01)
        started = time.time()
        await api.post(f"/api/runs/{run['id']}/continue")
        await asyncio.gather(*watchers)
        return latencies, counts[0] / (time.time() - started)


async def floor(clients: int) -> list[float]:
    """Latencies of the bare broadcast server (tests/bench/broadcast.py) to as many clients."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bench.broadcast",
        str(port),
        str(clients),
        str(STEPS // 3),
        str(PACE_S),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        await server.stdout.readline()  # listening
        latencies, counts, done = [], [0], {"connected": 0}
        url = f"ws://127.0.0.1:{port}/"
        await asyncio.gather(*(watch(url, {}, latencies, counts, done) for _ in range(clients)))
        return latencies
    finally:
        if server.returncode is None:
            server.kill()
        await server.wait()


def timed(job, seconds: float, name: str, unit: str = "ms"):
    """A measurement, or None (its figure printed as nan) when it did not end in time: one
    that fails leaves the others to be printed."""
    try:
        return asyncio.run(asyncio.wait_for(job, seconds))
    except (TimeoutError, RuntimeError, OSError) as exc:
        figure(name, float("nan"), f"{unit} (did not finish: {exc!r})")
        return None


def percentiles(name: str, latencies: list[float]):
    ms = sorted(x * 1000 for x in latencies)
    figure(f"{name}.latency_p50", statistics.median(ms), "ms")
    figure(f"{name}.latency_p99", ms[min(len(ms) - 1, int(len(ms) * 0.99))], "ms")


def run():
    user, _ = get_user_model().objects.get_or_create(username="bench-live")
    _, token = ApiToken.issue(user)
    paced = Workflow.create(workflow_document("live bench paced", True), user).pk
    burst = Workflow.create(workflow_document("live bench burst", False), user).pk
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    env = {**os.environ, "SDL_DATA_DIR": os.environ["SDL_DATA_DIR"]}
    with redis_server() as redis_url:
        for layer, extra in (("memory", {}), ("redis", {"REDIS_URL": redis_url})):
            with daphne({**env, **extra}) as host:
                # Warm-up, not measured: a server's first run pays for its imports, its first
                # connections and subscriptions (a lab's server has long paid for them).
                timed(measure(host, token, cookie, 1, paced), 180, f"live.{layer}.warm_up")
                for clients in (1, 10, 50, 200):
                    name = f"live.{layer}.clients_{clients}"
                    found = timed(measure(host, token, cookie, clients, paced), 180, name)
                    if found:
                        percentiles(name, found[0])
                # Throughput: a burst of instant steps, as fast as the engine writes them.
                name = f"live.{layer}.clients_50.events_per_second"
                found = timed(measure(host, token, cookie, 50, burst), 120, name, "events/s")
                if found:
                    figure(name, found[1], "events/s")
    for clients in (1, 10, 50, 200):  # the reference: a bare broadcast, the same pace
        percentiles(f"live.bare_broadcast.clients_{clients}", asyncio.run(floor(clients)))
