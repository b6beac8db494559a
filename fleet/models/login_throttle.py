"""Failed logins counted per username and per client address, shared by every server
process through the database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from fleet.models.common import time_field


class LoginThrottle(SQLModel, table=True):
    """Recent failed logins of one username or one client address.

    ``key`` is ``user:<username>`` (lower case, known or not) or ``address:<ip>``.
    ``failures`` counts failures since ``first_failure_at`` (UTC); a quiet spell longer than
    the failure window starts the count again. ``locked_until`` (UTC) is when logins for the
    key are accepted again, after a lockout that doubles with each further failure.
    """

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=200)
    failures: int = Field(0, ge=0)
    first_failure_at: datetime = time_field()
    last_failure_at: datetime = time_field()
    locked_until: datetime | None = time_field(None)
