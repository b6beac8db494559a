"""Checks that ids named in a request body exist and lie in the caller's scope."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, status
from sqlmodel import Session, SQLModel

from web.deps import Principal


def check_references(
    session: Session, principal: Principal, data: dict[str, Any], refs: dict[str, type[SQLModel]]
) -> None:
    """For each ``field -> table`` in ``refs`` given in ``data``: 422 when the id does not
    exist, 403 when the referenced object belongs to an organisation outside the scope."""
    for field, table in refs.items():
        ref_id = data.get(field)
        if ref_id is None:
            continue
        obj = session.get(table, ref_id)
        if obj is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail=f"{field}: {table.__name__.lower()} {ref_id} does not exist",
            )
        org_id = getattr(obj, "org_id", None)
        if org_id is not None and not principal.in_scope(session, org_id):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"{field}: {table.__name__.lower()} {ref_id} lies outside your scope",
            )
