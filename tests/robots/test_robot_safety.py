"""A robot is never moved by two runs nor after an unknown end, and resume-from recovers."""

import json
import signal
import subprocess
import sys
import time

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from orchestration import runs
from orchestration.models import NodeState, RobotLock, RunState, WorkflowRun
from robots.models import Robot
from tests.browser import browser  # noqa: F401  (fixture)
from tests.dbenv import child_env
from tests.factories import ROOT, demo, make_robot, make_workflow
from tests.orchestration.runhelpers import nodes, wait_for
from tests.robots.test_http_robot import fake_for, over_http

pytestmark = pytest.mark.django_db(transaction=True)


def tip_steps(volume="{{ params.v }}") -> dict:
    """Pick up a tip, aspirate `v` µL, dispense, drop: the aspirate needs the earlier tip."""
    doc = demo("serial_dilution")
    doc["parameters"] = {"v": {"type": "number", "default": 50, "minimum": 1, "maximum": 1000}}
    well = {"labware": "reservoir", "well": "A1"}
    doc["nodes"] = [
        {"id": "tip", "type": "opentrons.pick_up_tip", "params": {"pipette": "p300"}},
        {
            "id": "take",
            "type": "opentrons.aspirate",
            "params": {"pipette": "p300", "volume": volume, "location": well},
        },
        {
            "id": "give",
            "type": "opentrons.dispense",
            "params": {"pipette": "p300", "volume": volume, "location": well},
        },
        {"id": "drop", "type": "opentrons.drop_tip", "params": {"pipette": "p300"}},
    ]
    doc["edges"] = [
        {"source": "tip", "target": "take"},
        {"source": "take", "target": "give"},
        {"source": "give", "target": "drop"},
    ]
    return doc


@pytest.mark.db_concurrency
def test_a_crash_while_holding_a_robot_leaves_it_needing_a_check(
    api, owner, admin_client, tmp_path
):
    robot = make_robot("ot2-bay-1", simulate=True)
    doc = tip_steps(50)
    doc["nodes"].insert(1, {"id": "wait", "type": "control.delay", "params": {"seconds": 120}})
    doc["edges"][0] = {"source": "tip", "target": "wait"}
    doc["edges"].append({"source": "wait", "target": "take"})
    path = tmp_path / "long.json"
    path.write_text(json.dumps(doc))
    command = [sys.executable, str(ROOT / "manage.py"), "run_workflow", str(path)]
    proc = subprocess.Popen(
        [*command, "--robot", robot.name, "--real-time", "--user", "olivia"],
        env=child_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not WorkflowRun.objects.filter(
            nodes__node_id="wait", nodes__state=NodeState.RUNNING
        ).exists():
            assert time.monotonic() < deadline, "the run never reached its delay"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)  # the server dies while the run holds the robot
        proc.wait()
    crashed = WorkflowRun.objects.get()
    assert RobotLock.objects.filter(robot=robot).exists()
    assert runs.recover_interrupted_runs() == [crashed.pk]  # as a restarted server does
    robot.refresh_from_db()
    assert f"run {crashed.pk} ended interrupted while it held the robot" in robot.needs_check
    assert not RobotLock.objects.exists()

    # New runs and schedule fires are refused with the reason; the admin and run page say so.
    workflow = make_workflow(owner, tip_steps(50))
    refused = api.post(f"/api/workflows/{workflow.pk}/runs", {"robot": robot.name})
    assert refused.status_code == 409
    assert "robot ot2-bay-1 needs a check before it runs again" in refused.json()["detail"]
    with pytest.raises(runs.RunRefused):
        runs.create_run(workflow, user=None, robot=robot, trigger="schedule")
    listing = admin_client.get("/admin/robots/robot/").content.decode()
    assert "NEEDS CHECK" in listing
    signed_in = Client()
    signed_in.force_login(owner)
    page = signed_in.get(f"/runs/{crashed.pk}/").content.decode()
    assert 'data-testid="robot-needs-check"' in page

    # A person with permission confirms; it is logged with their name, and the robot runs.
    admin_client.post(
        "/admin/robots/robot/",
        {"action": "confirm_checked", "_selected_action": [robot.pk]},
        follow=True,
    )
    robot.refresh_from_db()
    assert robot.needs_check == "" and robot.checked_by == "boss"
    entry = LogEntry.objects.get(object_id=str(robot.pk))
    assert "confirmed safe to run again" in entry.get_change_message()
    started = api.post(f"/api/workflows/{workflow.pk}/runs", {"robot": robot.name})
    assert started.status_code == 201
    assert wait_for(started.json()["id"]).state == RunState.COMPLETED


def test_release_lock_refuses_while_the_run_is_paused_and_force_release_is_logged(
    owner, admin_client
):
    robot = make_robot("shared", simulate=True)
    doc = tip_steps(50)
    doc["nodes"].insert(1, {"id": "hold", "type": "control.pause", "params": {"message": "look"}})
    doc["edges"][0] = {"source": "tip", "target": "hold"}
    doc["edges"].append({"source": "hold", "target": "take"})
    paused = runs.create_run(make_workflow(owner, doc), user=owner, robot=robot)
    wait_for(paused.pk, {RunState.PAUSED})

    response = admin_client.post(
        "/admin/robots/robot/",
        {"action": "release_lock", "_selected_action": [robot.pk]},
        follow=True,
    )
    assert f"run {paused.pk} is paused and holds the robot" in response.content.decode()
    assert RobotLock.objects.filter(robot=robot, run=paused).exists()

    asked = admin_client.post(
        "/admin/robots/robot/", {"action": "force_release", "_selected_action": [robot.pk]}
    )
    assert "Yes, force release" in asked.content.decode()  # nothing happens before confirming
    assert RobotLock.objects.filter(robot=robot).exists()
    admin_client.post(
        "/admin/robots/robot/",
        {"action": "force_release", "_selected_action": [robot.pk], "confirmed": "yes"},
        follow=True,
    )
    assert not RobotLock.objects.filter(robot=robot).exists()
    assert wait_for(paused.pk).state == RunState.CANCELLED
    robot.refresh_from_db()
    assert f"lock force-released by boss while run {paused.pk} was paused" in robot.needs_check
    assert LogEntry.objects.filter(object_id=str(robot.pk)).exists()


def test_resume_from_a_failed_node_on_the_simulator_with_a_corrected_parameter(api, owner):
    workflow = make_workflow(owner, tip_steps())
    robot = make_robot("ot2-sim", simulate=True)
    failed = wait_for(runs.create_run(workflow, user=owner, robot=robot, parameters={"v": 500}).pk)
    assert failed.state == RunState.FAILED
    assert nodes(failed)["tip"].state == NodeState.COMPLETED
    assert nodes(failed)["take"].state == NodeState.FAILED

    response = api.post(f"/api/runs/{failed.pk}/resume-from/take", {"parameters": {"v": 100}})
    assert response.status_code == 201, response.json()
    resumed = wait_for(response.json()["id"])
    assert resumed.state == RunState.COMPLETED, resumed.error
    assert resumed.parameters["v"] == 100
    assert nodes(resumed)["take"].output["volume"] == 100
    log = [e.data["message"] for e in resumed.events.filter(type="log")]
    assert "state before take: replayed tip" in log
    assert "pipette p300 holds its tip, as before" in log


def test_resume_from_a_failed_robot_run_needs_the_deck_confirmed_and_completes(api, owner):
    doc = tip_steps()
    fake = fake_for(doc)
    try:
        robot = over_http("bay-2", fake)
        workflow = make_workflow(owner, doc)
        # What the simulator allows, the robot refuses (e.g. its liquid sensing found too little)
        fake.refuse("aspirate", when=lambda params: params.get("volume") == 250)
        failed = wait_for(
            runs.create_run(workflow, user=owner, robot=robot, parameters={"v": 250}).pk
        )
        assert failed.state == RunState.FAILED and nodes(failed)["take"].state == "failed"
        assert "robot bay-2 at 127.0.0.1:" in nodes(failed)["take"].error

        unconfirmed = api.post(
            f"/api/runs/{failed.pk}/resume-from/take", {"parameters": {"v": 100}}
        )
        assert unconfirmed.status_code == 409
        assert "confirm the deck" in unconfirmed.json()["detail"]

        response = api.post(
            f"/api/runs/{failed.pk}/resume-from/take",
            {"parameters": {"v": 100}, "deck_confirmed": True, "fresh_tip": True},
        )
        assert response.status_code == 201, response.json()
        resumed = wait_for(response.json()["id"])
        assert resumed.state == RunState.COMPLETED, resumed.error
        log = [e.data["message"] for e in resumed.events.filter(type="log")]
        assert "deck confirmed by olivia" in log
        assert "pipette p300: picked up a fresh tip" in log
        robot_run = fake.runs[list(fake.runs)[-1]]
        moves = [c["commandType"] for c in robot_run.commands() if c["commandType"] != "home"]
        assert [m for m in moves if not m.startswith("load")][:2] == ["pickUpTip", "aspirate"]
        assert Robot.objects.get(pk=robot.pk).needs_check == ""
    finally:
        fake.close()


@pytest.mark.browser
def test_resume_from_here_on_the_run_page_with_a_corrected_parameter(browser, site, owner):  # noqa: F811
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    from tests.browser import login

    workflow = make_workflow(owner, tip_steps())
    robot = make_robot("ot2-sim", simulate=True)
    failed = wait_for(runs.create_run(workflow, user=owner, robot=robot, parameters={"v": 500}).pk)
    page = browser.new_context().new_page()
    login(page, site, "olivia")
    page.goto(f"{site}/runs/{failed.pk}/")
    # the page has replayed the run's events (node states included) before the click
    expect(page.get_by_test_id("run-state")).to_have_attribute("data-state", "failed")
    expect(page.get_by_test_id("run-node-take")).to_have_attribute("data-state", "failed")
    for _ in range(3):  # the graph may still be gliding into view under the first click
        page.get_by_test_id("run-node-take").click()
        try:
            page.get_by_test_id("run-node-detail").wait_for(state="visible", timeout=3000)
            break
        except PlaywrightTimeout:
            continue
    expect(page.get_by_test_id("resume-form")).to_be_visible()
    page.get_by_test_id("resume-param-v").fill("120")
    page.get_by_test_id("resume-submit").click()
    page.wait_for_url(lambda url: f"/runs/{failed.pk}/" not in url and "/runs/" in url)
    expect(page.locator("[data-testid=run-state]")).to_have_attribute(
        "data-state", "completed", timeout=30000
    )
    resumed = WorkflowRun.objects.exclude(pk=failed.pk).get()
    assert resumed.parameters["v"] == 120 and resumed.state == RunState.COMPLETED
