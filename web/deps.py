"""Request dependencies: database session, the current user (bearer token or session
cookie), role checks and the user's organisation scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col, select

from fleet.models import Organisation, Role, User
from fleet.security import InvalidToken, decode_token

SESSION_COOKIE = "fleet_session"

#: The API's security scheme: a bearer token from ``POST /api/v1/auth/token`` (form fields
#: ``username`` and ``password``), which the Authorize dialog of ``/docs`` fetches itself.
TOKEN_URL = "/api/v1/auth/token"
bearer_scheme = OAuth2PasswordBearer(
    tokenUrl=TOKEN_URL, auto_error=False,
    description="Log in with username and password; the token is sent as `Authorization: Bearer …`.")


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


def principal_from_token(session: Session, token: str, signing_key: str) -> Principal | None:
    """The principal behind ``token``, or None when its signature or expiry is bad, its
    version is older than the user's ``token_version`` (revoked), or the user is unknown,
    deactivated or without an organisation. Checked on every request and live message."""
    try:
        claims = decode_token(token, signing_key)
    except InvalidToken:
        return None
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.version:
        return None
    org = session.get(Organisation, user.org_id)
    if org is None:
        return None
    outside = select(Organisation.id).where(~col(Organisation.path).startswith(org.path)).limit(1)
    return Principal(user=user, org_path=org.path, covers_all=session.exec(outside).first() is None)


def request_token(request: Request, bearer: Annotated[str | None, Depends(bearer_scheme)]) -> str | None:
    """The bearer token of the request, or else its session cookie; None without either."""
    return bearer or request.cookies.get(SESSION_COOKIE)


RequestToken = Annotated[str | None, Depends(request_token)]


def get_principal(request: Request, session: SessionDep, token: RequestToken) -> Principal:
    """The user behind the bearer token, or else behind the session cookie; 401 otherwise."""
    principal = principal_from_token(session, token, request.app.state.signing_key) if token else None
    if principal is None:
        raise _UNAUTHENTICATED
    return principal


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


@contextmanager
def refused_as(statuses: Mapping[type[Exception], int]) -> Iterator[None]:
    """Answer a domain error raised inside as an HTTP error: the status of the first listed
    class it is an instance of, its message the detail."""
    try:
        yield
    except tuple(statuses) as exc:
        code = next(code for kind, code in statuses.items() if isinstance(exc, kind))
        raise HTTPException(code, detail=str(exc)) from None
