"""Working time for usage summaries: China's statutory holidays and make-up working days
(the ``holidays`` package) and office hours in the display time zone. Off-hours kilometres
of a trip are its distance times the share of its duration outside working time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

#: Office hours (local time) on a working day.
WORK_START = time(8, 0)
WORK_END = time(18, 0)
RULE_VERSION = "working-time-2026.1"


def as_json() -> dict[str, str]:
    return {"rule_version": RULE_VERSION, "work_start": WORK_START.isoformat(), "work_end": WORK_END.isoformat(),
            "calendar": "holidays.China (statutory holidays, make-up working days)"}


@lru_cache(maxsize=16)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def is_working_day(day: date) -> bool:
    """A weekday that is no statutory holiday, or a make-up working day (调休)."""
    calendar = _calendar(day.year)
    if day in getattr(calendar, "weekend_workdays", set()):
        return True
    return day.weekday() < 5 and day not in calendar


def off_hours_seconds(start: datetime, end: datetime, tz: ZoneInfo) -> float:
    """Seconds of [start, end) that fall outside office hours on working days."""
    if end <= start:
        return 0.0
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    total = (end - start).total_seconds()
    on_hours = 0.0
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day):
            open_at = datetime.combine(day, WORK_START, tz)
            close_at = datetime.combine(day, WORK_END, tz)
            overlap = (min(local_end, close_at) - max(local_start, open_at)).total_seconds()
            on_hours += max(overlap, 0.0)
        day += timedelta(days=1)
    return total - on_hours


def off_hours_km(distance_km: float, start: datetime, end: datetime | None, tz: ZoneInfo) -> float:
    """The part of a trip's distance driven outside working time (by duration share), km."""
    if end is None or end <= start:
        return distance_km if off_hours_seconds(start, start + timedelta(seconds=1), tz) > 0 else 0.0
    return distance_km * off_hours_seconds(start, end, tz) / (end - start).total_seconds()
