"""The HTTP back end against a fake robot-server whose runs are Opentrons' own RunOrchestrator
(tests/fakerobot.py): what runs, what is refused before motion, and every fault a lab meets."""

import json
import threading
import time

import httpx
import pytest

from orchestration import runs
from orchestration.models import NodeState, RobotLock, RunState
from tests.factories import SHARED_EXAMPLES, demo, make_robot, make_workflow
from tests.fakerobot import FakeRobot
from tests.orchestration.runhelpers import nodes, run_on, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
HEADERS = {"Opentrons-Version": "3"}


def fake_for(doc, **kw) -> FakeRobot:
    """A robot with exactly the hardware a document's deck needs (modules in their slots)."""
    deck = doc["deck"]
    kw.setdefault("instruments", {p["mount"]: p["instrument"] for p in deck["pipettes"]})
    kw.setdefault("modules", {m["model"]: m["slot"] for m in deck.get("modules", [])})
    return FakeRobot(doc["robot"]["type"], **kw)


def over_http(name, fake, robot_type="OT-2"):
    return make_robot(name, robot_type=robot_type, simulate=False, host="127.0.0.1", port=fake.port)


def command_log(run) -> dict[str, list]:
    return {n.node_id: n.commands for n in run.nodes.order_by("node_id")}


SHARED_OPENTRONS = (
    [p for p in sorted(SHARED_EXAMPLES.glob("*.json")) if '"opentrons.' in p.read_text()]
    if SHARED_EXAMPLES.exists()
    else []
)
# Not colour_mixing: over HTTP it runs until its read, which Opentrons' simulated reader driver
# (robot-server's own, on simulated hardware) cannot turn into a 96-well map; its wavelengths,
# lid and gripper moves do pass (test_the_plate_reader_runs_over_http_until_the_read).
DEMOS = [("serial_dilution", {}), ("flex_cold_block", {"hold_s": 0.1})]


def workflows():
    for name, parameters in DEMOS:
        yield pytest.param(demo(name), parameters, id=f"demo-{name}")
    for path in SHARED_OPENTRONS:
        doc = json.loads(path.read_text())
        for node in doc["nodes"]:  # a robot waits out delays; keep the test short
            if node["type"] == "control.delay":
                node["params"]["seconds"] = 0.1
        yield pytest.param(doc, {}, id=path.name)


@pytest.mark.parametrize(("doc", "parameters"), list(workflows()))
def test_each_workflow_runs_over_http_with_the_simulators_command_log(
    owner, doc, parameters, taken
):
    fake = fake_for(doc, max_api=(2, 27))  # a robot on software new enough for the workflow
    try:
        robot_type = doc["robot"]["type"]
        simulated = run_on(owner, doc, make_robot("sim", robot_type=robot_type), parameters)
        assert simulated.state == RunState.COMPLETED, simulated.error
        real = run_on(owner, doc, over_http("real", fake, robot_type), parameters)
        assert real.state == RunState.COMPLETED, real.error
        log = command_log(real)
        assert log == command_log(simulated)
        assert taken and all(followed for _, followed in taken)  # its dry run's commands
        assert sum(len(c) for c in log.values()) > 3
        assert {c["status"] for c in fake.runs[next(iter(fake.runs))].commands()} == {"succeeded"}
        assert fake.current is None  # our idle run was dismissed at the end
        assert {n.node_id: n.output for n in real.nodes.all()} == {
            n.node_id: n.output for n in simulated.nodes.all()
        }
    finally:
        fake.close()


def test_a_protocol_intent_command_does_not_run_until_the_run_is_played():
    fake = FakeRobot("OT-2", instruments={"right": "p300_single_gen2"})
    try:
        robot = httpx.Client(base_url=f"http://127.0.0.1:{fake.port}", headers=HEADERS)
        run_id = robot.post("/runs", json={"data": {}}).json()["data"]["id"]
        send = {"commandType": "comment", "params": {"message": "hello"}, "intent": "protocol"}
        queued = robot.post(
            f"/runs/{run_id}/commands",
            params={"waitUntilComplete": "true", "timeout": 300},
            json={"data": send},
        ).json()["data"]
        assert queued["status"] == "queued"
        again = robot.get(f"/runs/{run_id}/commands/{queued['id']}").json()["data"]
        assert again["status"] == "queued"
        robot.post(f"/runs/{run_id}/actions", json={"data": {"actionType": "play"}})
        deadline = time.monotonic() + 30
        while robot.get(f"/runs/{run_id}").json()["data"]["status"] != "succeeded":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert robot.get(f"/runs/{run_id}/commands/{queued['id']}").json()["data"]["status"] == (
            "succeeded"
        )
        # …and a played run ends with its queue: the next command is refused
        late = robot.post(
            f"/runs/{run_id}/commands",
            params={"waitUntilComplete": "true"},
            json={"data": {**send, "intent": "setup"}},
        )
        assert late.status_code == 409
        robot.close()
    finally:
        fake.close()


def test_what_the_robot_lacks_is_refused_before_any_run_is_created(owner):
    doc = demo("flex_cold_block")
    cases = {
        "wrong pipette": (
            {"instruments": {"left": "flex_1channel_50"}},
            "the deck needs flex_1channel_1000 on the left mount; the robot has p50_single_flex",
        ),
        "missing module": (
            {"modules": {}},
            "the deck needs a temperatureModuleV2 (module cooler); the robot has none attached",
        ),
        "wrong deck configuration": (
            {"deck_configuration": {"cutoutC1": "singleLeftSlot", "cutoutA3": "singleRightSlot"}},
            "the deck needs trashBinAdapter in cutoutA3; the robot's deck configuration has "
            "singleRightSlot there",
        ),
        "API level": (
            {"max_api": (2, 19)},
            "the workflow needs Protocol API 2.20; the robot runs at most 2.19",
        ),
    }
    for case, (hardware, message) in cases.items():
        fake = fake_for(doc, **hardware)
        try:
            run = run_on(
                owner, doc, over_http(f"flex-{len(fake.requests)}-{id(fake)}", fake, "Flex")
            )
            assert run.state == RunState.FAILED, case
            assert message in run.error, (case, run.error)
            assert "engine error" not in run.error and "Traceback" not in run.error
            assert not fake.runs, case  # no robot run, so no motion
        finally:
            fake.close()


def test_a_setup_command_the_robot_refuses_fails_the_run_with_the_robots_words(owner):
    fake = fake_for(demo("serial_dilution"))
    fake.refuse("loadLabware")
    try:
        run = run_on(owner, demo("serial_dilution"), over_http("bay-7", fake))
        assert run.state == RunState.FAILED
        assert "robot bay-7 at 127.0.0.1:" in run.error and "refused loadLabware" in run.error
        assert "999" in run.error  # the robot's own message names the version it lacks
        assert "engine error" not in run.error and "Traceback" not in run.error
        robot_run = next(iter(fake.runs.values()))
        assert [c["commandType"] for c in robot_run.commands()] == ["loadLabware"]  # no motion
        assert not RobotLock.objects.exists()
    finally:
        fake.close()


def test_another_client_taking_the_robot_fails_the_node_at_once(owner):
    fake = fake_for(demo("serial_dilution"))
    fake.after_command(10, fake.take_over)  # between two of our commands
    try:
        run = run_on(owner, demo("serial_dilution"), over_http("bay-8", fake))
        assert run.state == RunState.FAILED
        failed = [n for n in run.nodes.all() if n.state == NodeState.FAILED]
        assert len(failed) == 1
        assert "is no longer the robot's current run (another client took the robot)" in (
            failed[0].error
        )
        ours = [r for r in fake.runs.values() if not r.current]
        assert len(ours) == 1 and ours[0].status == "stopped"
    finally:
        fake.close()


def test_a_frozen_robot_fails_the_node_and_the_run_ends_while_it_is_still_frozen(owner, settings):
    settings.SDL_ROBOT_TIMEOUT_S = 1
    fake = fake_for(demo("serial_dilution"))
    fake.after_command(8, fake.freeze)
    try:
        run = run_on(owner, demo("serial_dilution"), over_http("frozen", fake))
        assert fake.frozen.is_set()  # we did not wait for the robot to come back
        assert run.state == RunState.FAILED
        failed = next(n for n in run.nodes.all() if n.state == NodeState.FAILED)
        assert "robot frozen at 127.0.0.1:" in failed.error
        assert "did not answer within 1 s" in failed.error
        assert failed.commands[-1]["status"] == "unknown"
        assert failed.commands[-1]["error"].startswith("outcome unknown:")
        assert not RobotLock.objects.exists()
    finally:
        fake.close()


@pytest.mark.parametrize("fault", ["drop", "kill"])
def test_a_lost_connection_logs_the_command_in_flight_as_outcome_unknown(owner, fault):
    fake = fake_for(demo("serial_dilution"))
    if fault == "drop":
        fake.drop_after = 9
    else:
        fake.after_command(9, fake.kill)  # it answers the 9th, then nothing
    try:
        run = run_on(owner, demo("serial_dilution"), over_http("flaky-bot", fake))
        assert run.state == RunState.FAILED
        failed = next(n for n in run.nodes.all() if n.state == NodeState.FAILED)
        assert "robot flaky-bot at 127.0.0.1:" in failed.error
        assert "could not be reached" in failed.error
        last = failed.commands[-1]
        assert last["status"] == "unknown" and last["error"].startswith("outcome unknown:")
        assert all(c["status"] == "succeeded" for c in failed.commands[:-1])
        assert not RobotLock.objects.exists()
    finally:
        fake.close()


def test_cancel_during_a_run_on_the_robot_sends_it_a_stop(owner):
    fake = fake_for(demo("serial_dilution"), command_delay_s=0.05)
    try:
        robot = over_http("bay-5", fake)
        run = runs.create_run(
            make_workflow(owner, demo("serial_dilution")), user=owner, robot=robot
        )
        wait_for(run.pk, {RunState.RUNNING})
        while fake.commands_received < 12:
            threading.Event().wait(0.02)
        runs.cancel_run(run, owner)
        run = wait_for(run.pk)
        assert run.state == RunState.CANCELLED
        assert fake.actions() == ["stop"]
        assert next(iter(fake.runs.values())).status == "stopped"
    finally:
        fake.close()


def test_cancel_while_the_session_opens_sends_nothing_after_it(owner):
    fake = fake_for(demo("serial_dilution"), command_delay_s=0.3)
    try:
        robot = over_http("bay-6", fake)
        run = runs.create_run(
            make_workflow(owner, demo("serial_dilution")), user=owner, robot=robot
        )
        while fake.commands_received < 1:  # opening: the deck's load commands are going out
            threading.Event().wait(0.01)
        runs.cancel_run(run, owner)
        cancelled_at = time.time()
        run = wait_for(run.pk)
        assert run.state == RunState.CANCELLED
        assert "cancelled while the robot session opened" in run.error
        sent_after = fake.commands_after(cancelled_at)
        assert sent_after == []
        commands = next(iter(fake.runs.values())).commands()
        assert all(c["commandType"].startswith("load") for c in commands)  # nothing moved
        assert not RobotLock.objects.exists()
    finally:
        fake.close()


def test_the_plate_reader_runs_over_http_until_the_read(owner):
    doc = demo("colour_mixing")
    fake = fake_for(doc, max_api=(2, 27))
    try:
        run = run_on(owner, doc, over_http("flex-reader", fake, "Flex"))
        states = {n.node_id: n.state for n in run.nodes.all()}
        assert {states[n] for n in ("red", "yellow", "blue", "open", "load", "close", "setup")} == {
            NodeState.COMPLETED
        }
        assert states["read"] == NodeState.FAILED
        assert "Only readings of 96 Well labware" in nodes(run)["read"].error
    finally:
        fake.close()
