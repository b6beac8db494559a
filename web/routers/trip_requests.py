"""Trip requests: filed by agency staff, approved by the agency's approver, served by
dispatch. State changes go through POST /trip-requests/{id}/transitions."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import (
    Assignment,
    Driver,
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
    if not principal.in_scope(session, request.agency_id):
        return False
    if principal.role == Role.driver:
        return request.id in session.exec(_driver_request_ids(session, principal)).all()
    return True


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
    only those assigned to them."""
    statement = select(TripRequest).where(principal.scope_filter(col(TripRequest.agency_id)))
    if principal.role == Role.driver:
        statement = statement.where(col(TripRequest.id).in_(_driver_request_ids(session, principal)))
    if filters.state is not None:
        statement = statement.where(TripRequest.state == filters.state)
    if filters.agency_id is not None:
        statement = statement.where(TripRequest.agency_id == filters.agency_id)
    if filters.pickup_from is not None:
        statement = statement.where(col(TripRequest.pickup_earliest) >= filters.pickup_from)
    if filters.pickup_to is not None:
        statement = statement.where(col(TripRequest.pickup_earliest) < filters.pickup_to)
    return paginate(session, statement, page, col(TripRequest.id))


@router.get("/{object_id}", response_model=TripRequestPublic, dependencies=[readers])
def get_trip_request(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> TripRequest:
    return _load(session, principal, object_id)


@router.post("", response_model=TripRequestPublic, status_code=status.HTTP_201_CREATED, dependencies=[filers])
def create_trip_request(body: TripRequestCreate, session: SessionDep, principal: CurrentPrincipal) -> TripRequest:
    """File a request (state ``draft``) for an agency in the caller's scope; ``rider_id``
    names the agency's official who rides when they are not the filer."""
    forbid_out_of_scope(principal, session, body.agency_id, field="agency_id")
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
    object_id: ObjectId, body: TripRequestUpdate, session: SessionDep, principal: CurrentPrincipal
) -> TripRequest:
    """Change a request while it is still a draft (409 after it has been submitted)."""
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
    request.updated_at = utcnow()
    return save_audited(session, principal, "trip_request.update", request, before)


@router.post("/{object_id}/transitions", response_model=TripRequestPublic, dependencies=[movers])
def transition_trip_request(
    object_id: ObjectId, body: TransitionRequest, session: SessionDep, principal: CurrentPrincipal
) -> TripRequest:
    """Move a request to the next state. An illegal step answers 409 and says which steps are
    allowed; a step this role may not take answers 403, and so does a step against separation
    of duties (nobody approves or rejects a request they filed or ride in; a requester acts on
    their own requests only); reject and cancel need a reason."""
    request = _load(session, principal, object_id)
    with refused_as({IllegalTransition: status.HTTP_409_CONFLICT, TransitionForbidden: status.HTTP_403_FORBIDDEN,
                     ReasonRequired: status.HTTP_422_UNPROCESSABLE_CONTENT}):
        move(session, request, body.to, principal.user, body.reason)
    session.commit()
    session.refresh(request)
    return request
