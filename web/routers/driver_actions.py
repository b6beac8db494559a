"""What a driver does at the wheel: arrive at the pickup, start and complete the trip with
the odometer reading, report a problem; and the driver's list of today's trips.

Starting moves the request to ``in_progress`` and opens a trip as driven; completing moves it
to ``completed``, closes the trip and sets the car's odometer. An odometer reading below the
car's last one, or further above it than the car could have driven since, is refused with a
422 naming ``odometer_km``; a start earlier than FLEET_TRIPS_START_LEAD_S before the planned
pickup is refused with a 409. Refusals carry a code the driver's page translates
(:mod:`web.refusals`).

A driver acts on the assignments given to their own driver record, whichever agency asked
for the trip (a pool driver serves every agency); dispatchers and administrators act on the
assignments of the agencies in their organisation subtree."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import (
    Assignment,
    AssignmentPublic,
    AuditEntry,
    Driver,
    Organisation,
    RequestState,
    Role,
    Trip,
    TripRequest,
    TripRequestPublic,
    Vehicle,
    VehicleStatus,
    utcnow,
)
from fleet.request_workflow import (
    IllegalTransition,
    TransitionForbidden,
    check_transition,
    move,
)
from fleet.odometer import OdometerRejected, check_reading, last_reading
from web.crud import ObjectId
from web.day_assignments import assignments_of_day
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles
from web.refusals import refusal

router = APIRouter(tags=["driver actions"])
actors = Depends(require_roles(Role.admin, Role.dispatcher, Role.driver))

class DriverEvent(StrEnum):
    arrived = "arrived"
    started = "started"
    completed = "completed"
    problem = "problem"


class DriverEventCreate(BaseModel):
    event: DriverEvent
    odometer_km: float | None = Field(None, ge=0, le=2_000_000, description="Odometer reading, km.")
    note: str | None = Field(None, max_length=500)


class DriverEventResult(BaseModel):
    assignment_id: int
    event: DriverEvent
    request_state: RequestState
    trip_id: int | None
    odometer_km: float | None
    at: datetime


class DriverStop(BaseModel):
    """One trip of a driver's day: the assignment, its request and the agency that asked,
    the car and what is done."""

    assignment: AssignmentPublic
    request: TripRequestPublic
    agency: str | None
    plate: str | None
    arrived: bool
    trip_id: int | None


STATE_FOR_EVENT = {DriverEvent.started: RequestState.in_progress, DriverEvent.completed: RequestState.completed}


def _own_driver(session: Session, principal: Principal) -> Driver | None:
    return session.exec(select(Driver).where(Driver.user_id == principal.user.id)).first()


def _load(session: Session, principal: Principal, assignment_id: int) -> Assignment:
    """The assignment the caller may act on: a driver's own (by driver record, whatever the
    requesting agency), or one of an agency in a dispatcher's or administrator's subtree;
    404 otherwise."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is not None:
        if principal.role == Role.driver:
            driver = _own_driver(session, principal)
            if driver is not None and assignment.driver_id == driver.id:
                return assignment
        elif principal.in_scope(session, assignment.org_id):
            return assignment
    raise not_found("assignment", assignment_id)


def _open_trip(session: Session, assignment: Assignment) -> Trip | None:
    return session.exec(select(Trip).where(Trip.assignment_id == assignment.id)
                        .where(col(Trip.ended_at).is_(None)).order_by(col(Trip.id).desc())).first()


@router.post("/assignments/{object_id}/events", response_model=DriverEventResult, dependencies=[actors])
def record_driver_event(object_id: ObjectId, body: DriverEventCreate, session: SessionDep,
                        principal: CurrentPrincipal, http: Request) -> DriverEventResult:
    """Arrived at the pickup, started, completed (both with ``odometer_km``), or a problem
    (with a ``note``). Started and completed move the request on; an illegal step is 409, and
    so is a start earlier than FLEET_TRIPS_START_LEAD_S before the planned pickup."""
    assignment = _load(session, principal, object_id)
    request = session.get(TripRequest, assignment.request_id)
    if request is None:
        raise not_found("trip request", assignment.request_id)
    current = RequestState(request.state)
    now = utcnow()
    if body.event == DriverEvent.problem:
        if not (body.note and body.note.strip()):
            raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "note", "note_missing", "describe the problem")
    elif body.event == DriverEvent.arrived:
        if current != RequestState.assigned:
            raise refusal(status.HTTP_409_CONFLICT, "event", "arrival_not_assigned",
                          f"cannot arrive for a trip whose request is '{current.value}'; "
                          "arrival is recorded before the trip starts (state 'assigned')", state=current.value)
    else:
        _check_step(current, STATE_FOR_EVENT[body.event], principal.role)
        if body.event == DriverEvent.started:
            _check_start_time(assignment, now, http.app.state.settings.trips.start_lead_s)
    trip = _apply(session, principal, assignment, request, body, now)
    audit.record(session, principal.user, f"assignment.{body.event.value}", "assignment", assignment.id, None,
                 {"event": body.event.value, "odometer_km": body.odometer_km, "note": body.note,
                  "request_state": RequestState(request.state).value, "trip_id": trip.id if trip else None})
    session.commit()
    return DriverEventResult(assignment_id=assignment.id, event=body.event, request_state=request.state,
                             trip_id=trip.id if trip else None, odometer_km=body.odometer_km, at=now)


def _check_step(current: RequestState, target: RequestState, role: Role) -> None:
    try:
        check_transition(current, target, role, None)
    except (IllegalTransition, TransitionForbidden) as exc:
        raise refusal(status.HTTP_409_CONFLICT, "event", "illegal_step", str(exc), state=current.value,
                      to=target.value) from None


def _check_start_time(assignment: Assignment, now: datetime, lead_s: float) -> None:
    """Refuse (409) a start earlier than ``lead_s`` seconds before the planned pickup."""
    earliest = assignment.planned_pickup - timedelta(seconds=lead_s)
    if now < earliest:
        raise refusal(status.HTTP_409_CONFLICT, "event", "start_too_early",
                      f"too early to start: the pickup is planned for {assignment.planned_pickup.isoformat()}, "
                      f"and the trip can be started from {earliest.isoformat()} "
                      f"({lead_s / 3600:g} h before the pickup)",
                      planned_pickup=assignment.planned_pickup.isoformat(), earliest_start=earliest.isoformat(),
                      lead_s=lead_s)


def _check_odometer(session: Session, vehicle: Vehicle, event: DriverEvent, reading_km: float | None,
                    now: datetime) -> None:
    """Refuse (422 naming ``odometer_km``) a missing reading for ``event`` or one the odometer
    rule refuses (km)."""
    if reading_km is None:
        raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "odometer_km", "odometer_missing",
                      f"enter the odometer reading of {vehicle.plate} to record '{event.value}'", plate=vehicle.plate)
    last = last_reading(session, vehicle)
    try:
        check_reading(reading_km, last, now, vehicle.plate)
    except OdometerRejected as exc:
        code = "odometer_below_last" if reading_km < last.km else "odometer_above_possible"
        hours = max((now - last.at).total_seconds() / 3600.0, 0.0)
        raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "odometer_km", code,
                      str(exc).removeprefix("odometer_km: "), plate=vehicle.plate, reading_km=reading_km,
                      last_km=last.km, hours=round(hours, 1)) from None


def _apply(session: Session, principal: Principal, assignment: Assignment, request: TripRequest,
           body: DriverEventCreate, now: datetime) -> Trip | None:
    """Move the request, open or close the trip and set the car's odometer."""
    if body.event not in STATE_FOR_EVENT:
        return _open_trip(session, assignment)
    vehicle = session.get(Vehicle, assignment.vehicle_id) if assignment.vehicle_id else None
    if vehicle is not None:
        _check_odometer(session, vehicle, body.event, body.odometer_km, now)
    trip = _open_trip(session, assignment)
    if body.event == DriverEvent.started:
        if vehicle is not None:
            trip = Trip(vehicle_id=vehicle.id, assignment_id=assignment.id, driver_id=assignment.driver_id,
                        started_at=now, start_odometer_km=body.odometer_km)
            session.add(trip)
    elif trip is not None:
        trip.ended_at = now
        trip.end_odometer_km = body.odometer_km
        if body.odometer_km is not None and trip.start_odometer_km is not None:
            trip.distance_km = body.odometer_km - trip.start_odometer_km
        session.add(trip)
    if vehicle is not None:
        vehicle.odometer_km = body.odometer_km
        vehicle.status = VehicleStatus.in_service if body.event == DriverEvent.started else VehicleStatus.available
        vehicle.updated_at = now
        session.add(vehicle)
    move(session, request, STATE_FOR_EVENT[body.event], principal.user, at=now)
    return trip


@router.get("/driver/today", response_model=list[DriverStop], dependencies=[actors])
def driver_today(
    request: Request, session: SessionDep, principal: CurrentPrincipal,
    service_date: Annotated[date | None, Query(description="Day in the display time zone; default today.")] = None,
    driver_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Dispatchers: whose day.")] = None,
) -> list[DriverStop]:
    """A driver's trips of one day in pickup order, whichever agency asked for them (a driver
    sees their own; a dispatcher names the driver)."""
    if principal.role == Role.driver:
        driver = _own_driver(session, principal)
        if driver is None:
            raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "driver_id", "driver_unlinked",
                          "your login is not linked to a driver record; ask the administrator")
    else:
        if driver_id is None:
            raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "driver_id", "driver_id_missing",
                          "name the driver whose day to show")
        driver = session.get(Driver, driver_id)
        if driver is None or not principal.in_scope(session, driver.org_id):
            raise not_found("driver", driver_id)
    tz = request.app.state.settings.tz
    day = service_date or datetime.now(tz).date()
    start = datetime.combine(day, time(0), tz)
    rows = assignments_of_day(session, start, Assignment.driver_id == driver.id,
                              col(TripRequest.state).not_in([RequestState.cancelled, RequestState.rejected]))
    ids = [str(a.id) for a, _ in rows]
    arrived = set(session.exec(select(AuditEntry.object_id).where(AuditEntry.object_type == "assignment")
                               .where(AuditEntry.action == "assignment.arrived")
                               .where(col(AuditEntry.object_id).in_(ids))).all()) if ids else set()
    stops = []
    for assignment, trip_request in rows:
        vehicle = session.get(Vehicle, assignment.vehicle_id) if assignment.vehicle_id else None
        agency = session.get(Organisation, trip_request.agency_id)
        trip = session.exec(select(Trip.id).where(Trip.assignment_id == assignment.id)
                            .order_by(col(Trip.id).desc())).first()
        stops.append(DriverStop(assignment=AssignmentPublic.model_validate(assignment),
                                request=TripRequestPublic.model_validate(trip_request),
                                agency=agency.name if agency else None,
                                plate=vehicle.plate if vehicle else None,
                                arrived=str(assignment.id) in arrived, trip_id=trip))
    return stops
