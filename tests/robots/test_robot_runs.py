"""Opentrons workflows, node by node, on the simulator (over HTTP: test_http_robot.py)."""

import pytest

from orchestration import runs
from orchestration.models import RobotLock, RunState
from tests.factories import demo, make_robot, make_workflow
from tests.orchestration.runhelpers import nodes, run_on, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


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


def test_a_mix_after_a_transfer_takes_its_own_tip_as_in_protocol_designer(owner):
    doc = demo("serial_dilution")
    doc["nodes"] = [
        {
            "id": "move",
            "type": "opentrons.transfer",
            "params": {
                "pipette": "p300",
                "volume": 100,
                "source": {"labware": "reservoir", "well": "A1"},
                "dest": {"labware": "plate", "well": "A1"},
            },
        },
        {
            "id": "stir",
            "type": "opentrons.mix",
            "params": {
                "pipette": "p300",
                "repetitions": 3,
                "volume": 50,
                "location": {"labware": "plate", "well": "A1"},
            },
        },
    ]
    doc["edges"] = [{"source": "move", "target": "stir"}]
    run = run_on(owner, doc)
    assert run.state == RunState.COMPLETED, run.error
    kinds = [c["commandType"] for c in nodes(run)["stir"].commands]
    assert kinds[0] == "pickUpTip" and kinds[-1] in ("dropTip", "dropTipInPlace")
    assert kinds.count("aspirate") == 3
