"""The organisation tree and the users in it."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import (
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    OrganisationUpdate,
    OrgLevel,
    Role,
    User,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from fleet.models.organisation import ALLOWED_PARENT_LEVELS
from fleet.password_policy import password_problem
from fleet.security import hash_password, revoke_tokens
from web.audited import save_audited
from web.crud import ObjectId, apply_filters, reject_duplicates
from web.deps import (
    CurrentPrincipal,
    Principal,
    SessionDep,
    not_found,
    require_roles,
)
from web.pagination import Page, PageDep, paginate
from web.references import check_org_reference

router = APIRouter(tags=["organisations"])
admins = Depends(require_roles(Role.admin))
#: A change of any of these user fields revokes the user's tokens (as a password change does).
REVOKING_FIELDS = ("role", "org_id", "is_active")
everyone = Depends(require_roles(*Role))


class OrganisationFilters(BaseModel):
    level: OrgLevel | None = None
    parent_id: int | None = Field(None, ge=1, le=2**31 - 1)
    q: str | None = Field(None, max_length=60, description="Part of the name.")


class UserFilters(BaseModel):
    role: Role | None = None
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)
    is_active: bool | None = None


def _load_org(session: Session, principal: Principal, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or not org.path.startswith(principal.org_path):
        raise not_found("organisation", org_id)
    return org


@router.get("/organisations", response_model=Page[OrganisationPublic], dependencies=[everyone])
def list_organisations(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep,
    filters: Annotated[OrganisationFilters, Query()],
) -> dict:
    """Organisations in the caller's subtree."""
    statement = select(Organisation).where(col(Organisation.path).startswith(principal.org_path))
    return paginate(session, apply_filters(statement, Organisation, filters), page, col(Organisation.path))


@router.get("/organisations/{object_id}", response_model=OrganisationPublic, dependencies=[everyone])
def get_organisation(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Organisation:
    return _load_org(session, principal, object_id)


@router.post("/organisations", response_model=OrganisationPublic, status_code=status.HTTP_201_CREATED,
             dependencies=[admins])
def create_organisation(body: OrganisationCreate, session: SessionDep, principal: CurrentPrincipal) -> Organisation:
    """Add an organisation under ``parent_id`` (a city has none); levels must nest properly."""
    if body.parent_id is not None:
        check_org_reference(session, principal, body.parent_id, field="parent_id")
        parent = session.get(Organisation, body.parent_id)
    else:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="parent_id: a top-level organisation is created with `fleet import`, not over the API",
        )
    parent_level = OrgLevel(parent.level)
    if parent_level not in ALLOWED_PARENT_LEVELS[body.level]:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=f"parent_id: a {body.level.value} cannot sit under a {parent_level.value}",
        )
    reject_duplicates(session, "organisation", Organisation, {"code": body.code})
    org = Organisation.model_validate(body)
    session.add(org)
    session.flush()
    org.path = f"{parent.path}{org.id}/"
    return save_audited(session, principal, "organisation.create", org)


@router.patch("/organisations/{object_id}", response_model=OrganisationPublic, dependencies=[admins])
def update_organisation(
    object_id: ObjectId, body: OrganisationUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Organisation:
    org = _load_org(session, principal, object_id)
    before = audit.snapshot(org)
    changes = body.model_dump(exclude_unset=True)
    reject_duplicates(session, "organisation", Organisation, changes, object_id=org.id)
    for key, value in changes.items():
        setattr(org, key, value)
    return save_audited(session, principal, "organisation.update", org, before)


def _load_user(session: Session, principal: Principal, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not principal.in_scope(session, user.org_id):
        raise not_found("user", user_id)
    return user


@router.get("/users", response_model=Page[UserPublic], dependencies=[admins], tags=["users"])
def list_users(
    session: SessionDep, principal: CurrentPrincipal, page: PageDep, filters: Annotated[UserFilters, Query()]
) -> dict:
    statement = select(User).where(principal.scope_filter(col(User.org_id)))
    return paginate(session, apply_filters(statement, User, filters), page, col(User.id))


@router.get("/users/{object_id}", response_model=UserPublic, dependencies=[admins], tags=["users"])
def get_user(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> User:
    return _load_user(session, principal, object_id)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED, dependencies=[admins],
             tags=["users"])
def create_user(body: UserCreate, session: SessionDep, principal: CurrentPrincipal) -> User:
    check_org_reference(session, principal, body.org_id)
    if session.exec(select(User).where(User.username == body.username)).first():
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"username: '{body.username}' is taken")
    user = User.model_validate(body.model_dump(exclude={"password"}) | {"password_hash": hash_password(body.password)})
    return save_audited(session, principal, "user.create", user)


@router.patch("/users/{object_id}", response_model=UserPublic, dependencies=[admins], tags=["users"])
def update_user(object_id: ObjectId, body: UserUpdate, session: SessionDep, principal: CurrentPrincipal) -> User:
    user = _load_user(session, principal, object_id)
    before = audit.snapshot(user)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("org_id") is not None:
        check_org_reference(session, principal, changes["org_id"])
    password = changes.pop("password", None)
    for key, value in changes.items():
        if value is None and key in ("role", "org_id", "is_active"):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{key}: may not be null")
        setattr(user, key, value)
    if password is not None:
        problem = password_problem(password, admin=Role(user.role) == Role.admin,
                                   user_inputs=(user.username, user.full_name))
        if problem:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"password: {problem}")
        user.password_hash = hash_password(password)
    if password is not None or any(before[key] != audit.snapshot(user)[key] for key in REVOKING_FIELDS):
        revoke_tokens(user)
    session.add(user)
    audit.record(session, principal.user, "user.update", "user", user.id, before,
                 audit.snapshot(user) | ({"password_changed": True} if password else {}))
    session.commit()
    session.refresh(user)
    return user
