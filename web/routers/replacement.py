"""Replacement planning: plans computed from the database for an organisation's subtree, the
policy of each jurisdiction, maintenance costs, county filings with the city and their review,
and the chart figures of the console page.

Planners and administrators compute, compare and keep plans (within their organisation
scope); administrators set policies and bills; auditors read; other roles get 403. A plan may be
computed under changed policy settings (``policy_changes``) without changing the stored policy:
``POST /plans/compute`` answers it without keeping it, ``POST /plans`` keeps it.
Filing: a planner or administrator of a county files; an administrator above the county reviews.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import Organisation, Role, Vehicle
from fleet.models.replacement import (
    FilingAction,
    FilingState,
    MaintenanceCostRecord,
    MaintenanceKind,
    ReplacementFiling,
    ReplacementPlanRecord,
)
from fleet.replacement.filing import (
    FilingConflict,
    FilingForbidden,
    FilingInvalid,
    filing_steps,
    review_filing,
    submit_filing,
)
from fleet.replacement.inputs import CandidateModel, describe_errors
from fleet.replacement.plan import ReplacementPlan, SolveStats, YearPlan
from fleet.replacement.planner import SolveOptions, plan_replacement
from fleet.replacement.policy import ReplacementPolicy
from fleet.replacement.repository import (
    BuiltInput,
    NoCarsToPlan,
    build_plan_input,
    plan_summary,
    policy_problems,
    replacement_figures,
    save_policy,
    settings_for,
    store_plan,
)
from web.crud import ObjectId, apply_filters
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles
from web.pagination import Page, PageDep, paginate
from web.references import check_org_reference, load_reference

router = APIRouter(prefix="/replacement", tags=["replacement"])
R = Role
readers = Depends(require_roles(R.admin, R.auditor, R.planner))
planners = Depends(require_roles(R.admin, R.planner))
writers = Depends(require_roles(R.admin))

OrgId = Annotated[int, Field(ge=1, le=2**31 - 1)]


# -- bodies and answers ---------------------------------------------------------------------


class PolicyChanges(BaseModel):
    """Settings of the jurisdiction's policy replaced for one plan (the stored policy stays)."""

    model_config = ConfigDict(extra="forbid")

    min_service_years: float | None = Field(None, ge=0, le=30, description="Years in service before a car may go.")
    min_odometer_km: float | None = Field(None, ge=0, le=2_000_000, description="Odometer that also makes a car eligible, km.")
    scrap_odometer_km: float | None = Field(None, gt=0, le=2_000_000, description="Mileage at which a car must go, km.")
    nev_share_floor: float | None = Field(None, ge=0, le=1, description="Least NEV share of the cars bought each year.")
    default_annual_budget_cny: float | None = Field(
        None, ge=0, le=10_000_000_000, description="Budget per year of an organisation without its own, CNY.")
    idle_annual_km: float | None = Field(None, ge=0, le=300_000, description="Under this a car is idle, km/year.")
    max_spend_swing_share: float | None = Field(None, ge=0, le=10, description="Most the spend may change a year, a share.")


class PlanRequest(BaseModel):
    org_id: OrgId = Field(description="Organisation whose subtree's pool cars are planned.")
    years: int = Field(5, ge=1, le=15, description="Plan horizon in years.")
    start_year: int | None = Field(None, ge=2000, le=2100, description="First plan year; default next year.")
    time_limit_s: float = Field(10.0, ge=0.5, le=60, description="Seconds the optimiser may spend.")
    policy_changes: PolicyChanges = Field(
        default_factory=PolicyChanges, description="Policy settings replaced for this plan; a setting left out keeps the policy's.")


class PlanComputed(BaseModel):
    """A plan as computed, before it is kept (``id`` empty) or as kept."""

    id: int | None = Field(description="Empty until the plan is kept.")
    org_id: int
    start_year: int
    years: int
    status: str
    message: str
    policy_org_id: int | None = Field(description="Organisation whose policy applied; empty: defaults.")
    policy: ReplacementPolicy = Field(description="The policy applied, with the changes asked for.")
    policy_changes: dict[str, Any] = Field(description="The settings changed from the jurisdiction's policy.")
    usage_sources: dict[str, int] = Field(description="Cars planned per source of their annual km.")
    stats: SolveStats
    year_plans: list[YearPlan]


class PlanPublic(PlanComputed):
    id: int  # type: ignore[assignment]
    created_at: datetime
    created_by: str


class PlanSummary(BaseModel):
    id: int
    org_id: int
    start_year: int
    years: int
    status: str
    retired: int
    spend_cny: float
    created_at: datetime
    created_by: str


class PolicyBody(BaseModel):
    policy: ReplacementPolicy = Field(description="Every setting; organisation and depot ids as in the database.")
    models: list[CandidateModel] | None = Field(
        None, description="Candidate models on offer; empty keeps the current list (or the reference catalogue)."
    )


class PolicyPublic(BaseModel):
    org_id: int
    source_org_id: int | None = Field(description="Organisation whose row applies; empty: national defaults.")
    policy: ReplacementPolicy
    models: list[CandidateModel]
    updated_at: datetime | None
    updated_by: str | None


class FilingRequest(BaseModel):
    plan_id: OrgId = Field(description="A plan computed for the filing county.")
    year: int | None = Field(None, ge=2000, le=2100, description="Plan year filed; default the plan's first.")
    comment: str = Field("", max_length=2000)


class ReviewRequest(BaseModel):
    decision: Literal["approve", "return"]
    comment: str = Field("", max_length=2000, description="Required when returning.")


class FilingStepPublic(BaseModel):
    action: FilingAction
    from_state: FilingState | None
    to_state: FilingState
    plan_id: int
    comment: str
    actor_id: int | None
    actor: str
    at: datetime


class FilingPublic(BaseModel):
    id: int
    org_id: int
    org_name: str
    plan_id: int
    year: int
    state: FilingState
    created_at: datetime
    updated_at: datetime
    year_plan: YearPlan | None = Field(description="The filed year of the plan.")
    steps: list[FilingStepPublic]


class FilingSummary(BaseModel):
    id: int
    org_id: int
    plan_id: int
    year: int
    state: FilingState
    created_at: datetime
    updated_at: datetime


class FilingFilters(BaseModel):
    state: FilingState | None = None
    year: int | None = Field(None, ge=2000, le=2100)
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)


class MaintenanceCostCreate(BaseModel):
    vehicle_id: OrgId
    incurred_on: date
    cost_cny: float = Field(ge=0, le=5_000_000)
    kind: MaintenanceKind = MaintenanceKind.maintenance
    note: str = Field("", max_length=200)


class MaintenanceCostPublic(MaintenanceCostCreate):
    id: int
    created_at: datetime


class AgeCount(BaseModel):
    age_years: int
    count: int


class YearFigures(BaseModel):
    year: int
    nev_share: float | None
    spend_cny: float
    retire_count: int


class Figures(BaseModel):
    org_id: int
    plan_id: int | None = Field(description="The newest plan the year figures come from.")
    age_histogram: list[AgeCount]
    years: list[YearFigures]


# -- helpers --------------------------------------------------------------------------------


def _org_in_scope(session: Session, principal: Principal, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or not principal.in_scope(session, org_id):
        raise not_found("organisation", org_id)
    return org


def _plan_public(record: ReplacementPlanRecord) -> PlanPublic:
    plan = record.plan
    return PlanPublic(
        id=record.id, org_id=record.org_id, start_year=record.start_year, years=record.years,  # type: ignore[arg-type]
        status=record.status, message=record.message, policy_org_id=record.policy_org_id,
        policy=ReplacementPolicy.model_validate(record.policy), policy_changes=plan.get("policy_changes", {}),
        usage_sources=plan.get("usage_sources", {}),
        created_at=record.created_at, created_by=record.created_by,
        stats=SolveStats.model_validate(plan["stats"]),
        year_plans=[YearPlan.model_validate(y) for y in plan["year_plans"]],
    )


def _policy_refusal(exc: ValidationError) -> HTTPException:
    """A 422 naming each refused policy setting under ``body.policy_changes`` (codes as pydantic's)."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=[
        {"type": e["type"], "loc": ["body", "policy_changes", *e["loc"][1:]], "msg": e["msg"],
         "ctx": {k: v for k, v in e.get("ctx", {}).items() if isinstance(v, int | float | str)}}
        for e in exc.errors(include_url=False)
    ])


def _compute(session: Session, principal: Principal, body: PlanRequest) -> tuple[Organisation, BuiltInput, ReplacementPlan]:
    """Build the input of the requested organisation's subtree and solve it: 422 for bad input
    (the field named), no car to plan, no plan within the time, or a policy no plan meets (with
    the binding constraints)."""
    check_org_reference(session, principal, body.org_id)
    org = session.get(Organisation, body.org_id)
    assert org is not None
    start_year = body.start_year or datetime.now(UTC).year + 1
    changes = body.policy_changes.model_dump(exclude_unset=True)
    try:
        built = build_plan_input(session, org, start_year, body.years, policy_changes=changes)
    except NoCarsToPlan as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    except ValidationError as exc:
        if exc.title == "policy":
            raise _policy_refusal(exc) from None
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="; ".join(describe_errors(exc))) from None
    options = SolveOptions(time_limit_s=body.time_limit_s, diagnosis_time_limit_s=body.time_limit_s)
    plan = plan_replacement(built.plan_input, options)
    if plan.status == "infeasible":
        raise _Infeasible(plan)
    if plan.status == "unknown":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"time_limit_s: {plan.message}")
    return org, built, plan


class _Infeasible(Exception):
    """No plan meets the policy: answered 422 with the binding constraints."""

    def __init__(self, plan: ReplacementPlan) -> None:
        super().__init__(plan.message)
        self.plan = plan

    def response(self) -> JSONResponse:
        """422: one ``policy_infeasible`` refusal per binding constraint (``ctx``: its family
        and scope), and the constraints as the planner named them."""
        binding = self.plan.binding_constraints
        detail = [
            {"type": "policy_infeasible", "loc": ["body", "policy_changes"], "msg": b.message,
             "ctx": {"family": b.family, "scope": b.scope}}
            for b in binding
        ] or [{"type": "policy_infeasible", "loc": ["body", "policy_changes"], "msg": self.plan.message, "ctx": {}}]
        return JSONResponse({"detail": detail, "binding_constraints": [b.model_dump() for b in binding]},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _load_plan(session: Session, principal: Principal, plan_id: int) -> ReplacementPlanRecord:
    record = session.get(ReplacementPlanRecord, plan_id)
    if record is None or not principal.in_scope(session, record.org_id):
        raise not_found("replacement plan", plan_id)
    return record


def _load_filing(session: Session, principal: Principal, filing_id: int) -> ReplacementFiling:
    filing = session.get(ReplacementFiling, filing_id)
    if filing is None or not principal.in_scope(session, filing.org_id):
        raise not_found("replacement filing", filing_id)
    return filing


def _filing_public(session: Session, filing: ReplacementFiling) -> FilingPublic:
    org = session.get(Organisation, filing.org_id)
    plan = session.get(ReplacementPlanRecord, filing.plan_id)
    year_plan = next((y for y in (plan.plan["year_plans"] if plan else []) if y["year"] == filing.year), None)
    return FilingPublic(
        id=filing.id, org_id=filing.org_id, org_name=org.name if org else "", plan_id=filing.plan_id,  # type: ignore[arg-type]
        year=filing.year, state=filing.state, created_at=filing.created_at, updated_at=filing.updated_at,
        year_plan=None if year_plan is None else YearPlan.model_validate(year_plan),
        steps=[FilingStepPublic.model_validate(step, from_attributes=True) for step in filing_steps(session, filing.id)],  # type: ignore[arg-type]
    )


def _filing_error(exc: Exception) -> HTTPException:
    code = {
        FilingForbidden: status.HTTP_403_FORBIDDEN,
        FilingConflict: status.HTTP_409_CONFLICT,
        FilingInvalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
    }[type(exc)]
    return HTTPException(code, detail=str(exc))


# -- plans ----------------------------------------------------------------------------------


PLAN_ANSWERS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Bad input (the field named), or no plan meets the policy (binding constraints named)."}}


@router.post("/plans/compute", response_model=PlanComputed, dependencies=[planners], responses=PLAN_ANSWERS)
def compute_plan(body: PlanRequest, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """Plan the organisation's subtree from the database without keeping the plan, under its
    policy with ``policy_changes``: per year each car to retire, its replacement, cost, NEV
    share, budget use, fuel and CO2 saved and the reason (a code with its figures)."""
    try:
        org, built, plan = _compute(session, principal, body)
    except _Infeasible as exc:
        return exc.response()
    return PlanComputed(
        id=None, org_id=org.id, start_year=plan.start_year, years=plan.years, status=plan.status,  # type: ignore[arg-type]
        message=plan.message, policy_org_id=built.settings.source_org_id, policy=built.settings.policy,
        policy_changes=body.policy_changes.model_dump(exclude_unset=True), usage_sources=plan.usage_sources,
        stats=plan.stats, year_plans=plan.year_plans,
    )


@router.post("/plans", response_model=PlanPublic, status_code=status.HTTP_201_CREATED, dependencies=[planners],
             responses=PLAN_ANSWERS)
def create_plan(body: PlanRequest, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """Plan the organisation's subtree from the database as ``/plans/compute`` does and keep
    the plan (with the policy applied and who computed it, audit-logged)."""
    try:
        org, built, plan = _compute(session, principal, body)
    except _Infeasible as exc:
        return exc.response()
    record = store_plan(session, org, built, plan, principal.user,
                        policy_changes=body.policy_changes.model_dump(exclude_unset=True))
    session.commit()
    session.refresh(record)
    return _plan_public(record)


@router.get("/plans", response_model=Page[PlanSummary], dependencies=[readers])
def list_plans(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict:
    """Stored plans of organisations in scope, newest first."""
    statement = select(ReplacementPlanRecord).where(principal.scope_filter(col(ReplacementPlanRecord.org_id)))
    if org_id is not None:
        statement = statement.where(ReplacementPlanRecord.org_id == org_id)
    result = paginate(session, statement, page, col(ReplacementPlanRecord.id).desc())
    result["items"] = [
        PlanSummary(id=r.id, created_at=r.created_at, **plan_summary(r)) for r in result["items"]  # type: ignore[arg-type]
    ]
    return result


@router.get("/plans/{object_id}", response_model=PlanPublic, dependencies=[readers])
def get_plan(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> PlanPublic:
    return _plan_public(_load_plan(session, principal, object_id))


# -- policies -------------------------------------------------------------------------------


def _policy_public(session: Session, org: Organisation) -> PolicyPublic:
    settings = settings_for(session, org)
    record = settings.record
    return PolicyPublic(
        org_id=org.id, source_org_id=settings.source_org_id, policy=settings.policy, models=settings.models,  # type: ignore[arg-type]
        updated_at=None if record is None else record.updated_at,
        updated_by=None if record is None else record.updated_by,
    )


@router.get("/policies/{object_id}", response_model=PolicyPublic, dependencies=[readers])
def get_policy(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> PolicyPublic:
    """The policy that applies to an organisation: its own, its nearest ancestor's, or the
    national defaults with the reference catalogue of models."""
    return _policy_public(session, _org_in_scope(session, principal, object_id))


@router.put("/policies/{object_id}", response_model=PolicyPublic, dependencies=[writers])
def put_policy(object_id: ObjectId, body: PolicyBody, session: SessionDep, principal: CurrentPrincipal) -> PolicyPublic:
    """Set an organisation's own policy (budgets per organisation of its subtree, chargers per
    depot, caps, NEV floors...) and the models on offer."""
    org = _org_in_scope(session, principal, object_id)
    models = body.models if body.models else settings_for(session, org).models
    problems = policy_problems(session, org, body.policy, models)
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="; ".join(problems))
    save_policy(session, org, body.policy, models, principal.user)
    session.commit()
    return _policy_public(session, org)


# -- maintenance costs ----------------------------------------------------------------------


@router.post("/maintenance-costs", response_model=MaintenanceCostPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[writers])
def add_maintenance_cost(body: MaintenanceCostCreate, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """Record a maintenance or repair bill of a car in scope (the planner fits each car's
    maintenance curve to them)."""
    load_reference(session, principal, "vehicle_id", Vehicle, body.vehicle_id)
    if body.incurred_on > datetime.now(UTC).date():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="incurred_on: must not be in the future")
    record = MaintenanceCostRecord.model_validate(body.model_dump())
    session.add(record)
    session.flush()
    audit.record(session, principal.user, "maintenance_cost.create", "maintenance_cost", record.id, None,
                 audit.snapshot(record))
    session.commit()
    session.refresh(record)
    return record


@router.get("/maintenance-costs", response_model=Page[MaintenanceCostPublic], dependencies=[readers])
def list_maintenance_costs(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    vehicle_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict:
    """Maintenance and repair bills of cars in scope, oldest first."""
    in_scope = select(Vehicle.id).where(principal.scope_filter(col(Vehicle.org_id)))
    statement = select(MaintenanceCostRecord).where(col(MaintenanceCostRecord.vehicle_id).in_(in_scope))
    if vehicle_id is not None:
        statement = statement.where(MaintenanceCostRecord.vehicle_id == vehicle_id)
    return paginate(session, statement, page, col(MaintenanceCostRecord.incurred_on))


# -- filings --------------------------------------------------------------------------------


@router.post("/filings", response_model=FilingPublic, status_code=status.HTTP_201_CREATED, dependencies=[planners],
             responses={200: {"description": "A returned filing filed again.", "model": FilingPublic}})
def submit(body: FilingRequest, session: SessionDep, principal: CurrentPrincipal, response: Response) -> FilingPublic:
    """A county's planner or administrator files one year of their county's plan with the city (201); a
    returned filing of the same year is filed again (200)."""
    plan = _load_plan(session, principal, body.plan_id)
    try:
        filing, created = submit_filing(session, principal.user, plan, body.year, body.comment)
    except (FilingForbidden, FilingConflict, FilingInvalid) as exc:
        raise _filing_error(exc) from None
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return _filing_public(session, filing)


@router.get("/filings", response_model=Page[FilingSummary], dependencies=[readers])
def list_filings(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    filters: Annotated[FilingFilters, Query()],
) -> dict:
    """Filings of counties in scope: the city sees every county's, a county its own."""
    statement = select(ReplacementFiling).where(principal.scope_filter(col(ReplacementFiling.org_id)))
    return paginate(session, apply_filters(statement, ReplacementFiling, filters), page, col(ReplacementFiling.id))


@router.get("/filings/{object_id}", response_model=FilingPublic, dependencies=[readers])
def get_filing(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> FilingPublic:
    """A filing with the filed year of its plan and every step (who, when, decision, comment)."""
    return _filing_public(session, _load_filing(session, principal, object_id))


@router.post("/filings/{object_id}/review", response_model=FilingPublic, dependencies=[writers])
def review(object_id: ObjectId, body: ReviewRequest, session: SessionDep, principal: CurrentPrincipal) -> FilingPublic:
    """An administrator above the county approves the filing or returns it with a comment."""
    filing = _load_filing(session, principal, object_id)
    try:
        review_filing(session, principal.user, filing, body.decision, body.comment)
    except (FilingForbidden, FilingConflict, FilingInvalid) as exc:
        raise _filing_error(exc) from None
    session.commit()
    return _filing_public(session, filing)


EXPORT_COLUMNS = ["filing_id", "org_id", "org_name", "year", "step", "action", "from_state", "to_state",
                  "plan_id", "actor", "at", "comment"]


@router.get("/filings/{object_id}/export", dependencies=[readers],
            responses={200: {"content": {"text/csv": {}, "application/json": {}},
                             "description": "The filing's steps as CSV, or the filing as JSON."}})
def export_filing(
    object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal,
    file_format: Annotated[Literal["csv", "json"], Query(alias="format", description="csv: one row per step; json: the whole filing.")] = "csv",
) -> Response:
    """Download a filing's record: every step with who, when, decision and comment."""
    public = _filing_public(session, _load_filing(session, principal, object_id))
    name = f"replacement-filing-{public.id}-{public.year}"
    if file_format == "json":
        return Response(public.model_dump_json(indent=2), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for number, step in enumerate(public.steps, start=1):
        writer.writerow([
            public.id, public.org_id, public.org_name, public.year, number, step.action,
            step.from_state.value if step.from_state else "", step.to_state.value, step.plan_id, step.actor,
            step.at.isoformat(), step.comment,
        ])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


# -- figures --------------------------------------------------------------------------------


@router.get("/figures", response_model=Figures, dependencies=[readers])
def figures(
    session: SessionDep, principal: CurrentPrincipal,
    org_id: Annotated[int | None, Query(
        ge=1, le=2**31 - 1, description="Organisation whose subtree is charted; default your own.",
    )] = None,
) -> dict:
    """Chart data: the age histogram of the pool cars in service, and per year of the
    organisation's newest plan the NEV share of the cars bought, the spend and the number of
    cars retired."""
    org = _org_in_scope(session, principal, principal.user.org_id if org_id is None else org_id)
    return replacement_figures(session, org, datetime.now(UTC).date())

