"""Alert review: POST /alerts/{id}/review moves an alert one step of its review
(open -> under_review -> confirmed | justified | false_positive); GET /alerts/{id}/reviews
lists the steps. Admins and dispatchers review; auditors read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from fleet.alert_incidents import public_alerts
from fleet.compliance.alert_review import IllegalReviewStep, ReviewError, review_incident
from fleet.models import Alert, AlertPublic, AlertState, Role, User, Vehicle
from fleet.models.compliance import AlertReviewStep, AlertReviewStepPublic
from web.crud import ObjectId
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, refused_as, require_roles
from web.references import load_reference

router = APIRouter(prefix="/alerts", tags=["alert review"])
R = Role
reviewers = Depends(require_roles(R.admin, R.dispatcher))
readers = Depends(require_roles(R.admin, R.dispatcher, R.auditor))


class ReviewRequest(BaseModel):
    """One review step; ``justified`` needs a reason, ``reviewer_id`` assigns the reviewer
    (default: the current reviewer, or the caller when the review starts)."""

    to: AlertState
    reason: str | None = Field(None, max_length=1000)
    reviewer_id: int | None = Field(None, ge=1, le=2**31 - 1)


def _load(session: Session, principal: Principal, alert_id: int, lock: bool = False) -> Alert:
    statement = select(Alert).where(Alert.id == alert_id)
    if lock:
        statement = statement.with_for_update()
    alert = session.exec(statement).first()
    vehicle = session.get(Vehicle, alert.vehicle_id) if alert else None
    if vehicle is None or not principal.in_scope(session, vehicle.org_id):
        raise not_found("alert", alert_id)
    return alert


@router.post("/{object_id}/review", response_model=AlertPublic, dependencies=[reviewers])
def review(object_id: ObjectId, body: ReviewRequest, session: SessionDep, principal: CurrentPrincipal) -> AlertPublic:
    """Take one review step (409 for a step the alert's state does not allow); the other
    alerts of its incident in the same state take it too (one drive or stop, one review)."""
    alert = _load(session, principal, object_id, lock=True)
    reviewer = None
    if body.reviewer_id is not None:
        reviewer = load_reference(session, principal, "reviewer_id", User, body.reviewer_id)
    with refused_as({IllegalReviewStep: status.HTTP_409_CONFLICT, ReviewError: status.HTTP_422_UNPROCESSABLE_CONTENT}):
        review_incident(session, alert, principal.user, body.to, body.reason, reviewer)
    session.commit()
    session.refresh(alert)
    return public_alerts(session, [alert])[0]


@router.get("/{object_id}/reviews", response_model=list[AlertReviewStepPublic], dependencies=[readers])
def list_reviews(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> list[AlertReviewStep]:
    """The alert's review steps, oldest first."""
    _load(session, principal, object_id)
    statement = select(AlertReviewStep).where(AlertReviewStep.alert_id == object_id).order_by(col(AlertReviewStep.id))
    return list(session.exec(statement).all())
