"""Fire-time rules of schedules: cron (croniter), fixed intervals and RFC 5545 rules
(dateutil), each in an IANA time zone."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from dateutil.rrule import rrulestr

from orchestration.models import ScheduleKind


class ScheduleError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("timezone", f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)")


def occurrences(kind: str, expression: str, tz: ZoneInfo, start: datetime, after: datetime):
    """Fire times (aware, in `tz`) strictly after `after`, in wall-clock time of `tz`."""
    if kind == ScheduleKind.CRON:
        if not croniter.is_valid(expression):
            raise ScheduleError("expression", f"{expression!r} is not a cron expression")
        it = croniter(expression, after.astimezone(tz))
        while True:
            yield it.get_next(datetime)
    elif kind == ScheduleKind.INTERVAL:
        try:
            seconds = float(expression)
        except ValueError:
            raise ScheduleError("expression", f"{expression!r} is not a number of seconds")
        if seconds < 1:
            raise ScheduleError("expression", "an interval must be at least 1 second")
        step = timedelta(seconds=seconds)
        anchor = start.astimezone(tz)
        n = max(0, int((after - anchor) / step))
        while True:
            at = anchor + n * step
            if at > after:
                yield at
            n += 1
    elif kind == ScheduleKind.RRULE:
        try:
            rule = rrulestr(expression, dtstart=start.astimezone(tz).replace(microsecond=0))
        except (ValueError, TypeError) as exc:
            raise ScheduleError("expression", f"not an RFC 5545 rule: {exc}")
        at = rule.after(after.astimezone(tz))
        while at is not None:
            yield at
            at = rule.after(at)
    else:
        raise ScheduleError("kind", f"unknown kind {kind}")
