"""How much each car is driven: the one source of annual km and utilisation that every plan
built from the database uses (the API, the console page and ``fleet plan-replacement --org``).

A car's usage comes from, in this order:

- ``trips``: its trips (the telematics motion split and the drivers' entries, table ``trip``)
  within the last ``MEASUREMENT_DAYS`` days, when the platform observed the car there (it has a
  trip or a GPS fix in the window) and the window's observed part spans at least
  ``MIN_OBSERVED_DAYS`` days. The observed part starts at the car's first GPS fix or trip,
  whichever is earlier (a terminal fitted last week has seen a week), or for a car without fixes (trips the drivers entered)
  at the first trip or fix of any car of the fleet planned (when the platform began
  recording); never before the car's purchase or the window start: a platform that went live
  this week would otherwise extrapolate a few days to a year. Annual km is the km driven scaled from the observed days to a year;
  utilisation the share of working days with a trip (China's calendar with make-up working
  days). A car whose terminal reports it standing all the while is measured at 0 km;
- ``odometer``: the lifetime average, odometer reading over age (at least
  ``MIN_AGE_YEARS``), where the car has no such history; utilisation unknown;
- ``unknown``: no history and no odometer reading. Annual km 0 for the costs, and the car is
  never idle for it: an unmeasured car is not retired for not being driven.

Distances in km, annual km in km/year, times UTC.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet.models import Position, Trip, Vehicle
from fleet.replacement.inputs import UsageSource

#: Days of trips that measure a car's annual km and utilisation.
MEASUREMENT_DAYS = 365
#: Least days the platform must have observed a car for its trips to measure it.
MIN_OBSERVED_DAYS = 30
#: A car younger than this is averaged over this age, years.
MIN_AGE_YEARS = 0.5
#: Upper bound of a car record's annual km (``CarRecord.annual_km``), km/year.
MAX_ANNUAL_KM = 300_000.0


@dataclass(frozen=True)
class CarUsage:
    """One car's usage: annual km (km/year), utilisation share (None: unknown), where they
    come from, and the days of trips measured (None unless from trips)."""

    annual_km: float
    utilisation_share: float | None
    source: UsageSource
    observed_days: int | None = None


def car_usage(
    session: Session, vehicles: Sequence[Vehicle], odometer_km: dict[int, float], as_of: datetime, tz: ZoneInfo
) -> dict[int, CarUsage]:
    """Usage per vehicle id of ``vehicles`` (the fleet planned) on ``as_of`` (UTC);
    ``odometer_km`` is each car's best reading (km), ``tz`` decides on which local day a trip
    was driven."""
    since = as_of - timedelta(days=MEASUREMENT_DAYS)
    ids = [v.id for v in vehicles]
    first_trip = _first_in_window(session, ids, Trip.started_at, since, as_of)
    first_fix = _first_in_window(session, ids, Position.ts, since, as_of)
    seen = [*first_trip.values(), *first_fix.values()]
    km: dict[int, float] = defaultdict(float)
    days: dict[int, set[date]] = defaultdict(set)
    for vehicle_id, started_at, distance_km in session.exec(
        select(Trip.vehicle_id, Trip.started_at, Trip.distance_km)
        .where(col(Trip.vehicle_id).in_(ids))
        .where(col(Trip.started_at) >= since)
        .where(col(Trip.started_at) < as_of)
    ).all():
        km[vehicle_id] += distance_km
        days[vehicle_id].add(started_at.astimezone(tz).date())
    last_day = as_of.astimezone(tz).date()
    recording_from = min(seen, default=as_of).astimezone(tz).date()
    working = _working_days(recording_from, last_day)
    usage = {}
    for vehicle in vehicles:
        assert vehicle.id is not None
        fix, trip = first_fix.get(vehicle.id), first_trip.get(vehicle.id)
        own = recording_from if fix is None else min(fix, trip or fix).astimezone(tz).date()
        start = max(own, vehicle.purchase_date)
        observed = (last_day - start).days
        if (fix or trip) and observed >= MIN_OBSERVED_DAYS:
            workdays = {d for d in working if d >= start}
            usage[vehicle.id] = CarUsage(
                annual_km=round(min(km[vehicle.id] * 365.25 / observed, MAX_ANNUAL_KM), 1),
                utilisation_share=round(len(days[vehicle.id] & workdays) / len(workdays), 4) if workdays else None,
                source=UsageSource.trips,
                observed_days=observed,
            )
        else:
            usage[vehicle.id] = lifetime_usage(odometer_km.get(vehicle.id, 0.0), vehicle.purchase_date, as_of.date())
    return usage


def lifetime_usage(odometer_km: float, purchase_date: date, today: date) -> CarUsage:
    """Usage from the odometer alone: reading over age (at least ``MIN_AGE_YEARS``), km/year;
    ``unknown`` without a reading."""
    if odometer_km <= 0:
        return CarUsage(annual_km=0.0, utilisation_share=None, source=UsageSource.unknown)
    age_years = max((today - purchase_date).days / 365.25, MIN_AGE_YEARS)
    return CarUsage(
        annual_km=round(min(odometer_km / age_years, MAX_ANNUAL_KM), 1), utilisation_share=None,
        source=UsageSource.odometer,
    )


def _first_in_window(
    session: Session, ids: list[int | None], column: Any, since: datetime, as_of: datetime
) -> dict[int, datetime]:
    """The earliest ``column`` (a trip's start or a fix's time) of each car within
    [since, as_of), UTC; cars without one are left out. One indexed minimum per car, so the
    fixes are never scanned."""
    table = column.class_
    earliest = (
        select(func.min(column))
        .where(table.vehicle_id == Vehicle.id)
        .where(col(column) >= since)
        .where(col(column) < as_of)
        .correlate(Vehicle)
        .scalar_subquery()
    )
    rows = session.exec(select(Vehicle.id, earliest).where(col(Vehicle.id).in_(ids))).all()
    return {vehicle_id: at for vehicle_id, at in rows if at is not None}


def _working_days(first: date, last: date) -> set[date]:
    """Working days in [first, last): weekdays that are no statutory holiday, and make-up
    working days (调休) on weekends, by the ``holidays`` China calendar."""
    calendar = holidays.China(years=range(first.year, last.year + 1))
    makeup = set(getattr(calendar, "weekend_workdays", set()))
    days = set()
    day = first
    while day < last:
        if (day.weekday() < 5 and day not in calendar) or day in makeup:
            days.add(day)
        day += timedelta(days=1)
    return days
