"""Paginated list responses: ``{items, total, limit, offset}``."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")

MAX_PAGE_SIZE = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def paginate(session: Session, statement: SelectOfScalar, page: PageParams, order_by) -> dict:  # type: ignore[no-untyped-def]
    """Run ``statement`` (a select of one table) for one page, ordered by ``order_by``, with
    the total count.

    The page is found on ids alone and only its rows are then loaded ("deferred join"), so
    a deep offset skips index entries rather than whole rows.
    """
    table = statement.column_descriptions[0]["entity"]
    total = session.exec(select(func.count()).select_from(statement.order_by(None).subquery())).one()
    id_page = statement.with_only_columns(table.id).order_by(order_by).limit(page.limit).offset(page.offset)
    ids = list(session.exec(id_page).all())
    rows = {row.id: row for row in session.exec(select(table).where(table.id.in_(ids))).all()} if ids else {}
    return {"items": [rows[i] for i in ids], "total": total, "limit": page.limit, "offset": page.offset}
