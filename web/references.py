"""Checks that ids named in a request lie in the caller's organisation scope.

A reference to an object that does not exist and one to an object outside the caller's
subtree get the same answer, so a client cannot probe which ids exist elsewhere."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, status
from sqlmodel import Session, SQLModel

from fleet.models import Organisation, TripRequest
from web.deps import Principal

M = TypeVar("M", bound=SQLModel)

#: Largest id a database integer key holds; a larger one cannot name anything.
MAX_ID = 2**31 - 1

#: The column holding the owning organisation, for tables where it is not ``org_id``.
_ORG_COLUMNS: dict[type[SQLModel], str] = {TripRequest: "agency_id"}


def owner_org_id(obj: SQLModel) -> int | None:
    """The id of the organisation ``obj`` belongs to (an organisation belongs to itself)."""
    if isinstance(obj, Organisation):
        return obj.id
    column = _ORG_COLUMNS.get(type(obj), "org_id")
    if column not in type(obj).model_fields:
        raise TypeError(f"{type(obj).__name__} has no organisation column to check a reference against")
    return getattr(obj, column)


def _noun(table: type[SQLModel]) -> str:
    return str(getattr(table, "__tablename__", table.__name__.lower())).replace("_", " ")


def unknown_reference(field: str, table: type[SQLModel], ref_id: Any) -> HTTPException:
    """422 naming ``field``: the same answer for a missing and an out-of-scope object."""
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                         detail=f"{field}: {_noun(table)} {ref_id} does not exist")


def load_reference(session: Session, principal: Principal, field: str, table: type[M], ref_id: int) -> M:
    """The object ``ref_id`` of ``table`` named by ``field``, when it lies in the caller's
    scope; else ``unknown_reference``."""
    obj = session.get(table, ref_id) if 1 <= ref_id <= MAX_ID else None
    if obj is None or not principal.in_scope(session, owner_org_id(obj)):
        raise unknown_reference(field, table, ref_id)
    return obj


def check_references(
    session: Session, principal: Principal, data: dict[str, Any], refs: dict[str, type[SQLModel]]
) -> None:
    """For each ``field -> table`` in ``refs`` given (not null) in ``data``: 422 unless the id
    names an object in the caller's scope."""
    for field, table in refs.items():
        if data.get(field) is not None:
            load_reference(session, principal, field, table, data[field])


def check_org_reference(session: Session, principal: Principal, org_id: int, field: str = "org_id") -> None:
    """Pass when organisation ``org_id`` lies in the caller's subtree. One above the caller's
    (named in the caller's own organisation path, so no secret) is 403; any other, in
    another branch of the tree or missing, is the same 422 as an unknown reference."""
    if 1 <= org_id <= MAX_ID and principal.in_scope(session, org_id):
        return
    if str(org_id) in principal.org_path.strip("/").split("/"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{field}: organisation {org_id} lies outside your organisation's scope",
        )
    raise unknown_reference(field, Organisation, org_id)
