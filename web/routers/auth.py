"""Log in with a password: a bearer token for the API, or a session cookie for the pages.

Both paths share one throttle: too many failures for a username or from a client address
answer 429 with ``Retry-After`` until the lockout ends. Unknown users cost the same argon2
work as known ones. Logging out revokes every token of the user.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlmodel import select

from fleet.login_throttle import ThrottlePolicy, address_key, clear_user, record_failure, retry_after_s, user_key
from fleet.models import Organisation, User, UserPublic, utcnow
from fleet.security import issue_token, revoke_tokens, verify_password_of
from web.deps import SESSION_COOKIE, CurrentPrincipal, RequestToken, SessionDep, principal_from_token

router = APIRouter(prefix="/auth", tags=["auth"])

#: Stands in for the client address when the server cannot see it.
UNKNOWN_ADDRESS = "unknown"


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeResponse(UserPublic):
    org_path: str


def _authenticate(request: Request, session: SessionDep, username: str, password: str) -> User:
    """The user whose password this is; 429 while the username or address is locked out,
    401 (counted by the throttle) for a wrong password, unknown or deactivated user."""
    now = utcnow()
    address = request.client.host if request.client else UNKNOWN_ADDRESS
    wait_s = retry_after_s(session, [user_key(username), address_key(address)], now)
    if wait_s is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"too many failed logins: try again in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )
    user = session.exec(select(User).where(User.username == username)).first()
    if verify_password_of(user.password_hash if user else None, password) and user is not None and user.is_active:
        clear_user(session, username)
        session.commit()
        return user
    record_failure(session, ThrottlePolicy.from_settings(request.app.state.settings), username, address, now)
    session.commit()
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")


def _issue(request: Request, user: User) -> str:
    settings = request.app.state.settings
    return issue_token(user.id, request.app.state.signing_key, settings.web.token_ttl_s, user.token_version)


@router.post(
    "/token", response_model=TokenResponse, summary="Bearer token for the API",
    responses={429: {"description": "Too many failed logins; see the Retry-After header (seconds)"}},
)
def token(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    user = _authenticate(request, session, form.username, form.password)
    ttl_s = request.app.state.settings.web.token_ttl_s
    return TokenResponse(access_token=_issue(request, user), expires_in=ttl_s)


@router.post(
    "/login", response_model=MeResponse, summary="Session cookie for the web pages",
    responses={429: {"description": "Too many failed logins; see the Retry-After header (seconds)"}},
)
def login(
    request: Request, response: Response, session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> MeResponse:
    user = _authenticate(request, session, form.username, form.password)
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        _issue(request, user),
        max_age=settings.web.token_ttl_s,
        httponly=True,
        samesite="strict",
        secure=settings.env == "production",
    )
    org = session.get(Organisation, user.org_id)
    return MeResponse(**user.model_dump(), org_path=org.path if org else "")


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT,
    summary="Log out: revoke every token and session cookie of the user",
)
def logout(
    request: Request, response: Response, session: SessionDep, token_text: RequestToken
) -> Response:
    principal = principal_from_token(session, token_text, request.app.state.signing_key) if token_text else None
    if principal is not None:
        revoke_tokens(principal.user)
        session.add(principal.user)
        session.commit()
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=MeResponse, summary="Who is logged in")
def me(principal: CurrentPrincipal) -> MeResponse:
    return MeResponse(**principal.user.model_dump(), org_path=principal.org_path)
