"""Read-only records: trips as driven, stops, GPS positions, alerts and the audit log.

A leased car is the rental company's outside its hire windows: its fixes there are stored
(and its trips and stops computed) but shown only to the managers of its lessor contract,
taken to be the admin and dispatcher roles of the organisation that holds the contract
(``Lessor.org_id``) or of one above it; everyone else (auditors, drivers, and admins or
dispatchers of organisations below the contract holder or beside it) sees a leased car's
positions, trips and stops only inside its hire windows (:func:`shown_outside_hire`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import col, select

from fleet.alert_incidents import incidents_with_kind, primaries, public_alerts
from fleet.models import (
    Alert,
    AlertPublic,
    AlertSeverity,
    AlertState,
    AuditEntry,
    AuditEntryPublic,
    HireWindow,
    Lessor,
    Organisation,
    Ownership,
    Position,
    PositionPublic,
    Role,
    Trip,
    TripPublic,
    User,
    Vehicle,
)
from fleet.models.compliance import AuditEntryOrg
from fleet.models.telemetry import Stop, StopPublic
from web.crud import ObjectId, apply_filters
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles
from web.pagination import Page, PageDep, paginate
from web.routers.assignments import own_driver_ids

router = APIRouter(tags=["records"])
R = Role
fleet_readers = Depends(require_roles(R.admin, R.dispatcher, R.auditor))
trip_readers = Depends(require_roles(R.admin, R.dispatcher, R.auditor, R.driver))
audit_readers = Depends(require_roles(R.admin, R.auditor))

Id = Annotated[int | None, Field(None, ge=1, le=2**31 - 1)]


class TimeRange(BaseModel):
    vehicle_id: Id = None
    since: AwareDatetime | None = Field(None, description="At or after this time.")
    until: AwareDatetime | None = Field(None, description="Before this time.")


class AlertFilters(TimeRange):
    kind: str | None = Field(None, max_length=60)
    incident: bool = Field(False, description="One row per incident (the alerts of one drive or stop), "
                                              "named by its lowest alert id; ``kind`` then matches any of its kinds.")
    state: AlertState | None = None
    severity: AlertSeverity | None = None
    agency_id: Id = None  # cars of this organisation and the ones under it


class AuditFilters(BaseModel):
    object_type: str | None = Field(None, max_length=40)
    object_id: str | None = Field(None, max_length=40)
    actor: str | None = Field(None, max_length=64)


def _vehicles_in_scope(principal: Principal):  # type: ignore[no-untyped-def]
    return select(Vehicle.id).where(principal.scope_filter(col(Vehicle.org_id)))


#: Roles that see a leased car's records outside its hire windows, when their subtree holds
#: the car's lessor contract.
CONTRACT_MANAGER_ROLES = frozenset({Role.admin, Role.dispatcher})


def shown_outside_hire(principal: Principal, vehicle_column, time_column):  # type: ignore[no-untyped-def]
    """A SQL condition on a record of a car at a time: true for a pool car, for a leased car
    inside one of its hire windows, and for any leased car whose lessor contract the caller
    manages (see the module text)."""
    hired = select(HireWindow.id).where(col(HireWindow.vehicle_id) == vehicle_column,
                                        col(HireWindow.starts_at) <= time_column,
                                        col(HireWindow.ends_at) > time_column).exists()
    hidden = select(Vehicle.id).where(Vehicle.ownership == Ownership.leased)
    if principal.role in CONTRACT_MANAGER_ROLES:
        managed = select(Lessor.id).where(principal.scope_filter(col(Lessor.org_id)))
        hidden = hidden.where(col(Vehicle.lessor_id).not_in(managed))
    return col(vehicle_column).not_in(hidden) | hired


def _cars_rows(principal: Principal, table, column, filters: TimeRange):  # type: ignore[no-untyped-def]
    """Rows of ``table`` (one with a ``vehicle_id``) of cars in scope, narrowed to the car and
    the ``since``/``until`` bounds on the time ``column`` that the filters name."""
    statement = select(table).where(col(table.vehicle_id).in_(_vehicles_in_scope(principal)))
    if filters.vehicle_id is not None:
        statement = statement.where(col(table.vehicle_id) == filters.vehicle_id)
    if filters.since is not None:
        statement = statement.where(column >= filters.since)
    if filters.until is not None:
        statement = statement.where(column < filters.until)
    return statement


@router.get("/trips", response_model=Page[TripPublic], dependencies=[trip_readers])
def list_trips(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
               filters: Annotated[TimeRange, Query()]) -> dict:
    """Trips as driven of cars in scope; a driver sees only their own."""
    statement = _cars_rows(principal, Trip, col(Trip.started_at), filters).where(
        shown_outside_hire(principal, Trip.vehicle_id, Trip.started_at))
    if principal.role == Role.driver:
        statement = statement.where(col(Trip.driver_id).in_(own_driver_ids(principal)))
    return paginate(session, statement, page, col(Trip.started_at))


@router.get("/trips/{object_id}", response_model=TripPublic, dependencies=[trip_readers])
def get_trip(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Trip:
    trip = session.get(Trip, object_id)
    vehicle = session.get(Vehicle, trip.vehicle_id) if trip else None
    visible = vehicle is not None and principal.in_scope(session, vehicle.org_id)
    if visible and principal.role == Role.driver:
        visible = trip.driver_id in session.exec(own_driver_ids(principal)).all()
    if visible:
        visible = session.exec(select(Trip.id).where(
            Trip.id == trip.id, shown_outside_hire(principal, Trip.vehicle_id, Trip.started_at))).first() is not None
    if not visible:
        raise not_found("trip", object_id)
    return trip


@router.get("/positions", response_model=Page[PositionPublic], dependencies=[fleet_readers])
def list_positions(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
                   filters: Annotated[TimeRange, Query()]) -> dict:
    """GPS positions of cars in scope, in event-time order; a leased car's outside its hire
    windows only for the managers of its lessor contract (see the module text)."""
    statement = _cars_rows(principal, Position, col(Position.ts), filters).where(
        shown_outside_hire(principal, Position.vehicle_id, Position.ts))
    return paginate(session, statement, page, col(Position.ts))


@router.get("/stops", response_model=Page[StopPublic], dependencies=[fleet_readers])
def list_stops(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
               filters: Annotated[TimeRange, Query()]) -> dict:
    """Stops of cars in scope (where each stood, from when, for how long, on which fixes),
    by start time; ``since`` and ``until`` bound the start. A leased car's stops that start
    outside its hire windows are shown only to the managers of its lessor contract."""
    statement = _cars_rows(principal, Stop, col(Stop.started_at), filters).where(
        shown_outside_hire(principal, Stop.vehicle_id, Stop.started_at))
    return paginate(session, statement, page, col(Stop.started_at))


@router.get("/alerts", response_model=Page[AlertPublic], dependencies=[fleet_readers])
def list_alerts(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
                filters: Annotated[AlertFilters, Query()]) -> dict:
    statement = _cars_rows(principal, Alert, col(Alert.started_at), filters)
    if filters.incident:
        statement = statement.where(primaries())
        if filters.kind is not None:
            statement = statement.where(incidents_with_kind(filters.kind))
    for key in ("state", "severity") if filters.incident else ("kind", "state", "severity"):
        value = getattr(filters, key)
        if value is not None:
            statement = statement.where(getattr(Alert, key) == value)
    if filters.agency_id is not None:
        in_agency = (select(Vehicle.id).join(Organisation, col(Organisation.id) == col(Vehicle.org_id))
                     .where(col(Organisation.path).contains(f"/{filters.agency_id}/")))
        statement = statement.where(col(Alert.vehicle_id).in_(in_agency))
    listed = paginate(session, statement, page, col(Alert.started_at).desc())
    return listed | {"items": public_alerts(session, listed["items"])}


@router.get("/alerts/{object_id}", response_model=AlertPublic, dependencies=[fleet_readers])
def get_alert(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> AlertPublic:
    alert = session.get(Alert, object_id)
    vehicle = session.get(Vehicle, alert.vehicle_id) if alert else None
    if vehicle is None or not principal.in_scope(session, vehicle.org_id):
        raise not_found("alert", object_id)
    return public_alerts(session, [alert])[0]


@router.get("/audit-entries", response_model=Page[AuditEntryPublic], dependencies=[audit_readers])
def list_audit_entries(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
                       filters: Annotated[AuditFilters, Query()]) -> dict:
    """Audit entries about objects of organisations in the caller's scope, whoever made the
    change (a county auditor sees the city admin's edit of a county car), oldest first. Entries
    about objects of no organisation (a platform-wide import) are listed when their
    actor is in scope or is the system."""
    about_scope = select(AuditEntryOrg.entry_id).where(
        col(AuditEntryOrg.entry_id) == col(AuditEntry.id), principal.scope_filter(col(AuditEntryOrg.org_id)))
    about_any = select(AuditEntryOrg.entry_id).where(col(AuditEntryOrg.entry_id) == col(AuditEntry.id))
    users_in_scope = select(User.id).where(principal.scope_filter(col(User.org_id)))
    actor_in_scope = col(AuditEntry.actor_id).in_(users_in_scope) | col(AuditEntry.actor_id).is_(None)
    statement = select(AuditEntry).where(about_scope.exists() | (~about_any.exists() & actor_in_scope))
    return paginate(session, apply_filters(statement, AuditEntry, filters), page, col(AuditEntry.id))
