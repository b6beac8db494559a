"""The life of a trip request: which state may follow which, who may move it, and when a
reason is required. Pure rules; the API applies them and answers 409 or 403."""

from __future__ import annotations

from dataclasses import dataclass

from fleet.models.common import RequestState as S
from fleet.models.common import Role as R


@dataclass(frozen=True)
class Transition:
    """One allowed step: the roles that may take it and whether a reason is required."""

    roles: frozenset[R]
    reason_required: bool = False


_CANCELLERS = frozenset({R.requester, R.dispatcher, R.admin})

TRANSITIONS: dict[tuple[S, S], Transition] = {
    (S.draft, S.submitted): Transition(frozenset({R.requester, R.admin})),
    (S.submitted, S.approved): Transition(frozenset({R.approver, R.admin})),
    (S.submitted, S.rejected): Transition(frozenset({R.approver, R.admin}), reason_required=True),
    (S.approved, S.planned): Transition(frozenset({R.dispatcher, R.admin})),
    (S.planned, S.approved): Transition(frozenset({R.dispatcher, R.admin})),
    (S.planned, S.assigned): Transition(frozenset({R.dispatcher, R.admin})),
    (S.assigned, S.in_progress): Transition(frozenset({R.driver, R.dispatcher, R.admin})),
    (S.in_progress, S.completed): Transition(frozenset({R.driver, R.dispatcher, R.admin})),
    **{
        (state, S.cancelled): Transition(_CANCELLERS, reason_required=True)
        for state in (S.draft, S.submitted, S.approved, S.planned, S.assigned)
    },
}

#: Roles that can take at least one step; everyone else may not move requests at all.
ROLES_THAT_MOVE_REQUESTS = frozenset(role for t in TRANSITIONS.values() for role in t.roles)


class IllegalTransition(Exception):
    """The step does not exist in the workflow (HTTP 409)."""


class TransitionForbidden(Exception):
    """The step exists but this role may not take it (HTTP 403)."""


class ReasonRequired(ValueError):
    """The step needs a reason and none was given (HTTP 422)."""


def check_transition(current: S, target: S, role: R, reason: str | None) -> None:
    """Raise unless ``role`` may move a request from ``current`` to ``target``."""
    step = TRANSITIONS.get((current, target))
    if step is None:
        allowed = sorted(t.value for (src, t) in TRANSITIONS if src == current)
        raise IllegalTransition(
            f"a request in state '{current.value}' cannot go to '{target.value}'; "
            f"allowed next states: {', '.join(allowed) or 'none (final state)'}"
        )
    if role not in step.roles:
        raise TransitionForbidden(
            f"role '{role.value}' may not move a request from '{current.value}' to '{target.value}'"
        )
    if step.reason_required and not (reason and reason.strip()):
        raise ReasonRequired(f"reason: required to move a request to '{target.value}'")
