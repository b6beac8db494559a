"""A router factory for the plain nouns: list (paginated, filtered, org-scoped), get,
create and update, each write checked against the caller's scope and written to the audit
log. Nouns with a workflow of their own have hand-written routers beside this one."""


from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel
from sqlmodel import Session, SQLModel, col, select

from fleet import audit
from fleet.models import Role, utcnow
from web.audited import save_audited
from web.deps import (
    CurrentPrincipal,
    Principal,
    SessionDep,
    not_found,
    require_roles,
)
from web.pagination import Page, PageDep, paginate
from web.references import check_org_reference, check_references

ObjectId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Object id.")]


@dataclass
class Noun:
    """How one table is exposed: models, roles, and which query parameters filter what."""

    name: str
    path: str
    table: type[SQLModel]
    create: type[SQLModel]
    update: type[SQLModel]
    public: type[SQLModel]
    read_roles: Sequence[Role]
    write_roles: Sequence[Role]
    update_roles: Sequence[Role] | None = None
    filters: type[BaseModel] | None = None
    #: Fields naming other objects (``field -> table``): each must lie in the caller's scope.
    refs: dict[str, type[SQLModel]] = field(default_factory=dict)
    #: Runs before insert/update with the record as it would be written and the stored object
    #: (None on insert) to check its rules (raise HTTPException); may be None.
    validate: Callable[[Session, Principal, dict[str, Any], SQLModel | None], None] | None = None
    tags: list[str] = field(default_factory=list)


def apply_filters(statement, table: type[SQLModel], filters: BaseModel | None):  # type: ignore[no-untyped-def]
    """Equality filters for every filter field that was given (``q`` searches ``name`` for the
    literal text: ``%``, ``_`` and the escape character match only themselves)."""
    if filters is None:
        return statement
    for key, value in filters.model_dump(exclude_none=True).items():
        if key == "q":
            statement = statement.where(col(getattr(table, "name")).contains(value, autoescape=True))
        else:
            statement = statement.where(getattr(table, key) == value)
    return statement


def reject_null_for_required(table: type[SQLModel], changes: dict[str, Any]) -> None:
    """422 when an update sets a column that may not be empty to null."""
    columns = table.__table__.columns  # type: ignore[attr-defined]
    for key, value in changes.items():
        if value is None and key in columns and not columns[key].nullable:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{key}: may not be null")


def reject_duplicates(session: Session, noun: str, table: type[SQLModel], values: dict[str, Any],
                      object_id: int | None = None) -> None:
    """409 naming the field when a value of a unique column is already another row's, found
    before the database refuses it (``object_id``: the row being updated)."""
    columns = table.__table__.columns  # type: ignore[attr-defined]
    for key, value in values.items():
        if value is None or key not in columns or not columns[key].unique:
            continue
        statement = select(col(table.id)).where(columns[key] == value)  # type: ignore[attr-defined]
        if object_id is not None:
            statement = statement.where(col(table.id) != object_id)  # type: ignore[attr-defined]
        if session.exec(statement.limit(1)).first() is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=f"{key}: {value} is already used by another {noun}")


def crud_router(noun: Noun) -> APIRouter:
    """List, get, create and update endpoints for ``noun`` under ``/{noun.path}``."""
    router = APIRouter(prefix=f"/{noun.path}", tags=noun.tags or [noun.path])
    table = noun.table
    readers = Depends(require_roles(*noun.read_roles))
    writers = Depends(require_roles(*noun.write_roles))
    updaters = Depends(require_roles(*(noun.update_roles or noun.write_roles)))
    Filters = noun.filters

    def load(session: Session, principal: Principal, object_id: int) -> SQLModel:
        obj = session.get(table, object_id)
        if obj is None or not principal.in_scope(session, obj.org_id):
            raise not_found(noun.name, object_id)
        return obj

    if Filters is not None:

        @router.get("", response_model=Page[noun.public], dependencies=[readers], summary=f"List {noun.path}")
        def list_objects(
            session: SessionDep, principal: CurrentPrincipal, page: PageDep,
            filters: Annotated[Filters, Query()],  # type: ignore[valid-type]
        ) -> dict:
            statement = select(table).where(principal.scope_filter(col(table.org_id)))
            statement = apply_filters(statement, table, filters)
            return paginate(session, statement, page, col(table.id))

    @router.get("/{object_id}", response_model=noun.public, dependencies=[readers], summary=f"Get one of {noun.path}")
    def get_object(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> SQLModel:
        return load(session, principal, object_id)

    @router.post("", response_model=noun.public, status_code=status.HTTP_201_CREATED, dependencies=[writers],
                 summary=f"Create one of {noun.path}")
    def create_object(body: noun.create, session: SessionDep, principal: CurrentPrincipal) -> SQLModel:  # type: ignore[valid-type]
        data = body.model_dump()
        check_org_reference(session, principal, data["org_id"])
        check_references(session, principal, data, noun.refs)
        if noun.validate:
            noun.validate(session, principal, data, None)
        reject_duplicates(session, noun.name, table, data)
        return save_audited(session, principal, f"{noun.name}.create", table.model_validate(data))

    @router.patch("/{object_id}", response_model=noun.public, dependencies=[updaters],
                  summary=f"Update one of {noun.path}")
    def update_object(object_id: ObjectId, body: noun.update, session: SessionDep, principal: CurrentPrincipal) -> SQLModel:  # type: ignore[valid-type]
        obj = load(session, principal, object_id)
        before = audit.snapshot(obj)
        changes = body.model_dump(exclude_unset=True)
        reject_null_for_required(table, changes)
        changed = {key: value for key, value in changes.items() if value != getattr(obj, key)}
        if "org_id" in changed:
            check_org_reference(session, principal, changed["org_id"])
        check_references(session, principal, changed, noun.refs)
        if noun.validate:
            noun.validate(session, principal, {**obj.model_dump(), **changes}, obj)
        reject_duplicates(session, noun.name, table, changed, object_id)
        for key, value in changes.items():
            setattr(obj, key, value)
        if hasattr(obj, "updated_at"):
            obj.updated_at = utcnow()
        return save_audited(session, principal, f"{noun.name}.update", obj, before)

    return router
