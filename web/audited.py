"""Write one object and its audit entry in the same transaction."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from fleet import audit
from web.deps import Principal

M = TypeVar("M", bound=SQLModel)


def save_audited(
    session: Session, principal: Principal, action: str, obj: M, before: dict[str, Any] | None = None
) -> M:
    """Store ``obj``, append ``action`` (``noun.verb``) to the audit log with the object's
    state before and after, commit, and return the refreshed object."""
    session.add(obj)
    session.flush()
    noun = action.split(".", 1)[0]
    audit.record(session, principal.user, action, noun, obj.id, before, audit.snapshot(obj))  # type: ignore[attr-defined]
    session.commit()
    session.refresh(obj)
    return obj
