"""Log in with a password: a bearer token for the API, or a session cookie for the pages."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlmodel import select

from fleet.models import Organisation, User, UserPublic
from fleet.security import issue_token, verify_password
from web.deps import SESSION_COOKIE, CurrentPrincipal, SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeResponse(UserPublic):
    org_path: str


def _authenticate(session: SessionDep, username: str, password: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong username or password")
    return user


@router.post("/token", response_model=TokenResponse, summary="Bearer token for the API")
def token(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenResponse:
    user = _authenticate(session, form.username, form.password)
    ttl = request.app.state.settings.token_ttl_minutes
    return TokenResponse(
        access_token=issue_token(user.id, request.app.state.signing_key, ttl), expires_in=ttl * 60
    )


@router.post("/login", response_model=MeResponse, summary="Session cookie for the web pages")
def login(
    request: Request, response: Response, session: SessionDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> MeResponse:
    user = _authenticate(session, form.username, form.password)
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        issue_token(user.id, request.app.state.signing_key, settings.token_ttl_minutes),
        max_age=settings.token_ttl_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=settings.env == "production",
    )
    org = session.get(Organisation, user.org_id)
    return MeResponse(**user.model_dump(), org_path=org.path if org else "")


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End the session cookie")
def logout(response: Response) -> Response:
    response.delete_cookie(SESSION_COOKIE)
    response.status_code = status.HTTP_204_NO_CONTENT
    return response


@router.get("/me", response_model=MeResponse, summary="Who is logged in")
def me(principal: CurrentPrincipal) -> MeResponse:
    return MeResponse(**principal.user.model_dump(), org_path=principal.org_path)
