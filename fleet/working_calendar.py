"""China's working calendar: statutory holidays, days off and make-up working days (调休).

The defaults come from the ``holidays`` library's China calendar (its ``weekend_workdays`` are
the make-up working days). The State Council publishes each year's schedule late in the year
before; an administrator loads it (`fleet calendar load`), and a loaded year overrides the
library entirely. A year that is neither loaded nor published in the library is answered from
the library's rules (statutory holidays on their lunar/solar dates, no make-up working days)
with a visible warning, logged and carried into alert evidence; it never fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import holidays
import structlog
from sqlmodel import Session, col, delete, select

from fleet.audit import record
from fleet.models.telemetry import CalendarDay, CalendarYear

log = structlog.get_logger(__name__)


class CalendarError(ValueError):
    """An official schedule that cannot be loaded; the message names the field and the rule."""


@dataclass(frozen=True)
class DayAnswer:
    """Whether ``day`` is a working day, and whether an official schedule backs the answer."""

    day: date
    working: bool
    official: bool
    warning: str | None = None


@dataclass(frozen=True)
class _LibraryYear:
    rest_days: frozenset[date]
    make_up_days: frozenset[date]
    published: bool


@lru_cache(maxsize=64)
def _library_year(year: int) -> _LibraryYear:
    """The ``holidays`` China calendar for ``year``; empty (unpublished) if it cannot say."""
    try:
        calendar = holidays.country_holidays("CN", years=year)
        rest = frozenset(d for d in calendar if d.year == year)
        make_up = frozenset(d for d in calendar.weekend_workdays if d.year == year)
        published = year in calendar.special_public_holidays
    except (NotImplementedError, ValueError, KeyError, OverflowError) as exc:
        log.warning("calendar_library_failed", year=year, error=str(exc))
        return _LibraryYear(frozenset(), frozenset(), False)
    return _LibraryYear(rest, make_up, published)


def _plain_week(day: date) -> bool:
    return day.weekday() < 5


class WorkingCalendar:
    """Answers "is this a working day" from official overrides first, then the library."""

    def __init__(self, overrides: dict[date, bool] | None = None,
                 official_years: set[int] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._official_years = set(official_years or ())
        self._warned: set[int] = set()

    @classmethod
    def from_session(cls, session: Session) -> WorkingCalendar:
        """The calendar with every official schedule loaded in the database."""
        years = set(session.exec(select(CalendarYear.year)).all())
        days = session.exec(select(CalendarDay.day, CalendarDay.is_working_day)).all()
        return cls({d: w for d, w in days}, years)

    def answer(self, day: date) -> DayAnswer:
        """Whether ``day`` (a local date) is a working day, with any warning."""
        if day.year in self._official_years:
            return DayAnswer(day, self._overrides.get(day, _plain_week(day)), True)
        library = _library_year(day.year)
        if day in library.make_up_days:
            working = True
        elif day in library.rest_days:
            working = False
        else:
            working = _plain_week(day)
        if library.published:
            return DayAnswer(day, working, True)
        warning = (f"no official holiday schedule for {day.year}: working days follow the "
                   "holidays library's rules without make-up working days")
        if day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("calendar_unofficial_year", year=day.year, detail=warning)
        return DayAnswer(day, working, False, warning)

    def is_working_day(self, day: date) -> bool:
        return self.answer(day).working


def parse_schedule(document: dict[str, Any]) -> tuple[int, str, list[CalendarDay]]:
    """Check an official schedule document and return (year, source, days).

    Format: ``{"year": 2027, "source": "国办发明电〔2026〕x号", "rest_days": [{"date":
    "2027-02-08", "name": "春节"}], "working_days": [{"date": "2027-02-14", "name": "春节调休"}]}``
    (``rest_days`` are holidays and days off on weekdays or weekends; ``working_days`` are
    make-up working days). Raises :class:`CalendarError` naming the field."""
    year = document.get("year")
    if not isinstance(year, int) or not 1950 <= year <= 2200:
        raise CalendarError("year: must be a whole year between 1950 and 2200")
    source = document.get("source")
    if not isinstance(source, str) or not 1 <= len(source) <= 200:
        raise CalendarError("source: name the State Council notice (1-200 characters)")
    days: dict[date, CalendarDay] = {}
    for key, working in (("rest_days", False), ("working_days", True)):
        entries = document.get(key, [])
        if not isinstance(entries, list):
            raise CalendarError(f"{key}: must be a list of {{date, name}} objects")
        for i, entry in enumerate(entries):
            where = f"{key}[{i}]"
            if not isinstance(entry, dict):
                raise CalendarError(f"{where}: must be an object with date and name")
            try:
                day = date.fromisoformat(str(entry.get("date")))
            except ValueError as exc:
                raise CalendarError(f"{where}.date: must be an ISO date YYYY-MM-DD") from exc
            if day.year != year:
                raise CalendarError(f"{where}.date: {day} is not in {year}")
            if day in days:
                raise CalendarError(f"{where}.date: {day} is listed twice")
            name = str(entry.get("name", ""))[:120]
            days[day] = CalendarDay(day=day, year=year, is_working_day=working, name=name)
    return year, source, sorted(days.values(), key=lambda d: d.day)


def load_official_schedule(session: Session, document: dict[str, Any], actor: str = "cli") -> int:
    """Store (or replace) a year's official schedule and audit it; returns the year. The
    caller commits."""
    year, source, days = parse_schedule(document)
    before = session.get(CalendarYear, year)
    session.exec(delete(CalendarDay).where(col(CalendarDay.year) == year))  # type: ignore[call-overload]
    if before is None:
        session.add(CalendarYear(year=year, source=source, loaded_by=actor))
    else:
        before.source, before.loaded_by = source, actor
    session.flush()
    session.add_all(days)
    record(session, actor, "calendar.load", "calendar_year", year, None,
           {"source": source, "rest_days": [str(d.day) for d in days if not d.is_working_day],
            "working_days": [str(d.day) for d in days if d.is_working_day]})
    return year
