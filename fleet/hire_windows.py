"""Hire windows that follow confirmed lease assignments.

A confirmed lease assignment on a leased car of the fleet hires that car from its planned
pickup minus the lessor's lead (``Lessor.hire_lead_s``, else FLEET_LEASE_HIRE_LEAD_S) to its
planned drop-off plus the lessor's return time (``Lessor.hire_return_s``, else
FLEET_LEASE_HIRE_RETURN_S). :func:`sync_assignment_windows` keeps one window per such
assignment (``HireWindow.assignment_id``) in step with it: added when the assignment is
confirmed with its car, moved with its times, removed when it no longer hires a car (moved to
a pool car, unconfirmed, or its request cancelled). Plans call it when accepted, the
assignment API when a car is given or changed, and the request workflow after every move of a
request (:func:`sync_request_windows`). It flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from fleet.models import Assignment, AssignmentKind, Lessor, Ownership, RequestState, TripRequest, Vehicle
from fleet.models.hire_window import HireWindow
from fleet.settings import Settings, get_settings

#: Requests whose confirmed lease assignment hires a car.
HIRING_STATES = frozenset({RequestState.planned, RequestState.assigned, RequestState.in_progress,
                           RequestState.completed})


def assignment_hire(session: Session, assignment: Assignment,
                    settings: Settings | None = None) -> tuple[datetime, datetime] | None:
    """(starts_at, ends_at) of the hire a lease assignment makes, or None when it hires no
    car: not a confirmed lease assignment, no leased car of the fleet named, or its request
    not planned or later."""
    if assignment.kind != AssignmentKind.lease or not assignment.confirmed or assignment.vehicle_id is None:
        return None
    vehicle = session.get(Vehicle, assignment.vehicle_id)
    request = session.get(TripRequest, assignment.request_id)
    if vehicle is None or vehicle.ownership != Ownership.leased or request is None \
            or request.state not in HIRING_STATES:
        return None
    lease = (settings or get_settings()).lease
    lessor = session.get(Lessor, assignment.lessor_id or vehicle.lessor_id) \
        if (assignment.lessor_id or vehicle.lessor_id) else None
    lead_s = lessor.hire_lead_s if lessor and lessor.hire_lead_s is not None else lease.hire_lead_s
    return_s = lessor.hire_return_s if lessor and lessor.hire_return_s is not None else lease.hire_return_s
    return (assignment.planned_pickup - timedelta(seconds=lead_s),
            assignment.planned_dropoff + timedelta(seconds=return_s))


def sync_assignment_windows(session: Session, assignment_ids: Iterable[int | None],
                            settings: Settings | None = None) -> list[HireWindow]:
    """Bring the hire window of each assignment in step with it (see the module text);
    returns the windows added or changed."""
    ids = sorted({i for i in assignment_ids if i is not None})
    if not ids:
        return []
    stored = {w.assignment_id: w for w in session.exec(
        select(HireWindow).where(col(HireWindow.assignment_id).in_(ids))).all()}
    changed = []
    for assignment_id in ids:
        assignment = session.get(Assignment, assignment_id)
        hire = assignment_hire(session, assignment, settings) if assignment is not None else None
        window = stored.get(assignment_id)
        if hire is None:
            if window is not None:
                session.delete(window)
            continue
        if window is None:
            window = HireWindow(vehicle_id=assignment.vehicle_id, assignment_id=assignment_id,
                                starts_at=hire[0], ends_at=hire[1],
                                note=f"trip request {assignment.request_id}")
        elif (window.vehicle_id, window.starts_at, window.ends_at) == (assignment.vehicle_id, *hire):
            continue
        else:
            window.vehicle_id, window.starts_at, window.ends_at = assignment.vehicle_id, *hire
        session.add(window)
        changed.append(window)
    session.flush()
    return changed


def sync_request_windows(session: Session, request_id: int | None, settings: Settings | None = None) -> None:
    """Bring the hire windows of a trip request's assignments in step after its state moved
    (a cancelled or rejected request hires no car)."""
    sync_assignment_windows(session, session.exec(
        select(Assignment.id).where(Assignment.request_id == request_id)).all(), settings)
