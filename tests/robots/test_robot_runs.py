"""Opentrons workflows, node by node, on the simulator and on a (fake) robot over HTTP."""

import json
import threading

import pytest

from orchestration import runs
from orchestration.models import NodeState, RobotLock, RunState
from tests.factories import SHARED_EXAMPLES, demo, make_robot, make_workflow
from tests.fakerobot import FakeRobot
from tests.orchestration.runhelpers import nodes, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

OT2_HARDWARE = {"right": "p300_single_gen2"}
FLEX_HARDWARE = {"left": "flex_1channel_1000"}


def run_on(owner, doc, robot=None, parameters=None, **options):
    workflow = make_workflow(owner, doc)
    run = runs.create_run(
        workflow, user=owner, robot=robot, parameters=parameters or {}, options=options
    )
    return wait_for(run.pk, timeout=60)


def motion(run) -> list[tuple]:
    """The liquid-handling commands of a run, in order, comparable across back ends."""
    keep = {
        "pickUpTip",
        "aspirate",
        "dispense",
        "dropTipInPlace",
        "dropTip",
        "setTargetTemperature",
        "temperatureModule/setTargetTemperature",
        "temperatureModule/deactivate",
    }
    out = []
    for node in run.nodes.order_by("started_at"):
        for c in node.commands:
            if c["commandType"] in keep:
                p = c["params"]
                out.append(
                    (
                        node.node_id,
                        c["commandType"],
                        p.get("labwareId"),
                        p.get("wellName"),
                        p.get("volume"),
                    )
                )
    return out


@pytest.fixture
def fake_ot2():
    robot = FakeRobot("OT-2", instruments=OT2_HARDWARE)
    yield robot
    robot.close()


def test_serial_dilution_runs_node_by_node_on_the_simulator_with_a_command_log(api, owner):
    robot = make_robot("ot2-sim", simulate=True)
    run = run_on(owner, demo("serial_dilution"), robot)
    assert run.state == RunState.COMPLETED, run.error
    by_id = nodes(run)
    assert by_id["diluent"].output == {"volume": 640.0, "transfers": 8, "tips_used": 1}
    assert by_id["dilute"].output == {"volume": 560.0, "transfers": 7, "tips_used": 7}
    assert by_id["stock"].output == {
        "volume": 80.0,
        "transfers": 1,
        "tips_used": 1,
    }  # not the mixing
    served = api.get(f"/api/runs/{run.pk}").json()
    commands = {n["node_id"]: n["commands"] for n in served["nodes"]}
    assert [c["commandType"] for c in commands["stock"]][:3] == [
        "pickUpTip",
        "aspirate",
        "dispense",
    ]
    assert (
        commands["stock"][1]["params"]["labwareId"] == "reservoir"
        and commands["stock"][1]["params"]["volume"] == 80
    )
    assert served["robot"] == "ot2-sim" and not RobotLock.objects.exists()


def test_the_flex_demo_runs_on_a_simulated_flex_without_waiting_out_its_hold(owner):
    robot = make_robot("flex-sim", robot_type="Flex")
    run = run_on(owner, demo("flex_cold_block"), robot, {"hold_s": 600})
    assert run.state == RunState.COMPLETED, run.error
    by_id = nodes(run)
    assert by_id["chill"].output == {"temperature": 4.0}
    assert "dry run: 600 s wait skipped" in by_id["hold"].log[0]["message"]
    assert any(
        c["commandType"] == "temperatureModule/setTargetTemperature"
        for c in by_id["chill"].commands
    )


def test_what_the_simulator_refuses_fails_the_node_with_its_message(owner):
    doc = demo("serial_dilution")
    doc["nodes"] = [
        {
            "id": "asp",
            "type": "opentrons.aspirate",
            "params": {
                "pipette": "p300",
                "volume": 50,
                "location": {"labware": "plate", "well": "A1"},
            },
        }
    ]
    doc["edges"] = []
    run = run_on(owner, doc)
    assert run.state == RunState.FAILED
    assert "should have a tip attached" in nodes(run)["asp"].error
    assert nodes(run)["asp"].commands[-1]["status"] == "failed"


def test_running_out_of_tips_says_so(owner):
    doc = demo("serial_dilution")
    doc["deck"]["labware"][0]["load_name"] = "opentrons_96_tiprack_300ul"
    doc["nodes"] = [
        {
            "id": "many",
            "type": "opentrons.transfer",
            "params": {
                "pipette": "p300",
                "volume": 20,
                "new_tip": "always",
                "source": {"labware": "reservoir", "well": "A1"},
                "dest": {
                    "labware": "plate",
                    "wells": [f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13)] * 2,
                },
            },
        }
    ]
    doc["nodes"][0]["params"]["source"] = {"labware": "reservoir", "wells": ["A1"] * 192}
    doc["edges"] = []
    run = run_on(owner, doc)
    assert run.state == RunState.FAILED
    assert (
        nodes(run)["many"].error
        == "out of tips: every tip in the pipette's tip racks has been used"
    )


def test_the_same_workflow_over_http_sends_the_same_commands(owner, fake_ot2):
    simulated = run_on(owner, demo("serial_dilution"), make_robot("sim", simulate=True))
    real = make_robot("bay-3", simulate=False, host="127.0.0.1", port=fake_ot2.port)
    over_http = run_on(owner, demo("serial_dilution"), real)
    assert over_http.state == RunState.COMPLETED, over_http.error
    assert motion(over_http) == motion(simulated) and len(motion(simulated)) > 30
    robot_commands = (
        fake_ot2.current.commands()
        if fake_ot2.current
        else list(fake_ot2.runs.values())[0].commands()
    )
    assert sum(c["commandType"] == "aspirate" for c in robot_commands) == sum(
        1 for m in motion(simulated) if m[1] == "aspirate"
    )
    assert all(c["status"] == "succeeded" for c in robot_commands)
    assert nodes(over_http)["diluent"].output == nodes(simulated)["diluent"].output


def test_the_flex_workflow_over_http_matches_the_simulator(owner):
    fake = FakeRobot("Flex", instruments=FLEX_HARDWARE, modules=["temperatureModuleV2"])
    try:
        simulated = run_on(
            owner, demo("flex_cold_block"), make_robot("flex-sim", robot_type="Flex"), {"hold_s": 0}
        )
        real = make_robot(
            "flex-1", robot_type="Flex", simulate=False, host="127.0.0.1", port=fake.port
        )
        over_http = run_on(owner, demo("flex_cold_block"), real, {"hold_s": 0})
        assert over_http.state == RunState.COMPLETED, over_http.error
        assert motion(over_http) == motion(simulated)
    finally:
        fake.close()


def test_a_robot_without_the_decks_pipette_is_refused_before_motion(owner):
    fake = FakeRobot("OT-2", instruments={"right": "p20_single_gen2"})
    try:
        real = make_robot("bay-4", simulate=False, host="127.0.0.1", port=fake.port)
        run = run_on(owner, demo("serial_dilution"), real)
        assert run.state == RunState.FAILED
        assert (
            "needs p300_single_gen2 on the right mount; the robot has p20_single_gen2" in run.error
        )
        assert not fake.runs  # no robot run was even created
    finally:
        fake.close()


def test_an_unreachable_robot_fails_the_run_naming_it_and_frees_the_lock(owner):
    robot = make_robot("ot2-bay-9", simulate=False, host="127.0.0.1", port=1)
    run = run_on(owner, demo("serial_dilution"), robot)
    assert run.state == RunState.FAILED
    assert "robot ot2-bay-9 at 127.0.0.1:1 could not be reached" in run.error
    assert not RobotLock.objects.exists()


def test_a_slow_robot_fails_the_node_with_a_timeout_message(owner, fake_ot2, settings):
    settings.SDL_ROBOT_TIMEOUT_S = 1
    robot = make_robot("slowpoke", simulate=False, host="127.0.0.1", port=fake_ot2.port)
    fake_ot2.command_delay_s = 0  # setup answers quickly …
    workflow = make_workflow(owner, demo("serial_dilution"))
    original = fake_ot2.add_command

    def slow_after_setup(run, query, body):
        if body["data"].get("intent") != "setup":
            fake_ot2.command_delay_s = 2
        return original(run, query, body)

    fake_ot2.add_command = slow_after_setup
    run = wait_for(runs.create_run(workflow, user=owner, robot=robot).pk, timeout=60)
    assert run.state == RunState.FAILED
    assert "robot slowpoke at 127.0.0.1:" in run.error and "did not answer within 1 s" in run.error
    assert nodes(run)["stock"].state == NodeState.CANCELLED  # no later node was sent


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_a_robot_that_errors_or_drops_the_connection_fails_the_run(owner, fake_ot2, fault):
    robot = make_robot("flaky-bot", simulate=False, host="127.0.0.1", port=fake_ot2.port)
    if fault == "500":
        original = fake_ot2.add_command

        def failing(run, query, body):
            if body["data"].get("intent") != "setup":
                fake_ot2.fail_commands_with = 500
            return original(run, query, body)

        fake_ot2.add_command = failing
        words = "answered 500"
    else:
        fake_ot2.drop_after = 6
        words = "could not be reached"
    run = run_on(owner, demo("serial_dilution"), robot)
    assert run.state == RunState.FAILED and "flaky-bot" in run.error and words in run.error
    assert not RobotLock.objects.exists()


def test_cancel_during_a_run_on_the_robot_sends_it_a_stop(owner):
    fake = FakeRobot("OT-2", instruments=OT2_HARDWARE, command_delay_s=0.05)
    try:
        robot = make_robot("bay-5", simulate=False, host="127.0.0.1", port=fake.port)
        run = runs.create_run(
            make_workflow(owner, demo("serial_dilution")), user=owner, robot=robot
        )
        wait_for(run.pk, {RunState.RUNNING})
        while not fake.runs or len(next(iter(fake.runs.values())).commands()) < 8:
            threading.Event().wait(0.05)
        runs.cancel_run(run, owner)
        run = wait_for(run.pk)
        assert run.state == RunState.CANCELLED
        assert fake.actions() == ["stop"]
    finally:
        fake.close()


def test_two_runs_on_one_robot_never_overlap(owner):
    robot = make_robot("shared", simulate=True)
    workflow = make_workflow(owner, demo("serial_dilution"))
    first = runs.create_run(workflow, user=owner, robot=robot)
    second = runs.create_run(workflow, user=owner, robot=robot)
    first, second = wait_for(first.pk, timeout=60), wait_for(second.pk, timeout=60)
    assert first.state == second.state == RunState.COMPLETED
    ordered = sorted([first, second], key=lambda r: r.started_at)
    assert ordered[1].started_at >= ordered[0].finished_at
    waiting = [e.data["message"] for e in ordered[1].events.filter(type="log")]
    assert any(f"robot shared is busy with run {ordered[0].pk}" in m for m in waiting)


def test_no_waiting_refuses_a_busy_robot_naming_the_holder(api, owner):
    robot = make_robot("busy", simulate=True)
    workflow = make_workflow(owner, demo("serial_dilution"))
    first = runs.create_run(workflow, user=owner, robot=robot)
    wait_for(first.pk, {RunState.RUNNING})
    response = api.post(
        f"/api/workflows/{workflow.pk}/runs", {"robot": "busy", "wait_for_robot": False}
    )
    assert response.status_code == 409
    assert (
        f"robot busy is busy with run {first.pk}" in response.json()["detail"]
        and "olivia" in response.json()["detail"]
    )
    assert api.get(f"/api/runs/{first.pk}").json()["robot_lock"] is True
    wait_for(first.pk, timeout=60)


def test_a_busy_robot_never_tells_another_user_what_it_is_busy_with(api_for, owner, outsider):
    robot = make_robot("busy", simulate=True)
    private = runs.create_run(
        make_workflow(owner, demo("serial_dilution")), user=owner, robot=robot
    )
    wait_for(private.pk, {RunState.RUNNING})
    theirs = make_workflow(outsider, demo("serial_dilution"))
    response = api_for(outsider).post(
        f"/api/workflows/{theirs.pk}/runs", {"robot": "busy", "wait_for_robot": False}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "robot busy is busy with another run"
    waiting = runs.create_run(theirs, user=outsider, robot=robot)
    wait_for(private.pk, timeout=60)
    wait_for(waiting.pk, timeout=60)
    told = " ".join(
        line["message"]
        for line in waiting.events.values_list("data", flat=True)
        if isinstance(line, dict) and "message" in line
    )
    assert "busy with another run" in told
    assert str(private.pk) not in told.replace(f"run {waiting.pk}", "") and "olivia" not in told


SHARED_OPENTRONS = (
    [p for p in sorted(SHARED_EXAMPLES.glob("*.json")) if '"opentrons.' in p.read_text()]
    if SHARED_EXAMPLES.exists()
    else []
)


@pytest.mark.parametrize("path", SHARED_OPENTRONS, ids=lambda p: p.name)
def test_each_shared_example_runs_alike_on_the_simulator_and_over_http(owner, path):
    doc = json.loads(path.read_text())
    for node in doc["nodes"]:  # a real robot waits out delays; keep the test short
        if node["type"] == "control.delay":
            node["params"]["seconds"] = 0.1
    robot_type = doc["robot"]["type"]
    hardware = {p["mount"]: p["instrument"] for p in doc["deck"]["pipettes"]}
    modules = [m["model"] for m in doc["deck"].get("modules", [])]
    fake = FakeRobot(robot_type, instruments=hardware, modules=modules)
    try:
        simulated = run_on(owner, doc, make_robot("sim", robot_type=robot_type))
        assert simulated.state == RunState.COMPLETED, simulated.error
        assert all(
            n.commands
            for n in simulated.nodes.all()
            if n.node_id in {x["id"] for x in doc["nodes"] if x["type"].startswith("opentrons.")}
        )
        real = make_robot(
            "real", robot_type=robot_type, simulate=False, host="127.0.0.1", port=fake.port
        )
        over_http = run_on(owner, doc, real)
        assert over_http.state == RunState.COMPLETED, over_http.error
        assert motion(over_http) == motion(simulated)
    finally:
        fake.close()
