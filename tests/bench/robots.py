"""A robot over HTTP (the fake robot-server of tests/fakerobot.py, Opentrons' own run machinery,
in a process of its own as a robot is a machine of its own): how long from a run's start to its
first robot command, and what our client adds to each command beside the robot's raw round
trip (the same commands sent by a bare HTTP client)."""

import statistics
import subprocess
import sys
import time

import httpx
from django.contrib.auth import get_user_model

from canvas.models import Workflow
from orchestration import runs
from orchestration.models import RunEvent
from robots.models import Robot
from tests.factories import demo

REPEATS = 15


def figure(name, value, unit):
    print(f"{name} {value:.3f} {unit}", flush=True)


class FakeInItsOwnProcess:
    def __init__(self, robot_type: str, **instruments):
        mounts = [f"{mount}={name}" for mount, name in instruments.items()]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakerobot", robot_type, *mounts],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.port = int(self.process.stdout.readline())
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"Opentrons-Version": "3"}
        )

    def requests(self) -> list:
        return self.http.get("/_fake/requests").json()["data"]

    def close(self):
        self.http.close()
        self.process.kill()
        self.process.wait()


def one_run(fake, workflow, robot) -> tuple[float, float, int, str]:
    """(seconds from the run's start to its first robot command, seconds from then to the
    run's end, commands sent, the robot's run id)."""
    before = len(fake.requests())
    run = runs.create_run(workflow, user=workflow.owner, robot=robot)
    runs.wait(run.pk, timeout=120, every=0.5)  # seldom: the figures are the run's own times
    started = RunEvent.objects.get(run_id=run.pk, type="run", state="running").at
    ended = RunEvent.objects.filter(run_id=run.pk, type="run").order_by("-seq").first().at
    ours = [r for r in fake.requests()[before:] if r[1].endswith("/commands") and r[0] == "POST"]
    first = ours[0][2]
    robot_run = ours[0][1].split("/")[2]
    return first - started.timestamp(), ended.timestamp() - first, len(ours), robot_run


def raw_replay(fake, commands: list[dict]) -> float:
    """Seconds for a bare client to send the same commands into a new robot run."""
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{fake.port}", headers={"Opentrons-Version": "3"}
    )
    ids: dict[str, str] = {}

    def mapped(value):
        if isinstance(value, dict):
            return {k: mapped(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mapped(v) for v in value]
        return ids.get(value, value) if isinstance(value, str) else value

    run_id = client.post("/runs", json={"data": {}}).json()["data"]["id"]
    began = time.perf_counter()
    for command in commands:
        body = {"commandType": command["commandType"], "params": mapped(command["params"])}
        sent = client.post(
            f"/runs/{run_id}/commands",
            params={"waitUntilComplete": "true", "timeout": 1000},
            json={"data": {**body, "intent": "setup"}},
        ).json()["data"]
        for key in ("labwareId", "pipetteId", "moduleId"):
            if (command.get("result") or {}).get(key):
                ids[command["result"][key]] = sent["result"][key]
    took = time.perf_counter() - began
    client.patch(f"/runs/{run_id}", json={"data": {"current": False}})
    return took


def run():
    owner, _ = get_user_model().objects.get_or_create(username="bench-robots")
    doc = demo("serial_dilution")
    fake = FakeInItsOwnProcess("OT-2", right="p300_single_gen2")
    try:
        robot, _ = Robot.objects.update_or_create(
            name="bench-fake",
            defaults={"simulate": False, "host": "127.0.0.1", "port": fake.port},
        )
        workflow = Workflow.create(doc, owner)
        cold_first, *_ = one_run(fake, workflow, robot)
        figure("robots.http.session_open_first_in_process", cold_first, "s")
        results = []  # ours and the raw replay of the same commands, one after the other
        for _ in range(REPEATS):
            opened, took, count, robot_run = one_run(fake, workflow, robot)
            sent = fake.http.get(
                f"/runs/{robot_run}/commands", params={"pageLength": 10000}
            ).json()["data"]
            results.append((opened, took / count, raw_replay(fake, sent) / len(sent)))
        figure("robots.http.session_open", statistics.median(r[0] for r in results), "s")
        overhead = statistics.median((ours - raw) / raw * 100 for _, ours, raw in results)
        figure("robots.http.overhead_per_command", overhead, "%")
        figure(
            "robots.http.ours_per_command", statistics.median(r[1] for r in results) * 1000, "ms"
        )
        raw = statistics.median(r[2] for r in results) * 1000
        figure("robots.http.raw_round_trip_per_command", raw, "ms")
    finally:
        fake.close()
