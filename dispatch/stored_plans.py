"""Dispatch plans of a service day: solve and store a plan, accept it, insert an urgent
request into it, and the day's fleet figures.

Pure solving happens in :mod:`dispatch.solver`, run in a solver process
(:mod:`dispatch.solver_pool`) so that a plan never stalls the server; the instance comes from
:mod:`dispatch.day_instance`. Requests move through :func:`fleet.request_workflow.move` as
the platform's own steps. This module flushes but never commits: the caller commits, then
calls :func:`dispatch.plan_events.publish_plan_event`. Money is CNY, times timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from dispatch.assembly import assemble_plan
from dispatch.check import check_plan
from dispatch.day_instance import (
    PLANNED_STATES,
    DayInstance,
    PlanInputError,
    assignment_car,
    build_instance,
    confirmed_assignments,
    instance_request_id,
)
from dispatch.insertion import Inserter, inserted
from dispatch.plan import Plan, Reason
from dispatch.problem import Problem, busy_reason, compile_problem
from dispatch.solver_pool import solve_apart
from dispatch.stops import Stops, co_riders, stop_requests, stop_times, trip_costs_cny
from fleet import audit, request_workflow
from fleet.hire_windows import sync_assignment_windows
from fleet.models import (
    NEV_ENERGIES,
    Assignment,
    AssignmentKind,
    RequestState,
    Trip,
    TripRequest,
    User,
    Vehicle,
    utcnow,
)
from fleet.models.dispatch_plan import DispatchPlan, PlanStatus
from fleet.settings import Settings


class PlanConflict(Exception):
    """The plan or request is not in a state that allows the step (HTTP 409)."""


# ----------------------------------------------------------------------------- plans


def plan_assignments(session: Session, plan_id: int) -> list[Assignment]:
    """The assignments linked to plan ``plan_id``, by planned pickup."""
    return list(session.exec(select(Assignment).where(Assignment.plan_id == plan_id)
                             .order_by(col(Assignment.planned_pickup), col(Assignment.id))).all())


def shared_rides(session: Session, assignments: Iterable[Assignment]) -> dict[int, list[int]]:
    """Request id -> the other requests of ``assignments`` in the same car at the same time
    (planned pickup before the other's drop-off and the other's pickup before its drop-off);
    cancelled requests ride with nobody."""
    live = [a for a in assignments
            if (req := session.get(TripRequest, a.request_id)) is not None
            and req.state != RequestState.cancelled]
    by_car: dict[str | None, list[Assignment]] = {}
    for a in live:
        by_car.setdefault(assignment_car(a), []).append(a)
    together: dict[int, set[int]] = {}
    for car_key, rides in by_car.items():
        if car_key is None:
            continue
        for i, a in enumerate(rides):
            for b in rides[i + 1:]:
                if a.planned_pickup < b.planned_dropoff and b.planned_pickup < a.planned_dropoff:
                    together.setdefault(a.request_id, set()).add(b.request_id)
                    together.setdefault(b.request_id, set()).add(a.request_id)
    return {r: sorted(others) for r, others in sorted(together.items())}


def _car_index(problem: Problem) -> dict[str, int]:
    return {car.id: c for c, car in enumerate(problem.cars)}


def _routes_from_assignments(
    problem: Problem, assignments: Iterable[Assignment]
) -> dict[int, Stops]:
    """Car index -> stops of live assignments on known cars, ordered by their planned times
    (at the same moment a drop-off comes before a pickup)."""
    cars = _car_index(problem)
    n = problem.n_requests
    request_index = {r.id: i for i, r in enumerate(problem.instance.requests)}
    events: dict[int, list[tuple[datetime, int, int]]] = {}
    seen: set[str] = set()
    for a in sorted(assignments, key=lambda a: (not a.confirmed, a.id or 0)):
        key = instance_request_id(a.request_id)
        if key not in request_index or key in seen:
            continue
        seen.add(key)
        car_key = assignment_car(a)
        if car_key in cars:
            r = request_index[key]
            events.setdefault(cars[car_key], []).extend(
                [(a.planned_pickup, 1, r), (a.planned_dropoff, 0, n + r)])
    return {c: [p for _, _, p in sorted(items)] for c, items in events.items()}


def _stored(plan: Plan, day: DayInstance) -> dict[str, Any]:
    return {"plan": json.loads(plan.model_dump_json()), "lease_energy": day.lease_energy,
            "nev_pool": sorted(day.nev_pool)}


def _counts(plan: Plan) -> tuple[int, int]:
    pool = sum(len(r.stops) // 2 for r in plan.routes if r.kind == "pool")
    lease = sum(len(r.stops) // 2 for r in plan.routes if r.kind == "lease")
    return pool, lease


def _assignment_for(
    day: DayInstance, problem: Problem, c: int, r: int, pickup: datetime, dropoff: datetime,
    cost_cny: float, explanation: str, plan_id: int, reason: Reason | None = None,
) -> Assignment:
    """The assignment of request ``r`` on car ``c`` of plan ``plan_id``."""
    car = problem.cars[c]
    request_row = day.requests[problem.instance.requests[r].id]
    common = {"request_id": request_row.id, "org_id": request_row.agency_id,
              "planned_pickup": pickup, "planned_dropoff": dropoff,
              "cost_cny": round(max(cost_cny, 0.0), 2), "explanation": explanation[:1000],
              "plan_id": plan_id, "reason": None if reason is None else _stored_reason(day, reason)}
    if car.kind == "pool":
        vehicle_id, driver_id = day.pool[car.id]
        return Assignment(kind=AssignmentKind.pool, vehicle_id=vehicle_id, driver_id=driver_id, **common)
    return Assignment(kind=AssignmentKind.lease, lessor_id=day.lessors[car.lessor or ""],
                      lease_slot=car.id, **common)


def _stored_reason(day: DayInstance, reason: Reason) -> dict[str, Any]:
    """``reason`` with the platform's ids in place of the instance's: ``vehicle`` and
    ``pool_vehicle`` become vehicle ids (leased cars: ``{lessor_id, class}``), ``lease_option``
    ``{lessor_id, class}``, ``shared_with`` trip request ids, ``moved_from`` like ``vehicle``."""

    def car(key: str) -> Any:
        if key in day.pool:
            return day.pool[key][0]
        lessor, _, rest = key.partition(":")
        return {"lessor_id": day.lessors.get(lessor), "class": rest.split(":")[0]}

    params = dict(reason.params)
    for name in ("vehicle", "pool_vehicle", "lease_option", "moved_from"):
        if name in params:
            params[name] = car(str(params[name]))
    if "shared_with" in params:
        params["shared_with"] = [day.requests[key].id for key in params["shared_with"]]
    return {"code": reason.code, "params": params}


def _stop_moments(problem: Problem, c: int, stops: Stops) -> dict[int, tuple[datetime, datetime]]:
    """Request index -> (pickup, drop-off) times of car ``c`` driving ``stops``."""
    times = stop_times(problem, c, stops) or []
    n = problem.n_requests
    at = {p: problem.at(t) for p, t in zip(stops, times, strict=True)}
    return {r: (at[r], at[n + r]) for r in stop_requests(problem, stops)}


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
    unconfirmed assignments (a dispatcher's note on a request's assignment goes to its new
    one); routed approved requests move to ``planned``; planned requests
    left out go back to ``approved``. Returns the plan and the ids of new assignments.
    """
    day = build_instance(session, service_date, org_id, settings)
    matrix = day.matrix
    problem = compile_problem(day.instance, matrix)
    request_ids = [row.id for row in day.requests.values()]
    live = session.exec(select(Assignment).where(col(Assignment.request_id).in_(request_ids))).all()
    seed = _routes_from_assignments(problem, live)
    initial = {problem.cars[c].id: [problem.instance.requests[r].id
                                    for r in stop_requests(problem, stops)]
               for c, stops in seed.items()}
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
    notes = override_notes(live)
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
    n = problem.n_requests
    created: list[Assignment] = []
    routed: set[int] = set()
    for route in plan.routes:
        c = cars[route.vehicle]
        stops = [request_index[s.request] + (0 if s.type == "pickup" else n) for s in route.stops]
        moments = {(s.request, s.type): s.start for s in route.stops}
        for r, cost in trip_costs_cny(problem, c, stops).items():
            key = problem.instance.requests[r].id
            created.append(_assignment_for(
                day, problem, c, r, moments[key, "pickup"], moments[key, "dropoff"], cost,
                plan.explanations.get(key, ""), row.id, plan.reasons.get(key)))
            created[-1].override_note, created[-1].override_by = notes.get(day.requests[key].id, (None, None))
            routed.add(day.requests[key].id)
    session.add_all(created)
    session.flush()

    moved_to_planned: list[int] = []
    moved_back: list[int] = []
    for request_row in day.requests.values():
        if request_row.id in routed and request_row.state == RequestState.approved:
            request_workflow.move(session, request_row, RequestState.planned, request_workflow.PLATFORM)
            moved_to_planned.append(request_row.id)
        elif request_row.id not in routed and request_row.state == RequestState.planned:
            request_workflow.move(session, request_row, RequestState.approved, request_workflow.PLATFORM, next(
                (u["reason"] for u in row.unserved if u["request_id"] == request_row.id), None))
            moved_back.append(request_row.id)
    audit.record(session, actor, "dispatch_plan.create", "dispatch_plan", row.id, None, {
        "service_date": service_date, "org_id": org_id, "total_cost_cny": row.total_cost_cny,
        "pool_count": pool_count, "lease_count": lease_count, "unserved": row.unserved,
        "assignment_ids": [a.id for a in created], "removed_assignment_ids": removed,
        "superseded_plan_ids": [p.id for p in superseded],
        "requests_planned": moved_to_planned, "requests_back_to_approved": moved_back,
    })
    session.flush()
    return row, [a.id for a in created]


_COPIED = ("kind", "vehicle_id", "driver_id", "lessor_id", "lease_slot", "planned_pickup",
           "planned_dropoff", "cost_cny", "explanation", "reason")
#: What a dispatcher's override adds to an assignment (``dispatch.override_check``).
_OVERRIDE = ("override_note", "override_by", "forced_reason", "override_warnings")


def override_notes(assignments: Iterable[Assignment]) -> dict[int, tuple[str, str | None]]:
    """Request id -> the newest dispatcher's note on its assignments, and who wrote it."""
    notes: dict[int, tuple[str, str | None]] = {}
    for a in sorted(assignments, key=lambda a: a.id or 0):
        if a.override_note:
            notes[a.request_id] = (a.override_note, a.override_by)
    return notes


def _keep_override(kept: Assignment, plan_row: Assignment, moved: bool) -> None:
    """The override of the plan's assignment, if any, goes to the confirmed one; else the
    confirmed one keeps its note, and its warnings while it stays on its car."""
    if plan_row.override_note or plan_row.override_warnings:
        for name in _OVERRIDE:
            setattr(kept, name, getattr(plan_row, name))
    elif moved:
        kept.forced_reason, kept.override_warnings = None, None


def accept_plan(session: Session, row: DispatchPlan, actor: User | str) -> list[int]:
    """Confirm every assignment of a proposed plan; returns the ids of changed assignments.

    A request that already had a confirmed assignment keeps that assignment's id: the plan's
    values are copied into it (a move is noted in ``override_reason``; the dispatcher's own
    note, ``override_note``, stays). Requests move from
    planned to assigned; an older accepted plan of the date becomes superseded.
    """
    if row.status != PlanStatus.proposed:
        raise PlanConflict(f"plan {row.id} is {row.status.value}; only a proposed plan can be accepted")
    changed: list[int] = []
    dropped: list[int] = []
    assignments = plan_assignments(session, row.id)
    confirmed = confirmed_assignments(session, [a.request_id for a in assignments])
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
            _keep_override(kept, assignment, moved)
            if moved:
                kept.override_reason = f"re-planned by plan {row.id}"
            kept.plan_id = row.id
            session.add(kept)
            session.delete(assignment)
            session.flush()
            changed.append(kept.id)
        else:
            assignment.confirmed = True
            session.add(assignment)
            changed.append(assignment.id)
        if request_row.state == RequestState.planned:
            request_workflow.move(session, request_row, RequestState.assigned, request_workflow.PLATFORM)
    older = session.exec(select(DispatchPlan).where(
        DispatchPlan.service_date == row.service_date, DispatchPlan.org_id == row.org_id,
        DispatchPlan.status == PlanStatus.accepted, DispatchPlan.id != row.id)).all()
    for old in older:
        old.status = PlanStatus.superseded
        session.add(old)
    sync_assignment_windows(session, changed)
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
    key = instance_request_id(request_id)
    if key not in day.requests:
        raise PlanInputError(f"request_id: trip request {request_id} is not for "
                             f"{row.service_date} in the plan's organisation")
    problem = compile_problem(day.instance, day.matrix)
    assignments = plan_assignments(session, row.id)
    routes = _routes_from_assignments(problem, assignments)
    r = next(i for i, req in enumerate(problem.instance.requests) if req.id == key)
    move = Inserter(problem).cheapest(routes, r)
    if move is None:
        reason = problem.refusals.get(r) or busy_reason(problem, r)
        raise PlanConflict(f"request_id: no car can take request {request_id} ({reason})")
    car = problem.cars[move.car]
    routes[move.car] = inserted(problem, routes.get(move.car, []), move)
    moments = _stop_moments(problem, move.car, routes[move.car])
    label = "pool car" if car.kind == "pool" else "leased car"
    together = sorted(problem.instance.requests[o].id
                      for o in co_riders(problem, routes[move.car]).get(r, set()))
    shared = f", shared with {', '.join(together)}" if together else ""
    params: dict[str, Any] = {"vehicle": car.id, "added_cny": round(move.cost_cny, 2)}
    if together:
        params["shared_with"] = together
    new = _assignment_for(
        day, problem, move.car, r, *moments[r], move.cost_cny,
        f"urgent insertion: {label} {car.id} adds {move.cost_cny:.2f} CNY{shared}, the cheapest "
        "feasible place in the plan", row.id, Reason(code="urgent_insertion", params=params))
    accepted = row.status == PlanStatus.accepted
    new.confirmed = accepted
    session.add(new)
    session.flush()
    changed = [new.id]
    by_request = {a.request_id: a for a in assignments}
    for other, (pickup, dropoff) in moments.items():  # later times after the insertion
        assignment = by_request.get(day.requests[problem.instance.requests[other].id].id)
        if assignment is None or other == r:
            continue
        if (pickup, dropoff) != (assignment.planned_pickup, assignment.planned_dropoff):
            assignment.planned_pickup, assignment.planned_dropoff = pickup, dropoff
            session.add(assignment)
            changed.append(assignment.id)
    request_workflow.move(session, request_row,
                          RequestState.assigned if accepted else RequestState.planned, request_workflow.PLATFORM)

    stored = dict(row.plan)
    try:
        plan = assemble_plan(problem, routes, 0.0, "feasible", explain=False)
    except ValueError:  # a hand override left a route the model finds infeasible
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
    trips_started: int = 0  # of trips_served (planned), those under way now
    trips_completed: int = 0  # of trips_served, those driven to the end


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
    planned = plan_assignments(session, row.id)
    states = {a.request_id: req.state for a in planned
              if (req := session.get(TripRequest, a.request_id)) is not None}
    assignments = [a for a in planned if states.get(a.request_id, RequestState.cancelled) != RequestState.cancelled]
    pool = [a for a in assignments if a.kind == AssignmentKind.pool]
    lease_energy = row.plan.get("lease_energy", {})
    nev = {e.value for e in NEV_ENERGIES}
    nev_trips = 0
    for a in assignments:
        if a.kind == AssignmentKind.pool:
            vehicle = session.get(Vehicle, a.vehicle_id) if a.vehicle_id else None
            nev_trips += vehicle is not None and vehicle.energy in NEV_ENERGIES
        else:
            nev_trips += lease_energy.get(a.lease_slot or "", "") in nev
    n = len(assignments)
    used = len({a.vehicle_id for a in pool})
    return FleetFigures(
        service_date=service_date, trips_served=n, pool_trips=len(pool),
        lease_trips=n - len(pool), cost_cny=round(sum(a.cost_cny for a in assignments), 2),
        pool_utilisation=round(used / row.pool_available, 4) if row.pool_available else 0.0,
        nev_share=round(nev_trips / n, 4) if n else 0.0,
        trips_started=sum(states[a.request_id] == RequestState.in_progress for a in assignments),
        trips_completed=sum(states[a.request_id] == RequestState.completed for a in assignments),
    )
