"""The dispatch slip (派车单) of one assignment, as inspectors read it: who asked and why, the
route, the planned and actual times, the car and driver, who approved and who dispatched,
the mileage and the cost, filled in after the trip from the driver's entries and the GPS trip.

The facts come from the database and go out as plain data (:class:`DispatchSlip`):

- the request (agency, requester, rider, purpose, passengers, origin and destination) and the
  assignment (planned departure and return, cost, the car or the lessor and leased car);
- the driver's entries (arrived, started, completed, problems) from the audit log, where each
  ``assignment.<event>`` entry keeps the reading the driver typed (odometer, km) and the time;
- the GPS trips of the car (the telematics motion split: trips with positions) overlapping
  the driven span, with their distance and a thinned track of the car's positions;
- the approver (the ``trip_request.approved`` entry) and the dispatcher (the latest override
  of the car or driver, else who made the assignment by hand, else who accepted its plan).

An actual figure not known yet (a trip not driven) is None. Tolls and parking are not entered
on the platform (the driver's events carry neither), so they stay None."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from fleet.models import (
    Assignment,
    AuditEntry,
    Depot,
    Driver,
    Lessor,
    Organisation,
    Position,
    Trip,
    TripRequest,
    User,
    Vehicle,
    utcnow,
)

#: A GPS trip counts for the slip when it overlaps the driven span widened by this, s (the
#: car often rolls a minute before the driver taps start, or after complete).
GPS_MARGIN_S = 600.0
#: Most track points a slip carries (the positions are thinned evenly beyond it).
MAX_TRACK_POINTS = 200
#: The driver's events in the audit log (``web.routers.driver_actions``).
DRIVER_EVENTS = ("arrived", "started", "completed", "problem")


@dataclass(frozen=True)
class SlipPerson:
    """A person on the slip: display name (full name, else username) and when they acted."""

    name: str
    at: datetime | None = None


@dataclass(frozen=True)
class SlipCar:
    """The car that served the trip; for a leased car, the lessor too. Enum fields carry the
    stored value (``sedan``, ``bev``...); the renderers name them."""

    plate: str | None
    vehicle_class: str | None
    energy: str | None
    seats: int | None
    ownership: str | None
    lessor: str | None = None
    lessor_phone: str | None = None


@dataclass(frozen=True)
class SlipGpsTrip:
    """One trip of the car's GPS track (the telematics split): span and distance, km."""

    started_at: datetime
    ended_at: datetime | None
    distance_km: float


@dataclass(frozen=True)
class SlipRoute:
    """The route driven by GPS: the car's trips in the span, their km, and the track
    (lat, lon) thinned to MAX_TRACK_POINTS; ``positions`` counts every fix in the span."""

    trips: list[SlipGpsTrip]
    distance_km: float
    positions: int
    track: list[tuple[float, float]]


@dataclass(frozen=True)
class DispatchSlip:
    """Every fact of one slip. Times are timezone-aware UTC; None where not known (yet)."""

    assignment_id: int
    request_id: int
    request_state: str
    kind: str
    agency: str
    agency_code: str
    requester: str
    rider: str | None
    purpose: str
    passengers: int
    origin_address: str
    origin: tuple[float, float]
    destination_address: str
    destination: tuple[float, float]
    wait_and_return: bool
    return_leg_at: datetime | None
    planned_departure: datetime
    planned_return: datetime
    departure_place: str | None
    arrived_at: datetime | None
    actual_departure: datetime | None
    actual_return: datetime | None
    start_odometer_km: float | None
    end_odometer_km: float | None
    odometer_distance_km: float | None
    gps_distance_km: float | None
    route: SlipRoute | None
    tolls_cny: float | None
    parking_cny: float | None
    problems: list[str]
    driver: str | None
    driver_phone: str | None
    car: SlipCar
    approver: SlipPerson | None
    dispatcher: SlipPerson | None
    cost_cny: float
    issued_at: datetime = field(default_factory=utcnow)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO-8601 strings)."""
        return _jsonable(asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _name(session: Session, user_id: int | None, fallback: str = "") -> str:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return fallback
    return user.full_name or user.username


def _person(session: Session, entry: AuditEntry | None) -> SlipPerson | None:
    if entry is None:
        return None
    return SlipPerson(_name(session, entry.actor_id, entry.actor), entry.at)


def _latest_entry(session: Session, object_type: str, object_id: int, *actions: str) -> AuditEntry | None:
    return session.exec(
        select(AuditEntry).where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id),
                                 col(AuditEntry.action).in_(actions))
        .order_by(col(AuditEntry.id).desc()).limit(1)).first()


def _dispatcher(session: Session, assignment: Assignment) -> SlipPerson | None:
    """The latest override of the car or driver, else who made the assignment by hand, else
    who accepted the plan it came from."""
    entry = _latest_entry(session, "assignment", assignment.id, "assignment.override", "assignment.create")
    if entry is None and assignment.plan_id is not None:
        entry = _latest_entry(session, "dispatch_plan", assignment.plan_id, "dispatch_plan.accept")
    return _person(session, entry)


def _driver_entries(session: Session, assignment_id: int) -> dict[str, list[AuditEntry]]:
    """The driver's events of the assignment by kind, oldest first."""
    rows = session.exec(
        select(AuditEntry).where(AuditEntry.object_type == "assignment", AuditEntry.object_id == str(assignment_id),
                                 col(AuditEntry.action).in_([f"assignment.{e}" for e in DRIVER_EVENTS]))
        .order_by(col(AuditEntry.id))).all()
    entries: dict[str, list[AuditEntry]] = {e: [] for e in DRIVER_EVENTS}
    for row in rows:
        entries[row.action.removeprefix("assignment.")].append(row)
    return entries


def _reading(entry: AuditEntry | None) -> float | None:
    value = (entry.after or {}).get("odometer_km") if entry is not None else None
    return float(value) if isinstance(value, int | float) else None


def _car(session: Session, assignment: Assignment) -> SlipCar:
    vehicle = session.get(Vehicle, assignment.vehicle_id) if assignment.vehicle_id else None
    lessor_id = assignment.lessor_id or (vehicle.lessor_id if vehicle else None)
    lessor = session.get(Lessor, lessor_id) if lessor_id else None
    slot_class = assignment.lease_slot.split(":")[1] if assignment.lease_slot and ":" in assignment.lease_slot else None
    return SlipCar(
        plate=vehicle.plate if vehicle else None,
        vehicle_class=str(vehicle.vehicle_class) if vehicle else slot_class,
        energy=str(vehicle.energy) if vehicle else None,
        seats=vehicle.seats if vehicle else None,
        ownership=str(vehicle.ownership) if vehicle else ("leased" if lessor else None),
        lessor=lessor.name if lessor else None,
        lessor_phone=(lessor.phone or None) if lessor else None,
    )


def _departure_place(session: Session, assignment: Assignment, driver: Driver | None) -> str | None:
    """Where the car sets out from: its home depot (else the driver's), or the lessor's yard."""
    vehicle = session.get(Vehicle, assignment.vehicle_id) if assignment.vehicle_id else None
    depot_id = (vehicle.home_depot_id if vehicle else None) or (driver.home_depot_id if driver else None)
    depot = session.get(Depot, depot_id) if depot_id else None
    if depot is not None:
        return depot.name
    lessor = session.get(Lessor, assignment.lessor_id) if assignment.lessor_id else None
    return lessor.name if lessor else None


def _thinned(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_TRACK_POINTS:
        return points
    step = (len(points) - 1) / (MAX_TRACK_POINTS - 1)
    return [points[round(i * step)] for i in range(MAX_TRACK_POINTS)]


def _route(session: Session, vehicle_id: int, start: datetime, end: datetime) -> SlipRoute:
    """The car's GPS trips overlapping ``start``-``end`` (widened by GPS_MARGIN_S) and its
    positions over the span they cover."""
    margin = timedelta(seconds=GPS_MARGIN_S)
    trips = session.exec(
        select(Trip).where(Trip.vehicle_id == vehicle_id, col(Trip.first_position_id).is_not(None),
                           Trip.started_at < end + margin,
                           (col(Trip.ended_at).is_(None)) | (col(Trip.ended_at) > start - margin))
        .order_by(col(Trip.started_at))).all()
    span_start = min([start, *(t.started_at for t in trips)])
    span_end = max([end, *(t.ended_at for t in trips if t.ended_at is not None)])
    fixes = session.exec(
        select(Position.lat, Position.lon).where(Position.vehicle_id == vehicle_id, Position.ts >= span_start,
                                                 Position.ts <= span_end).order_by(col(Position.ts))).all()
    return SlipRoute(
        trips=[SlipGpsTrip(t.started_at, t.ended_at, round(t.distance_km, 3)) for t in trips],
        distance_km=round(sum(t.distance_km for t in trips), 3),
        positions=len(fixes),
        track=_thinned([(float(lat), float(lon)) for lat, lon in fixes]),
    )


def gather_slip(session: Session, assignment: Assignment) -> DispatchSlip:
    """The slip of ``assignment`` (the caller has checked that its reader may see it)."""
    request = session.get(TripRequest, assignment.request_id)
    if request is None:
        raise LookupError(f"assignment {assignment.id}: its trip request {assignment.request_id} is missing")
    agency = session.get(Organisation, request.agency_id)
    driver = session.get(Driver, assignment.driver_id) if assignment.driver_id else None
    entries = _driver_entries(session, assignment.id)
    started = entries["started"][-1] if entries["started"] else None
    completed = entries["completed"][-1] if entries["completed"] else None
    arrived = entries["arrived"][-1] if entries["arrived"] else None
    start_km, end_km = _reading(started), _reading(completed)
    route = None
    if started is not None and assignment.vehicle_id is not None:
        route = _route(session, assignment.vehicle_id, started.at, completed.at if completed else utcnow())
    return DispatchSlip(
        assignment_id=assignment.id,
        request_id=request.id,
        request_state=str(request.state),
        kind=str(assignment.kind),
        agency=agency.name if agency else "",
        agency_code=agency.code if agency else "",
        requester=_name(session, request.requester_id),
        rider=_name(session, request.rider_id) or None,
        purpose=request.purpose,
        passengers=request.passengers,
        origin_address=request.origin_address,
        origin=(request.origin_lat, request.origin_lon),
        destination_address=request.destination_address,
        destination=(request.destination_lat, request.destination_lon),
        wait_and_return=request.wait_and_return,
        return_leg_at=request.return_at,
        planned_departure=assignment.planned_pickup,
        planned_return=assignment.planned_dropoff,
        departure_place=_departure_place(session, assignment, driver),
        arrived_at=arrived.at if arrived else None,
        actual_departure=started.at if started else None,
        actual_return=completed.at if completed else None,
        start_odometer_km=start_km,
        end_odometer_km=end_km,
        odometer_distance_km=round(end_km - start_km, 1) if start_km is not None and end_km is not None else None,
        gps_distance_km=route.distance_km if route and route.trips else None,
        route=route,
        tolls_cny=None,
        parking_cny=None,
        problems=[str((e.after or {}).get("note") or "") for e in entries["problem"]],
        driver=driver.name if driver else None,
        driver_phone=driver.phone if driver else None,
        car=_car(session, assignment),
        approver=_person(session, _latest_entry(session, "trip_request", request.id, "trip_request.approved")),
        dispatcher=_dispatcher(session, assignment),
        cost_cny=assignment.cost_cny,
    )
