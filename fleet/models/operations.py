"""What dispatch and the cars produce: assignments, trips as driven, GPS positions, alerts.

The dispatch, telematics and compliance issues fill these tables; the foundation exposes them
read-only (and assignments to dispatchers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.models.common import (
    AlertSeverity,
    AlertState,
    AssignmentKind,
    enum_field,
    time_field,
    utcnow,
)


class AssignmentBase(SQLModel):
    request_id: int = Field(foreign_key="trip_request.id", index=True)
    kind: AssignmentKind = enum_field(AssignmentKind)
    vehicle_id: int | None = Field(None, foreign_key="vehicle.id", index=True)
    driver_id: int | None = Field(None, foreign_key="driver.id", index=True)
    lessor_id: int | None = Field(None, foreign_key="lessor.id")
    planned_pickup: datetime = time_field()
    planned_dropoff: datetime = time_field()
    cost_cny: float = Field(0, ge=0)
    explanation: str = Field("", max_length=1000)


class AssignmentCreate(AssignmentBase):
    pass


class AssignmentUpdate(SQLModel):
    vehicle_id: int | None = None
    driver_id: int | None = None
    confirmed: bool | None = None
    override_reason: str | None = Field(None, min_length=3, max_length=500)
    force: bool = Field(False, description=(
        "Keep a car or driver change that breaks the dispatch rules (seats, class, NEV, shift, "
        "range, overlapping trips, riding alone); needs force_reason, and the broken rules stay "
        "on the assignment as warnings."))
    force_reason: str | None = Field(None, min_length=3, max_length=500, description=(
        "Why the dispatcher overrides the rules; required with force, written to the audit log."))


class AssignmentPublic(AssignmentBase):
    id: int
    org_id: int
    confirmed: bool
    override_reason: str | None
    reason: dict[str, Any] | None
    override_note: str | None
    override_by: str | None
    forced_reason: str | None
    override_warnings: list[dict[str, Any]] | None
    created_at: datetime


class Assignment(AssignmentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True, description="Agency served.")
    confirmed: bool = False
    override_reason: str | None = Field(None, max_length=500)
    plan_id: int | None = Field(None, foreign_key="dispatch_plan.id", index=True,
                                description="The dispatch plan it came from; empty when made by hand.")
    lease_slot: str | None = Field(None, max_length=120, description=(
        "The leased car of its plan, <lessor>:<class>:<n> (dispatch.instance.lease_slots); "
        "empty for pool cars and hand-made assignments."))
    reason: dict[str, Any] | None = Field(None, sa_type=JSON, description=(
        "Why the plan gave it this car: {code, params} (dispatch.plan.ASSIGNMENT_REASONS), with "
        "platform ids: vehicle ids, lessor ids, trip request ids; empty when made by hand."))
    override_note: str | None = Field(None, max_length=500, description=(
        "The dispatcher's reason for changing the car or driver; kept through plan accept and "
        "re-planning (override_reason also carries the platform's notes)."))
    override_by: str | None = Field(None, max_length=64, description="Username of the dispatcher who overrode it.")
    forced_reason: str | None = Field(None, max_length=500, description=(
        "Why the dispatcher kept an override that breaks dispatch rules; empty when none is broken."))
    override_warnings: list[dict[str, Any]] | None = Field(None, sa_type=JSON, description=(
        "The dispatch rules a forced override breaks, each {code, params} (dispatch.override_check)."))
    created_at: datetime = time_field(default_factory=utcnow)


class TripPublic(SQLModel):
    id: int
    vehicle_id: int
    assignment_id: int | None
    driver_id: int | None
    started_at: datetime
    ended_at: datetime | None
    start_odometer_km: float | None
    end_odometer_km: float | None
    distance_km: float
    first_position_id: int | None
    last_position_id: int | None


class Trip(SQLModel, table=True):
    """A trip as driven, from the telematics motion split or from the driver's entries."""

    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    assignment_id: int | None = Field(None, foreign_key="assignment.id", index=True)
    driver_id: int | None = Field(None, foreign_key="driver.id")
    started_at: datetime = time_field(index=True)
    ended_at: datetime | None = time_field(None)
    start_odometer_km: float | None = Field(None, ge=0)
    end_odometer_km: float | None = Field(None, ge=0)
    distance_km: float = Field(0, ge=0)
    first_position_id: int | None = None
    last_position_id: int | None = None


class PositionPublic(SQLModel):
    id: int
    vehicle_id: int
    ts: datetime
    lat: float
    lon: float
    speed_kmh: float
    heading_deg: float
    ignition: bool
    odometer_km: float | None
    soc_pct: float | None
    source: str


class Position(SQLModel, table=True):
    """One GPS fix of a vehicle, at event time ``ts`` (UTC)."""

    __table_args__ = (UniqueConstraint("vehicle_id", "ts", name="uq_position_vehicle_ts"),)
    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id")
    ts: datetime = time_field()
    lat: float
    lon: float
    speed_kmh: float = 0
    heading_deg: float = 0
    ignition: bool = False
    odometer_km: float | None = None
    soc_pct: float | None = None
    source: str = Field("gps", max_length=16, description="gps terminal, or phone fallback.")
    alarms: int = Field(0, sa_column_kwargs={"server_default": "0"},
                        description="Tamper alarm flags of the fix: 1 power cut, 2 antenna cut.")
    received_at: datetime = time_field(default_factory=utcnow)


#: Bits of ``Position.alarms``.
ALARM_POWER_CUT = 1
ALARM_ANTENNA_CUT = 2


class AlertPublic(SQLModel):
    id: int
    kind: str
    vehicle_id: int
    started_at: datetime
    ended_at: datetime | None
    lat: float | None
    lon: float | None
    severity: AlertSeverity
    state: AlertState
    evidence: dict[str, Any]
    rule_version: str
    thresholds: dict[str, Any]
    created_at: datetime
    incident_id: int | None = None
    #: Every kind of the alert's incident (the alert's own kind alone outside one).
    incident_kinds: list[str] = []


class Alert(SQLModel, table=True):
    """A compliance finding (private use, improper parking, device faults...).

    The alerts of one drive (the same trip) or one stop are one incident: each keeps its kind
    and row, and ``incident_id`` names the incident's lowest alert id (None for an alert
    alone); an incident is shown and reviewed once (``fleet.alert_incidents``)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=60, index=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    started_at: datetime = time_field(index=True)
    ended_at: datetime | None = time_field(None)
    lat: float | None = None
    lon: float | None = None
    severity: AlertSeverity = enum_field(AlertSeverity, AlertSeverity.warning)
    state: AlertState = enum_field(AlertState, AlertState.open, index=True)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    rule_version: str = Field("", max_length=40)
    thresholds: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = time_field(default_factory=utcnow)
    incident_id: int | None = Field(None, index=True)


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditEntry(SQLModel, table=True):
    """One append-only audit record; ``hash`` covers the record and ``prev_hash``."""

    __tablename__ = "audit_entry"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = time_field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(None, foreign_key="user.id")
    actor: str = Field(max_length=64, description="Username, or 'system' / 'cli'.")
    action: str = Field(max_length=60)
    object_type: str = Field(max_length=40, index=True)
    object_id: str = Field(max_length=40)
    before: dict[str, Any] | None = Field(None, sa_type=JSON)
    after: dict[str, Any] | None = Field(None, sa_type=JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
