"""Named places (offices, depots, sites, county seats, common destinations) that requesters
pick a trip's origin and destination from.

Every signed-in user sees the active places of their own organisation and of every
organisation under it, and those of the organisations above it (the county's and the city's
places are shared with everyone below them). Administrators create places and change or
deactivate them (``active: false``) within their own subtree; each write is in the audit
log. Coordinates are WGS-84 degrees."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, or_
from sqlalchemy.sql.expression import ClauseList
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import Place, PlaceCreate, PlaceKind, PlacePublic, PlaceUpdate, Role, utcnow
from web.audited import save_audited
from web.crud import ObjectId, reject_null_for_required
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles
from web.pagination import Page, PageDep, paginate
from web.references import check_org_reference

router = APIRouter(prefix="/places", tags=["places"])
admins = Depends(require_roles(Role.admin))


class PlaceFilters(BaseModel):
    search: str | None = Field(None, max_length=60, description="Part of the name or the address.")
    kind: PlaceKind | None = None
    org_id: int | None = Field(None, ge=1, le=2**31 - 1, description="Places of this organisation only.")
    active: bool | None = Field(True, description="Active places (default), deactivated ones (false).")


def _ancestor_ids(principal: Principal) -> list[int]:
    """The ids on the caller's organisation path: their own organisation and those above it."""
    return [int(part) for part in principal.org_path.strip("/").split("/") if part]


def _visible(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition: the place belongs to the caller's subtree or to an organisation above it."""
    return or_(principal.scope_filter(col(Place.org_id)), col(Place.org_id).in_(_ancestor_ids(principal)))


def _load(session: Session, principal: Principal, place_id: int) -> Place:
    place = session.get(Place, place_id)
    if place is None or not (place.org_id in _ancestor_ids(principal) or principal.in_scope(session, place.org_id)):
        raise not_found("place", place_id)
    return place


def _reject_duplicate_name(session: Session, org_id: int, name: str, place_id: int | None = None) -> None:
    """409 when the organisation already has an active place of this name."""
    statement = select(Place.id).where(Place.org_id == org_id, Place.name == name, col(Place.active).is_(True))
    if place_id is not None:
        statement = statement.where(Place.id != place_id)
    if session.exec(statement.limit(1)).first() is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"name: the organisation already has an active place called {name}")


@router.get("", response_model=Page[PlacePublic])
def list_places(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    filters: Annotated[PlaceFilters, Query()],
) -> dict:
    """The places the caller may pick, by name; ``search`` matches the literal text in the
    name or the address."""
    statement = select(Place).where(_visible(principal))
    if filters.search:
        statement = statement.where(or_(col(Place.name).contains(filters.search, autoescape=True),
                                        col(Place.address).contains(filters.search, autoescape=True)))
    if filters.kind is not None:
        statement = statement.where(Place.kind == filters.kind)
    if filters.org_id is not None:
        statement = statement.where(Place.org_id == filters.org_id)
    if filters.active is not None:
        statement = statement.where(col(Place.active).is_(filters.active))
    return paginate(session, statement, page, ClauseList(col(Place.name), col(Place.id)))


@router.get("/{place_id}", response_model=PlacePublic)
def get_place(place_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Place:
    return _load(session, principal, place_id)


@router.post("", response_model=PlacePublic, status_code=status.HTTP_201_CREATED, dependencies=[admins])
def create_place(body: PlaceCreate, session: SessionDep, principal: CurrentPrincipal) -> Place:
    """A new place of an organisation in the administrator's subtree."""
    check_org_reference(session, principal, body.org_id)
    if body.active:
        _reject_duplicate_name(session, body.org_id, body.name)
    return save_audited(session, principal, "place.create", Place.model_validate(body.model_dump()))


@router.patch("/{place_id}", response_model=PlacePublic, dependencies=[admins])
def update_place(place_id: ObjectId, body: PlaceUpdate, session: SessionDep, principal: CurrentPrincipal) -> Place:
    """Change a place of the administrator's subtree; ``active: false`` deactivates it (a
    place above the administrator's organisation is theirs to see, not to change: 403)."""
    place = _load(session, principal, place_id)
    if not principal.in_scope(session, place.org_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"org_id: place {place_id} belongs to an organisation above yours")
    changes = body.model_dump(exclude_unset=True)
    reject_null_for_required(Place, changes)
    before = audit.snapshot(place)
    if changes.get("active", place.active) and ("name" in changes or changes.get("active")):
        _reject_duplicate_name(session, place.org_id, changes.get("name", place.name), place_id)
    for key, value in changes.items():
        setattr(place, key, value)
    place.updated_at = utcnow()
    return save_audited(session, principal, "place.update", place, before)
