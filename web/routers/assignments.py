"""Assignments: a request served by a pool car and its driver, or by a leased car.

Dispatch plans create them; a dispatcher may also write or override one by hand. Changing
the car or driver of a confirmed assignment is an override and needs a reason; a new car or
driver of a pool assignment must keep the dispatch rules (:mod:`dispatch.override_check`)
unless the dispatcher forces it, saying why."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from dispatch.day_instance import PlanInputError
from dispatch.override_check import Breach, check_override, record_override
from dispatch.plan_events import publish_plan_event
from fleet import audit
from fleet.hire_windows import sync_assignment_windows
from fleet.models import (
    Assignment,
    AssignmentCreate,
    AssignmentKind,
    AssignmentPublic,
    AssignmentUpdate,
    Driver,
    Lessor,
    RequestState,
    Role,
    TripRequest,
    Vehicle,
)
from fleet.models.dispatch_plan import DispatchPlan
from fleet.settings import get_settings
from web.audited import save_audited
from web.crud import ObjectId, apply_filters
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, refused_as, require_roles
from web.pagination import Page, PageDep, paginate
from web.references import check_references
from web.refusals import problem, refusal, refused

router = APIRouter(prefix="/assignments", tags=["assignments"])
readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.auditor, Role.driver))
dispatchers = Depends(require_roles(Role.admin, Role.dispatcher))
ASSIGNABLE_STATES = {RequestState.approved, RequestState.planned}


class AssignmentFilters(BaseModel):
    request_id: int | None = Field(None, ge=1, le=2**31 - 1)
    vehicle_id: int | None = Field(None, ge=1, le=2**31 - 1)
    driver_id: int | None = Field(None, ge=1, le=2**31 - 1)
    kind: AssignmentKind | None = None
    confirmed: bool | None = None


def own_driver_ids(principal: Principal):  # type: ignore[no-untyped-def]
    """A subquery of the driver records that belong to the calling user."""
    return select(Driver.id).where(Driver.user_id == principal.user.id)


def _load(session: Session, principal: Principal, assignment_id: int) -> Assignment:
    """An assignment the caller may see: a driver's own (whichever agency asked), or one of an
    agency in the caller's subtree; 404 otherwise."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise not_found("assignment", assignment_id)
    if principal.role == Role.driver:
        if assignment.driver_id not in session.exec(own_driver_ids(principal)).all():
            raise not_found("assignment", assignment_id)
    elif not principal.in_scope(session, assignment.org_id):
        raise not_found("assignment", assignment_id)
    return assignment


def _check_resources(session: Session, principal: Principal, data: dict) -> None:
    check_references(session, principal, data, {"vehicle_id": Vehicle, "driver_id": Driver, "lessor_id": Lessor})
    if data["kind"] == AssignmentKind.pool and (data.get("vehicle_id") is None or data.get("driver_id") is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="vehicle_id: a pool assignment needs a vehicle and a driver")
    if data["kind"] == AssignmentKind.lease and data.get("lessor_id") is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="lessor_id: a lease assignment needs a lessor")
    if data["planned_dropoff"] <= data["planned_pickup"]:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="planned_dropoff: must be after planned_pickup")


@router.get("", response_model=Page[AssignmentPublic], dependencies=[readers])
def list_assignments(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep, filters: Annotated[AssignmentFilters, Query()]
) -> dict:
    """Assignments in scope; a driver sees only their own (from any agency)."""
    if principal.role == Role.driver:
        statement = select(Assignment).where(col(Assignment.driver_id).in_(own_driver_ids(principal)))
    else:
        statement = select(Assignment).where(principal.scope_filter(col(Assignment.org_id)))
    return paginate(session, apply_filters(statement, Assignment, filters), page, col(Assignment.planned_pickup))


@router.get("/{object_id}", response_model=AssignmentPublic, dependencies=[readers])
def get_assignment(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Assignment:
    return _load(session, principal, object_id)


@router.post("", response_model=AssignmentPublic, status_code=status.HTTP_201_CREATED, dependencies=[dispatchers])
def create_assignment(body: AssignmentCreate, session: SessionDep, principal: CurrentPrincipal) -> Assignment:
    """Assign an approved or planned request by hand."""
    request = session.get(TripRequest, body.request_id)
    if request is None or not principal.in_scope(session, request.agency_id):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"request_id: trip request {body.request_id} not found")
    if request.state not in ASSIGNABLE_STATES:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"request_id: a request in state '{request.state}' cannot be assigned")
    data = body.model_dump()
    _check_resources(session, principal, data)
    assignment = Assignment.model_validate(data | {"org_id": request.agency_id})
    return save_audited(session, principal, "assignment.create", assignment)


@router.patch("/{object_id}", response_model=AssignmentPublic, dependencies=[dispatchers])
def update_assignment(
    object_id: ObjectId, body: AssignmentUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Assignment:
    """Confirm an assignment, or change its car or driver (an override of a confirmed one
    needs ``override_reason``).

    A new car or driver of a pool assignment is checked as the dispatch solver's plans are,
    over the car's and the driver's whole day (seats, class, NEV, shift, range, overlapping
    trips, riding alone): a broken rule answers 422 with one entry per rule (``type`` its code,
    ``ctx`` the clash: assignment ids, plates, names, times), unless ``force`` is sent with a
    ``force_reason``; the broken rules then stay on the assignment as ``override_warnings``.
    Every override prices the changed cars' routes again and says why in ``reason``
    (``dispatcher_override``)."""
    assignment = _load(session, principal, object_id)
    before = audit.snapshot(assignment)
    changes = body.model_dump(exclude_unset=True)
    force, force_reason = changes.pop("force", False), changes.pop("force_reason", None)
    if changes.get("confirmed") is None:
        changes.pop("confirmed", None)
    swaps = {k for k in ("vehicle_id", "driver_id") if k in changes and changes[k] != getattr(assignment, k)}
    if swaps and assignment.confirmed and not changes.get("override_reason"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="override_reason: required to change the car or driver of a confirmed assignment")
    if force and not force_reason:
        raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "force_reason", "force_reason_missing",
                      "force_reason: required with force (why the rules are overridden)")
    if force_reason and not force:
        raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "force", "force_missing",
                      "force: force_reason is given only with force true")
    merged = assignment.model_dump() | changes
    _check_resources(session, principal, merged)
    settings = get_settings()
    old_vehicle = assignment.vehicle_id
    breaches: list[Breach] = []
    checked = bool(swaps) and assignment.kind == AssignmentKind.pool
    if checked:
        with refused_as({PlanInputError: status.HTTP_422_UNPROCESSABLE_CONTENT}):
            breaches = check_override(session, assignment, merged["vehicle_id"], merged["driver_id"], settings)
        if breaches and not force:
            raise refused(status.HTTP_422_UNPROCESSABLE_CONTENT,
                          *(problem(b.field, b.code, b.message, **b.params) for b in breaches))
    for key, value in changes.items():
        setattr(assignment, key, value)
    changed: list[int] = []
    if checked:
        changed = record_override(session, assignment, old_vehicle, principal.user.username,
                                  changes.get("override_reason"), force_reason, breaches, settings)
    action = "assignment.override" if swaps and (assignment.confirmed or checked) else "assignment.update"
    sync_assignment_windows(session, [assignment.id])
    saved = save_audited(session, principal, action, assignment, before)
    if checked and saved.plan_id is not None and (plan := session.get(DispatchPlan, saved.plan_id)):
        publish_plan_event(plan, sorted({saved.id or 0, *changed}))
    return saved
