"""The statistics report (统计报表) of an organisation subtree over a range of local days.

What counts, and where it comes from:

- **Trips planned / completed and cost** come from assignments (派车) whose planned pickup lies
  in the range, of the subtree's agencies (``Assignment.org_id``), that a dispatcher decided:
  assignments of an *accepted* dispatch plan, or made by hand (no plan). Proposed and
  superseded plans are drafts and do not count; nor do cancelled or rejected requests.
  Completed means the request reached ``completed``. Cost is the assignment's ``cost_cny``,
  split pool vs lease by ``Assignment.kind`` (CNY).
- **Km and the NEV km share** come from trips as driven (``Trip``: GPS motion split or the
  driver's entries) of the subtree's cars (``Vehicle.org_id``) that started in the range: the
  km of BEV and PHEV cars over all km.
- **Utilisation per car** is hours in trips over the working hours of the range: each working
  day (China's calendar, :mod:`fleet.working_calendar`) counts ``work_end - work_start`` hours
  (08:00-18:00 by default, 10 h). Trips count wholly, also outside working time, so a car
  driven evenings can pass 1.0. ``trips_per_working_day`` is given beside it.
- **Punctuality and waits**: for each trip started by its driver against a counted assignment
  (``Trip.assignment_id``), the delay is the trip's start minus the planned pickup. A start at
  most :data:`ON_TIME_TOLERANCE_S` late is on time; the wait is the delay when late (0 when
  early). Trips from the GPS split carry no assignment, so where no trip links to an
  assignment punctuality is unavailable, with the reason.
- **Alerts** are the compliance findings (one row per rule broken; an incident with two kinds
  counts under both) of the subtree's cars that started in the range, by kind and by
  disposition (``Alert.state``).

Times are UTC in the database; days are local days of the display time zone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from fleet.models import (
    NEV_ENERGIES,
    Alert,
    Assignment,
    AssignmentKind,
    DispatchPlan,
    Organisation,
    PlanStatus,
    RequestState,
    Trip,
    TripRequest,
    Vehicle,
    VehicleStatus,
)
from fleet.working_calendar import WorkingCalendar

#: The longest range one report covers, days.
MAX_RANGE_DAYS = 366
#: A trip started at most this long after its planned pickup is on time, seconds.
ON_TIME_TOLERANCE_S = 300.0
#: Request states whose assignments are not counted.
_DROPPED = (RequestState.cancelled, RequestState.rejected)


class RangeError(ValueError):
    """A date range the report refuses; the message names the field and the rule."""


# -- the answer -----------------------------------------------------------------------------


class KindFigures(BaseModel):
    """Trips and cost of one kind of car (pool or lease)."""

    trips_planned: int
    trips_completed: int
    cost_planned_cny: float
    cost_completed_cny: float


class DayFigures(BaseModel):
    day: date = Field(description="Local day.")
    trips_planned: int
    trips_completed: int
    pool_cost_cny: float
    lease_cost_cny: float
    km: float = Field(description="Km driven by the subtree's cars on trips started that day.")


class CarFigures(BaseModel):
    vehicle_id: int
    plate: str
    ownership: str
    energy: str
    trips: int = Field(description="Trips as driven that started in the range.")
    km: float
    trip_hours: float = Field(description="Hours in those trips.")
    utilisation: float = Field(description="trip_hours / working hours of the range (may pass 1.0).")
    trips_per_working_day: float


class Punctuality(BaseModel):
    available: bool
    reason: str | None = Field(None, description="Why it cannot be measured: a code (no_linked_trips).")
    tolerance_s: float = ON_TIME_TOLERANCE_S
    measured: int = Field(0, description="Trips with both a planned pickup and a start.")
    on_time: int = 0
    on_time_share: float | None = None
    mean_delay_min: float | None = Field(None, description="Mean start minus planned pickup; negative: early.")
    median_delay_min: float | None = None
    mean_wait_min: float | None = Field(None, description="Mean of the delays, early starts as 0.")
    max_wait_min: float | None = None


class Statistics(BaseModel):
    """The report of ``org_id``'s subtree over the local days ``since`` .. ``until``."""

    org_id: int
    org_name: str
    since: date
    until: date = Field(description="Last day, inclusive.")
    days: int
    working_days: int
    working_hours_per_day: float
    trips_planned: int
    trips_completed: int
    trips_driven: int
    km: float
    nev_km: float
    nev_km_share: float | None = Field(description="nev_km / km, 0..1; empty without km.")
    cost_cny: float
    pool: KindFigures
    lease: KindFigures
    per_day: list[DayFigures]
    cars: list[CarFigures] = Field(description="Cars by utilisation, highest first.")
    punctuality: Punctuality
    alerts_total: int
    alerts_by_kind: dict[str, int]
    alerts_by_state: dict[str, int]
    calendar_warnings: list[str]


# -- plain inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRow:
    assignment_id: int
    kind: AssignmentKind
    planned_pickup: datetime
    cost_cny: float
    completed: bool


@dataclass(frozen=True)
class TripRow:
    vehicle_id: int
    assignment_id: int | None
    started_at: datetime
    ended_at: datetime | None
    distance_km: float


@dataclass(frozen=True)
class CarRow:
    vehicle_id: int
    plate: str
    ownership: str
    energy: str


@dataclass(frozen=True)
class ReportRange:
    """Local days ``since`` .. ``until`` (inclusive) and what the calendar says of them."""

    since: date
    until: date
    tz: ZoneInfo
    working_days: int
    working_hours_per_day: float
    warnings: tuple[str, ...] = ()

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(0), self.tz)

    @property
    def end(self) -> datetime:
        """Exclusive end: midnight after ``until``."""
        return datetime.combine(self.until + timedelta(days=1), time(0), self.tz)

    def day_list(self) -> list[date]:
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


def check_range(since: date, until: date) -> None:
    """Raise :class:`RangeError` for ``until`` before ``since`` or a range over the maximum."""
    if until < since:
        raise RangeError("until: must not be before since")
    days = (until - since).days + 1
    if days > MAX_RANGE_DAYS:
        raise RangeError(f"until: the range is {days} days; at most {MAX_RANGE_DAYS} days")


def report_range(since: date, until: date, tz: ZoneInfo, calendar: WorkingCalendar,
                 work_start: time, work_end: time) -> ReportRange:
    """The checked range with its working days (``calendar``) and working hours per day."""
    check_range(since, until)
    answers = [calendar.answer(since + timedelta(days=n)) for n in range((until - since).days + 1)]
    hours = (datetime.combine(since, work_end) - datetime.combine(since, work_start)).total_seconds() / 3600
    warnings = tuple(dict.fromkeys(a.warning for a in answers if a.warning))
    return ReportRange(since, until, tz, sum(a.working for a in answers), max(hours, 0.0), warnings)


# -- the pure computation -------------------------------------------------------------------


def _kind_figures(rows: Sequence[AssignmentRow], kind: AssignmentKind) -> KindFigures:
    mine = [r for r in rows if r.kind == kind]
    return KindFigures(
        trips_planned=len(mine), trips_completed=sum(r.completed for r in mine),
        cost_planned_cny=round(sum(r.cost_cny for r in mine), 2),
        cost_completed_cny=round(sum(r.cost_cny for r in mine if r.completed), 2))


def _trip_hours(trip: TripRow, now: datetime) -> float:
    """Hours of ``trip``; one still open runs until ``now``."""
    end = trip.ended_at or now
    return max((end - trip.started_at).total_seconds(), 0.0) / 3600


def _per_day(span: ReportRange, assignments: Sequence[AssignmentRow], trips: Sequence[TripRow]) -> list[DayFigures]:
    figures = {day: {"planned": 0, "completed": 0, "pool": 0.0, "lease": 0.0, "km": 0.0} for day in span.day_list()}
    for row in assignments:
        day = figures.get(row.planned_pickup.astimezone(span.tz).date())
        if day is None:
            continue
        day["planned"] += 1
        day["completed"] += row.completed
        day["pool" if row.kind == AssignmentKind.pool else "lease"] += row.cost_cny
    for trip in trips:
        day = figures.get(trip.started_at.astimezone(span.tz).date())
        if day is not None:
            day["km"] += trip.distance_km
    return [DayFigures(day=day, trips_planned=int(f["planned"]), trips_completed=int(f["completed"]),
                       pool_cost_cny=round(f["pool"], 2), lease_cost_cny=round(f["lease"], 2), km=round(f["km"], 2))
            for day, f in figures.items()]


def _cars(span: ReportRange, cars: Sequence[CarRow], trips: Sequence[TripRow], now: datetime) -> list[CarFigures]:
    available_h = span.working_days * span.working_hours_per_day
    out = []
    for car in cars:
        mine = [t for t in trips if t.vehicle_id == car.vehicle_id]
        hours = sum(_trip_hours(t, now) for t in mine)
        out.append(CarFigures(
            vehicle_id=car.vehicle_id, plate=car.plate, ownership=car.ownership, energy=car.energy,
            trips=len(mine), km=round(sum(t.distance_km for t in mine), 2), trip_hours=round(hours, 2),
            utilisation=round(hours / available_h, 4) if available_h else 0.0,
            trips_per_working_day=round(len(mine) / span.working_days, 3) if span.working_days else 0.0))
    return sorted(out, key=lambda c: (-c.utilisation, c.plate))


def punctuality(assignments: Sequence[AssignmentRow], trips: Sequence[TripRow]) -> Punctuality:
    """Delays of the trips started against ``assignments`` (the first trip of each)."""
    planned = {a.assignment_id: a.planned_pickup for a in assignments}
    first: dict[int, datetime] = {}
    for trip in trips:
        if trip.assignment_id in planned:
            seen = first.get(trip.assignment_id)
            first[trip.assignment_id] = trip.started_at if seen is None else min(seen, trip.started_at)
    if not first:
        return Punctuality(available=False, reason="no_linked_trips")
    delays_min = [(start - planned[a]).total_seconds() / 60 for a, start in first.items()]
    waits_min = [max(d, 0.0) for d in delays_min]
    on_time = sum(d * 60 <= ON_TIME_TOLERANCE_S for d in delays_min)
    return Punctuality(
        available=True, measured=len(delays_min), on_time=on_time,
        on_time_share=round(on_time / len(delays_min), 4),
        mean_delay_min=round(sum(delays_min) / len(delays_min), 1), median_delay_min=round(median(delays_min), 1),
        mean_wait_min=round(sum(waits_min) / len(waits_min), 1), max_wait_min=round(max(waits_min), 1))


def summarise(org: Organisation, span: ReportRange, assignments: Sequence[AssignmentRow], trips: Sequence[TripRow],
              cars: Sequence[CarRow], nev_vehicle_ids: Iterable[int], alerts: Sequence[tuple[str, str]],
              now: datetime) -> Statistics:
    """The report from plain rows: ``trips`` of the subtree's cars started in the range,
    ``alerts`` as (kind, state) pairs; open trips run until ``now``."""
    nev = set(nev_vehicle_ids)
    km = sum(t.distance_km for t in trips)
    nev_km = sum(t.distance_km for t in trips if t.vehicle_id in nev)
    pool, lease = _kind_figures(assignments, AssignmentKind.pool), _kind_figures(assignments, AssignmentKind.lease)
    return Statistics(
        org_id=org.id or 0, org_name=org.name, since=span.since, until=span.until,
        days=(span.until - span.since).days + 1, working_days=span.working_days,
        working_hours_per_day=span.working_hours_per_day,
        trips_planned=len(assignments), trips_completed=sum(a.completed for a in assignments),
        trips_driven=len(trips), km=round(km, 2), nev_km=round(nev_km, 2),
        nev_km_share=round(nev_km / km, 4) if km else None,
        cost_cny=round(pool.cost_planned_cny + lease.cost_planned_cny, 2), pool=pool, lease=lease,
        per_day=_per_day(span, assignments, trips), cars=_cars(span, cars, trips, now),
        punctuality=punctuality(assignments, trips),
        alerts_total=len(alerts), alerts_by_kind=dict(sorted(Counter(k for k, _ in alerts).items())),
        alerts_by_state=dict(sorted(Counter(s for _, s in alerts).items())),
        calendar_warnings=list(span.warnings))


# -- the database side ----------------------------------------------------------------------


def statistics(session: Session, org: Organisation, span: ReportRange, now: datetime) -> Statistics:
    """Load the rows of ``org``'s subtree in ``span`` and compute the report."""
    subtree = select(Organisation.id).where(col(Organisation.path).startswith(org.path))
    decided = (col(Assignment.plan_id).is_(None)
               | col(Assignment.plan_id).in_(select(DispatchPlan.id).where(DispatchPlan.status == PlanStatus.accepted)))
    assignment_rows = session.exec(
        select(Assignment, TripRequest.state).join(TripRequest, col(TripRequest.id) == Assignment.request_id)
        .where(col(Assignment.org_id).in_(subtree), decided)
        .where(col(Assignment.planned_pickup) >= span.start, col(Assignment.planned_pickup) < span.end)
        .where(col(TripRequest.state).not_in(_DROPPED))).all()
    assignments = [AssignmentRow(a.id or 0, AssignmentKind(a.kind), a.planned_pickup, a.cost_cny,
                                 RequestState(state) == RequestState.completed) for a, state in assignment_rows]
    vehicles = session.exec(select(Vehicle).where(col(Vehicle.org_id).in_(subtree))
                            .order_by(col(Vehicle.plate))).all()
    vehicle_ids = [v.id for v in vehicles]
    trips = [TripRow(t.vehicle_id, t.assignment_id, t.started_at, t.ended_at, t.distance_km)
             for t in session.exec(select(Trip).where(col(Trip.vehicle_id).in_(vehicle_ids))
                                   .where(col(Trip.started_at) >= span.start, col(Trip.started_at) < span.end))]
    driven = {t.vehicle_id for t in trips}
    cars = [CarRow(v.id or 0, v.plate, str(v.ownership), str(v.energy)) for v in vehicles
            if v.status != VehicleStatus.retired or v.id in driven]
    alerts = session.exec(select(Alert.kind, Alert.state).where(col(Alert.vehicle_id).in_(vehicle_ids))
                          .where(col(Alert.started_at) >= span.start, col(Alert.started_at) < span.end)).all()
    return summarise(org, span, assignments, trips, cars, [v.id for v in vehicles if v.energy in NEV_ENERGIES],
                     [(kind, str(state)) for kind, state in alerts], now)


# -- tables for downloads -------------------------------------------------------------------


def report_tables(report: Statistics) -> dict[str, tuple[list[str], list[list[object]]]]:
    """The report as named tables (columns, rows) for CSV and XLSX downloads: summary
    (metric, value), days, cars and alerts (dimension, key, count)."""
    p = report.punctuality
    summary: list[list[object]] = [
        ["org_id", report.org_id], ["org_name", report.org_name], ["since", report.since.isoformat()],
        ["until", report.until.isoformat()], ["days", report.days], ["working_days", report.working_days],
        ["trips_planned", report.trips_planned], ["trips_completed", report.trips_completed],
        ["trips_driven", report.trips_driven], ["km", report.km], ["nev_km", report.nev_km],
        ["nev_km_share", report.nev_km_share], ["cost_cny", report.cost_cny],
        *([f"{kind}_{name}", value] for kind, figures in (("pool", report.pool), ("lease", report.lease))
          for name, value in figures.model_dump().items()),
        ["punctuality_available", p.available], ["punctuality_reason", p.reason],
        ["punctuality_measured", p.measured], ["punctuality_on_time", p.on_time],
        ["punctuality_on_time_share", p.on_time_share], ["mean_delay_min", p.mean_delay_min],
        ["mean_wait_min", p.mean_wait_min], ["alerts_total", report.alerts_total],
    ]
    day_columns = list(DayFigures.model_fields)
    days = [[d.day.isoformat(), *(getattr(d, c) for c in day_columns[1:])] for d in report.per_day]
    car_columns = list(CarFigures.model_fields)
    cars = [[getattr(c, name) for name in car_columns] for c in report.cars]
    alerts = [["kind", k, n] for k, n in report.alerts_by_kind.items()]
    alerts += [["state", s, n] for s, n in report.alerts_by_state.items()]
    return {"summary": (["metric", "value"], summary), "days": (day_columns, days),
            "cars": (car_columns, cars), "alerts": (["dimension", "key", "count"], alerts)}
