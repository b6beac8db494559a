"""Passwords (argon2) and signed access tokens (JWT, HS256)."""

from __future__ import annotations

from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fleet.models.common import utcnow

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


class InvalidToken(Exception):
    """The token is malformed, expired or signed with another key."""


def issue_token(user_id: int, key: str, ttl_minutes: int) -> str:
    """A signed token for ``user_id`` valid ``ttl_minutes`` minutes."""
    now = utcnow()
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=ttl_minutes)}
    return jwt.encode(claims, key, algorithm=TOKEN_ALGORITHM)


def read_token(token: str, key: str) -> int:
    """The user id inside a valid token; raises ``InvalidToken`` otherwise."""
    try:
        claims = jwt.decode(token, key, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub"]})
        return int(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(str(exc)) from exc
