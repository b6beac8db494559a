"""The alert review workflow: open -> under_review -> confirmed | justified | false_positive.

Moving to ``under_review`` assigns a reviewer; ``justified`` needs a reason. Every step is
written to the review-steps table and to the audit log in the caller's transaction."""

from __future__ import annotations

from sqlmodel import Session, col, select

from fleet import audit
from fleet.alert_incidents import incident_alerts
from fleet.models import Alert, AlertState, Role, User, utcnow
from fleet.models.compliance import AlertReviewStep

S = AlertState

#: Which states an alert may move to from each state; the decisions are final.
REVIEW_STEPS: dict[AlertState, frozenset[AlertState]] = {
    S.open: frozenset({S.under_review}),
    S.under_review: frozenset({S.confirmed, S.justified, S.false_positive}),
    S.confirmed: frozenset(),
    S.justified: frozenset(),
    S.false_positive: frozenset(),
}

#: Roles whose users may be assigned as an alert's reviewer.
REVIEWER_ROLES = frozenset({Role.admin, Role.dispatcher, Role.auditor})


class ReviewError(ValueError):
    """A review step that cannot be taken; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class IllegalReviewStep(ReviewError):
    """The alert's state does not allow the step asked for."""


def allowed_steps(state: AlertState) -> list[str]:
    return sorted(s.value for s in REVIEW_STEPS[state])


def current_reviewer_id(session: Session, alert_id: int) -> int | None:
    """The reviewer named by the alert's latest review step (None before any)."""
    statement = (
        select(AlertReviewStep.reviewer_id)
        .where(AlertReviewStep.alert_id == alert_id)
        .order_by(col(AlertReviewStep.id).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def review_alert(
    session: Session,
    alert: Alert,
    actor: User | str,
    to: AlertState,
    reason: str | None = None,
    reviewer: User | None = None,
) -> AlertReviewStep:
    """Move ``alert`` one step; ``reviewer`` defaults to the current reviewer, or to the actor
    when the review starts. Raises ``IllegalReviewStep`` or ``ReviewError``."""
    state = AlertState(alert.state)
    if to not in REVIEW_STEPS[state]:
        allowed = ", ".join(allowed_steps(state)) or "none (the decision is final)"
        raise IllegalReviewStep("to", f"an alert in state '{state.value}' cannot move to '{to.value}'; allowed: {allowed}")
    reason = (reason or "").strip() or None
    if to == S.justified and reason is None:
        raise ReviewError("reason", "a reason is required to mark an alert justified")
    if reviewer is not None and (not reviewer.is_active or Role(reviewer.role) not in REVIEWER_ROLES):
        raise ReviewError(
            "reviewer_id",
            f"user {reviewer.id} cannot review alerts (needs an active "
            + ", ".join(sorted(r.value for r in REVIEWER_ROLES)) + " login)",
        )
    reviewer_id = reviewer.id if reviewer is not None else current_reviewer_id(session, alert.id)
    if reviewer_id is None and isinstance(actor, User):
        reviewer_id = actor.id
    before = audit.snapshot(alert)
    alert.state = to
    step = AlertReviewStep(
        alert_id=alert.id,
        from_state=state,
        to_state=to,
        reason=reason,
        reviewer_id=reviewer_id,
        actor_id=actor.id if isinstance(actor, User) else None,
        actor=actor.username if isinstance(actor, User) else actor,
        at=utcnow(),
    )
    session.add_all([alert, step])
    session.flush()
    after = (audit.snapshot(alert) or {}) | {"reviewer_id": reviewer_id, "reason": reason}
    audit.record(session, actor, f"alert.review.{to.value}", "alert", alert.id, before, after)
    return step


def review_incident(
    session: Session,
    alert: Alert,
    actor: User | str,
    to: AlertState,
    reason: str | None = None,
    reviewer: User | None = None,
) -> list[AlertReviewStep]:
    """Take the step on ``alert`` and on every other alert of its incident in the same state
    (``fleet.alert_incidents``: one drive or stop is reviewed once); the steps, ``alert``'s first."""
    state = alert.state
    steps = [review_alert(session, alert, actor, to, reason, reviewer)]
    for other in incident_alerts(session, alert):
        if other.id != alert.id and other.state == state:
            steps.append(review_alert(session, other, actor, to, reason, reviewer))
    return steps
