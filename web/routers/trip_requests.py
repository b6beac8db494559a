"""Trip requests: filed by agency staff, approved by the agency's approver, served by
dispatch. State changes go through POST /trip-requests/{id}/transitions (a requester cancels
with a reason until the trip starts); once a request is assigned, GET
/trip-requests/{id}/assignment tells its requester the car, the driver and the planned pickup.
An approver lists the submitted requests with their warnings (GET
/trip-requests/pending-approval) and approves or rejects many at once (POST
/trip-requests/transitions), each request checked on its own.

A requester's pickup may not lie in the past (beyond FLEET_TRIPS_PICKUP_GRACE_S) and needs
an origin and a destination address; those refusals carry codes the pages translate
(:mod:`web.refusals`). Administrators may file past trips (a trip recorded after the fact, a
simulated day played back)."""

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.sql.expression import ClauseList
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import (
    Assignment,
    AssignmentKind,
    Driver,
    Lessor,
    Organisation,
    OrgLevel,
    RequestState,
    Role,
    TransitionRequest,
    TripRequest,
    TripRequestCreate,
    TripRequestPublic,
    TripRequestUpdate,
    User,
    Vehicle,
    utcnow,
)
from fleet.models.trip_request import check_request_times
from fleet.request_workflow import (
    ROLES_THAT_MOVE_REQUESTS,
    IllegalTransition,
    ReasonRequired,
    TransitionForbidden,
    move,
)
from web.approvals_view import ApprovalItem, approval_items
from web.audited import save_audited
from web.crud import ObjectId, reject_null_for_required
from web.deps import (
    CurrentPrincipal,
    Principal,
    SessionDep,
    forbid_out_of_scope,
    not_found,
    refused_as,
    require_roles,
)
from web.pagination import Page, PageDep, paginate
from web.refusals import problem, refused

router = APIRouter(prefix="/trip-requests", tags=["trip requests"])
R = Role
readers = Depends(require_roles(R.admin, R.dispatcher, R.requester, R.approver, R.auditor, R.driver))
filers = Depends(require_roles(R.admin, R.requester))
movers = Depends(require_roles(*ROLES_THAT_MOVE_REQUESTS))


class TripRequestFilters(BaseModel):
    state: RequestState | None = None
    agency_id: int | None = Field(None, ge=1, le=2**31 - 1)
    pickup_from: AwareDatetime | None = Field(None, description="Pickup window starts at or after.")
    pickup_to: AwareDatetime | None = Field(None, description="Pickup window starts before.")


def _driver_request_ids(session: Session, principal: Principal):  # type: ignore[no-untyped-def]
    """The ids of requests assigned to the calling driver."""
    driver_ids = select(Driver.id).where(Driver.user_id == principal.user.id)
    return select(Assignment.request_id).where(col(Assignment.driver_id).in_(driver_ids))


def _visible(session: Session, principal: Principal, request: TripRequest) -> bool:
    """A driver sees the requests assigned to them, whichever agency asked; everyone else
    those of the agencies in their subtree."""
    if principal.role == Role.driver:
        return request.id in session.exec(_driver_request_ids(session, principal)).all()
    return principal.in_scope(session, request.agency_id)


def _load(session: Session, principal: Principal, request_id: int) -> TripRequest:
    request = session.get(TripRequest, request_id)
    if request is None or not _visible(session, principal, request):
        raise not_found("trip request", request_id)
    return request


@router.get("", response_model=Page[TripRequestPublic], dependencies=[readers])
def list_trip_requests(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    filters: Annotated[TripRequestFilters, Query()],
) -> dict:
    """Requests in the caller's scope: a requester or approver sees their agency's, a driver
    only those assigned to them (from any agency)."""
    if principal.role == Role.driver:
        statement = select(TripRequest).where(col(TripRequest.id).in_(_driver_request_ids(session, principal)))
    else:
        statement = select(TripRequest).where(principal.scope_filter(col(TripRequest.agency_id)))
    if filters.state is not None:
        statement = statement.where(TripRequest.state == filters.state)
    if filters.agency_id is not None:
        statement = statement.where(TripRequest.agency_id == filters.agency_id)
    if filters.pickup_from is not None:
        statement = statement.where(col(TripRequest.pickup_earliest) >= filters.pickup_from)
    if filters.pickup_to is not None:
        statement = statement.where(col(TripRequest.pickup_earliest) < filters.pickup_to)
    return paginate(session, statement, page, col(TripRequest.id))


approvers = Depends(require_roles(R.approver, R.admin))
#: The most requests one batch decision may name.
MAX_BATCH_DECISIONS = 200


@router.get("/pending-approval", response_model=Page[ApprovalItem], dependencies=[approvers])
def list_pending_approval(session: SessionDep, principal: CurrentPrincipal, page: PageDep, http: Request) -> dict:
    """Submitted requests of the agencies in the caller's scope, soonest pickup first, each
    with its filer, rider and agency named and the warnings the platform sees in it (pickup
    in the past, outside working time, rest day or holiday, outside an allowed area or the
    county; see :mod:`web.approvals_view`)."""
    statement = select(TripRequest).where(principal.scope_filter(col(TripRequest.agency_id)),
                                          TripRequest.state == RequestState.submitted)
    found = paginate(session, statement, page, ClauseList(col(TripRequest.pickup_earliest), col(TripRequest.id)))
    return found | {"items": approval_items(session, http.app.state.settings, found["items"])}


class BatchDecision(BaseModel):
    """One decision on several submitted requests: approve them, or reject them with a reason."""

    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        min_length=1, max_length=MAX_BATCH_DECISIONS, description="The requests, each at most once.")
    to: Literal[RequestState.approved, RequestState.rejected]
    reason: str | None = Field(None, max_length=500, description="Required to reject.")


#: What happened to one request of a batch decision, as a code the pages translate.
BatchCode = Literal["moved", "not_found", "separation_of_duties", "not_allowed", "wrong_state", "reason_missing"]


class BatchOutcome(BaseModel):
    """What happened to one request of a batch: ``status`` is the HTTP status a single
    transition would have answered (200 moved, 403 not allowed, 404 not found or outside
    the caller's scope, 409 not in a state that allows it, 422 reason missing)."""

    id: int
    ok: bool
    status: int
    code: BatchCode = Field(description="What happened, as a code the pages translate.")
    state: RequestState | None = Field(description="The request's state after the batch; empty for 404.")
    detail: str | None = Field(description="Why the request was not moved.")


class BatchAnswer(BaseModel):
    """Per request, in the order asked, what the batch did; how many moved and how many not."""

    results: list[BatchOutcome]
    moved: int
    refused: int


def _refusal_code(exc: Exception, request: TripRequest, principal: Principal) -> BatchCode:
    """The code of a workflow refusal of a decision on ``request``."""
    if isinstance(exc, IllegalTransition):
        return "wrong_state"
    if isinstance(exc, ReasonRequired):
        return "reason_missing"
    if principal.user.id in (request.requester_id, request.rider_id):
        return "separation_of_duties"
    return "not_allowed"


@router.post("/transitions", response_model=BatchAnswer, dependencies=[approvers])
def decide_trip_requests(body: BatchDecision, session: SessionDep, principal: CurrentPrincipal) -> BatchAnswer:
    """Approve or reject several requests at once. Each id is loaded in the caller's scope
    and moved through the workflow on its own (role, state, separation of duties: nobody
    decides on a request they filed or ride in; a reason to reject), so one refusal leaves
    the others moving; the answer says per id what happened."""
    if len(set(body.ids)) != len(body.ids):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="ids: each request may be named only once")
    refusals = {IllegalTransition: status.HTTP_409_CONFLICT, TransitionForbidden: status.HTTP_403_FORBIDDEN,
                ReasonRequired: status.HTTP_422_UNPROCESSABLE_CONTENT}
    results: list[BatchOutcome] = []
    for request_id in body.ids:
        request = session.get(TripRequest, request_id)
        if request is None or not _visible(session, principal, request):
            results.append(BatchOutcome(id=request_id, ok=False, status=status.HTTP_404_NOT_FOUND, code="not_found",
                                        state=None, detail=f"trip request {request_id} not found"))
            continue
        try:
            move(session, request, body.to, principal.user, body.reason)
        except tuple(refusals) as exc:  # raised before the request is changed
            http_status = next(c for kind, c in refusals.items() if isinstance(exc, kind))
            results.append(BatchOutcome(id=request_id, ok=False, status=http_status,
                                        code=_refusal_code(exc, request, principal), state=request.state,
                                        detail=str(exc)))
            continue
        session.commit()
        results.append(BatchOutcome(id=request_id, ok=True, status=status.HTTP_200_OK, code="moved", state=body.to,
                                    detail=None))
    moved = sum(r.ok for r in results)
    return BatchAnswer(results=results, moved=moved, refused=len(results) - moved)


@router.get("/{object_id}", response_model=TripRequestPublic, dependencies=[readers])
def get_trip_request(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> TripRequest:
    return _load(session, principal, object_id)


class RequestAssignment(BaseModel):
    """What the requester needs to meet the car: who drives which car, and when it comes."""

    request_id: int
    assignment_id: int
    kind: AssignmentKind
    plate: str | None = Field(description="The car's plate; empty while a lessor has not named the car.")
    vehicle_class: str | None
    driver_name: str | None
    driver_phone: str | None
    lessor_name: str | None = Field(description="The rental company of a leased car.")
    lessor_phone: str | None
    planned_pickup: datetime
    planned_dropoff: datetime


def _pickup_problems(request: TripRequestCreate | TripRequest, principal: Principal, grace_s: float) -> list[dict[str, Any]]:
    """A requester's pickup window that ended more than ``grace_s`` seconds ago (none for
    administrators, who may record past trips)."""
    if principal.role == Role.admin:
        return []
    earliest_allowed = utcnow() - timedelta(seconds=grace_s)
    if request.pickup_latest >= earliest_allowed:
        return []
    return [problem("pickup_latest", "pickup_in_past",
                    f"the pickup window ended at {request.pickup_latest.isoformat()}, in the past; "
                    f"ask for a pickup from now on", pickup_latest=request.pickup_latest.isoformat(),
                    grace_s=grace_s)]


def _address_problems(body: TripRequestCreate) -> list[dict[str, Any]]:
    """An origin or destination address left empty."""
    return [problem(field, "address_missing", f"name the {where} (an address or a building)")
            for field, where in (("origin_address", "origin"), ("destination_address", "destination"))
            if not getattr(body, field).strip()]


@router.post("", response_model=TripRequestPublic, status_code=status.HTTP_201_CREATED, dependencies=[filers])
def create_trip_request(body: TripRequestCreate, session: SessionDep, principal: CurrentPrincipal,
                        http: Request) -> TripRequest:
    """File a request (state ``draft``) for an agency in the caller's scope; ``rider_id``
    names the agency's official who rides when they are not the filer. Both addresses are
    required, and a requester's pickup window may not have ended (422 naming the fields)."""
    forbid_out_of_scope(principal, session, body.agency_id, field="agency_id")
    problems = _address_problems(body) + _pickup_problems(body, principal, http.app.state.settings.trips.pickup_grace_s)
    if problems:
        raise refused(status.HTTP_422_UNPROCESSABLE_CONTENT, *problems)
    agency = session.get(Organisation, body.agency_id)
    if agency is None or agency.level != OrgLevel.agency:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"agency_id: organisation {body.agency_id} is not an agency")
    if body.rider_id is not None:
        rider = session.get(User, body.rider_id)
        if rider is None or rider.org_id != body.agency_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"rider_id: user {body.rider_id} is not a user of agency {body.agency_id}")
    request = TripRequest.model_validate(body.model_dump() | {"requester_id": principal.user.id})
    return save_audited(session, principal, "trip_request.create", request)


@router.patch("/{object_id}", response_model=TripRequestPublic, dependencies=[filers])
def update_trip_request(
    object_id: ObjectId, body: TripRequestUpdate, session: SessionDep, principal: CurrentPrincipal, http: Request
) -> TripRequest:
    """Change a request while it is still a draft (409 after it has been submitted); a
    requester's new pickup window may not have ended."""
    request = _load(session, principal, object_id)
    if request.state != RequestState.draft:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"state: a request in state '{request.state}' can no longer be edited")
    before = audit.snapshot(request)
    changes = body.model_dump(exclude_unset=True)
    reject_null_for_required(TripRequest, changes)
    for key, value in changes.items():
        setattr(request, key, value)
    try:
        check_request_times(request)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    if "pickup_latest" in changes or "pickup_earliest" in changes:
        problems = _pickup_problems(request, principal, http.app.state.settings.trips.pickup_grace_s)
        if problems:
            raise refused(status.HTTP_422_UNPROCESSABLE_CONTENT, *problems)
    request.updated_at = utcnow()
    return save_audited(session, principal, "trip_request.update", request, before)


@router.post("/{object_id}/transitions", response_model=TripRequestPublic, dependencies=[movers])
def transition_trip_request(
    object_id: ObjectId, body: TransitionRequest, session: SessionDep, principal: CurrentPrincipal, http: Request
) -> TripRequest:
    """Move a request to the next state. An illegal step answers 409 and says which steps are
    allowed; a step this role may not take answers 403, and so does a step against separation
    of duties (nobody approves or rejects a request they filed or ride in; a requester acts on
    their own requests only); reject and cancel need a reason. A requester cancels until the
    trip starts, and cannot submit a request whose pickup window has ended (422)."""
    request = _load(session, principal, object_id)
    if body.to == RequestState.submitted and request.state == RequestState.draft:
        problems = _pickup_problems(request, principal, http.app.state.settings.trips.pickup_grace_s)
        if problems:
            raise refused(status.HTTP_422_UNPROCESSABLE_CONTENT, *problems)
    with refused_as({IllegalTransition: status.HTTP_409_CONFLICT, TransitionForbidden: status.HTTP_403_FORBIDDEN,
                     ReasonRequired: status.HTTP_422_UNPROCESSABLE_CONTENT}):
        move(session, request, body.to, principal.user, body.reason)
    session.commit()
    session.refresh(request)
    return request


#: States in which a request has a car and driver to show.
SERVED_STATES = (RequestState.assigned, RequestState.in_progress, RequestState.completed)


@router.get("/{object_id}/assignment", response_model=RequestAssignment, dependencies=[readers])
def get_request_assignment(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> RequestAssignment:
    """The car, driver (or rental company) and planned times serving an assigned request;
    404 while it has none."""
    request = _load(session, principal, object_id)
    assignment = None
    if request.state in SERVED_STATES:
        assignment = session.exec(select(Assignment).where(Assignment.request_id == request.id)
                                  .order_by(col(Assignment.id).desc())).first()
    if assignment is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"trip request {object_id} has no car assigned yet (state '{request.state}')")
    vehicle = session.get(Vehicle, assignment.vehicle_id) if assignment.vehicle_id else None
    driver = session.get(Driver, assignment.driver_id) if assignment.driver_id else None
    lessor = session.get(Lessor, assignment.lessor_id) if assignment.lessor_id else None
    return RequestAssignment(
        request_id=request.id, assignment_id=assignment.id, kind=assignment.kind,
        plate=vehicle.plate if vehicle else None, vehicle_class=vehicle.vehicle_class if vehicle else None,
        driver_name=driver.name if driver else None, driver_phone=driver.phone if driver else None,
        lessor_name=lessor.name if lessor else None, lessor_phone=(lessor.phone or None) if lessor else None,
        planned_pickup=assignment.planned_pickup, planned_dropoff=assignment.planned_dropoff)
