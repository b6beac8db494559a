"""The life of a trip request: which state may follow which, who may move it, when a reason
is required, and the one function that moves it (:func:`move`).

Every state change of a trip request goes through :func:`move`: the API's transitions, the
driver's start and completion, and the dispatch plans. The plans' own steps (routing a
request, leaving it out, assigning it) are taken by the platform itself (actor
:data:`PLATFORM`) and are marked in :data:`TRANSITIONS`. The API answers the exceptions with
409 (no such step), 403 (not this actor) and 422 (reason missing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from fleet import audit
from fleet.hire_windows import sync_request_windows
from fleet.models import TripRequest, User, utcnow
from fleet.models.common import RequestState as S
from fleet.models.common import Role as R

#: The actor of the steps the platform takes itself when a dispatch plan is made, accepted
#: or given an urgent request (recorded under this name in the audit log).
PLATFORM = "platform"


@dataclass(frozen=True)
class Transition:
    """One allowed step: the roles that may take it, whether a reason is required, and
    whether the platform takes it itself when it plans."""

    roles: frozenset[R]
    reason_required: bool = False
    by_platform: bool = False


_CANCELLERS = frozenset({R.requester, R.dispatcher, R.admin})
_DISPATCH = frozenset({R.dispatcher, R.admin})

TRANSITIONS: dict[tuple[S, S], Transition] = {
    (S.draft, S.submitted): Transition(frozenset({R.requester, R.admin})),
    (S.submitted, S.approved): Transition(frozenset({R.approver, R.admin})),
    (S.submitted, S.rejected): Transition(frozenset({R.approver, R.admin}), reason_required=True),
    # a plan routes the request / leaves it out of a re-plan / is accepted
    (S.approved, S.planned): Transition(_DISPATCH, by_platform=True),
    (S.planned, S.approved): Transition(_DISPATCH, by_platform=True),
    (S.planned, S.assigned): Transition(_DISPATCH, by_platform=True),
    # an urgent request inserted into an accepted plan is assigned at once
    (S.approved, S.assigned): Transition(frozenset(), by_platform=True),
    (S.assigned, S.in_progress): Transition(frozenset({R.driver, R.dispatcher, R.admin})),
    (S.in_progress, S.completed): Transition(frozenset({R.driver, R.dispatcher, R.admin})),
    **{
        (state, S.cancelled): Transition(_CANCELLERS, reason_required=True)
        for state in (S.draft, S.submitted, S.approved, S.planned, S.assigned)
    },
}

#: Roles that can take at least one step; everyone else may not move requests at all.
ROLES_THAT_MOVE_REQUESTS = frozenset(role for t in TRANSITIONS.values() for role in t.roles)

#: Steps that decide on a request; its filer may not take them.
DECISIONS = frozenset({S.approved, S.rejected})


class IllegalTransition(Exception):
    """The step does not exist in the workflow (HTTP 409)."""


class TransitionForbidden(Exception):
    """The step exists but this actor may not take it (HTTP 403)."""


class ReasonRequired(ValueError):
    """The step needs a reason and none was given (HTTP 422)."""


def _step(current: S, target: S) -> Transition:
    """The step from ``current`` to ``target``; :class:`IllegalTransition` when there is none."""
    step = TRANSITIONS.get((current, target))
    if step is None:
        allowed = sorted(dst.value for (src, dst), t in TRANSITIONS.items() if src == current and t.roles)
        raise IllegalTransition(
            f"a request in state '{current.value}' cannot go to '{target.value}'; "
            f"allowed next states: {', '.join(allowed) or 'none (final state)'}"
        )
    return step


def check_transition(current: S, target: S, role: R, reason: str | None) -> None:
    """Raise unless ``role`` may move a request from ``current`` to ``target``."""
    step = _step(current, target)
    if role not in step.roles:
        raise TransitionForbidden(
            f"role '{role.value}' may not move a request from '{current.value}' to '{target.value}'"
            + ("; only the platform takes this step" if not step.roles else "")
        )
    if step.reason_required and not (reason and reason.strip()):
        raise ReasonRequired(f"reason: required to move a request to '{target.value}'")


def check_duties(request: TripRequest, target: S, user: User) -> None:
    """Separation of duties: nobody decides on a request they filed or ride in, and a
    requester acts on their own requests only. Raises :class:`TransitionForbidden` naming
    the rule."""
    if target in DECISIONS and user.id in (request.requester_id, request.rider_id):
        raise TransitionForbidden(
            "separation of duties: nobody approves or rejects a trip request they filed or ride in")
    if user.role == R.requester and request.requester_id != user.id:
        raise TransitionForbidden(
            "separation of duties: a requester acts only on the trip requests they filed")


def move(
    session: Session, request: TripRequest, to: S, actor: User | str, reason: str | None = None,
    at: datetime | None = None,
) -> None:
    """Move ``request`` to state ``to``: check the step against :data:`TRANSITIONS` (a user
    by role and separation of duties, :data:`PLATFORM` by the steps marked for it), set
    ``state_reason`` to ``reason``, stamp ``updated_at`` (``at``, default now) and append
    the ``trip_request.<state>`` audit entry. Flushes; the caller commits."""
    current = S(request.state)
    if isinstance(actor, User):
        check_transition(current, to, R(actor.role), reason)
        check_duties(request, to, actor)
    elif actor != PLATFORM or not _step(current, to).by_platform:
        raise TransitionForbidden(
            f"{actor!r} may not move a request from '{current.value}' to '{to.value}'")
    before = audit.snapshot(request)
    request.state = to
    request.state_reason = reason
    request.updated_at = at or utcnow()
    session.add(request)
    audit.record(session, actor, f"trip_request.{to.value}", "trip_request", request.id, before,
                 audit.snapshot(request))
    sync_request_windows(session, request.id)
