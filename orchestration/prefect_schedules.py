"""Schedules for the Prefect engine live in the workflow's Prefect deployment.

Each of our `Schedule`s with `engine = prefect` is one Prefect deployment schedule (slug
`sdl-schedule-<id>`, its run parameters and robot as schedule parameters): written when saved,
updated when edited, paused when deactivated, removed when deleted. Prefect's scheduler creates
the flow runs; workers execute them; the flow records which schedule and planned time it was.
Fire times shown for these schedules are computed by Prefect's own schedule classes.
"""

import asyncio
import logging
from datetime import datetime, timedelta

from orchestration.models import Engine, Schedule, ScheduleKind
from orchestration.rules import ScheduleError, zone

log = logging.getLogger(__name__)
SLUG_PREFIX = "sdl-schedule-"


def slug(schedule: Schedule) -> str:
    return f"{SLUG_PREFIX}{schedule.pk}"


def _rrule_text(schedule: Schedule) -> str:
    """The rule with its DTSTART in the schedule's zone (our own rules count from `start`)."""
    expression = schedule.expression.strip()
    if "DTSTART" in expression.upper():
        return expression
    start = (schedule.start or schedule.created_at).astimezone(zone(schedule.timezone))
    rule = expression if expression.upper().startswith("RRULE:") else f"RRULE:{expression}"
    return f"DTSTART:{start.strftime('%Y%m%dT%H%M%S')}\n{rule}"


def prefect_schedule(schedule: Schedule, server: bool = False):
    """The Prefect schedule object for ours (the client's classes, or the server's, which
    compute fire times)."""
    if server:
        from prefect.server.schemas import schedules as classes
    else:
        from prefect.client.schemas import schedules as classes
    if schedule.kind == ScheduleKind.CRON:
        return classes.CronSchedule(cron=schedule.expression, timezone=schedule.timezone)
    if schedule.kind == ScheduleKind.INTERVAL:
        return classes.IntervalSchedule(
            interval=timedelta(seconds=float(schedule.expression)),
            anchor_date=schedule.start or schedule.created_at,
            timezone=schedule.timezone,
        )
    return classes.RRuleSchedule(rrule=_rrule_text(schedule), timezone=schedule.timezone)


def fire_times(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """What Prefect's scheduler will do: its own `get_dates`."""
    try:
        prefect = prefect_schedule(schedule, server=True)
    except ValueError as exc:
        raise ScheduleError("expression", f"Prefect refuses it: {exc}")
    dates = asyncio.run(prefect.get_dates(n=count, start=after, end=schedule.end))
    tz = zone(schedule.timezone)
    return [d.astimezone(tz) for d in dates if d > after][:count]


def check(schedule: Schedule) -> None:
    """What Prefect schedules cannot express, refused naming the field."""
    if schedule.end and schedule.kind != ScheduleKind.RRULE:
        raise ScheduleError(
            "end",
            "Prefect's cron and interval schedules have no end: use an RFC 5545 rule with "
            "UNTIL, or deactivate the schedule when it is done",
        )
    if schedule.start and schedule.kind == ScheduleKind.CRON:
        raise ScheduleError(
            "start", "Prefect's cron schedules have no start: leave it empty or use an rrule"
        )


def _parameters(schedule: Schedule) -> dict:
    return {
        "parameters": schedule.parameters or {},
        "robot": schedule.robot.name if schedule.robot_id else None,
        "schedule_id": schedule.pk,
    }


def sync(prefect, deployment_id, workflow) -> None:
    """Make the deployment's `sdl-schedule-*` schedules match the workflow's Prefect ones."""
    wanted = {
        slug(s): s
        for s in Schedule.objects.filter(workflow=workflow, engine=Engine.PREFECT).select_related(
            "robot"
        )
    }
    present = {
        s.slug: s
        for s in prefect.read_deployment_schedules(deployment_id)
        if s.slug and s.slug.startswith(SLUG_PREFIX)
    }
    for name, existing in present.items():
        if name not in wanted:
            prefect.delete_deployment_schedule(deployment_id, existing.id)
    for name, schedule in wanted.items():
        target = prefect_schedule(schedule)
        parameters = _parameters(schedule)
        existing = present.get(name)
        if existing is None:
            prefect.create_deployment_schedules(
                deployment_id, [(target, schedule.active)], parameters=parameters, slug=name
            )
        elif (existing.schedule, existing.active, existing.parameters) != (
            target,
            schedule.active,
            parameters,
        ):
            prefect.update_deployment_schedule(
                deployment_id,
                existing.id,
                active=schedule.active,
                schedule=target,
                parameters=parameters,
            )
