"""What an inspector export covers, and the streamed queries behind each of its tables.

Every query runs with ``yield_per`` (a server-side cursor on PostgreSQL), so no table is ever
held in memory whole. Times are UTC; distances km; money CNY."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, or_, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from fleet.compliance.working_time import WorkingHours
from fleet.models import (
    Alert,
    AlertState,
    Assignment,
    AssignmentKind,
    Driver,
    Organisation,
    Position,
    Trip,
    TripRequest,
    User,
    Vehicle,
)
from fleet.models.compliance import AlertReviewStep

#: Rows fetched per round trip.
BATCH_ROWS = 5000


class ExportFilterError(ValueError):
    """A filter that cannot be used; the message names the field."""


@dataclass(frozen=True)
class ExportFilters:
    """A date range (UTC, ``since`` inclusive, ``until`` exclusive) and an organisation
    (any level, an agency included) or one vehicle."""

    since: datetime
    until: datetime
    org_id: int | None = None
    vehicle_id: int | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ExportFilterError(f"{name}: give a time zone offset")
        if self.until <= self.since:
            raise ExportFilterError("until: must be after since")


@dataclass(frozen=True)
class ExportScope:
    """The filters resolved against the database: the organisation subtree covered."""

    filters: ExportFilters
    org: Organisation | None
    vehicle: Vehicle | None

    @property
    def org_path(self) -> str:
        return self.org.path if self.org else "/"

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.filters.since.isoformat(), "until": self.filters.until.isoformat(),
            "org_id": self.org.id if self.org else None, "org_code": self.org.code if self.org else None,
            "org_name": self.org.name if self.org else None,
            "vehicle_id": self.vehicle.id if self.vehicle else None,
            "plate": self.vehicle.plate if self.vehicle else None,
        }


def resolve_scope(session: Session, filters: ExportFilters, allowed_path: str | None = None) -> ExportScope:
    """Check the filters exist and lie inside ``allowed_path`` (the caller's subtree; None for
    the whole platform). Without an organisation the caller's own subtree is covered."""
    org = None
    if filters.org_id is not None:
        org = session.get(Organisation, filters.org_id)
        if org is None:
            raise ExportFilterError(f"org_id: organisation {filters.org_id} does not exist")
    elif allowed_path is not None:
        org = session.exec(select(Organisation).where(Organisation.path == allowed_path)).first()
    if org is not None and allowed_path is not None and not org.path.startswith(allowed_path):
        raise PermissionError(f"org_id: organisation {org.id} lies outside your organisation's scope")
    vehicle = None
    if filters.vehicle_id is not None:
        vehicle = session.get(Vehicle, filters.vehicle_id)
        paths = _org_path(session, vehicle.org_id) if vehicle else ""
        if vehicle is None or (allowed_path is not None and not paths.startswith(allowed_path)):
            raise ExportFilterError(f"vehicle_id: vehicle {filters.vehicle_id} not found in your scope")
    return ExportScope(filters, org, vehicle)


def _org_path(session: Session, org_id: int) -> str:
    org = session.get(Organisation, org_id)
    return org.path if org else ""


def _orgs_in(scope: ExportScope):  # type: ignore[no-untyped-def]
    return select(Organisation.id).where(col(Organisation.path).startswith(scope.org_path))


def vehicles_in(scope: ExportScope):  # type: ignore[no-untyped-def]
    """The ids of the cars covered: one car, or the cars owned in the subtree."""
    statement = select(Vehicle.id).where(col(Vehicle.org_id).in_(_orgs_in(scope)))
    if scope.vehicle is not None:
        statement = statement.where(Vehicle.id == scope.vehicle.id)
    return statement


def _stream(session: Session, statement) -> Iterator[Sequence[Any]]:  # type: ignore[no-untyped-def]
    result = session.execute(statement.execution_options(yield_per=BATCH_ROWS))
    try:
        yield from result
    finally:
        result.close()


@dataclass(frozen=True)
class Table:
    """A named table of the export: its columns and a fresh stream of its rows."""

    name: str
    columns: list[str]
    rows: Iterator[Sequence[Any]]


TRIP_COLUMNS = [
    "trip_id", "agency", "agency_code", "requester", "purpose", "route", "origin_lat", "origin_lon",
    "destination_lat", "destination_lon", "planned_pickup", "started_at", "ended_at", "distance_km",
    "start_odometer_km", "end_odometer_km", "driver", "plate", "vehicle_id", "service", "cost_cny",
    "request_id", "assignment_id",
]


def trips(session: Session, scope: ExportScope) -> Table:
    """Trips as driven, with their dispatch-slip fields (派车单): trips of the covered cars and
    trips served for agencies in the subtree."""
    agency, requester = aliased(Organisation), aliased(User)
    driver_id = func.coalesce(Trip.driver_id, Assignment.driver_id)
    f = scope.filters
    covered = col(Trip.vehicle_id).in_(vehicles_in(scope))
    if scope.vehicle is None:
        covered = or_(covered, col(TripRequest.agency_id).in_(_orgs_in(scope)))
    statement = (
        select(Trip.id, agency.name, agency.code, func.coalesce(func.nullif(requester.full_name, ""), requester.username),
               TripRequest.purpose, TripRequest.origin_address, TripRequest.destination_address,
               TripRequest.origin_lat, TripRequest.origin_lon, TripRequest.destination_lat, TripRequest.destination_lon,
               Assignment.planned_pickup, Trip.started_at, Trip.ended_at, Trip.distance_km, Trip.start_odometer_km,
               Trip.end_odometer_km, Driver.name, Vehicle.plate, Trip.vehicle_id, Assignment.kind, Assignment.cost_cny,
               TripRequest.id, Assignment.id)
        .join(Vehicle, Vehicle.id == Trip.vehicle_id)
        .outerjoin(Assignment, Assignment.id == Trip.assignment_id)
        .outerjoin(TripRequest, TripRequest.id == Assignment.request_id)
        .outerjoin(agency, agency.id == TripRequest.agency_id)
        .outerjoin(requester, requester.id == TripRequest.requester_id)
        .outerjoin(Driver, Driver.id == driver_id)
        .where(col(Trip.started_at) >= f.since, col(Trip.started_at) < f.until, covered)
        .order_by(col(Trip.started_at), col(Trip.id))
    )

    def rows() -> Iterator[Sequence[Any]]:
        for row in _stream(session, statement):
            values = list(row)
            origin, destination = values.pop(5), values.pop(5)
            route = f"{origin or '?'} → {destination or '?'}" if values[4] is not None else ""
            values.insert(5, route)
            if values[19] is not None:
                values[19] = AssignmentKind(values[19]).value
            yield values

    return Table("trips", TRIP_COLUMNS, rows())


#: ``incident_id`` groups the alerts of one drive or stop (``fleet.alert_incidents``): an
#: alert alone is its own incident.
ALERT_COLUMNS = [
    "alert_id", "kind", "plate", "vehicle_id", "started_at", "ended_at", "lat", "lon", "severity", "state",
    "reviewer", "decision_reason", "decided_at", "rule_version", "thresholds", "evidence", "incident_id",
]


def _alerts_statement(scope: ExportScope):  # type: ignore[no-untyped-def]
    f = scope.filters
    return select(Alert).where(col(Alert.vehicle_id).in_(vehicles_in(scope)), col(Alert.started_at) >= f.since,
                               col(Alert.started_at) < f.until)


def alerts(session: Session, scope: ExportScope, seen_rules: dict[tuple[str, str, str], dict[str, Any]]) -> Table:
    """Alerts with their disposition (latest review step); the rule versions and thresholds
    met on the way are collected into ``seen_rules`` for the manifest."""
    latest = (select(AlertReviewStep.alert_id, func.max(AlertReviewStep.id).label("step_id"))
              .group_by(AlertReviewStep.alert_id).subquery())
    reviewer = aliased(User)
    inner = _alerts_statement(scope).subquery()
    alert = aliased(Alert, inner)
    statement = (
        select(alert, Vehicle.plate, reviewer.username, AlertReviewStep.reason, AlertReviewStep.at)
        .join(Vehicle, Vehicle.id == alert.vehicle_id)
        .outerjoin(latest, latest.c.alert_id == alert.id)
        .outerjoin(AlertReviewStep, AlertReviewStep.id == latest.c.step_id)
        .outerjoin(reviewer, reviewer.id == AlertReviewStep.reviewer_id)
        .order_by(alert.started_at, alert.id)
    )

    def rows() -> Iterator[Sequence[Any]]:
        for a, plate, reviewer_name, reason, decided_at in _stream(session, statement):
            thresholds = json.dumps(a.thresholds, ensure_ascii=False, sort_keys=True)
            seen_rules.setdefault((a.kind, a.rule_version, thresholds), {
                "kind": a.kind, "rule_version": a.rule_version, "thresholds": a.thresholds})
            decided = decided_at if AlertState(a.state) not in (AlertState.open, AlertState.under_review) else None
            yield [a.id, a.kind, plate, a.vehicle_id, a.started_at, a.ended_at, a.lat, a.lon,
                   a.severity.value, a.state.value, reviewer_name, reason, decided, a.rule_version, thresholds,
                   json.dumps(a.evidence, ensure_ascii=False, sort_keys=True), a.incident_id or a.id]

    return Table("alerts", ALERT_COLUMNS, rows())


REVIEW_COLUMNS = ["alert_id", "step", "from_state", "to_state", "reason", "reviewer", "actor", "at"]


def alert_reviews(session: Session, scope: ExportScope) -> Table:
    """Every review step of the alerts covered, in order."""
    reviewer = aliased(User)
    covered = _alerts_statement(scope).with_only_columns(Alert.id)
    statement = (
        select(AlertReviewStep.alert_id, AlertReviewStep.id, AlertReviewStep.from_state, AlertReviewStep.to_state,
               AlertReviewStep.reason, reviewer.username, AlertReviewStep.actor, AlertReviewStep.at)
        .outerjoin(reviewer, reviewer.id == AlertReviewStep.reviewer_id)
        .where(col(AlertReviewStep.alert_id).in_(covered))
        .order_by(col(AlertReviewStep.alert_id), col(AlertReviewStep.id))
    )

    def rows() -> Iterator[Sequence[Any]]:
        for row in _stream(session, statement):
            values = list(row)
            values[2], values[3] = values[2].value, values[3].value
            yield values

    return Table("alert_reviews", REVIEW_COLUMNS, rows())


USAGE_COLUMNS = ["vehicle_id", "plate", "org_code", "trips", "distance_km", "off_hours_km"]


def usage_per_vehicle(session: Session, scope: ExportScope) -> Table:
    """Kilometres per car and the part driven outside working time (trips streamed in car
    order and summed one car at a time)."""
    f = scope.filters
    statement = (
        select(Trip.vehicle_id, Vehicle.plate, Organisation.code, Trip.distance_km, Trip.started_at, Trip.ended_at)
        .join(Vehicle, Vehicle.id == Trip.vehicle_id).join(Organisation, Organisation.id == Vehicle.org_id)
        .where(col(Trip.vehicle_id).in_(vehicles_in(scope)), col(Trip.started_at) >= f.since,
               col(Trip.started_at) < f.until)
        .order_by(col(Trip.vehicle_id), col(Trip.started_at))
    )

    hours = WorkingHours.from_session(session)

    def rows() -> Iterator[Sequence[Any]]:
        current: list[Any] | None = None
        for vehicle_id, plate, code, distance_km, started_at, ended_at in _stream(session, statement):
            if current is None or current[0] != vehicle_id:
                if current is not None:
                    yield _rounded(current)
                current = [vehicle_id, plate, code, 0, 0.0, 0.0]
            current[3] += 1
            current[4] += distance_km
            current[5] += hours.off_hours_km(distance_km, started_at, ended_at)
        if current is not None:
            yield _rounded(current)

    return Table("usage_per_vehicle", USAGE_COLUMNS, rows())


def _rounded(values: list[Any]) -> list[Any]:
    return values[:4] + [round(values[4], 3), round(values[5], 3)]


LEASE_COLUMNS = ["agency_id", "agency", "agency_code", "leased_trips", "leased_spend_cny"]


def leased_spend(session: Session, scope: ExportScope) -> Table:
    """Spend on leased cars (社会化租赁) per agency, by planned pickup in the range."""
    f = scope.filters
    statement = (
        select(Organisation.id, Organisation.name, Organisation.code, func.count(Assignment.id),
               func.sum(Assignment.cost_cny))
        .join(Organisation, Organisation.id == Assignment.org_id)
        .where(Assignment.kind == AssignmentKind.lease, col(Assignment.org_id).in_(_orgs_in(scope)),
               col(Assignment.planned_pickup) >= f.since, col(Assignment.planned_pickup) < f.until)
        .group_by(Organisation.id, Organisation.name, Organisation.code)
        .order_by(Organisation.code)
    )
    if scope.vehicle is not None:
        statement = statement.where(Assignment.vehicle_id == scope.vehicle.id)

    def rows() -> Iterator[Sequence[Any]]:
        for agency_id, name, code, count, spend in _stream(session, statement):
            yield [agency_id, name, code, count, round(float(spend or 0), 2)]

    return Table("leased_spend", LEASE_COLUMNS, rows())


POSITION_COLUMNS = ["position_id", "vehicle_id", "plate", "ts", "lat", "lon", "speed_kmh", "heading_deg",
                    "ignition", "odometer_km", "soc_pct", "source"]


def positions(session: Session, scope: ExportScope) -> Table:
    """Raw GPS positions of the covered cars, by car then time; ``ts`` comes as stored (a
    datetime, or SQLite's UTC text: see ``export_writers.iso_utc``)."""
    f = scope.filters
    statement = (
        select(Position.id, Position.vehicle_id, Vehicle.plate, type_coerce(Position.ts, String), Position.lat, Position.lon,
               Position.speed_kmh, Position.heading_deg, Position.ignition, Position.odometer_km, Position.soc_pct,
               Position.source)
        .join(Vehicle, Vehicle.id == Position.vehicle_id)
        .where(col(Position.vehicle_id).in_(vehicles_in(scope)), col(Position.ts) >= f.since,
               col(Position.ts) < f.until)
        .order_by(col(Position.vehicle_id), col(Position.ts))
    )
    return Table("positions", POSITION_COLUMNS, _stream(session, statement))


def confirmed_alerts(session: Session, scope: ExportScope) -> Iterator[Alert]:
    """Confirmed violations in the range, oldest first (for the PDF maps)."""
    statement = _alerts_statement(scope).where(Alert.state == AlertState.confirmed).order_by(col(Alert.started_at))
    for (alert,) in _stream(session, statement):
        yield alert
