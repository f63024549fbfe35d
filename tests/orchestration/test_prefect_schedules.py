"""Schedules for the Prefect engine, saved in the admin, live in the workflow's deployment."""

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from orchestration import prefect_engine
from orchestration.models import Schedule, ScheduleFire
from tests.factories import document, make_workflow
from tests.orchestration.runhelpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ADD = "/admin/orchestration/schedule/add/"


def form(workflow, **fields) -> dict:
    return {
        "workflow": workflow.pk,
        "engine": "prefect",
        "parameters": "{}",
        "kind": "cron",
        "expression": "0 9 * * *",
        "timezone": "Europe/Berlin",
        "active": "on",
        "fires-TOTAL_FORMS": "0",
        "fires-INITIAL_FORMS": "0",
        **fields,
    }


def in_prefect(workflow, schedule: Schedule):
    """(the deployment, its schedule for ours) as Prefect's client reads them."""
    with prefect_engine.client() as prefect:
        name = f"sdl-workflow/{prefect_engine.deployment_name(workflow)}"
        deployment = prefect.read_deployment_by_name(name)
        found = [s for s in deployment.schedules if s.slug == f"sdl-schedule-{schedule.pk}"]
        return deployment, (found[0] if found else None)


def form_errors(response) -> list[str]:
    """What the admin's form says is wrong (for a failing assertion's message)."""
    return re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
    )


def eventually(check, timeout=60):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.5)
    return value


def scheduled_times(deployment_id) -> list[datetime]:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    with prefect_engine.client() as prefect:
        flow_runs = prefect.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )
    return [r.expected_start_time for r in flow_runs]


def test_a_schedule_saved_in_the_admin_is_on_the_deployment_firing_when_the_admin_says(
    admin_client, owner, prefect
):
    workflow = make_workflow(owner, document(name="Every morning"))
    saved = admin_client.post(ADD, form(workflow))
    assert saved.status_code == 302, form_errors(saved)
    schedule = Schedule.objects.get()
    deployment, there = in_prefect(workflow, schedule)
    assert there is not None and there.active
    assert there.schedule.cron == "0 9 * * *" and there.schedule.timezone == "Europe/Berlin"
    assert there.parameters == {"parameters": {}, "robot": None, "schedule_id": schedule.pk}
    assert "Every morning" in deployment.tags

    page = admin_client.get(f"/admin/orchestration/schedule/{schedule.pk}/change/")
    berlin = ZoneInfo("Europe/Berlin")  # the schedule's zone, named beside each time
    shown = [
        datetime.fromisoformat(t).replace(tzinfo=berlin)
        for t in re.findall(r"<div>([0-9: -]+) CES?T</div>", page.content.decode())
    ]
    assert len(shown) == 5 and all(t.hour == 9 for t in shown)
    # Prefect's scheduler creates the runs: the same instants the admin shows.
    # (it plans three ahead by default)
    planned = eventually(lambda: scheduled_times(deployment.id)[:3])
    assert planned == shown[:3]

    change = form(workflow)
    del change["active"]
    assert (
        admin_client.post(
            f"/admin/orchestration/schedule/{schedule.pk}/change/", change
        ).status_code
        == 302
    )
    _, there = in_prefect(workflow, schedule)
    assert there is not None and not there.active  # paused there
    eventually(lambda: not scheduled_times(deployment.id), timeout=60)

    admin_client.post(f"/admin/orchestration/schedule/{schedule.pk}/delete/", {"post": "yes"})
    assert not Schedule.objects.exists()
    assert in_prefect(workflow, schedule)[1] is None


def test_berlin_nine_stays_nine_across_the_daylight_saving_change_on_prefect(owner, prefect):
    from django.utils import timezone

    workflow = make_workflow(owner, document(name="Berlin"))
    schedule = Schedule(
        workflow=workflow,
        engine="prefect",
        kind="rrule",
        expression="FREQ=DAILY;BYHOUR=9;BYMINUTE=0",
        timezone="Europe/Berlin",
        start=datetime.fromisoformat("2026-10-20T00:00:00+02:00"),
    )
    schedule.created_at = timezone.now()
    from orchestration import schedules

    times = schedules.fire_times(schedule, datetime.fromisoformat("2026-10-23T12:00:00+02:00"), 4)
    # Summer time ends at 03:00 on 25 October 2026: 09:00 stays 09:00, the offset moves.
    assert [(t.day, t.hour, t.utcoffset().total_seconds() / 3600) for t in times] == [
        (24, 9, 2),
        (25, 9, 1),
        (26, 9, 1),
        (27, 9, 1),
    ]


def test_a_prefect_schedule_fires_through_the_worker_and_records_its_run(
    admin_client, owner, prefect, settings
):
    settings.SDL_MIN_SCHEDULE_INTERVAL_S = 1  # a test cannot wait a minute per fire
    workflow = make_workflow(owner, document(name="Every few seconds"))
    saved = admin_client.post(ADD, form(workflow, kind="interval", expression="5", timezone="UTC"))
    assert saved.status_code == 302, form_errors(saved)
    schedule = Schedule.objects.get()
    fire = eventually(  # a deadline for a stuck scheduler, not a speed goal
        lambda: ScheduleFire.objects.filter(schedule=schedule, run__isnull=False).first(),
        timeout=240,
    )
    run = wait_for(fire.run_id)
    assert run.state == "completed" and run.engine == "prefect"
    assert (
        run.trigger.startswith(f"schedule {schedule.pk} for ")
        and run.options["schedule"] == schedule.pk
    )
    change = form(workflow, kind="interval", expression="5", timezone="UTC")
    del change["active"]
    admin_client.post(f"/admin/orchestration/schedule/{schedule.pk}/change/", change)


@pytest.mark.parametrize(
    "fields, field, words",
    [
        ({"end_0": "2030-01-01", "end_1": "00:00:00"}, "end", "have no end"),
        ({"expression": "61 * * * *"}, "expression", "is not a cron expression"),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not an IANA time zone"),
    ],
)
def test_what_prefect_cannot_schedule_is_refused_naming_the_field(
    admin_client, owner, prefect, fields, field, words
):
    workflow = make_workflow(owner, document(name="Refused"))
    page = admin_client.post(ADD, form(workflow, **fields))
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(rf"field-{field}\b[\s\S]{{0,800}}{re.escape(words)}", html), html[:3000]
    assert not Schedule.objects.exists()


def test_without_a_prefect_server_a_prefect_schedule_is_refused(admin_client, owner, settings):
    settings.PREFECT_API_URL = ""
    page = admin_client.post(ADD, form(make_workflow(owner, document(name="No server"))))
    assert page.status_code == 200 and "make prefect-server" in page.content.decode()
    assert not Schedule.objects.exists()
