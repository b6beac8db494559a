"""Dispatch plans (调度方案): one solver run for a service date and an organisation subtree.

A plan is ``proposed`` when made, ``accepted`` when a dispatcher confirms it, and
``superseded`` when a newer plan for the same date and organisation replaces it. Its
assignments point back to it through ``Assignment.plan_id`` (hand-made assignments have
none). Money is CNY, times UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from fleet.models.common import enum_field, time_field, utcnow
from fleet.models.operations import AssignmentPublic


class PlanStatus(StrEnum):
    proposed = "proposed"
    accepted = "accepted"
    superseded = "superseded"


class UnservedRequest(SQLModel):
    """A request the plan leaves out, and the solver's reason (``dispatch.plan.REASONS``)."""

    request_id: int
    reason: str


class DispatchPlanPublic(SQLModel):
    id: int
    service_date: date
    org_id: int
    status: PlanStatus
    total_cost_cny: float
    pool_count: int
    lease_count: int
    unserved: list[UnservedRequest]
    assignments: list[AssignmentPublic]
    shared_rides: dict[int, list[int]] = Field(
        default_factory=dict,
        description="Trip request id -> the requests in the same car at the same time (合乘).")
    solve_s: float
    created_at: datetime
    created_by: str
    accepted_at: datetime | None


class DispatchPlan(SQLModel, table=True):
    """One stored plan; ``plan`` holds the solver's plan JSON and the car details it used."""

    __tablename__ = "dispatch_plan"
    id: int | None = Field(default=None, primary_key=True)
    service_date: date = Field(index=True, description="Local (display time zone) service date.")
    org_id: int = Field(foreign_key="organisation.id", index=True,
                        description="Root of the organisation subtree planned.")
    status: PlanStatus = enum_field(PlanStatus, PlanStatus.proposed, index=True)
    total_cost_cny: float = Field(0, ge=0)
    pool_count: int = Field(0, ge=0, description="Trips served by pool cars.")
    lease_count: int = Field(0, ge=0, description="Trips served by leased cars.")
    pool_available: int = Field(0, ge=0, description="Pool cars (with a driver) offered.")
    unserved: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    plan: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    solve_s: float = Field(0, ge=0)
    created_by: str = Field(max_length=64, description="Username of the planner.")
    created_at: datetime = time_field(default_factory=utcnow)
    accepted_at: datetime | None = time_field(None)

