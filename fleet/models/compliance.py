"""Compliance records: alert review steps, imported expense records (fuel card, charging,
repair) with their cross-check findings, inspector exports, the audit chain's head
and the organisations of audit entries' objects.

Times are UTC (timezone-aware); money in CNY, fuel in litres, energy in kWh.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.models.common import AlertState, enum_field, time_field, utcnow


class AuditChainHead(SQLModel, table=True):
    """The one row (id 1) naming the newest audit entry.

    Appenders lock this row before reading the previous hash, so two writers never chain onto
    the same entry; verification compares the chain's end with it, so removing the newest
    entries is detected too."""

    __tablename__ = "audit_chain_head"
    id: int = Field(default=1, primary_key=True)
    last_entry_id: int = 0
    last_hash: str = Field(max_length=64)
    entry_count: int = Field(0, sa_type=BigInteger, description="Entries in the chain up to ``last_entry_id``.")
    updated_at: datetime = time_field(default_factory=utcnow)


class AuditEntryOrg(SQLModel, table=True):
    """An organisation an audit entry's object belongs to (before or after the change), so the
    log is listed by the object's organisation scope, not the actor's. An entry has none when
    its object belongs to no organisation (a lessor, a platform-wide import)."""

    __tablename__ = "audit_entry_org"
    entry_id: int = Field(foreign_key="audit_entry.id", primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", primary_key=True, index=True)


class AlertReviewStepPublic(SQLModel):
    from_state: AlertState
    to_state: AlertState
    reason: str | None
    reviewer_id: int | None
    actor: str
    at: datetime


class AlertReviewStep(SQLModel, table=True):
    """One step of an alert's review (open -> under_review -> confirmed / justified /
    false_positive), with the reviewer assigned at that step."""

    __tablename__ = "alert_review_step"
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    from_state: AlertState = enum_field(AlertState)
    to_state: AlertState = enum_field(AlertState)
    reason: str | None = Field(None, max_length=1000)
    reviewer_id: int | None = Field(None, foreign_key="user.id")
    actor_id: int | None = Field(None, foreign_key="user.id")
    actor: str = Field(max_length=64)
    at: datetime = time_field(default_factory=utcnow)


class ExpenseKind(StrEnum):
    fuel = "fuel"
    charging = "charging"
    repair = "repair"


class ExpenseImport(SQLModel, table=True):
    """One imported CSV file of expense records (all rows or none)."""

    __tablename__ = "expense_import"
    id: int | None = Field(default=None, primary_key=True)
    kind: ExpenseKind = enum_field(ExpenseKind)
    filename: str = Field(max_length=200)
    sha256: str = Field(max_length=64, index=True)
    org_id: int | None = Field(None, foreign_key="organisation.id", index=True,
                               description="Organisation of the importer; none for the CLI.")
    row_count: int = 0
    flagged_count: int = 0
    imported_by: str = Field(max_length=64)
    imported_at: datetime = time_field(default_factory=utcnow)


class ExpenseImportPublic(SQLModel):
    id: int
    kind: ExpenseKind
    filename: str
    sha256: str
    org_id: int | None
    row_count: int
    flagged_count: int
    imported_by: str
    imported_at: datetime


class ExpenseRecordPublic(SQLModel):
    id: int
    import_id: int
    row_number: int
    kind: ExpenseKind
    plate: str
    vehicle_id: int | None
    occurred_at: datetime
    place: str
    place_lat: float | None
    place_lon: float | None
    fuel_l: float | None
    energy_kwh: float | None
    amount_cny: float
    odometer_km: float | None
    card_no: str | None
    description: str
    findings: list[dict[str, Any]]
    alert_id: int | None


class ExpenseRecord(SQLModel, table=True):
    """One fuel-card, charging or repair record; ``findings`` lists the cross-checks it failed
    (empty when it passed), and ``alert_id`` the ``expense.mismatch`` alert raised for it."""

    __tablename__ = "expense_record"
    __table_args__ = (UniqueConstraint("kind", "plate", "occurred_at", name="uq_expense_kind_plate_time"),)
    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="expense_import.id", index=True)
    row_number: int = Field(description="Line of the record in its CSV file (header is line 1).")
    kind: ExpenseKind = enum_field(ExpenseKind)
    plate: str = Field(max_length=12, index=True)
    vehicle_id: int | None = Field(None, foreign_key="vehicle.id", index=True)
    occurred_at: datetime = time_field(index=True)
    place: str = Field("", max_length=200, description="Station or workshop.")
    place_lat: float | None = None
    place_lon: float | None = None
    fuel_l: float | None = None
    energy_kwh: float | None = None
    amount_cny: float = 0
    odometer_km: float | None = None
    card_no: str | None = Field(None, max_length=40)
    description: str = Field("", max_length=500)
    findings: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    alert_id: int | None = Field(None, foreign_key="alert.id")


class ExportRecordPublic(SQLModel):
    id: int
    created_at: datetime
    created_by: str
    org_id: int | None
    filters: dict[str, Any]
    formats: list[str]
    file_count: int
    manifest_sha256: str
    archive_sha256: str | None
    size_bytes: int


class ExportRecord(SQLModel, table=True):
    """An inspector export bundle: what it covered and the SHA-256 of its manifest (and of
    the zip archive, when one was written), so the bundle can be checked against it later."""

    __tablename__ = "compliance_export"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = time_field(default_factory=utcnow)
    created_by: str = Field(max_length=64)
    user_id: int | None = Field(None, foreign_key="user.id")
    org_id: int | None = Field(None, foreign_key="organisation.id", index=True)
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    formats: list[str] = Field(default_factory=list, sa_type=JSON)
    file_count: int = 0
    manifest_sha256: str = Field("", max_length=64)
    archive_sha256: str | None = Field(None, max_length=64)
    size_bytes: int = Field(0, sa_type=BigInteger)
    path: str = Field("", max_length=500, description="Where the platform keeps the bundle.")
