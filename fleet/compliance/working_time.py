"""Working time for usage summaries: the platform's working calendar (statutory holidays,
make-up working days and any official schedule an administrator loaded, see
``fleet.working_calendar``) and the office hours of the settings, in the display time zone.
Off-hours kilometres of a trip are its distance times the share of its duration outside
working time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from fleet.settings import get_settings
from fleet.working_calendar import WorkingCalendar

RULE_VERSION = "working-time-2026.2"


@dataclass(frozen=True)
class WorkingHours:
    """Office hours (local ``start``-``end``) on the working days of ``calendar``."""

    calendar: WorkingCalendar
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def from_session(cls, session: Session) -> WorkingHours:
        """The calendar in the database and the office hours of the settings."""
        settings = get_settings()
        return cls(WorkingCalendar.from_session(session), settings.rules.work_start, settings.rules.work_end, settings.tz)

    def as_json(self) -> dict[str, str]:
        return {"rule_version": RULE_VERSION, "work_start": self.start.isoformat(),
                "work_end": self.end.isoformat(), "time_zone": self.tz.key,
                "calendar": "official schedules loaded by administrators, else holidays.China"}

    def off_hours_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of [start, end) that fall outside office hours on working days."""
        if end <= start:
            return 0.0
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        on_hours = 0.0
        day = local_start.date()
        while day <= local_end.date():
            if self.calendar.is_working_day(day):
                open_at = datetime.combine(day, self.start, self.tz)
                close_at = datetime.combine(day, self.end, self.tz)
                on_hours += max((min(local_end, close_at) - max(local_start, open_at)).total_seconds(), 0.0)
            day += timedelta(days=1)
        return (end - start).total_seconds() - on_hours

    def off_hours_km(self, distance_km: float, start: datetime, end: datetime | None) -> float:
        """The part of a trip's distance driven outside working time (by duration share), km."""
        if end is None or end <= start:
            return distance_km if self.off_hours_seconds(start, start + timedelta(seconds=1)) > 0 else 0.0
        return distance_km * self.off_hours_seconds(start, end) / (end - start).total_seconds()
