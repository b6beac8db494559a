"""Replacement planning records: the policy of each jurisdiction, the plans computed from the
database, the maintenance and repair costs the plans learn from, and county filings (备案) with
every review step.

A policy row holds the JSON of ``fleet.replacement.policy.ReplacementPolicy`` and of the
candidate models on offer; organisation and depot ids inside it are the database ids written
as strings (the planner's inputs use strings). Money in CNY, times in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.models.common import enum_field, time_field, utcnow


class FilingState(StrEnum):
    """Where a county's annual plan stands with the city."""

    submitted = "submitted"
    returned = "returned"
    approved = "approved"


class FilingAction(StrEnum):
    """One step of a filing."""

    submit = "submit"
    resubmit = "resubmit"
    approve = "approve"
    return_ = "return"


class MaintenanceKind(StrEnum):
    maintenance = "maintenance"
    repair = "repair"


class ReplacementPolicyRecord(SQLModel, table=True):
    """The replacement policy and candidate models of one jurisdiction (a city or county);
    an organisation without a row of its own follows its nearest ancestor's."""

    __tablename__ = "replacement_policy"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", unique=True, index=True)
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    models: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    updated_at: datetime = time_field(default_factory=utcnow)
    updated_by_id: int | None = Field(None, foreign_key="user.id")
    updated_by: str = Field("", max_length=64, description="Username, or 'cli'.")


class ReplacementPlanRecord(SQLModel, table=True):
    """A plan computed for an organisation's subtree, with the inputs it was computed from."""

    __tablename__ = "replacement_plan"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    start_year: int
    years: int
    status: str = Field(max_length=16, description="optimal or feasible (infeasible plans are not stored).")
    message: str = Field("", max_length=500)
    plan: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="ReplacementPlan JSON.")
    policy: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description="Policy applied.")
    policy_org_id: int | None = Field(None, description="Organisation whose policy applied; empty: defaults.")
    created_at: datetime = time_field(default_factory=utcnow, index=True)
    created_by_id: int | None = Field(None, foreign_key="user.id")
    created_by: str = Field(max_length=64, description="Username, or 'cli'.")


class MaintenanceCostRecord(SQLModel, table=True):
    """One maintenance or repair bill of a car, CNY; summed per calendar year for the planner."""

    __tablename__ = "maintenance_cost"
    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    incurred_on: date
    cost_cny: float = Field(ge=0, le=5_000_000)
    kind: MaintenanceKind = enum_field(MaintenanceKind, MaintenanceKind.maintenance)
    note: str = Field("", max_length=200)
    created_at: datetime = time_field(default_factory=utcnow)


class ReplacementFiling(SQLModel, table=True):
    """A county's annual replacement plan filed with the city: one per county and year."""

    __tablename__ = "replacement_filing"
    __table_args__ = (UniqueConstraint("org_id", "year", name="uq_replacement_filing_org_year"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True, description="The filing county.")
    plan_id: int = Field(foreign_key="replacement_plan.id", index=True)
    year: int = Field(description="Calendar year of the plan that is filed.")
    state: FilingState = enum_field(FilingState, FilingState.submitted, index=True)
    created_at: datetime = time_field(default_factory=utcnow)
    updated_at: datetime = time_field(default_factory=utcnow)


class ReplacementFilingStep(SQLModel, table=True):
    """One step of a filing: who did what, when, with which comment."""

    __tablename__ = "replacement_filing_step"
    id: int | None = Field(default=None, primary_key=True)
    filing_id: int = Field(foreign_key="replacement_filing.id", index=True)
    action: FilingAction = enum_field(FilingAction)
    from_state: FilingState | None = enum_field(FilingState, None)
    to_state: FilingState = enum_field(FilingState)
    plan_id: int = Field(foreign_key="replacement_plan.id", description="Plan under review at this step.")
    comment: str = Field("", max_length=2000)
    actor_id: int | None = Field(None, foreign_key="user.id")
    actor: str = Field(max_length=64)
    at: datetime = time_field(default_factory=utcnow)
