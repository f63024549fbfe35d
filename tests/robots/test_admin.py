"""The admin pages a lab manager uses: robots (health, locks), workflows with history, schedules."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from orchestration import runs
from orchestration.models import RobotLock, Schedule, WorkflowRun
from robots.models import Robot
from tests.factories import demo, document, make_robot, make_workflow
from tests.fakerobot import FakeRobot
from tests.orchestration.runhelpers import wait_for


def test_check_health_asks_the_robot_and_stores_what_it_said(admin_client):
    fake = FakeRobot("OT-2")
    try:
        real = make_robot("bay-1", simulate=False, host="127.0.0.1", port=fake.port)
        gone = make_robot("bay-2", simulate=False, host="127.0.0.1", port=1)
        response = admin_client.post(
            "/admin/robots/robot/",
            {"action": "check_health", "_selected_action": [real.pk, gone.pk]},
            follow=True,
        )
        assert response.status_code == 200
        real.refresh_from_db()
        gone.refresh_from_db()
        assert real.last_health_ok and real.last_health["api_version"] == "8.1.0"
        assert real.last_health_at is not None
        assert gone.last_health_ok is False and "could not be reached" in gone.last_health["error"]
        assert ("GET", "/health") in [r[:2] for r in fake.requests]
    finally:
        fake.close()


def test_check_health_flags_a_robot_that_is_not_the_type_it_is_registered_as(admin_client):
    fake = FakeRobot("Flex")
    try:
        wrong = make_robot("bay-3", robot_type="OT-2", simulate=False, host="127.0.0.1")
        Robot.objects.filter(pk=wrong.pk).update(port=fake.port)
        response = admin_client.post(
            "/admin/robots/robot/",
            {"action": "check_health", "_selected_action": [wrong.pk]},
            follow=True,
        )
        wrong.refresh_from_db()
        assert wrong.last_health_ok is False
        assert "reports OT-3 Standard; registered as an OT-2 (OT-2 Standard)" in (
            response.content.decode()
        )
    finally:
        fake.close()


@pytest.mark.django_db(transaction=True)
def test_the_admin_shows_who_holds_a_robot_and_releases_only_a_lock_left_over(owner):
    admin = get_user_model().objects.create_superuser("boss", password="a-long-test-password")
    client = Client()
    client.force_login(admin)
    robot = make_robot("held", simulate=True)
    doc = demo("serial_dilution")
    doc["nodes"].insert(0, {"id": "wait", "type": "control.pause", "params": {}})
    doc["edges"].insert(0, {"source": "wait", "target": "diluent"})
    run = runs.create_run(make_workflow(owner, doc), user=owner, robot=robot)
    wait_for(run.pk, {"paused"}, timeout=60)
    page = client.get("/admin/robots/robot/").content.decode()
    assert f"held by run {run.pk} (paused, olivia)" in page
    client.post("/admin/robots/robot/", {"action": "release_lock", "_selected_action": [robot.pk]})
    assert RobotLock.objects.filter(run=run).exists()  # a paused run keeps its robot
    runs.cancel_run(run, owner)
    wait_for(run.pk)
    left_over = runs.create_run(make_workflow(owner, document()), user=owner, start=False)
    WorkflowRun.objects.filter(pk=left_over.pk).update(state="failed")
    RobotLock.objects.create(robot=robot, run=left_over)  # e.g. a crash between end and release
    client.post("/admin/robots/robot/", {"action": "release_lock", "_selected_action": [robot.pk]})
    assert not RobotLock.objects.exists()


def test_a_workflow_shows_its_history_read_only_and_an_admin_edit_is_a_version(admin_client, owner):
    workflow = make_workflow(owner, document())
    page = admin_client.get(f"/admin/canvas/workflow/{workflow.pk}/change/")
    assert page.status_code == 200 and "Created" in page.content.decode()
    assert "versions-0-message" not in page.content.decode()  # not editable
    assert admin_client.get("/admin/canvas/workflowversion/").status_code == 200


def test_the_schedule_admin_shows_the_next_fire_times_and_refuses_a_bad_expression(
    admin_client, owner
):
    workflow = make_workflow(owner, document())
    form = {
        "workflow": workflow.pk,
        "engine": "native",
        "parameters": "{}",
        "kind": "cron",
        "expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "active": "on",
        "fires-TOTAL_FORMS": "0",
        "fires-INITIAL_FORMS": "0",
    }
    bad = admin_client.post(
        "/admin/orchestration/schedule/add/", {**form, "expression": "nine-ish"}
    )
    assert bad.status_code == 200 and "is not a cron expression" in bad.content.decode()
    assert not Schedule.objects.exists()
    good = admin_client.post("/admin/orchestration/schedule/add/", form)
    assert good.status_code == 302, good.content.decode()[:2000]
    schedule = Schedule.objects.get()
    assert schedule.next_fire_at is not None and schedule.created_by.username == "boss"
    page = admin_client.get(f"/admin/orchestration/schedule/{schedule.pk}/change/").content.decode()
    assert len(re.findall(r"<div>\d{4}-\d\d-\d\d 09:00:00 CES?T</div>", page)) == 5


def test_simulated_robots_report_healthy(admin_client):
    robot = make_robot("sim-1", simulate=True)
    admin_client.post(
        "/admin/robots/robot/", {"action": "check_health", "_selected_action": [robot.pk]}
    )
    robot = Robot.objects.get(pk=robot.pk)
    assert robot.last_health_ok and robot.last_health["simulated"] is True
