"""Dispatch API: plan a service date, view plans with explanations, accept a plan, insert
an urgent request, and the day's fleet figures.

Admins and dispatchers write; auditors read; other roles get 403. A plan covers the
planner's organisation subtree; plans outside the caller's scope answer 404. Overrides of one
assignment go through ``PATCH /api/v1/assignments/{id}``; cancellations through the
trip-request transitions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from dispatch import stored_plans
from dispatch.day_instance import FIRST_SERVICE_DATE, LAST_SERVICE_DATE, PlanInputError
from dispatch.plan_events import publish_plan_event
from dispatch.stored_plans import PlanConflict
from fleet.models import AssignmentPublic, Role, TripRequest
from fleet.models.dispatch_plan import DispatchPlan, DispatchPlanPublic, UnservedRequest
from fleet.settings import get_settings
from web.crud import ObjectId, apply_filters
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, refused_as, require_roles
from web.pagination import Page, PageDep, paginate

router = APIRouter(prefix="/dispatch", tags=["dispatch"])
readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.auditor))
writers = Depends(require_roles(Role.admin, Role.dispatcher))

ServiceDate = Annotated[date, Field(ge=FIRST_SERVICE_DATE, le=LAST_SERVICE_DATE,
                                    description="Local service date (display time zone).")]


class PlanCreate(BaseModel):
    service_date: ServiceDate
    time_limit_s: float = Field(10.0, gt=0, le=120, description="Solver wall-time limit, s.")


class PlanInsert(BaseModel):
    request_id: int = Field(ge=1, le=2**31 - 1, description="An approved request of the plan's date.")


class FleetFiguresPublic(BaseModel):
    service_date: date
    trips_served: int
    pool_trips: int
    lease_trips: int
    cost_cny: float
    pool_utilisation: float = Field(description="Pool cars used / pool cars offered, 0..1.")
    nev_share: float = Field(description="Share of trips served by a BEV or PHEV, 0..1.")
    trips_started: int = Field(0, description="Of the trips served (planned), those under way now.")
    trips_completed: int = Field(0, description="Of the trips served (planned), those driven to the end.")


class PlanFilters(BaseModel):
    service_date: ServiceDate | None = None
    status: str | None = Field(None, pattern="^(proposed|accepted|superseded)$")


def _public(session: Session, row: DispatchPlan) -> DispatchPlanPublic:
    assignments = stored_plans.plan_assignments(session, row.id or 0)
    return DispatchPlanPublic(
        id=row.id or 0, service_date=row.service_date, org_id=row.org_id, status=row.status,
        total_cost_cny=row.total_cost_cny, pool_count=row.pool_count, lease_count=row.lease_count,
        unserved=[UnservedRequest(**u) for u in row.unserved],
        assignments=[AssignmentPublic.model_validate(a) for a in assignments],
        shared_rides=stored_plans.shared_rides(session, assignments),
        solve_s=row.solve_s, created_at=row.created_at, created_by=row.created_by,
        accepted_at=row.accepted_at,
    )


def _load(session: Session, principal: Principal, plan_id: int) -> DispatchPlan:
    row = session.get(DispatchPlan, plan_id)
    if row is None or not principal.in_scope(session, row.org_id):
        raise not_found("dispatch plan", plan_id)
    return row


#: A plan that conflicts with the stored state answers 409, bad planning input 422.
PLAN_REFUSALS = {PlanConflict: status.HTTP_409_CONFLICT, PlanInputError: status.HTTP_422_UNPROCESSABLE_CONTENT}


def _changed(session: Session, row: DispatchPlan, changed: list[int]) -> DispatchPlanPublic:
    """Commit a change to a plan, tell the consoles which assignments it changed and answer the plan."""
    session.commit()
    session.refresh(row)
    publish_plan_event(row, changed)
    return _public(session, row)


@router.post("/plans", response_model=DispatchPlanPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[writers])
def create_plan(body: PlanCreate, session: SessionDep, principal: CurrentPrincipal) -> DispatchPlanPublic:
    """Plan every approved, planned and assigned request of the date in your organisation
    with pool cars and leased cars at least cost; confirmed assignments stay where they are
    unless moving them saves more than the reassignment penalty. The plan is ``proposed``
    and supersedes the previous proposed plan of that date."""
    with refused_as(PLAN_REFUSALS):
        row, changed = stored_plans.plan_day(session, body.service_date, principal.user.org_id,
                                             principal.user, body.time_limit_s)
    return _changed(session, row, changed)


@router.get("/plans", response_model=Page[DispatchPlanPublic], dependencies=[readers])
def list_plans(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    filters: Annotated[PlanFilters, Query()],
) -> dict:
    """Plans in your scope, newest first."""
    statement = select(DispatchPlan).where(principal.scope_filter(col(DispatchPlan.org_id)))
    result = paginate(session, apply_filters(statement, DispatchPlan, filters), page, col(DispatchPlan.id).desc())
    return result | {"items": [_public(session, row) for row in result["items"]]}


@router.get("/plans/{object_id}", response_model=DispatchPlanPublic, dependencies=[readers])
def get_plan(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> DispatchPlanPublic:
    """One plan with its assignments (each with its explanation) and unserved requests."""
    return _public(session, _load(session, principal, object_id))


@router.post("/plans/{object_id}/accept", response_model=DispatchPlanPublic, dependencies=[writers])
def accept_plan(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> DispatchPlanPublic:
    """Confirm a proposed plan: its assignments become confirmed and its requests assigned."""
    row = _load(session, principal, object_id)
    with refused_as(PLAN_REFUSALS):
        changed = stored_plans.accept_plan(session, row, principal.user)
    return _changed(session, row, changed)


@router.post("/plans/{object_id}/insert", response_model=DispatchPlanPublic, dependencies=[writers])
def insert_request(
    object_id: ObjectId, body: PlanInsert, session: SessionDep, principal: CurrentPrincipal
) -> DispatchPlanPublic:
    """Insert one urgent approved request at its cheapest feasible place without moving the
    other trips (confirmed at once in an accepted plan). Re-plan the date to re-optimise."""
    row = _load(session, principal, object_id)
    request = session.get(TripRequest, body.request_id)
    if request is None or not principal.in_scope(session, request.agency_id):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"request_id: trip request {body.request_id} not found")
    with refused_as(PLAN_REFUSALS):
        changed = stored_plans.insert_request(session, row, body.request_id, principal.user)
    return _changed(session, row, changed)


@router.get("/figures", response_model=FleetFiguresPublic, dependencies=[readers])
def fleet_figures(
    session: SessionDep, principal: CurrentPrincipal,
    service_date: Annotated[date | None, Query(
        ge=FIRST_SERVICE_DATE, le=LAST_SERVICE_DATE,
        description="Local service date; default today in the display time zone.")] = None,
) -> FleetFiguresPublic:
    """Trips served, pool and leased trips, cost, pool utilisation and NEV share of the
    date's current plan for your organisation (accepted, else the newest proposed)."""
    if service_date is None:
        service_date = datetime.now(get_settings().tz).date()
    plans = session.exec(select(DispatchPlan).where(
        principal.scope_filter(col(DispatchPlan.org_id)),
        DispatchPlan.service_date == service_date,
        DispatchPlan.org_id == principal.user.org_id,
    )).all()
    row = stored_plans.current_plan(session, list(plans))
    return FleetFiguresPublic(**vars(stored_plans.figures(session, service_date, row)))

