"""The audit log for inspectors: entries filtered by actor, action, object and time, newest
first, within the caller's organisation scope (``GET /audit/entries``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlalchemy import ColumnElement
from sqlmodel import col, select

from fleet.models import AuditEntry, AuditEntryPublic, Role, User
from fleet.models.compliance import AuditEntryOrg
from web.deps import CurrentPrincipal, Principal, SessionDep, require_roles
from web.pagination import Page, PageDep, paginate

router = APIRouter(prefix="/audit", tags=["compliance"])
audit_readers = Depends(require_roles(Role.admin, Role.auditor))


class AuditEntryFilters(BaseModel):
    """Every filter given must hold; times bound the entry's time (``since`` inclusive)."""

    actor: str | None = Field(None, max_length=64, description="Username of the actor, or 'system' / 'cli'.")
    action: str | None = Field(None, max_length=60, description=(
        "An action (`vehicle.update`), or a dotted prefix of actions (`alert.review` for every review step)."))
    object_type: str | None = Field(None, max_length=40, description="Kind of object (`vehicle`, `export`, ...).")
    object_id: str | None = Field(None, max_length=40)
    since: AwareDatetime | None = Field(None, description="At or after this time.")
    until: AwareDatetime | None = Field(None, description="Before this time.")

    @model_validator(mode="after")
    def _ordered(self) -> AuditEntryFilters:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until: must be after since")
        return self


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Entries about objects of organisations in the caller's scope, whoever made the change;
    entries about objects of no organisation when their actor is in scope or is the system."""
    entry_orgs = select(AuditEntryOrg.entry_id).where(col(AuditEntryOrg.entry_id) == col(AuditEntry.id))
    in_scope = entry_orgs.where(principal.scope_filter(col(AuditEntryOrg.org_id))).exists()
    scoped_actors = select(User.id).where(principal.scope_filter(col(User.org_id)))
    by_scoped_actor = col(AuditEntry.actor_id).in_(scoped_actors) | col(AuditEntry.actor_id).is_(None)
    return in_scope | (~entry_orgs.exists() & by_scoped_actor)


@router.get("/entries", response_model=Page[AuditEntryPublic], dependencies=[audit_readers])
def list_entries(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
                 filters: Annotated[AuditEntryFilters, Query()]) -> dict:
    """The audit log within the caller's scope, newest first, filtered; each entry with the
    hashes that chain it (`GET /audit/verification` checks the whole chain)."""
    statement = select(AuditEntry).where(visible_to(principal))
    for name in ("actor", "object_type", "object_id"):
        value = getattr(filters, name)
        if value is not None:
            statement = statement.where(getattr(AuditEntry, name) == value)
    if filters.action is not None:
        statement = statement.where((col(AuditEntry.action) == filters.action)
                                    | col(AuditEntry.action).startswith(filters.action + ".", autoescape=True))
    if filters.since is not None:
        statement = statement.where(col(AuditEntry.at) >= filters.since)
    if filters.until is not None:
        statement = statement.where(col(AuditEntry.at) < filters.until)
    return paginate(session, statement, page, col(AuditEntry.id).desc())
