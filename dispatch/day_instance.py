"""The planning instance of one service day, built from the database.

Instance built for a service date (a local date in the display time zone) and an organisation
subtree:

* requests: trip requests of agencies in the subtree whose ``pickup_earliest`` falls on that
  local date, in state approved, planned or assigned (``R<id>``); boarding takes
  :data:`SERVICE_PICKUP_S` and alighting :data:`SERVICE_DROPOFF_S` seconds;
* pool cars: cars of the subtree owned by the pool, ``available``, with a home depot, each
  paired with an active driver of the same depot (``V<vehicle id>``, depot ``D<id>``); the
  pair's shift is the driver's, local wall-clock times on the service date converted to UTC;
  pairs of confirmed assignments are kept together, the rest are paired in id order;
  passenger seats = seats - 1 (the driver's seat); a BEV's range is its battery range;
  running costs come from the ``FLEET_DISPATCH_POOL_*`` settings;
* lessors: lessors of the subtree or of an organisation above it whose contract covers the
  date (``L<id>``), tariffs in id order (leased cars ``L<id>:<class>:<n>``), shifts converted
  like drivers' shifts, passenger seats = tariff seats - 1;
* ``confirmed``: each request with a confirmed assignment -> its car, so that re-planning
  keeps it there unless moving it saves more than ``FLEET_DISPATCH_REASSIGN_PENALTY_CNY``;
* shared rides: a request's ``exclusive`` flag rides alone; agencies with
  ``share_within_agency`` share cars only among their own passengers; every request gets the
  ride-time ceiling ``FLEET_DISPATCH_MAX_RIDE_FACTOR`` x its direct ride +
  ``FLEET_DISPATCH_MAX_RIDE_EXTRA_S``; ``FLEET_DISPATCH_SHARING`` false turns sharing off.

Money is CNY, distances km, times timezone-aware (stored UTC).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from dispatch.instance import Instance, InstanceError, Request, lease_slots, parse_instance
from dispatch.travel import TravelMatrix, instance_matrix
from fleet.models import (
    NEV_ENERGIES,
    Assignment,
    AssignmentKind,
    Depot,
    Driver,
    Energy,
    Lessor,
    LessorTariff,
    Organisation,
    Ownership,
    RequestState,
    TripRequest,
    Vehicle,
    VehicleStatus,
)
from fleet.settings import Settings, get_settings

SERVICE_PICKUP_S = 300  # passengers boarding, s
MIN_RIDE_CEILING_S = 60  # the least max_ride_s an instance accepts, s
SERVICE_DROPOFF_S = 120  # passengers alighting, s
PLANNED_STATES = (RequestState.approved, RequestState.planned, RequestState.assigned)
FIRST_SERVICE_DATE = date(2000, 1, 1)
LAST_SERVICE_DATE = date(2099, 12, 31)


class PlanInputError(ValueError):
    """The database holds data the solver cannot use; the message names the field (HTTP 422)."""


def instance_request_id(request_id: int) -> str:
    """The instance id of trip request ``request_id`` (``R<id>``)."""
    return f"R{request_id}"


def instance_vehicle_id(vehicle_id: int) -> str:
    """The instance id of pool car ``vehicle_id`` (``V<id>``)."""
    return f"V{vehicle_id}"


def assignment_car(assignment: Assignment) -> str | None:
    """The instance id of the car an assignment is on: its pool car, or the leased car of
    its plan (None for a hand-made lease)."""
    if assignment.kind == AssignmentKind.pool:
        return instance_vehicle_id(assignment.vehicle_id) if assignment.vehicle_id else None
    return assignment.lease_slot


# ----------------------------------------------------------------------------- times


def day_window_utc(service_date: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of the local ``service_date`` (end exclusive)."""
    start = datetime.combine(service_date, time(0), tzinfo=tz)
    end = datetime.combine(service_date + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def shift_window_utc(
    service_date: date, shift_start: time, shift_end: time, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """A local wall-clock shift on ``service_date`` as UTC start and end times."""
    start = datetime.combine(service_date, shift_start, tzinfo=tz)
    end = datetime.combine(service_date, shift_end, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def check_service_date(service_date: date) -> None:
    if not FIRST_SERVICE_DATE <= service_date <= LAST_SERVICE_DATE:
        raise PlanInputError(
            f"service_date: must lie between {FIRST_SERVICE_DATE} and {LAST_SERVICE_DATE}")


# ----------------------------------------------------------------------------- instance


@dataclass
class DayInstance:
    """An instance built from the database, with the ids to map the plan back."""

    instance: Instance
    service_date: date
    org_id: int
    requests: dict[str, TripRequest]  # instance request id -> row
    pool: dict[str, tuple[int, int]]  # instance vehicle id -> (vehicle id, driver id)
    lessors: dict[str, int]  # instance lessor id -> lessor id
    lease_energy: dict[str, str]  # leased car id -> energy of its tariff
    matrix: TravelMatrix  # travel between the instance's points
    nev_pool: set[str] = field(default_factory=set)  # instance ids of NEV pool cars


def _subtree_orgs(session: Session, org: Organisation) -> list[int]:
    rows = session.exec(select(Organisation.id).where(col(Organisation.path).startswith(org.path)))
    return list(rows.all())


def _ancestor_orgs(org: Organisation) -> list[int]:
    return [int(part) for part in org.path.strip("/").split("/") if part]


def confirmed_assignments(session: Session, request_ids: Iterable[int]) -> dict[int, Assignment]:
    """Request id -> its confirmed assignment (the newest when there are several)."""
    rows = session.exec(
        select(Assignment).where(col(Assignment.request_id).in_(list(request_ids)),
                                 col(Assignment.confirmed).is_(True))
        .order_by(col(Assignment.id))
    ).all()
    return {a.request_id: a for a in rows}


def _pair_cars(
    cars: list[Vehicle], drivers: list[Driver], keep: Iterable[tuple[int, int]]
) -> list[tuple[Vehicle, Driver]]:
    """Pool cars with drivers of their depot: kept pairs first, then in id order."""
    car_by_id = {c.id: c for c in cars}
    driver_by_id = {d.id: d for d in drivers}
    pairs: list[tuple[Vehicle, Driver]] = []
    used_cars: set[int] = set()
    used_drivers: set[int] = set()
    for vehicle_id, driver_id in keep:
        car, driver = car_by_id.get(vehicle_id), driver_by_id.get(driver_id)
        if (car is None or driver is None or vehicle_id in used_cars or driver_id in used_drivers
                or car.home_depot_id != driver.home_depot_id):
            continue
        pairs.append((car, driver))
        used_cars.add(vehicle_id)
        used_drivers.add(driver_id)
    by_depot: dict[int, list[Driver]] = {}
    for driver in sorted(drivers, key=lambda d: d.id or 0):
        if driver.id not in used_drivers:
            by_depot.setdefault(driver.home_depot_id or 0, []).append(driver)
    for car in sorted(cars, key=lambda c: c.id or 0):
        free = by_depot.get(car.home_depot_id or 0)
        if car.id not in used_cars and free:
            pairs.append((car, free.pop(0)))
    return pairs


def build_instance(
    session: Session, service_date: date, org_id: int, settings: Settings | None = None
) -> DayInstance:
    """The planning instance of ``service_date`` for organisation ``org_id``'s subtree."""
    check_service_date(service_date)
    settings = settings or get_settings()
    tz = settings.tz
    org = session.get(Organisation, org_id)
    if org is None:
        raise PlanInputError(f"org_id: organisation {org_id} does not exist")
    orgs = _subtree_orgs(session, org)
    day_start, day_end = day_window_utc(service_date, tz)

    requests = session.exec(
        select(TripRequest).where(
            col(TripRequest.agency_id).in_(orgs),
            col(TripRequest.state).in_([s.value for s in PLANNED_STATES]),
            col(TripRequest.pickup_earliest) >= day_start,
            col(TripRequest.pickup_earliest) < day_end,
        ).order_by(col(TripRequest.id))
    ).all()
    confirmed = confirmed_assignments(session, [r.id for r in requests])

    cars = session.exec(select(Vehicle).where(
        col(Vehicle.org_id).in_(orgs), Vehicle.ownership == Ownership.pool,
        Vehicle.status == VehicleStatus.available, col(Vehicle.home_depot_id).is_not(None),
    )).all()
    drivers = session.exec(select(Driver).where(
        col(Driver.org_id).in_(orgs), col(Driver.active).is_(True),
        col(Driver.home_depot_id).is_not(None),
    )).all()
    keep = [(a.vehicle_id, a.driver_id) for a in confirmed.values()
            if a.kind == AssignmentKind.pool and a.vehicle_id and a.driver_id]
    pairs = _pair_cars(list(cars), list(drivers), keep)
    depot_ids = sorted({car.home_depot_id for car, _ in pairs})
    depots = session.exec(select(Depot).where(col(Depot.id).in_(depot_ids))).all() if depot_ids else []

    per_km = settings.dispatch.pool_per_km_cny
    vehicles: list[dict[str, Any]] = []
    pool: dict[str, tuple[int, int]] = {}
    nev_pool: set[str] = set()
    for car, driver in pairs:
        key = instance_vehicle_id(car.id)
        shift_start, shift_end = shift_window_utc(service_date, driver.shift_start, driver.shift_end, tz)
        vehicles.append({
            "id": key, "depot": f"D{car.home_depot_id}", "class": car.vehicle_class.value,
            "seats": car.seats - 1, "energy": car.energy.value,
            "range_km": car.battery_range_km if car.energy == Energy.bev else None,
            "shift_start": shift_start.isoformat(), "shift_end": shift_end.isoformat(),
            "fixed_cost_cny": settings.dispatch.pool_fixed_cny,
            "cost_per_km_cny": per_km[car.energy.value],
            "cost_per_hour_cny": settings.dispatch.pool_per_hour_cny,
        })
        pool[key] = (car.id, driver.id)
        if car.energy in NEV_ENERGIES:
            nev_pool.add(key)

    lessor_rows = session.exec(select(Lessor).where(
        col(Lessor.org_id).in_(orgs + _ancestor_orgs(org)),
        col(Lessor.contract_start) <= service_date, col(Lessor.contract_end) >= service_date,
    ).order_by(col(Lessor.id))).all()
    lessors: list[dict[str, Any]] = []
    lessor_ids: dict[str, int] = {}
    for lessor in lessor_rows:
        tariffs = session.exec(select(LessorTariff).where(LessorTariff.lessor_id == lessor.id)
                               .order_by(col(LessorTariff.id))).all()
        shift_start, shift_end = shift_window_utc(service_date, lessor.shift_start, lessor.shift_end, tz)
        key = f"L{lessor.id}"
        lessor_ids[key] = lessor.id
        lessors.append({
            "id": key, "lat": lessor.lat, "lon": lessor.lon,
            "shift_start": shift_start.isoformat(), "shift_end": shift_end.isoformat(),
            "tariffs": [{"class": t.vehicle_class.value, "seats": t.seats - 1,
                         "energy": t.energy.value, "base_cny": t.base_cny,
                         "per_km_cny": t.per_km_cny, "per_hour_cny": t.per_hour_cny,
                         "max_vehicles": t.max_vehicles} for t in tariffs],
        })

    instance_requests = [request_data(request) for request in requests]
    by_key = {instance_request_id(request.id): request for request in requests}

    data: dict[str, Any] = {
        "depots": [{"id": f"D{d.id}", "lat": d.lat, "lon": d.lon} for d in depots],
        "vehicles": vehicles, "lessors": lessors, "requests": instance_requests,
        "policy": {"winter_range_factor": settings.dispatch.winter_range_factor,
                   "reassign_penalty_cny": settings.dispatch.reassign_penalty_cny,
                   "sharing": settings.dispatch.sharing,
                   "share_within_agency": _share_within(session, orgs)},
    }
    try:
        draft = parse_instance(data)
    except InstanceError as exc:
        raise PlanInputError("; ".join(exc.messages)) from None
    lease_energy = {slot.id: draft.lessors[slot.lessor].tariffs[slot.tariff].energy.value
                    for slot in lease_slots(draft)}
    promised: dict[str, str] = {}
    for request_id, assignment in confirmed.items():
        car_key = assignment_car(assignment)
        if car_key is not None and (car_key in pool or car_key in lease_energy):
            promised[instance_request_id(request_id)] = car_key
    matrix = instance_matrix(draft)
    instance = draft.model_copy(update={
        "confirmed": promised, "requests": _with_ride_ceilings(draft, matrix, settings)})

    return DayInstance(instance=instance, service_date=service_date, org_id=org_id,
                       requests=by_key, pool=pool, lessors=lessor_ids,
                       lease_energy=lease_energy, matrix=matrix, nev_pool=nev_pool)


def request_data(request: TripRequest) -> dict[str, Any]:
    """A trip request as an instance request (``R<id>``; boarding and alighting times)."""
    return {
        "id": instance_request_id(request.id), "agency": str(request.agency_id),
        "passengers": request.passengers,
        "class": request.vehicle_class.value if request.vehicle_class else None,
        "nev_required": request.nev_required,
        "origin": {"lat": request.origin_lat, "lon": request.origin_lon},
        "destination": {"lat": request.destination_lat, "lon": request.destination_lon},
        "pickup_earliest": request.pickup_earliest.isoformat(),
        "pickup_latest": request.pickup_latest.isoformat(),
        "dropoff_latest": request.dropoff_latest.isoformat() if request.dropoff_latest else None,
        "service_pickup_s": SERVICE_PICKUP_S, "service_dropoff_s": SERVICE_DROPOFF_S,
        "priority": request.priority, "exclusive": request.exclusive,
    }


def _share_within(session: Session, orgs: list[int]) -> list[str]:
    """Instance agency ids of the organisations whose passengers share only among themselves."""
    rows = session.exec(select(Organisation.id).where(
        col(Organisation.id).in_(orgs), col(Organisation.share_within_agency).is_(True))).all()
    return [str(org_id) for org_id in sorted(rows)]


def _with_ride_ceilings(instance: Instance, matrix: TravelMatrix, settings: Settings) -> list[Request]:
    """Every request with ``max_ride_s`` = direct ride x the factor + the extra seconds."""
    n = len(instance.requests)
    factor, extra_s = settings.dispatch.max_ride_factor, settings.dispatch.max_ride_extra_s
    return [request.model_copy(update={"max_ride_s": max(
        MIN_RIDE_CEILING_S, math.ceil(float(matrix.duration_s[r, n + r]) * factor + extra_s))})
        for r, request in enumerate(instance.requests)]
