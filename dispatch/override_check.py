"""A dispatcher's override of one assignment's car or driver, checked by the plan checker.

An override moves one trip (the *edited* assignment) to another pool car or driver. The car's
day is every live assignment of that car on the trip's service date (one per request: the
edited trip's plan first, then confirmed assignments, then the newest); it becomes a one-car
instance (:mod:`dispatch.instance`) and a one-route plan at the stored planned times, which
:func:`dispatch.check.plan_violations` verifies: seats on every leg, class, NEV, the shift,
the range, reaching every stop in time (a trip overlapping another of the car that is no
allowed shared ride), exclusive trips and agencies that share only within. The driver's day
adds the driver's trips in other cars at the same time and the driver's shift. Only what the
change breaks is reported: findings of the state before it (the old car's day with the trip,
the new car's day without it, the old driver's day) are left out.

After an override both cars' routes are priced again (each trip's share of its route,
:func:`dispatch.stops.trip_costs_cny`) and the edited trip's reason becomes
``dispatcher_override``. Money is CNY, distances km, times timezone-aware (stored UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from dispatch.check import Violation, plan_violations
from dispatch.day_instance import (
    SERVICE_DROPOFF_S,
    PlanInputError,
    _with_ride_ceilings,
    day_window_utc,
    instance_request_id,
    instance_vehicle_id,
    request_data,
    shift_window_utc,
)
from dispatch.instance import Instance, InstanceError, parse_instance
from dispatch.plan import Plan, Route, Stop
from dispatch.problem import compile_problem
from dispatch.stops import co_riders, trip_costs_cny
from dispatch.travel import TravelMatrix, instance_matrix
from fleet.models import (
    Assignment,
    Depot,
    Driver,
    Energy,
    Organisation,
    RequestState,
    TripRequest,
    Vehicle,
    VehicleStatus,
)
from fleet.models.dispatch_plan import DispatchPlan, PlanStatus
from fleet.settings import Settings

#: Request states whose assignments hold a car and a driver at their planned times.
HOLDING_STATES = (RequestState.approved, RequestState.planned, RequestState.assigned,
                  RequestState.in_progress, RequestState.completed)

#: The rules an override can break (``Breach.code``), in the words an API client reads; the
#: placeholders are the breach's ``params``.
OVERRIDE_RULES = {
    "seats": "{plate} has {seats} passenger seats; {passengers} would be on board",
    "vehicle_class": "the trip needs a {wanted}; {plate} is a {actual}",
    "nev_required": "the trip needs a new-energy vehicle; {plate} is not one",
    "shift": "the trip lies outside the shift {shift_start} to {shift_end} ({who})",
    "range": "{plate} would drive {km} km, beyond its usable range of {usable_km} km",
    "car_overlap": "{plate} is on assignment {assignment_id} (request {request_id}) at that time",
    "driver_overlap": "{driver} drives {plate} on assignment {assignment_id} (request {request_id}) "
                      "at that time",
    "exclusive": "an exclusive trip rides alone; {plate} carries assignment {assignment_id} "
                 "(request {request_id}) at that time",
    "share_within_agency": "assignment {assignment_id} (request {request_id}) in {plate} is of "
                           "another agency and one of them shares only within",
    "pickup_window": "the pickup at {pickup} lies outside the window {earliest} to {latest}",
    "max_ride": "the ride would last {ride_s} s, beyond its ceiling of {max_ride_s} s",
    "dropoff_late": "the drop-off at {dropoff} is after the latest drop-off {latest}",
    "car_unavailable": "{plate} is not available (status {status})",
    "car_no_depot": "{plate} has no home depot to start from",
    "driver_inactive": "{driver} is not an active driver",
}


class _Figures(dict[str, Any]):
    """A breach's figures for a sentence: one it lacks reads as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Breach:
    """A rule an override breaks: ``code`` of :data:`OVERRIDE_RULES`, the request field it
    concerns (``vehicle_id`` or ``driver_id``) and the figures: platform ids, plates, names,
    ISO-8601 times, km and seconds."""

    code: str
    field: str
    params: dict[str, Any]

    @property
    def message(self) -> str:
        """The rule in English, with its figures (a figure the clash lacks is left blank)."""
        return OVERRIDE_RULES[self.code].format_map(_Figures(self.params))

    def stored(self) -> dict[str, Any]:
        """As kept on the assignment (``override_warnings``): ``{code, params}``."""
        return {"code": self.code, "params": self.params}


@dataclass(frozen=True)
class _Ride:
    """One live assignment of the day with the car and driver it has in a given state."""

    assignment: Assignment
    request: TripRequest
    vehicle_id: int | None
    driver_id: int | None

    @property
    def key(self) -> str:
        return instance_request_id(self.request.id or 0)


class _Day:
    """The live assignments of the edited trip's service date, with the rows they name."""

    def __init__(self, session: Session, edited: Assignment, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.edited = edited
        self.service_date: date = edited.planned_pickup.astimezone(settings.tz).date()
        start, end = day_window_utc(self.service_date, settings.tz)
        self.rides = [_Ride(a, r, a.vehicle_id, a.driver_id) for a, r in _live_rows(session, edited, start, end)]
        if not any(ride.assignment is edited for ride in self.rides):
            request = session.get(TripRequest, edited.request_id)
            if request is not None:
                self.rides.append(_Ride(edited, request, edited.vehicle_id, edited.driver_id))

    def with_edited(self, vehicle_id: int | None, driver_id: int | None) -> list[_Ride]:
        """The day's rides with the edited trip on ``vehicle_id`` and ``driver_id``."""
        return [replace(ride, vehicle_id=vehicle_id, driver_id=driver_id)
                if ride.assignment is self.edited else ride for ride in self.rides]

    def vehicle(self, vehicle_id: int | None) -> Vehicle | None:
        return self.session.get(Vehicle, vehicle_id) if vehicle_id else None

    def driver(self, driver_id: int | None) -> Driver | None:
        return self.session.get(Driver, driver_id) if driver_id else None

    def shift(self, driver: Driver) -> tuple[datetime, datetime]:
        """The driver's shift on the service date, UTC."""
        return shift_window_utc(self.service_date, driver.shift_start, driver.shift_end, self.settings.tz)


def _live_rows(
    session: Session, edited: Assignment, start: datetime, end: datetime
) -> list[tuple[Assignment, TripRequest]]:
    """One assignment per live request picked up in [start, end): the edited one for its
    request, else one of the edited trip's plan, else the newest confirmed, else the newest;
    assignments of superseded plans do not count."""
    superseded = select(DispatchPlan.id).where(DispatchPlan.status == PlanStatus.superseded)
    rows = session.exec(
        select(Assignment, TripRequest).join(TripRequest, col(TripRequest.id) == Assignment.request_id)
        .where(col(Assignment.planned_pickup) >= start, col(Assignment.planned_pickup) < end,
               col(TripRequest.state).in_([s.value for s in HOLDING_STATES]),
               (col(Assignment.plan_id).is_(None)) | (col(Assignment.plan_id).not_in(superseded)))
    ).all()

    def rank(a: Assignment) -> tuple[bool, bool, bool, int]:
        same_plan = edited.plan_id is not None and a.plan_id == edited.plan_id
        return (a.id != edited.id, not same_plan, not a.confirmed, -(a.id or 0))

    chosen: dict[int, tuple[Assignment, TripRequest]] = {}
    for assignment, request in sorted(rows, key=lambda pair: rank(pair[0])):
        chosen.setdefault(request.id or 0, (assignment, request))
    return sorted(chosen.values(), key=lambda pair: (pair[0].planned_pickup, pair[0].id or 0))


# ----------------------------------------------------------------------------- one car's day


@dataclass
class _CarDay:
    """One pool car's rides of the day as the checker's instance and one-route plan."""

    vehicle: Vehicle
    rides: list[_Ride]
    instance: Instance
    matrix: TravelMatrix
    plan: Plan


def _car_day(day: _Day, vehicle: Vehicle, rides: Iterable[_Ride]) -> _CarDay | None:
    """The rides on ``vehicle`` as a checkable one-car day; None when it has none or no depot.

    The car's shift runs from the earliest shift start to the latest shift end of the drivers
    of its rides (each driver's own shift is checked with the driver's day)."""
    mine = [ride for ride in rides if ride.vehicle_id == vehicle.id]
    depot = day.session.get(Depot, vehicle.home_depot_id) if vehicle.home_depot_id else None
    if not mine or depot is None:
        return None
    shifts = [day.shift(driver) for ride in mine if (driver := day.driver(ride.driver_id)) is not None]
    if not shifts:
        shifts = [day_window_utc(day.service_date, day.settings.tz)]
    settings = day.settings.dispatch
    within = day.session.exec(select(Organisation.id).where(
        col(Organisation.id).in_({ride.request.agency_id for ride in mine}),
        col(Organisation.share_within_agency).is_(True))).all()
    data = {
        "depots": [{"id": f"D{depot.id}", "lat": depot.lat, "lon": depot.lon}],
        "vehicles": [{
            "id": instance_vehicle_id(vehicle.id or 0), "depot": f"D{depot.id}",
            "class": vehicle.vehicle_class.value, "seats": vehicle.seats - 1,
            "energy": vehicle.energy.value,
            "range_km": vehicle.battery_range_km if vehicle.energy == Energy.bev else None,
            "shift_start": min(s for s, _ in shifts).isoformat(),
            "shift_end": max(e for _, e in shifts).isoformat(),
            "fixed_cost_cny": settings.pool_fixed_cny,
            "cost_per_km_cny": settings.pool_per_km_cny[vehicle.energy.value],
            "cost_per_hour_cny": settings.pool_per_hour_cny,
        }],
        "requests": [request_data(ride.request) for ride in mine],
        "policy": {"winter_range_factor": settings.winter_range_factor, "sharing": settings.sharing,
                   "share_within_agency": [str(org_id) for org_id in sorted(within)]},
    }
    try:
        draft = parse_instance(data)
    except InstanceError as exc:  # stored rows the checker cannot read: say which
        raise PlanInputError("; ".join(exc.messages)) from None
    matrix = instance_matrix(draft)
    instance = draft.model_copy(update={"requests": _with_ride_ceilings(draft, matrix, day.settings)})
    events = sorted([(ride.assignment.planned_pickup, 1, ride.key, "pickup") for ride in mine]
                    + [(ride.assignment.planned_dropoff, 0, ride.key, "dropoff") for ride in mine])
    stops = [Stop(request=key, type=kind, arrival=at, start=at) for at, _, key, kind in events]
    route = Route(vehicle=instance_vehicle_id(vehicle.id or 0), kind="pool", stops=stops, km=0, cost_cny=0)
    plan = Plan(status="feasible", total_cost_cny=0, solve_s=0, routes=[route])
    return _CarDay(vehicle, mine, instance, matrix, plan)


#: Checker codes that depend on the car itself (so a finding on one car does not excuse the
#: same finding on another).
_CAR_RULES = {"seats", "vehicle_class", "nev_required", "range", "before_shift", "after_shift"}
#: Checker codes an override can break (the rest are about the plan's bookkeeping).
_CHECKED = _CAR_RULES | {"unreachable", "exclusive", "share_within_agency", "sharing_off",
                         "pickup_window", "max_ride", "dropoff_late"}

_Findings = dict[tuple[Any, ...], Breach]


def _car_findings(day: _Day, vehicle_id: int | None, rides: list[_Ride], field: str) -> _Findings:
    """The checker's findings on car ``vehicle_id``'s day, keyed so that the same finding in
    another state of the day has the same key."""
    vehicle = day.vehicle(vehicle_id)
    car = _car_day(day, vehicle, rides) if vehicle is not None else None
    if car is None:
        return {}
    by_key = {ride.key: ride for ride in car.rides}
    edited = instance_request_id(day.edited.request_id)
    found, _ = plan_violations(car.instance, car.plan, car.matrix)
    findings: _Findings = {}
    for v in found:
        if v.code not in _CHECKED:
            continue
        partner = _partner(v, edited)
        if v.code == "unreachable" and partner == edited:
            continue  # the trip's own stored times: not the override's doing
        from_home = v.code == "unreachable" and partner is None
        key = (v.code, v.request, v.params.get("type"), partner,
               car.vehicle.id if v.code in _CAR_RULES or from_home else None)
        findings[key] = _breach(day, v, car, by_key.get(partner or ""), field)
    return findings


def _partner(v: Violation, edited: str) -> str | None:
    """The other request a stop finding is about: the one of the stop before (reaching a stop
    in time; None for the car's home), or one on board with it; None for the other rules."""
    if v.code == "unreachable":
        return v.params.get("after") if v.request == edited else v.request
    if v.code in ("seats", "exclusive", "share_within_agency", "sharing_off") and v.params.get("with"):
        others = [r for r in [v.request, *v.params["with"]] if r != edited]
        return others[0] if others else None
    return None


def _breach(day: _Day, v: Violation, car: _CarDay, partner: _Ride | None, field: str) -> Breach:
    plate = car.vehicle.plate
    vehicle = car.instance.vehicles[0]
    clash = ({"assignment_id": partner.assignment.id, "request_id": partner.request.id,
              "pickup": partner.assignment.planned_pickup.isoformat(),
              "dropoff": partner.assignment.planned_dropoff.isoformat()} if partner else {})
    shift = {"plate": plate, "who": plate, "shift_start": vehicle.shift_start.isoformat(),
             "shift_end": vehicle.shift_end.isoformat()}
    if v.code in ("before_shift", "after_shift") or (v.code == "unreachable" and partner is None):
        return Breach("shift", field, shift)
    if v.code in ("unreachable", "sharing_off"):
        return Breach("car_overlap", field, {"plate": plate, **clash})
    if v.code in ("exclusive", "share_within_agency"):
        return Breach(v.code, field, {"plate": plate, **clash})
    if v.code == "seats":
        return Breach("seats", field, {"plate": plate, "seats": v.params["seats"],
                                       "passengers": v.params["passengers"], **clash})
    if v.code == "vehicle_class":
        return Breach("vehicle_class", field, {"plate": plate, "wanted": v.params["wanted"],
                                               "actual": v.params["actual"]})
    if v.code == "range":
        return Breach("range", field, {"plate": plate, "km": v.params["km"],
                                       "usable_km": v.params["usable_km"]})
    request_id = int((v.request or "R0")[1:])
    figures = {name: value for name, value in v.params.items() if name not in ("with", "type", "after")}
    return Breach(v.code, field, {"plate": plate, "request_id": request_id, **figures})


# ----------------------------------------------------------------------------- the driver's day


def _driver_findings(day: _Day, driver_id: int | None, rides: list[_Ride]) -> _Findings:
    """The edited trip against its driver's shift and the driver's trips in other cars."""
    driver = day.driver(driver_id)
    trip = next((ride for ride in rides if ride.assignment is day.edited), None)
    if driver is None or trip is None:
        return {}
    findings: _Findings = {}
    start, end = day.shift(driver)
    pickup, dropoff = trip.assignment.planned_pickup, trip.assignment.planned_dropoff
    busy_until = dropoff + timedelta(seconds=SERVICE_DROPOFF_S)
    if pickup < start or busy_until > end:
        findings[("shift", driver.id)] = Breach("shift", "driver_id", {
            "driver": driver.name, "who": driver.name,
            "shift_start": start.isoformat(), "shift_end": end.isoformat()})
    for other in rides:
        if other is trip or other.driver_id != driver.id or other.vehicle_id == trip.vehicle_id:
            continue
        a = other.assignment
        if a.planned_pickup < busy_until and pickup < a.planned_dropoff + timedelta(seconds=SERVICE_DROPOFF_S):
            car = day.vehicle(other.vehicle_id)
            findings[("driver_overlap", a.id)] = Breach("driver_overlap", "driver_id", {
                "driver": driver.name, "plate": car.plate if car else "", "assignment_id": a.id,
                "request_id": other.request.id, "pickup": a.planned_pickup.isoformat(),
                "dropoff": a.planned_dropoff.isoformat()})
    return findings


# ----------------------------------------------------------------------------- the override


def check_override(
    session: Session, edited: Assignment, vehicle_id: int | None, driver_id: int | None,
    settings: Settings,
) -> list[Breach]:
    """The rules that moving pool assignment ``edited`` to ``vehicle_id`` with ``driver_id``
    breaks, on the car's day and the driver's day (none: the override keeps every rule)."""
    day = _Day(session, edited, settings)
    vehicle, driver = day.vehicle(vehicle_id), day.driver(driver_id)
    car_field = "vehicle_id" if vehicle_id != edited.vehicle_id else "driver_id"
    breaches: list[Breach] = []
    if vehicle is not None and vehicle_id != edited.vehicle_id:
        if vehicle.status != VehicleStatus.available:
            breaches.append(Breach("car_unavailable", "vehicle_id",
                                   {"plate": vehicle.plate, "status": vehicle.status.value}))
        if vehicle.home_depot_id is None:
            breaches.append(Breach("car_no_depot", "vehicle_id", {"plate": vehicle.plate}))
    if driver is not None and driver_id != edited.driver_id and not driver.active:
        breaches.append(Breach("driver_inactive", "driver_id", {"driver": driver.name}))
    now = day.with_edited(edited.vehicle_id, edited.driver_id)
    after = day.with_edited(vehicle_id, driver_id)
    without = day.with_edited(None, None)
    before = (_car_findings(day, edited.vehicle_id, now, car_field)
              | _car_findings(day, vehicle_id, without, car_field)
              | _driver_findings(day, edited.driver_id, now))
    found = _car_findings(day, vehicle_id, after, car_field) | _driver_findings(day, driver_id, after)
    breaches += [breach for key, breach in found.items() if key not in before]
    if any(b.code == "shift" and "driver" in b.params for b in breaches):  # the driver's says it
        breaches = [b for b in breaches if b.code != "shift" or "driver" in b.params]
    unique: dict[tuple[str, str], Breach] = {}
    for breach in breaches:
        unique.setdefault((breach.code, repr(sorted(breach.params.items()))), breach)
    return list(unique.values())


def record_override(
    session: Session, edited: Assignment, old_vehicle_id: int | None, by: str, note: str | None,
    force_reason: str | None, breaches: list[Breach], settings: Settings,
) -> list[int]:
    """After ``edited`` moved (its row already changed): the dispatcher's note, who made the
    override, why it was forced and the rules it breaks (none: no warning), each trip's share
    of the old and the new car's routes, the edited trip's reason ``dispatcher_override`` and
    explanation, and its plan's total; returns the ids of the assignments whose cost changed."""
    edited.override_note, edited.override_by = note, by
    edited.forced_reason = force_reason if breaches else None
    edited.override_warnings = [breach.stored() for breach in breaches] or None
    day = _Day(session, edited, settings)
    rides = day.rides
    changed: list[int] = []
    share_cny, shared_with = edited.cost_cny, []
    for vehicle_id in dict.fromkeys([edited.vehicle_id, old_vehicle_id]):
        vehicle = day.vehicle(vehicle_id)
        car = _car_day(day, vehicle, rides) if vehicle is not None else None
        if car is None:
            continue
        problem = compile_problem(car.instance, car.matrix)
        index = {r.id: i for i, r in enumerate(car.instance.requests)}
        n = len(index)
        stops = [index[s.request] + (0 if s.type == "pickup" else n) for s in car.plan.routes[0].stops]
        shares = trip_costs_cny(problem, 0, stops)
        for ride in car.rides:
            cost = round(max(shares[index[ride.key]], 0.0), 2)
            if ride.assignment is edited:
                share_cny = cost
                riders = co_riders(problem, stops).get(index[ride.key], set())
                shared_with = sorted(car.rides[i].request.id for i in riders)
            if cost != ride.assignment.cost_cny:
                ride.assignment.cost_cny = cost
                session.add(ride.assignment)
                changed.append(ride.assignment.id or 0)
    vehicle = day.vehicle(edited.vehicle_id)
    params: dict[str, Any] = {"by": by, "reason": note, "vehicle": edited.vehicle_id,
                              "driver": edited.driver_id, "added_cny": share_cny,
                              "forced": bool(breaches)}
    if old_vehicle_id != edited.vehicle_id:
        params["from_vehicle"] = old_vehicle_id
    if shared_with:
        params["shared_with"] = shared_with
    if breaches:
        params["broken"] = [breach.code for breach in breaches]
    edited.reason = {"code": "dispatcher_override", "params": params}
    shared = f", shared with {', '.join(f'request {r}' for r in shared_with)}" if shared_with else ""
    forced = f"; kept although it breaks: {', '.join(params['broken'])}" if breaches else ""
    edited.explanation = (f"dispatcher override by {by}: pool car {vehicle.plate if vehicle else '?'}, "
                          f"its share {share_cny:.2f} CNY{shared}; {note or ''}{forced}")[:1000]
    session.add(edited)
    if edited.plan_id is not None:
        _retotal(session, edited.plan_id)
    session.flush()
    return changed


def _retotal(session: Session, plan_id: int) -> None:
    """A plan's total: the sum of its live assignments' costs (CNY)."""
    row = session.get(DispatchPlan, plan_id)
    if row is None:
        return
    costs = session.exec(select(Assignment.cost_cny).join(
        TripRequest, col(TripRequest.id) == Assignment.request_id).where(
        Assignment.plan_id == plan_id, TripRequest.state != RequestState.cancelled)).all()
    row.total_cost_cny = round(sum(costs), 2)
    session.add(row)

