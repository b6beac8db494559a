"""The dispatch service: plan a service date from the database, store it, accept it, insert
urgent requests, and publish plan changes.

Pure solving happens in :mod:`dispatch.solver`, run in a solver process
(:mod:`dispatch.solver_pool`) so that a plan never stalls the server; this module does the
I/O around it. It flushes but never commits: the caller commits, then calls :func:`publish_plan_event`.

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
  keeps it there unless moving it saves more than ``FLEET_DISPATCH_REASSIGN_PENALTY_CNY``.

Money is CNY, distances km, times timezone-aware (stored UTC).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from sqlalchemy import update
from sqlmodel import Session, col, select

from dispatch.assembly import assemble_plan
from dispatch.check import check_plan
from dispatch.greedy import insert_urgent
from dispatch.instance import Instance, InstanceError, lease_vehicle_ids, parse_instance
from dispatch.plan import Plan
from dispatch.problem import Problem, busy_reason, compile_problem
from dispatch.schedule import Schedule
from dispatch.solver_pool import solve_apart
from dispatch.travel import instance_matrix
from fleet import audit, topics
from fleet.broker import parse_broker_url
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
    Trip,
    TripRequest,
    User,
    Vehicle,
    VehicleStatus,
    utcnow,
)
from fleet.models.dispatch_plan import ASSIGNMENT_PLAN_ID, DispatchPlan, PlanStatus
from fleet.settings import Settings, get_settings

log = logging.getLogger(__name__)

SERVICE_PICKUP_S = 300  # passengers boarding, s
SERVICE_DROPOFF_S = 120  # passengers alighting, s
PLANNED_STATES = (RequestState.approved, RequestState.planned, RequestState.assigned)
FIRST_SERVICE_DATE = date(2000, 1, 1)
LAST_SERVICE_DATE = date(2099, 12, 31)
PUBLISH_TIMEOUT_S = 3.0


class PlanConflict(Exception):
    """The plan or request is not in a state that allows the step (HTTP 409)."""


class PlanInputError(ValueError):
    """The database holds data the solver cannot use; the message names the field (HTTP 422)."""


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
    nev_pool: set[str] = field(default_factory=set)  # instance ids of NEV pool cars

    def request_key(self, request_id: int) -> str:
        return f"R{request_id}"


def _subtree_orgs(session: Session, org: Organisation) -> list[int]:
    rows = session.exec(select(Organisation.id).where(col(Organisation.path).startswith(org.path)))
    return list(rows.all())


def _ancestor_orgs(org: Organisation) -> list[int]:
    return [int(part) for part in org.path.strip("/").split("/") if part]


def _confirmed(session: Session, request_ids: Iterable[int]) -> dict[int, Assignment]:
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


def _lease_slot(session: Session, assignment: Assignment, request_key: str) -> str | None:
    """The leased car id an assignment had in the plan that made it."""
    plan_id = session.exec(select(ASSIGNMENT_PLAN_ID).where(
        Assignment.__table__.c.id == assignment.id)).first()
    plan_row = session.get(DispatchPlan, plan_id) if plan_id else None
    if plan_row is None:
        return None
    for route in plan_row.plan.get("plan", {}).get("routes", []):
        if route["kind"] == "lease" and any(s["request"] == request_key for s in route["stops"]):
            return str(route["vehicle"])
    return None


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
    confirmed = _confirmed(session, [r.id for r in requests])

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

    per_km = settings.dispatch_pool_per_km_cny
    vehicles: list[dict[str, Any]] = []
    pool: dict[str, tuple[int, int]] = {}
    nev_pool: set[str] = set()
    for car, driver in pairs:
        key = f"V{car.id}"
        shift_start, shift_end = shift_window_utc(service_date, driver.shift_start, driver.shift_end, tz)
        vehicles.append({
            "id": key, "depot": f"D{car.home_depot_id}", "class": car.vehicle_class.value,
            "seats": car.seats - 1, "energy": car.energy.value,
            "range_km": car.battery_range_km if car.energy == Energy.bev else None,
            "shift_start": shift_start.isoformat(), "shift_end": shift_end.isoformat(),
            "fixed_cost_cny": settings.dispatch_pool_fixed_cny,
            "cost_per_km_cny": per_km[car.energy.value],
            "cost_per_hour_cny": settings.dispatch_pool_per_hour_cny,
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

    instance_requests: list[dict[str, Any]] = []
    by_key: dict[str, TripRequest] = {}
    for request in requests:
        key = f"R{request.id}"
        by_key[key] = request
        instance_requests.append({
            "id": key, "agency": str(request.agency_id), "passengers": request.passengers,
            "class": request.vehicle_class.value if request.vehicle_class else None,
            "nev_required": request.nev_required,
            "origin": {"lat": request.origin_lat, "lon": request.origin_lon},
            "destination": {"lat": request.destination_lat, "lon": request.destination_lon},
            "pickup_earliest": request.pickup_earliest.isoformat(),
            "pickup_latest": request.pickup_latest.isoformat(),
            "dropoff_latest": request.dropoff_latest.isoformat() if request.dropoff_latest else None,
            "service_pickup_s": SERVICE_PICKUP_S, "service_dropoff_s": SERVICE_DROPOFF_S,
            "priority": request.priority,
        })

    data: dict[str, Any] = {
        "depots": [{"id": f"D{d.id}", "lat": d.lat, "lon": d.lon} for d in depots],
        "vehicles": vehicles, "lessors": lessors, "requests": instance_requests,
        "policy": {"winter_range_factor": settings.dispatch_winter_range_factor,
                   "reassign_penalty_cny": settings.dispatch_reassign_penalty_cny},
    }
    try:
        draft = parse_instance(data)
    except InstanceError as exc:
        raise PlanInputError("; ".join(exc.messages)) from None
    lease_ids = set(lease_vehicle_ids(draft))
    promised: dict[str, str] = {}
    for request_id, assignment in confirmed.items():
        key = f"R{request_id}"
        if assignment.kind == AssignmentKind.pool:
            car_key = f"V{assignment.vehicle_id}"
            if car_key in pool:
                promised[key] = car_key
        else:
            slot = _lease_slot(session, assignment, key)
            if slot in lease_ids:
                promised[key] = slot
    instance = draft.model_copy(update={"confirmed": promised})

    lease_energy: dict[str, str] = {}
    for lessor in draft.lessors:
        counts: dict[str, int] = {}
        for tariff in lessor.tariffs:
            for _ in range(tariff.max_vehicles):
                n = counts.get(tariff.vehicle_class.value, 0) + 1
                counts[tariff.vehicle_class.value] = n
                lease_energy[f"{lessor.id}:{tariff.vehicle_class.value}:{n}"] = tariff.energy.value
    return DayInstance(instance=instance, service_date=service_date, org_id=org_id,
                       requests=by_key, pool=pool, lessors=lessor_ids,
                       lease_energy=lease_energy, nev_pool=nev_pool)


# ----------------------------------------------------------------------------- plans


def plan_assignments(session: Session, plan_id: int) -> list[Assignment]:
    """The assignments linked to plan ``plan_id``, by planned pickup."""
    return list(session.exec(select(Assignment).where(ASSIGNMENT_PLAN_ID == plan_id)
                             .order_by(col(Assignment.planned_pickup), col(Assignment.id))).all())


def _link(session: Session, assignment_ids: list[int], plan_id: int) -> None:
    if assignment_ids:
        session.execute(update(Assignment.__table__)
                        .where(Assignment.__table__.c.id.in_(assignment_ids))
                        .values(plan_id=plan_id))


def _car_index(problem: Problem) -> dict[str, int]:
    return {car.id: c for c, car in enumerate(problem.cars)}


def _chains_from_assignments(
    day: DayInstance, problem: Problem, assignments: Iterable[Assignment],
    slots: dict[str, str],
) -> dict[int, list[int]]:
    """Car index -> request indices (by planned pickup) of live assignments on known cars."""
    cars = _car_index(problem)
    request_index = {r.id: i for i, r in enumerate(problem.instance.requests)}
    chains: dict[int, list[tuple[datetime, int]]] = {}
    seen: set[str] = set()
    for a in sorted(assignments, key=lambda a: (not a.confirmed, a.id or 0)):
        key = f"R{a.request_id}"
        if key not in request_index or key in seen:
            continue
        seen.add(key)
        car_key = f"V{a.vehicle_id}" if a.kind == AssignmentKind.pool else slots.get(key)
        if car_key in cars:
            chains.setdefault(cars[car_key], []).append((a.planned_pickup, request_index[key]))
    return {c: [r for _, r in sorted(items)] for c, items in chains.items()}


def _route_slots(plan_json: dict[str, Any]) -> dict[str, str]:
    """Request key -> car id of each route in a stored plan."""
    return {stop["request"]: str(route["vehicle"])
            for route in plan_json.get("plan", {}).get("routes", []) for stop in route["stops"]}


def _trip_costs(problem: Problem, c: int, chain: list[int]) -> list[float]:
    """The route's cost split over its trips: fixed charge shared evenly, each trip pays its
    approach and ride, the last one also the way home (sums to the route cost, CNY)."""
    car = problem.cars[c]
    costs: list[float] = []
    point = car.home
    for k, r in enumerate(chain):
        km = problem.km[point, r] + problem.ride_km[r]
        hours = problem.hours[point, r] + problem.hours[r, problem.destination(r)]
        point = problem.destination(r)
        if k == len(chain) - 1:
            km += problem.km[point, car.home]
            hours += problem.hours[point, car.home]
        costs.append(car.fixed_cny / len(chain) + car.per_km_cny * km + car.per_hour_cny * hours)
    return costs


def _stored(plan: Plan, day: DayInstance) -> dict[str, Any]:
    return {"plan": json.loads(plan.model_dump_json()), "lease_energy": day.lease_energy,
            "nev_pool": sorted(day.nev_pool)}


def _counts(plan: Plan) -> tuple[int, int]:
    pool = sum(len(r.stops) // 2 for r in plan.routes if r.kind == "pool")
    lease = sum(len(r.stops) // 2 for r in plan.routes if r.kind == "lease")
    return pool, lease


def _assignment_for(
    day: DayInstance, problem: Problem, c: int, r: int, start_s: int, cost_cny: float,
    explanation: str,
) -> Assignment:
    car = problem.cars[c]
    request_row = day.requests[problem.instance.requests[r].id]
    pickup = problem.at(start_s)
    dropoff = pickup + timedelta(seconds=SERVICE_PICKUP_S + int(problem.ride_s[r]))
    common = {"request_id": request_row.id, "org_id": request_row.agency_id,
              "planned_pickup": pickup, "planned_dropoff": dropoff,
              "cost_cny": round(max(cost_cny, 0.0), 2), "explanation": explanation[:1000]}
    if car.kind == "pool":
        vehicle_id, driver_id = day.pool[car.id]
        return Assignment(kind=AssignmentKind.pool, vehicle_id=vehicle_id, driver_id=driver_id, **common)
    return Assignment(kind=AssignmentKind.lease, lessor_id=day.lessors[car.lessor or ""], **common)


def _remove_unconfirmed(session: Session, request_ids: list[int]) -> list[int]:
    """Delete the unconfirmed assignments of these requests; their ids."""
    if not request_ids:
        return []
    driven = select(Trip.assignment_id).where(col(Trip.assignment_id).is_not(None))
    rows = session.exec(select(Assignment).where(
        col(Assignment.request_id).in_(request_ids), col(Assignment.confirmed).is_(False),
        col(Assignment.id).not_in(driven))).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return [row.id for row in rows]


def plan_day(
    session: Session, service_date: date, org_id: int, actor: User | str,
    time_limit_s: float = 10.0, settings: Settings | None = None,
) -> tuple[DispatchPlan, list[int]]:
    """Solve ``service_date`` for ``org_id``'s subtree and store the plan as ``proposed``.

    Older proposed plans of that date and organisation become ``superseded`` and lose their
    unconfirmed assignments; routed approved requests move to ``planned``; planned requests
    left out go back to ``approved``. Returns the plan and the ids of new assignments.
    """
    day = build_instance(session, service_date, org_id, settings)
    matrix = instance_matrix(day.instance)
    problem = compile_problem(day.instance, matrix)
    request_ids = [row.id for row in day.requests.values()]
    live = session.exec(select(Assignment).where(col(Assignment.request_id).in_(request_ids))).all()
    slots: dict[str, str] = {}
    for plan_id in {pid for pid in session.exec(select(ASSIGNMENT_PLAN_ID).where(
            col(Assignment.request_id).in_(request_ids))).all() if pid}:
        stored = session.get(DispatchPlan, plan_id)
        if stored is not None:
            slots.update(_route_slots(stored.plan))
    seed = _chains_from_assignments(day, problem, live, slots)
    initial = {problem.cars[c].id: [problem.instance.requests[r].id for r in chain]
               for c, chain in seed.items()}
    plan = solve_apart(day.instance, matrix, time_limit_s=time_limit_s, initial=initial or None)
    violations = check_plan(day.instance, plan, matrix)
    if violations:  # the solver's plans always pass; never store one that does not
        raise RuntimeError("plan failed its check: " + "; ".join(violations[:5]))

    superseded = session.exec(select(DispatchPlan).where(
        DispatchPlan.service_date == service_date, DispatchPlan.org_id == org_id,
        DispatchPlan.status == PlanStatus.proposed)).all()
    for old in superseded:
        old.status = PlanStatus.superseded
        session.add(old)
    removed = _remove_unconfirmed(session, request_ids)

    pool_count, lease_count = _counts(plan)
    row = DispatchPlan(
        service_date=service_date, org_id=org_id, status=PlanStatus.proposed,
        total_cost_cny=plan.total_cost_cny, pool_count=pool_count, lease_count=lease_count,
        pool_available=len(day.pool),
        unserved=[{"request_id": day.requests[u.request].id, "reason": u.reason}
                  for u in plan.unserved],
        plan=_stored(plan, day), solve_s=plan.solve_s,
        created_by=actor.username if isinstance(actor, User) else actor,
    )
    session.add(row)
    session.flush()

    cars = _car_index(problem)
    request_index = {r.id: i for i, r in enumerate(problem.instance.requests)}
    created: list[Assignment] = []
    routed: set[int] = set()
    for route in plan.routes:
        c = cars[route.vehicle]
        chain = [request_index[s.request] for s in route.stops if s.type == "pickup"]
        starts = problem.timeline(c, chain) or []
        for r, start_s, cost in zip(chain, starts, _trip_costs(problem, c, chain), strict=True):
            key = problem.instance.requests[r].id
            created.append(_assignment_for(day, problem, c, r, start_s, cost,
                                           plan.explanations.get(key, "")))
            routed.add(day.requests[key].id)
    session.add_all(created)
    session.flush()
    _link(session, [a.id for a in created], row.id)

    moved_to_planned: list[int] = []
    moved_back: list[int] = []
    for request_row in day.requests.values():
        if request_row.id in routed and request_row.state == RequestState.approved:
            request_row.state = RequestState.planned
            moved_to_planned.append(request_row.id)
        elif request_row.id not in routed and request_row.state == RequestState.planned:
            request_row.state = RequestState.approved
            request_row.state_reason = next(
                (u["reason"] for u in row.unserved if u["request_id"] == request_row.id), None)
            moved_back.append(request_row.id)
        else:
            continue
        request_row.updated_at = utcnow()
        session.add(request_row)
    audit.record(session, actor, "dispatch_plan.create", "dispatch_plan", row.id, None, {
        "service_date": service_date, "org_id": org_id, "total_cost_cny": row.total_cost_cny,
        "pool_count": pool_count, "lease_count": lease_count, "unserved": row.unserved,
        "assignment_ids": [a.id for a in created], "removed_assignment_ids": removed,
        "superseded_plan_ids": [p.id for p in superseded],
        "requests_planned": moved_to_planned, "requests_back_to_approved": moved_back,
    })
    session.flush()
    return row, [a.id for a in created]


_COPIED = ("kind", "vehicle_id", "driver_id", "lessor_id", "planned_pickup", "planned_dropoff",
           "cost_cny", "explanation")


def accept_plan(session: Session, row: DispatchPlan, actor: User | str) -> list[int]:
    """Confirm every assignment of a proposed plan; returns the ids of changed assignments.

    A request that already had a confirmed assignment keeps that assignment's id: the plan's
    values are copied into it (a move is noted in ``override_reason``). Requests move from
    planned to assigned; an older accepted plan of the date becomes superseded.
    """
    if row.status != PlanStatus.proposed:
        raise PlanConflict(f"plan {row.id} is {row.status.value}; only a proposed plan can be accepted")
    changed: list[int] = []
    dropped: list[int] = []
    assignments = plan_assignments(session, row.id)
    confirmed = _confirmed(session, [a.request_id for a in assignments])
    for assignment in assignments:
        request_row = session.get(TripRequest, assignment.request_id)
        if request_row is None or request_row.state not in PLANNED_STATES:
            dropped.append(assignment.id)  # cancelled since the plan was made
            session.delete(assignment)
            continue
        kept = confirmed.get(assignment.request_id)
        if kept is not None and kept.id != assignment.id:
            moved = (kept.kind, kept.vehicle_id, kept.lessor_id) != (
                assignment.kind, assignment.vehicle_id, assignment.lessor_id)
            for name in _COPIED:
                setattr(kept, name, getattr(assignment, name))
            if moved:
                kept.override_reason = f"re-planned by plan {row.id}"
            session.add(kept)
            session.delete(assignment)
            session.flush()
            _link(session, [kept.id], row.id)
            changed.append(kept.id)
        else:
            assignment.confirmed = True
            session.add(assignment)
            changed.append(assignment.id)
        if request_row.state == RequestState.planned:
            request_row.state = RequestState.assigned
            request_row.updated_at = utcnow()
            session.add(request_row)
    older = session.exec(select(DispatchPlan).where(
        DispatchPlan.service_date == row.service_date, DispatchPlan.org_id == row.org_id,
        DispatchPlan.status == PlanStatus.accepted, DispatchPlan.id != row.id)).all()
    for old in older:
        old.status = PlanStatus.superseded
        session.add(old)
    row.status = PlanStatus.accepted
    row.accepted_at = utcnow()
    session.add(row)
    audit.record(session, actor, "dispatch_plan.accept", "dispatch_plan", row.id,
                 {"status": "proposed"},
                 {"status": "accepted", "confirmed_assignment_ids": changed,
                  "dropped_assignment_ids": dropped, "superseded_plan_ids": [p.id for p in older]})
    session.flush()
    return changed


def insert_request(
    session: Session, row: DispatchPlan, request_id: int, actor: User | str,
    settings: Settings | None = None,
) -> list[int]:
    """Put one approved request of the plan's date into the plan at its cheapest feasible
    place (the other trips keep their cars and order); returns the changed assignment ids.

    In an accepted plan the new assignment is confirmed at once and the request assigned;
    in a proposed plan it is planned. Raises :class:`PlanConflict` when nothing can take it.
    """
    if row.status == PlanStatus.superseded:
        raise PlanConflict(f"plan {row.id} is superseded; insert into the current plan")
    request_row = session.get(TripRequest, request_id)
    if request_row is None:
        raise PlanInputError(f"request_id: trip request {request_id} not found")
    if request_row.state != RequestState.approved:
        raise PlanConflict(f"request_id: a request in state '{request_row.state.value}' cannot be "
                           "inserted; it must be approved")
    day = build_instance(session, row.service_date, row.org_id, settings)
    key = f"R{request_id}"
    if key not in day.requests:
        raise PlanInputError(f"request_id: trip request {request_id} is not for "
                             f"{row.service_date} in the plan's organisation")
    matrix = instance_matrix(day.instance)
    problem = compile_problem(day.instance, matrix)
    assignments = plan_assignments(session, row.id)
    chains = _chains_from_assignments(day, problem, assignments, _route_slots(row.plan))
    schedule = Schedule(problem, chains)
    r = next(i for i, req in enumerate(problem.instance.requests) if req.id == key)
    move = insert_urgent(schedule, r)
    if move is None:
        reason = problem.refusals.get(r) or busy_reason(problem, r)
        raise PlanConflict(f"request_id: no car can take request {request_id} ({reason})")
    car = problem.cars[move.car]
    chain = schedule.chains[move.car]
    starts = problem.timeline(move.car, chain) or []
    label = "pool car" if car.kind == "pool" else "leased car"
    new = _assignment_for(
        day, problem, move.car, r, starts[chain.index(r)], move.cost_cny,
        f"urgent insertion: {label} {car.id} adds {move.cost_cny:.2f} CNY, the cheapest "
        "feasible place in the plan")
    accepted = row.status == PlanStatus.accepted
    new.confirmed = accepted
    session.add(new)
    session.flush()
    _link(session, [new.id], row.id)
    changed = [new.id]
    by_request = {a.request_id: a for a in assignments}
    for other, start_s in zip(chain, starts, strict=True):  # later starts after the insertion
        other_row = day.requests[problem.instance.requests[other].id]
        assignment = by_request.get(other_row.id)
        if assignment is None or other == r:
            continue
        pickup = problem.at(start_s)
        if pickup != assignment.planned_pickup:
            assignment.planned_pickup = pickup
            assignment.planned_dropoff = pickup + timedelta(
                seconds=SERVICE_PICKUP_S + int(problem.ride_s[other]))
            session.add(assignment)
            changed.append(assignment.id)
    request_row.state = RequestState.assigned if accepted else RequestState.planned
    request_row.updated_at = utcnow()
    session.add(request_row)

    stored = dict(row.plan)
    try:
        plan = assemble_plan(problem, schedule.routes(), 0.0, "feasible", explain=False)
    except ValueError:  # a hand override left a chain the model finds infeasible
        plan = None
    if plan is not None:
        old = stored.get("plan", {})
        plan.explanations = dict(old.get("explanations", {}))
        plan.explanations[key] = new.explanation
        plan.solve_s = float(old.get("solve_s", 0.0))
        stored["plan"] = json.loads(plan.model_dump_json())
        row.total_cost_cny = plan.total_cost_cny
        row.pool_count, row.lease_count = _counts(plan)
    else:
        row.total_cost_cny = round(row.total_cost_cny + move.cost_cny, 2)
        if car.kind == "pool":
            row.pool_count += 1
        else:
            row.lease_count += 1
    row.plan = stored
    row.unserved = [u for u in row.unserved if u["request_id"] != request_id]
    session.add(row)
    audit.record(session, actor, "dispatch_plan.insert", "dispatch_plan", row.id, None,
                 {"request_id": request_id, "assignment_id": new.id, "vehicle": car.id,
                  "added_cost_cny": round(move.cost_cny, 2), "changed_assignment_ids": changed})
    session.flush()
    return changed


# ----------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class FleetFigures:
    """A service date's figures from its current plan (accepted, else the newest proposed)."""

    service_date: date
    trips_served: int
    pool_trips: int
    lease_trips: int
    cost_cny: float
    pool_utilisation: float  # pool cars used / pool cars offered, 0..1
    nev_share: float  # trips served by a BEV or PHEV / trips served, 0..1


def current_plan(session: Session, plans: list[DispatchPlan]) -> DispatchPlan | None:
    """The accepted plan if there is one, else the newest proposed one."""
    for status in (PlanStatus.accepted, PlanStatus.proposed):
        live = [p for p in plans if p.status == status]
        if live:
            return max(live, key=lambda p: p.id or 0)
    return None


def figures(session: Session, service_date: date, row: DispatchPlan | None) -> FleetFigures:
    """Figures of plan ``row`` as it stands (overrides and insertions included)."""
    if row is None:
        return FleetFigures(service_date, 0, 0, 0, 0.0, 0.0, 0.0)
    assignments = [a for a in plan_assignments(session, row.id)
                   if (req := session.get(TripRequest, a.request_id)) is not None
                   and req.state != RequestState.cancelled]
    pool = [a for a in assignments if a.kind == AssignmentKind.pool]
    slots = _route_slots(row.plan)
    lease_energy = row.plan.get("lease_energy", {})
    nev = {e.value for e in NEV_ENERGIES}
    nev_trips = 0
    for a in assignments:
        if a.kind == AssignmentKind.pool:
            vehicle = session.get(Vehicle, a.vehicle_id) if a.vehicle_id else None
            nev_trips += vehicle is not None and vehicle.energy in NEV_ENERGIES
        else:
            nev_trips += lease_energy.get(slots.get(f"R{a.request_id}", ""), "") in nev
    n = len(assignments)
    used = len({a.vehicle_id for a in pool})
    return FleetFigures(
        service_date=service_date, trips_served=n, pool_trips=len(pool),
        lease_trips=n - len(pool), cost_cny=round(sum(a.cost_cny for a in assignments), 2),
        pool_utilisation=round(used / row.pool_available, 4) if row.pool_available else 0.0,
        nev_share=round(nev_trips / n, 4) if n else 0.0,
    )


# ----------------------------------------------------------------------------- events


def plan_event(row: DispatchPlan, changed_assignment_ids: list[int]) -> dict[str, Any]:
    """The ``fleet/v1/events/plans`` message of a plan change."""
    return {"plan_id": row.id, "service_date": row.service_date.isoformat(),
            "status": row.status.value, "changed_assignment_ids": changed_assignment_ids}


def publish_plan_event(
    row: DispatchPlan, changed_assignment_ids: list[int], settings: Settings | None = None
) -> bool:
    """Publish a plan change at QoS 1; False (logged) when the broker cannot be reached."""
    settings = settings or get_settings()
    payload = json.dumps(plan_event(row, changed_assignment_ids))
    try:
        address = parse_broker_url(settings.resolved_mqtt_url)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            client.tls_set()
        connected = threading.Event()
        client.on_connect = lambda *args: connected.set()
        client.connect(address.host, address.port, keepalive=30)
        client.loop_start()
        try:
            if not connected.wait(PUBLISH_TIMEOUT_S):
                raise TimeoutError("no CONNACK")
            info = client.publish(topics.EVENTS_PLANS, payload, qos=1)
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
            if not info.is_published():
                raise TimeoutError("no PUBACK")
        finally:
            client.disconnect()
            client.loop_stop()
    except (OSError, ValueError, TimeoutError, RuntimeError) as exc:
        log.warning("plan event for plan %s not published to %s: %s", row.id,
                    settings.resolved_mqtt_url, exc)
        return False
    return True
