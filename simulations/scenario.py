"""Scenarios: which fleet, which simulated day and hours, how much demand and misbehaviour,
and how fast simulated time runs.

Simulated time is event time: terminals stamp fixes with simulated instants, and the platform
judges by those. The platform refuses fixes more than 5 minutes in the future, so an
accelerated run plays a day in the past. The default day is Thursday 2026-10-08, the first
working day after the National Day holiday (1-7 October 2026): the day before is a statutory
day off, so holiday use can be planted on it (uploaded late by the terminal), and a working
day after a long holiday brings a full demand peak. ``fleet demo`` plays today at real pace.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Scenario:
    """A simulated stretch of one local day."""

    name: str
    day: date
    start: time
    hours: float
    requests: int
    cars: int | None = None  # None: every car with a terminal
    fix_interval_s: float = 10.0
    upload_interval_s: float = 60.0
    speed: float = 150.0  # simulated seconds per wall-clock second (a day in 9.6 min)
    plan_time_limit_s: float = 20.0
    seed: int = 2021
    misbehaviour: dict[str, int] = field(default_factory=dict)
    #: Town trips picked up 5-30 minutes into the window, whatever the hour (see
    #: ``simulations.demand``), so that a live day has cars on the road at once.
    soon_requests: int = 0
    #: A live run (real pace, event time = wall-clock time) starts with a private drive this
    #: many seconds after play begins (None: no such drive), so that it raises an alert
    #: within minutes.
    opening_incident_s: float | None = None

    @property
    def local_midnight(self) -> datetime:
        return datetime.combine(self.day, time(0), tzinfo=TZ)

    @property
    def window(self) -> tuple[datetime, datetime]:
        """Simulated UTC start and end."""
        start = datetime.combine(self.day, self.start, tzinfo=TZ)
        return start, start + timedelta(hours=self.hours)


def is_rest_day(day: date) -> bool:
    """A statutory holiday or day off, or a weekend that is not a make-up working day."""
    calendar = holidays.country_holidays("CN", years=day.year)
    if day in calendar:
        return True
    return day.weekday() >= 5 and day not in calendar.weekend_workdays


def latest_rest_day(before: date) -> date:
    """The nearest rest day strictly before ``before`` (always within 9 days)."""
    day = before - timedelta(days=1)
    while not is_rest_day(day):
        day -= timedelta(days=1)
    return day


SCENARIOS: dict[str, Scenario] = {
    "small": Scenario(
        name="small", day=date(2026, 10, 8), start=time(7, 20), hours=1.0, requests=10, cars=20,
        upload_interval_s=30.0, speed=180.0, plan_time_limit_s=5.0,
        misbehaviour={"night_trip": 1, "holiday_use": 1, "forbidden_venue": 1, "detour": 1, "speeding": 1,
                      "unplugged": 1},
    ),
    "default": Scenario(
        name="default", day=date(2026, 10, 8), start=time(0, 0), hours=24.0, requests=400,
        misbehaviour={"night_trip": 6, "holiday_use": 4, "forbidden_venue": 6, "night_at_home": 4, "detour": 5,
                      "speeding": 5, "unplugged": 4, "out_of_area": 3},
    ),
}


#: How long after play begins a live day's opening private drive departs, seconds.
OPENING_INCIDENT_S = 5.0


def live_scenario(now: datetime, hours: float = 10.0, requests: int = 200) -> Scenario:
    """Today from ``now`` at real pace, for ``fleet demo``."""
    local = now.astimezone(TZ)
    base = SCENARIOS["default"]
    return replace(base, name="live", day=local.date(), start=local.time().replace(microsecond=0),
                   hours=min(hours, 24 - local.hour - local.minute / 60 - 0.01), requests=requests,
                   speed=1.0, upload_interval_s=10.0, plan_time_limit_s=5.0, soon_requests=12,
                   opening_incident_s=OPENING_INCIDENT_S,
                   misbehaviour={"night_trip": 2, "holiday_use": 2, "forbidden_venue": 3, "detour": 2,
                                 "speeding": 2, "unplugged": 2, "out_of_area": 2})
