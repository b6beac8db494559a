"""Passwords (argon2) and signed access tokens (JWT, HS256).

A token names its user (``sub``), carries its own id (``jti``) and the user's token version
(``ver``) at issue time; raising ``User.token_version`` revokes every token issued before.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fleet.models.common import utcnow
from fleet.models.organisation import User

_HASHER = PasswordHasher()
TOKEN_ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(24))


def verify_password_of(password_hash: str | None, password: str) -> bool:
    """Like :func:`verify_password`, but with no hash (an unknown user) it does the same
    argon2 work against a decoy and answers False, so timing does not tell usernames apart."""
    if password_hash is None:
        verify_password(_decoy_hash(), password)
        return False
    return verify_password(password_hash, password)


def revoke_tokens(user: User) -> None:
    """Make every token issued to ``user`` so far invalid (the caller saves the user)."""
    user.token_version += 1


class InvalidToken(Exception):
    """The token is malformed, expired or signed with another key."""


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: its user, its own id and the user's token version."""

    user_id: int
    token_id: str
    version: int


def issue_token(user_id: int, key: str, ttl_s: float, version: int = 0) -> str:
    """A signed token for ``user_id`` valid ``ttl_s`` seconds, bound to the user's
    token ``version`` (``User.token_version``)."""
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "jti": uuid.uuid4().hex,
        "ver": version,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, key, algorithm=TOKEN_ALGORITHM)


def decode_token(token: str, key: str) -> TokenClaims:
    """The claims of a valid token; raises ``InvalidToken`` otherwise (a token without
    ``jti`` and ``ver`` is refused)."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub", "jti", "ver"]}
        )
        version = claims["ver"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidToken("ver: must be an integer")
        return TokenClaims(user_id=int(claims["sub"]), token_id=str(claims["jti"]), version=version)
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
