"""Request dependencies: database session, the current user (bearer token or session
cookie), role checks and the user's organisation scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select

from fleet.models import Organisation, Role, User
from fleet.security import InvalidToken, read_token

SESSION_COOKIE = "fleet_session"

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


@dataclass(frozen=True)
class Principal:
    """The authenticated user and the materialised path of their organisation subtree."""

    user: User
    org_path: str
    #: True when the user's subtree holds every organisation (no scope filter is needed).
    covers_all: bool = False

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    def scope_filter(self, org_id_column: ColumnElement) -> ColumnElement:
        """A SQL condition: ``org_id_column`` lies in this user's subtree."""
        if self.covers_all:
            return true()
        subtree = select(Organisation.id).where(col(Organisation.path).startswith(self.org_path))
        return org_id_column.in_(subtree)

    def in_scope(self, session: Session, org_id: int | None) -> bool:
        """True when organisation ``org_id`` lies in this user's subtree."""
        if org_id is None:
            return False
        org = session.get(Organisation, org_id)
        return org is not None and org.path.startswith(self.org_path)


_UNAUTHENTICATED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    detail="not authenticated: send a bearer token or log in",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The user behind the bearer token, or else behind the session cookie; 401 otherwise."""
    token = bearer.credentials if bearer else request.cookies.get(SESSION_COOKIE)
    if not token:
        raise _UNAUTHENTICATED
    try:
        user_id = read_token(token, request.app.state.signing_key)
    except InvalidToken:
        raise _UNAUTHENTICATED from None
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise _UNAUTHENTICATED
    org = session.get(Organisation, user.org_id)
    if org is None:
        raise _UNAUTHENTICATED
    outside = select(Organisation.id).where(~col(Organisation.path).startswith(org.path)).limit(1)
    return Principal(user=user, org_path=org.path, covers_all=session.exec(outside).first() is None)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only ``roles`` through (403 for other roles)."""
    allowed = frozenset(roles)

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role '{principal.role.value}' may not do this; allowed: "
                + ", ".join(sorted(r.value for r in allowed)),
            )
        return principal

    return check


def not_found(noun: str, object_id: int) -> HTTPException:
    """404 for an id that does not exist or lies outside the caller's scope."""
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{noun} {object_id} not found")


def forbid_out_of_scope(principal: Principal, session: Session, org_id: int | None, field: str = "org_id") -> None:
    """403 when the caller tries to write into an organisation outside their subtree."""
    if org_id is not None and session.get(Organisation, org_id) is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"{field}: organisation {org_id} does not exist")
    if not principal.in_scope(session, org_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{field}: organisation {org_id} lies outside your organisation's scope",
        )
