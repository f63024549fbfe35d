"""Fire-time rules of schedules: cron (croniter), fixed intervals and RFC 5545 rules
(dateutil), each in an IANA time zone — computed with bounded work.

A rule is searched only up to HORIZON past the time asked about (a rule that never fires,
such as the 30th of February, is refused rather than searched to the year 9999), and an RFC
rule is counted from the last fire rather than from its start (so a week-old secondly rule
costs what a new one does).
"""

import math
import threading
import warnings
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from dateutil.rrule import DAILY, rrule, rrulestr

from orchestration.models import ScheduleKind

HORIZON = timedelta(days=5 * 366)
# Rules finer than daily are searched a year ahead at most: dateutil walks them step by step.
FINE_HORIZON = timedelta(days=366)
TIME_LIMIT_S = 2.0  # what saving a schedule may spend on its fire times
LONGEST_INTERVAL = timedelta(days=366)


class ScheduleError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def zone(name: str) -> ZoneInfo:
    try:
        if len(name) > 64:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            "timezone", f"{name[:64]!r} is not an IANA time zone (e.g. Europe/Berlin)"
        )


def interval(expression: str) -> timedelta:
    try:
        seconds = float(expression)
    except ValueError:
        raise ScheduleError("expression", f"{expression[:40]!r} is not a number of seconds")
    if not math.isfinite(seconds) or seconds < 1:
        raise ScheduleError("expression", "an interval is a number of seconds, at least 1")
    if seconds > LONGEST_INTERVAL.total_seconds():
        raise ScheduleError("expression", "an interval is at most a year")
    return timedelta(seconds=seconds)


# dateutil's rrule keeps its parts private (`_dtstart`, `_until`, `_count`, `_freq`) and has
# no public accessors; this module is the one place that reads them.
def parse_rrule(expression: str, tz: ZoneInfo, start: datetime) -> rrule:
    try:
        rule = rrulestr(expression, dtstart=start.astimezone(tz).replace(microsecond=0))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ScheduleError("expression", f"not an RFC 5545 rule: {exc}")
    if not isinstance(rule, rrule):
        raise ScheduleError("expression", "give one RRULE (no RDATE or EXDATE)")
    if rule._dtstart.tzinfo is None:  # a DTSTART written without a zone: the schedule's zone
        rule = rule.replace(dtstart=rule._dtstart.replace(tzinfo=tz))
    return rule


def within_time_limit(function, *args):
    """`function(*args)`, refused (ScheduleError) when it takes longer than TIME_LIMIT_S: the
    computation is left to end by itself in the background, bounded by the horizon."""
    box: dict = {}

    def compute():
        try:
            box["value"] = function(*args)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=compute, name="sdl-fire-times", daemon=True)
    worker.start()
    worker.join(TIME_LIMIT_S)
    if worker.is_alive():
        raise ScheduleError(
            "expression",
            f"its fire times take more than {TIME_LIMIT_S:g} s to compute: give a simpler rule",
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def occurrences(
    kind: str,
    expression: str,
    tz: ZoneInfo,
    start: datetime,
    after: datetime,
    last_fire: datetime | None = None,
):
    """Fire times (aware, in `tz`) strictly after `after`, in wall-clock time of `tz`, up to
    HORIZON after it. `start` is the rule's first possible fire; `last_fire`, when given, an
    occurrence to count on from instead."""
    until = after + HORIZON
    try:
        if kind == ScheduleKind.CRON:
            if not croniter.is_valid(expression):
                raise ScheduleError("expression", f"{expression[:100]!r} is not a cron expression")
            it = croniter(expression, after.astimezone(tz))
            while (at := it.get_next(datetime)) <= until:
                yield at
        elif kind == ScheduleKind.INTERVAL:
            step = interval(expression)
            anchor = start.astimezone(tz)
            n = max(0, int((after - anchor) / step))
            while (at := anchor + n * step) <= until:
                if at > after:
                    yield at
                n += 1
        elif kind == ScheduleKind.RRULE:
            rule = parse_rrule(expression, tz, start)
            if rule._freq > DAILY:
                until = min(until, after + FINE_HORIZON)
            if last_fire is not None and rule._count is None:  # COUNT counts from the start
                rule = rule.replace(dtstart=last_fire.astimezone(tz))
            bound = until if rule._until is None else min(rule._until, until)
            with warnings.catch_warnings():  # COUNT with UNTIL: dateutil stops at either
                warnings.simplefilter("ignore", DeprecationWarning)
                rule = rule.replace(until=bound)
            at = rule.after(after.astimezone(tz))
            while at is not None and at <= until:
                yield at
                at = rule.after(at)
        else:
            raise ScheduleError("kind", f"unknown kind {kind[:40]}")
    except CroniterBadDateError:
        return  # no date matches: no occurrence
    except (OverflowError, ValueError) as exc:  # dates past the year 9999, and the like
        raise ScheduleError("expression", f"its fire times cannot be computed: {exc}")
