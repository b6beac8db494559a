"""Contracted rental companies and their tariffs (a lessor is written with its tariffs)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, delete, select

from fleet import audit
from fleet.models import (
    Lessor,
    LessorCreate,
    LessorPublic,
    LessorTariff,
    LessorUpdate,
    Role,
)
from web.crud import ObjectId, apply_filters
from web.deps import (
    CurrentPrincipal,
    Principal,
    SessionDep,
    not_found,
    require_roles,
)
from web.pagination import Page, PageDep, paginate
from web.references import check_org_reference

router = APIRouter(prefix="/lessors", tags=["lessors"])
readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.auditor))
admins = Depends(require_roles(Role.admin))


class LessorFilters(BaseModel):
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)
    q: str | None = Field(None, max_length=60, description="Part of the name.")


def _public(session: Session, lessor: Lessor) -> LessorPublic:
    tariffs = session.exec(select(LessorTariff).where(LessorTariff.lessor_id == lessor.id).order_by(LessorTariff.id)).all()
    return LessorPublic.model_validate(lessor.model_dump() | {"tariffs": [t.model_dump() for t in tariffs]})


def _load(session: Session, principal: Principal, lessor_id: int) -> Lessor:
    lessor = session.get(Lessor, lessor_id)
    if lessor is None or not principal.in_scope(session, lessor.org_id):
        raise not_found("lessor", lessor_id)
    return lessor


@router.get("", response_model=Page[LessorPublic], dependencies=[readers])
def list_lessors(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep, filters: Annotated[LessorFilters, Query()]
) -> dict:
    statement = apply_filters(select(Lessor).where(principal.scope_filter(col(Lessor.org_id))), Lessor, filters)
    result = paginate(session, statement, page, col(Lessor.id))
    result["items"] = [_public(session, lessor) for lessor in result["items"]]
    return result


@router.get("/{object_id}", response_model=LessorPublic, dependencies=[readers])
def get_lessor(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> LessorPublic:
    return _public(session, _load(session, principal, object_id))


@router.post("", response_model=LessorPublic, status_code=status.HTTP_201_CREATED, dependencies=[admins])
def create_lessor(body: LessorCreate, session: SessionDep, principal: CurrentPrincipal) -> LessorPublic:
    check_org_reference(session, principal, body.org_id)
    lessor = Lessor.model_validate(body.model_dump(exclude={"tariffs"}))
    session.add(lessor)
    session.flush()
    session.add_all(LessorTariff(lessor_id=lessor.id, **t.model_dump()) for t in body.tariffs)
    session.flush()
    public = _public(session, lessor)
    audit.record(session, principal.user, "lessor.create", "lessor", lessor.id, None, public.model_dump())
    session.commit()
    return public


@router.patch("/{object_id}", response_model=LessorPublic, dependencies=[admins])
def update_lessor(object_id: ObjectId, body: LessorUpdate, session: SessionDep, principal: CurrentPrincipal) -> LessorPublic:
    """Change a lessor; ``tariffs``, when given, replace the whole tariff list."""
    lessor = _load(session, principal, object_id)
    before = _public(session, lessor).model_dump()
    changes = body.model_dump(exclude_unset=True)
    tariffs = changes.pop("tariffs", None)
    for key, value in changes.items():
        setattr(lessor, key, value)
    LessorCreate.model_validate(lessor.model_dump() | {"tariffs": tariffs or []})
    session.add(lessor)
    if tariffs is not None:
        session.exec(delete(LessorTariff).where(LessorTariff.lessor_id == lessor.id))
        session.add_all(LessorTariff(lessor_id=lessor.id, **t) for t in tariffs)
    session.flush()
    public = _public(session, lessor)
    audit.record(session, principal.user, "lessor.update", "lessor", lessor.id, before, public.model_dump())
    session.commit()
    return public
