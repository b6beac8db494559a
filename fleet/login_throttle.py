"""Failed-login throttle: per username and per client address, with doubling lockouts.

The counts live in the database (``login_throttle``), so every server process sees the
same ones. A username is throttled whether or not such a user exists, so a lockout tells
nothing about which usernames are real. Each new lockout is recorded in the audit log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from fleet import audit
from fleet.models.login_throttle import LoginThrottle
from fleet.settings import Settings

#: The audit actor of lockouts (nobody is logged in yet).
AUDIT_ACTOR = "login"


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures lock a key out, and for how long (seconds)."""

    user_failures_max: int
    address_failures_max: int
    window_s: float
    lockout_s: float
    lockout_max_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            user_failures_max=settings.login.user_failures_max,
            address_failures_max=settings.login.address_failures_max,
            window_s=settings.login.failure_window_s,
            lockout_s=settings.login.lockout_s,
            lockout_max_s=settings.login.lockout_max_s,
        )

    def lockout_for_s(self, failures: int, failures_max: int) -> float | None:
        """The lockout after the ``failures``-th failure, seconds; None below the limit.
        The first lockout lasts ``lockout_s`` and each further failure doubles it."""
        if failures < failures_max:
            return None
        return min(self.lockout_max_s, self.lockout_s * 2 ** min(failures - failures_max, 64))


def user_key(username: str) -> str:
    """The throttle key of a username (known or not), case folded."""
    return f"user:{username.strip().casefold()}"


def address_key(address: str) -> str:
    """The throttle key of a client address."""
    return f"address:{address}"


def retry_after_s(session: Session, keys: list[str], now: datetime) -> int | None:
    """Whole seconds until every key in ``keys`` accepts logins again; None when none is
    locked out now."""
    locked = session.exec(
        select(LoginThrottle.locked_until).where(
            col(LoginThrottle.key).in_(keys), col(LoginThrottle.locked_until) > now
        )
    ).all()
    if not locked:
        return None
    return max(1, math.ceil(max((until - now).total_seconds() for until in locked if until is not None)))


def record_failure(
    session: Session, policy: ThrottlePolicy, username: str, address: str, now: datetime
) -> None:
    """Count one failed login for the username and the address, in the caller's
    transaction; lock out a key that reached its limit and audit the lockout. Keys quiet
    for longer than the failure window are forgotten, so guessed usernames do not pile up."""
    window_start = now - timedelta(seconds=policy.window_s)
    table = LoginThrottle.__table__
    session.execute(delete(table).where(
        table.c.last_failure_at < window_start,
        or_(table.c.locked_until.is_(None), table.c.locked_until < window_start),
    ))
    for key, failures_max in ((user_key(username), policy.user_failures_max),
                              (address_key(address), policy.address_failures_max)):
        failures = _count_failure(session, key, now)
        lockout_s = policy.lockout_for_s(failures, failures_max)
        if lockout_s is None:
            continue
        until = now + timedelta(seconds=lockout_s)
        session.execute(update(LoginThrottle).where(col(LoginThrottle.key) == key).values(locked_until=until))
        audit.record(session, AUDIT_ACTOR, "login.lockout", "login_throttle", key, after={
            "failures": failures, "locked_until": until, "lockout_s": lockout_s, "address": address,
        })


def clear_user(session: Session, username: str) -> None:
    """Forget the failures of ``username`` after a successful login (the address keeps its
    count, so one good account does not reset a guessing run from the same address)."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == user_key(username)))


def _count_failure(session: Session, key: str, now: datetime) -> int:
    """Add one failure to ``key`` atomically (one upsert) and return its count."""
    table = LoginThrottle.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table).values(key=key, failures=1, first_failure_at=now, last_failure_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=["key"], set_={"failures": table.c.failures + 1, "last_failure_at": now}
    ).returning(table.c.failures)
    return int(session.execute(statement).scalar_one())

