"""Schedules: when they fire (croniter, dateutil's rrule), and firing them exactly once.

Every due fire is claimed with a conditional UPDATE of `next_fire_at`, so two schedulers
running side by side never both start it. After downtime, missed fires are not replayed one by
one: a single note records them and the next fire happens on time.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from canvas import permissions
from canvas.models import Permission
from canvas.validation import validate
from orchestration import prefect_engine, prefect_schedules, runs
from orchestration.models import Engine, Schedule, ScheduleFire, ScheduleKind
from orchestration.plan import run_parameters
from orchestration.rules import HORIZON, ScheduleError, occurrences, within_time_limit, zone

__all__ = [
    "ScheduleError",
    "check",
    "fire_times",
    "pause",
    "refresh",
    "refusal",
    "save",
    "tick",
    "zone",
]

log = logging.getLogger(__name__)
# A fire found later than this after its planned time counts as missed (the server was down).
GRACE = timedelta(seconds=60)
EARLIEST, LATEST = 2000, 2999  # the years a start or end may name


def fire_times(
    schedule: Schedule, after: datetime, count: int, last_fire: datetime | None = None
) -> list[datetime]:
    """Up to `count` fire times after `after` (within rules.HORIZON); `last_fire`, a fire of
    the schedule to count on from (cheaper than from its start)."""
    if schedule.engine == Engine.PREFECT:  # Prefect's scheduler fires these: its own times
        tz = zone(schedule.timezone)  # our own words for what does not parse, then Prefect's
        ours = occurrences(schedule.kind, schedule.expression, tz, after, after)
        within_time_limit(next, ours, None)
        return prefect_schedules.fire_times(schedule, after, count)
    tz = zone(schedule.timezone)
    start = schedule.start or schedule.created_at or timezone.now()
    after = max(after, start - timedelta(microseconds=1))
    times = []
    rule = occurrences(schedule.kind, schedule.expression, tz, start, after, last_fire)
    for at in rule:
        if schedule.end and at > schedule.end:
            break
        times.append(at)
        if len(times) >= count:
            break
    return times


def check(schedule: Schedule) -> None:
    """Refuse what cannot be scheduled, naming the field (ScheduleError)."""
    zone(schedule.timezone)
    if schedule.engine not in Engine.values:
        raise ScheduleError("engine", f"use one of {', '.join(Engine.values)}")
    if schedule.kind not in ScheduleKind.values:
        raise ScheduleError("kind", f"use one of {', '.join(ScheduleKind.values)}")
    for field in ("start", "end"):
        value = getattr(schedule, field)
        if value is not None and not EARLIEST <= value.year <= LATEST:
            raise ScheduleError(field, f"give a year from {EARLIEST} to {LATEST}")
    if schedule.start and schedule.end and schedule.end <= schedule.start:
        raise ScheduleError("end", "the end is before the start")
    if schedule.engine == Engine.PREFECT:  # Prefect's classes (importing them takes seconds)
        upcoming = fire_times(schedule, timezone.now(), 5)
    else:
        upcoming = within_time_limit(fire_times, schedule, timezone.now(), 5)
    if not upcoming:
        where = "end" if schedule.end and schedule.end <= timezone.now() + HORIZON else "expression"
        raise ScheduleError(where, "it never fires from now on (within the next five years)")
    least = settings.SDL_MIN_SCHEDULE_INTERVAL_S
    for earlier, later in zip(upcoming, upcoming[1:], strict=False):
        if (later - earlier).total_seconds() < least:
            raise ScheduleError(
                "expression",
                f"it fires more often than every {least:g} s (SDL_MIN_SCHEDULE_INTERVAL_S)",
            )
    report = validate(schedule.workflow.document)
    if report.document is not None:
        _, issues = run_parameters(report.document, schedule.parameters or {})
        if issues:
            raise ScheduleError("parameters", str(issues[0]))
    if schedule.engine == Engine.PREFECT:
        prefect_schedules.check(schedule)
        try:
            prefect_engine.check_available()
        except prefect_engine.PrefectUnavailable as exc:
            raise ScheduleError("engine", str(exc))


def save(schedule: Schedule, user=None) -> Schedule:
    """The one way a schedule is saved (API, admin, CLI): checked (ScheduleError naming the
    field), stored with the user its runs run as, and its next fire planned."""
    schedule.created_at = schedule.created_at or timezone.now()
    check(schedule)
    if user is not None and (schedule.created_by_id is None or schedule.paused_reason):
        schedule.created_by = user  # saved again after a pause: it now runs as this user
    schedule.paused_reason = ""
    schedule.save()
    refresh(schedule)
    return schedule


def refresh(schedule: Schedule, now: datetime | None = None) -> None:
    """Point `next_fire_at` at the next fire after now (on save, or when reactivated)."""
    now = now or timezone.now()
    native = schedule.engine == Engine.NATIVE  # Prefect's scheduler fires the others
    upcoming = fire_times(schedule, now, 1) if schedule.active and native else []
    Schedule.objects.filter(pk=schedule.pk).update(next_fire_at=upcoming[0] if upcoming else None)
    schedule.next_fire_at = upcoming[0] if upcoming else None


def refusal(schedule: Schedule) -> str | None:
    """Why the schedule may not start a run now: checked at every fire, not only at save."""
    creator = schedule.created_by
    if schedule.workflow.deleted_at is not None:
        return "its workflow was deleted"
    if creator is None or not creator.is_active:
        return "the user it runs as no longer exists or is inactive"
    if not permissions.may(creator, schedule.workflow, Permission.RUN):
        return f"{creator.get_username()} may no longer run this workflow"
    return None


def pause(schedule: Schedule, reason: str) -> None:
    """Stop firing, saying why (shown in the admin and the API) until someone saves it."""
    Schedule.objects.filter(pk=schedule.pk).update(
        active=False, next_fire_at=None, paused_reason=reason[:500]
    )
    log.warning("schedule %s paused: %s", schedule.pk, reason)


def tick(now: datetime | None = None) -> list[int]:
    """Fire every due schedule once; returns the runs started. Safe to call from many
    processes at once."""
    now = now or timezone.now()
    started = []
    due_now = Schedule.objects.filter(active=True, engine=Engine.NATIVE, next_fire_at__lte=now)
    for schedule in due_now.select_related("workflow", "robot", "created_by"):
        due = schedule.next_fire_at
        following = fire_times(
            schedule, max(due, now) if now - due > GRACE else due, 1, last_fire=due
        )
        upcoming = following[0] if following else None
        claimed = Schedule.objects.filter(pk=schedule.pk, next_fire_at=due).update(
            next_fire_at=upcoming
        )
        if claimed != 1:
            continue  # another scheduler has it
        if now - due > GRACE:
            skipped = len(_between(schedule, due, now))
            with transaction.atomic():
                ScheduleFire.objects.create(
                    schedule=schedule,
                    planned_at=due,
                    missed=skipped,
                    note=f"{skipped} fire(s) from {due.isoformat()} to {now.isoformat()} were "
                    "missed while no scheduler ran; not replayed",
                )
            log.warning("schedule %s missed %s fire(s)", schedule.pk, skipped)
            continue
        reason = refusal(schedule)
        if reason:
            ScheduleFire.objects.create(
                schedule=schedule, planned_at=due, note=f"not run: {reason}"
            )
            pause(schedule, reason)
            continue
        try:
            run = runs.create_run(
                schedule.workflow,
                user=schedule.created_by,
                engine_name=schedule.engine,
                parameters=schedule.parameters,
                robot=schedule.robot,
                trigger=f"schedule {schedule.pk} for {due.isoformat()}",
                options={"schedule": schedule.pk, "planned_at": due.isoformat()},
            )
            ScheduleFire.objects.create(schedule=schedule, planned_at=due, run=run)
            started.append(run.pk)
        except runs.RunRefused as exc:
            ScheduleFire.objects.create(schedule=schedule, planned_at=due, note=f"not run: {exc}")
        except IntegrityError:
            continue
    return started


def _between(schedule: Schedule, due: datetime, now: datetime) -> list[datetime]:
    times, after = [due], due
    while len(times) < 100_000:
        following = fire_times(schedule, after, 1, last_fire=after)
        if not following or following[0] > now:
            break
        times.append(following[0])
        after = following[0]
    return times
