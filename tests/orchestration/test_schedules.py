"""Schedules, with a controllable clock: each due time fires exactly once."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from orchestration import schedules
from orchestration.models import Schedule, ScheduleFire, WorkflowRun
from tests.factories import document, make_workflow
from tests.orchestration.runhelpers import wait_for

UTC = ZoneInfo("UTC")


def make_schedule(workflow, **kw) -> Schedule:
    kw.setdefault("kind", "cron")
    kw.setdefault("expression", "*/5 * * * *")
    kw.setdefault("start", datetime(2026, 1, 1, tzinfo=UTC))
    schedule = Schedule.objects.create(workflow=workflow, created_by=workflow.owner, **kw)
    return schedule


@pytest.mark.db_concurrency
@pytest.mark.django_db(transaction=True)
def test_a_cron_schedule_fires_each_due_time_once_with_two_schedulers_side_by_side(owner):
    schedule = make_schedule(make_workflow(owner, document()))
    clock = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    schedules.refresh(schedule, clock)
    assert schedule.next_fire_at == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    started: list[int] = []

    def scheduler(now):
        try:
            started.extend(schedules.tick(now))
        finally:
            connection.close()

    for minute in range(1, 21):  # twenty minutes, a tick every minute, two schedulers
        now = clock + timedelta(minutes=minute)
        threads = [threading.Thread(target=scheduler, args=(now,)) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    fires = list(ScheduleFire.objects.order_by("planned_at"))
    assert [f.planned_at.minute for f in fires] == [5, 10, 15, 20]
    assert len(started) == 4 and all(f.run_id for f in fires)
    for run_id in started:
        run = wait_for(run_id)
        assert run.state == "completed" and run.trigger.startswith(f"schedule {schedule.pk}")

    # Down for three hours: nothing is replayed, one note says what was missed.
    later = clock + timedelta(hours=3, minutes=21)
    assert schedules.tick(later) == []
    missed = ScheduleFire.objects.get(missed__gt=0)
    assert missed.missed == 36 and "not replayed" in missed.note
    schedule.refresh_from_db()
    assert schedule.next_fire_at == datetime(2026, 3, 2, 12, 25, tzinfo=UTC)
    on_time = schedules.tick(schedule.next_fire_at + timedelta(seconds=1))
    assert len(on_time) == 1
    assert WorkflowRun.objects.count() == 5
    wait_for(on_time[0])  # let the run finish before the database is torn down


@pytest.mark.django_db
def test_berlin_nine_oclock_stays_nine_across_daylight_saving(owner):
    schedule = make_schedule(
        make_workflow(owner, document()), expression="0 9 * * *", timezone="Europe/Berlin"
    )
    times = schedules.fire_times(schedule, datetime(2026, 3, 27, tzinfo=UTC), 4)
    assert [t.isoformat() for t in times] == [
        "2026-03-27T09:00:00+01:00",
        "2026-03-28T09:00:00+01:00",
        "2026-03-29T09:00:00+02:00",
        "2026-03-30T09:00:00+02:00",
    ]
    rule = make_schedule(
        schedule.workflow,
        kind="rrule",
        expression="FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
        timezone="Europe/Berlin",
        start=datetime(2026, 10, 20, tzinfo=UTC),
    )
    times = schedules.fire_times(rule, datetime(2026, 10, 23, 12, tzinfo=UTC), 3)
    assert [t.isoformat() for t in times] == [
        "2026-10-24T09:00:00+02:00",
        "2026-10-25T09:00:00+01:00",
        "2026-10-26T09:00:00+01:00",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes, field",
    [
        ({"expression": "every tuesday"}, "expression"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"parameters": {"nope": 1}}, "parameters"),
        ({"kind": "interval", "expression": "0.5"}, "expression"),
        ({"kind": "rrule", "expression": "FREQ=SECONDLY;BYSECOND=0,0"}, None),  # each minute
        ({"kind": "rrule", "expression": "NOT A RULE"}, "expression"),
        # What answered 500 or took minutes before: each a 422 naming its field, at once.
        ({"kind": "rrule", "expression": "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30"}, "expression"),
        (
            {"kind": "rrule", "expression": "FREQ=YEARLY;COUNT=3;BYMONTH=2;BYMONTHDAY=30"},
            "expression",
        ),
        ({"kind": "cron", "expression": "0 0 30 2 *"}, "expression"),
        ({"kind": "rrule", "expression": "FREQ=SECONDLY;INTERVAL=30"}, "expression"),
        ({"kind": "interval", "expression": "1e308"}, "expression"),
        ({"kind": "interval", "expression": "inf"}, "expression"),
        ({"kind": "interval", "expression": "nan"}, "expression"),
        ({"kind": "rrule", "expression": "DTSTART:20260101T090000\nRRULE:FREQ=DAILY"}, None),
        ({"timezone": "x" * 1000}, "timezone"),
        ({"start": "0001-01-01T00:00:00Z"}, "start"),
        ({"end": "9999-12-31T23:00:00Z"}, "end"),
        ({"end": "2001-01-01T00:00:00Z"}, "end"),
        ({"engine": "celery"}, "engine"),
        ({"kind": "weekly"}, "kind"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(api, owner, changes, field):
    workflow = make_workflow(owner, document())
    body = {
        "workflow": workflow.pk,
        "kind": "cron",
        "expression": "0 9 * * 1-5",
        "timezone": "UTC",
        **changes,
    }
    response = api.post("/api/schedules", body)
    if field is None:  # accepted (a DTSTART without a zone is read in the schedule's zone)
        assert response.status_code == 201, response.content
        return
    assert response.status_code == 422, response.content
    assert response.json()["detail"].startswith(f"{field}:")
    assert not Schedule.objects.exists()


@pytest.mark.django_db
def test_the_schedule_api_previews_fire_times_with_their_offsets(api, api_for, owner, outsider):
    workflow = make_workflow(owner, document())
    body = {
        "workflow": workflow.pk,
        "kind": "cron",
        "expression": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "parameters": {"n": 3},
    }
    created = api.post("/api/schedules", body)
    assert created.status_code == 201, created.content
    schedule_id = created.json()["id"]
    preview = api.get(f"/api/schedules/{schedule_id}/preview?count=3").json()
    assert len(preview) == 3 and all(
        t.endswith(("+01:00", "+02:00")) and "T09:00:00" in t for t in preview
    )
    assert api.get("/api/schedules").json()[0]["expression"] == "0 9 * * 1-5"
    updated = api.put(f"/api/schedules/{schedule_id}", {**body, "active": False})
    assert updated.status_code == 200 and updated.json()["next_fire_at"] is None
    assert api_for(outsider).get(f"/api/schedules/{schedule_id}").status_code == 404
    assert api.delete(f"/api/schedules/{schedule_id}").status_code == 204


@pytest.mark.django_db(transaction=True)
def test_a_schedule_whose_creator_lost_the_right_to_run_pauses_itself_and_says_why(
    api_for, owner, teammate
):
    from canvas.models import WorkflowShare

    workflow = make_workflow(owner, document())
    share = WorkflowShare.objects.create(workflow=workflow, user=teammate, permission="run")
    schedule = make_schedule(workflow, expression="* * * * *")
    Schedule.objects.filter(pk=schedule.pk).update(created_by=teammate)
    clock = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
    schedules.refresh(schedule, clock)
    [first] = schedules.tick(clock + timedelta(minutes=1))
    wait_for(first)
    share.delete()  # the teammate may no longer run it
    assert schedules.tick(clock + timedelta(minutes=2)) == []
    schedule.refresh_from_db()
    assert not schedule.active and schedule.next_fire_at is None
    assert schedule.paused_reason == "theo may no longer run this workflow"
    assert ScheduleFire.objects.filter(note__contains="theo may no longer run").exists()
    assert WorkflowRun.objects.count() == 1
    listed = api_for(owner).get(f"/api/schedules/{schedule.pk}").json()
    assert listed["paused_reason"] == "theo may no longer run this workflow"
    # Saved again by someone who may run it: it runs as them, and the reason is gone.
    body = {**listed, "active": True}
    saved = api_for(owner).put(f"/api/schedules/{schedule.pk}", body)
    assert saved.status_code == 200, saved.content
    schedule.refresh_from_db()
    assert schedule.active and schedule.paused_reason == "" and schedule.created_by == owner


@pytest.mark.django_db
@pytest.mark.parametrize(
    "expression",
    [
        "FREQ=MINUTELY;INTERVAL=7",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=9;BYMINUTE=0",
        "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18;BYMINUTE=30",
    ],
)
def test_a_fire_counted_from_the_last_fire_is_the_one_counted_from_the_start(owner, expression):
    schedule = make_schedule(make_workflow(owner, document()), kind="rrule", expression=expression)
    last = schedules.fire_times(schedule, datetime(2026, 5, 1, tzinfo=UTC), 1)[0]
    following = schedules.fire_times(schedule, last, 5)
    assert schedules.fire_times(schedule, last, 5, last_fire=last) == following
