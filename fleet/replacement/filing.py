"""County filings (备案) of annual replacement plans with the city, and their review.

A county's planner or administrator files one year of a plan computed for their county:
``submitted``. An
administrator of an organisation above the county (the city) approves it (``approved``, final)
or returns it with a comment (``returned``); the county then files again for the same year,
with the same or a newer plan (``resubmit``). Every step is stored with who, when and the
comment, and written to the audit log. A county never reviews its own filing.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import Organisation, OrgLevel, User, utcnow
from fleet.models.replacement import (
    FilingAction,
    FilingState,
    ReplacementFiling,
    ReplacementFilingStep,
    ReplacementPlanRecord,
)

Decision = Literal["approve", "return"]


class FilingError(Exception):
    """A filing step that cannot be taken; the message names the field or rule."""


class FilingForbidden(FilingError):
    """The caller may not take this step (HTTP 403)."""


class FilingConflict(FilingError):
    """The filing is not in a state that allows this step (HTTP 409)."""


class FilingInvalid(FilingError):
    """The request itself is wrong (HTTP 422)."""


def submit_filing(
    session: Session, user: User, plan: ReplacementPlanRecord, year: int | None, comment: str
) -> tuple[ReplacementFiling, bool]:
    """File ``year`` (default the plan's first) of ``plan`` for the user's county; a returned
    filing of that year is filed again. Returns the filing and whether it is new. Adds the step
    and the audit entry to the session without committing."""
    org = session.get(Organisation, user.org_id)
    if org is None or org.level != OrgLevel.county:
        raise FilingForbidden("only a planner or administrator of a county files a replacement plan with the city")
    if plan.org_id != org.id:
        raise FilingForbidden(f"plan_id: plan {plan.id} is not a plan of your county {org.name}")
    year = plan.start_year if year is None else year
    if not plan.start_year <= year < plan.start_year + plan.years:
        raise FilingInvalid(
            f"year: {year} is not a year of plan {plan.id} "
            f"({plan.start_year}-{plan.start_year + plan.years - 1})"
        )
    filing = session.exec(
        select(ReplacementFiling).where(ReplacementFiling.org_id == org.id).where(ReplacementFiling.year == year)
    ).first()
    if filing is None:
        filing = ReplacementFiling(org_id=org.id, plan_id=plan.id, year=year)  # type: ignore[arg-type]
        session.add(filing)
        session.flush()
        _step(session, user, filing, FilingAction.submit, None, comment)
        return filing, True
    if filing.state != FilingState.returned:
        raise FilingConflict(
            f"state: the {year} filing of {org.name} is '{filing.state.value}'; only a returned "
            "filing can be filed again"
        )
    filing.plan_id = plan.id  # type: ignore[assignment]
    _step(session, user, filing, FilingAction.resubmit, FilingState.submitted, comment)
    return filing, False


def review_filing(
    session: Session, user: User, filing: ReplacementFiling, decision: Decision, comment: str
) -> ReplacementFiling:
    """Approve or return a submitted filing as an administrator above the filing county
    (a return needs a comment). Adds the step and the audit entry without committing."""
    reviewer_org = session.get(Organisation, user.org_id)
    county = session.get(Organisation, filing.org_id)
    assert county is not None
    if reviewer_org is None or reviewer_org.id == county.id or not county.path.startswith(reviewer_org.path):
        raise FilingForbidden(
            "a filing is reviewed by an administrator above the filing county, never by the county itself"
        )
    if filing.state != FilingState.submitted:
        raise FilingConflict(f"state: filing {filing.id} is '{filing.state.value}'; only a submitted filing is reviewed")
    if decision == "return" and not comment.strip():
        raise FilingInvalid("comment: say why the plan is returned")
    if decision == "approve":
        _step(session, user, filing, FilingAction.approve, FilingState.approved, comment)
    else:
        _step(session, user, filing, FilingAction.return_, FilingState.returned, comment)
    return filing


def _step(
    session: Session,
    user: User,
    filing: ReplacementFiling,
    action: FilingAction,
    to_state: FilingState | None,
    comment: str,
) -> None:
    """Record one step (``to_state`` None: a new filing, already ``submitted``)."""
    before = None if to_state is None else filing_snapshot(filing)
    from_state = None if to_state is None else filing.state
    if to_state is not None:
        filing.state = to_state
        filing.updated_at = utcnow()
    session.add(filing)
    step = ReplacementFilingStep(
        filing_id=filing.id,  # type: ignore[arg-type]
        action=action,
        from_state=from_state,
        to_state=filing.state,
        plan_id=filing.plan_id,
        comment=comment,
        actor_id=user.id,
        actor=user.username,
        at=utcnow(),
    )
    session.add(step)
    session.flush()
    after = filing_snapshot(filing) | {"comment": comment, "step_id": step.id}
    audit.record(session, user, f"replacement_filing.{action.value}", "replacement_filing", filing.id, before, after)


def filing_snapshot(filing: ReplacementFiling) -> dict[str, Any]:
    """The audit form of a filing: which plan, which year, which state."""
    return {"org_id": filing.org_id, "plan_id": filing.plan_id, "year": filing.year, "state": filing.state.value}


def filing_steps(session: Session, filing_id: int) -> list[ReplacementFilingStep]:
    """The steps of a filing, oldest first."""
    return list(session.exec(
        select(ReplacementFilingStep)
        .where(ReplacementFilingStep.filing_id == filing_id)
        .order_by(col(ReplacementFilingStep.at), col(ReplacementFilingStep.id))
    ).all())
