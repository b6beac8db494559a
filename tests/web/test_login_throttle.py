"""Guessing passwords is throttled per username and per client address, in the database
(every server process sees the same counts), and an unknown username costs what a known one
costs."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from fleet.login_throttle import ThrottlePolicy, user_key
from fleet.models import AuditEntry, utcnow
from fleet.models.login_throttle import LoginThrottle
from tests.web.conftest import PASSWORD, World

LOCKOUT_S = 60


def _limits(client: TestClient, **limits: float) -> None:
    """Small thresholds for one test (the defaults are meant for production)."""
    settings = client.app.state.settings
    values = {"user_failures_max": 3, "address_failures_max": 1000, "lockout_s": LOCKOUT_S} | limits
    client.app.state.settings = settings.model_copy(update={"login": settings.login.model_copy(update=values)})


def _token(client: TestClient, username: str, password: str) -> tuple[int, dict[str, str]]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    return response.status_code, dict(response.headers)


def test_wrong_passwords_lock_the_username_out_with_retry_after(client: TestClient, world: World, session: Session) -> None:
    _limits(client)
    for _ in range(3):
        assert _token(client, "dispatcher", "wrong-guess-1")[0] == 401
    status, headers = _token(client, "dispatcher", PASSWORD)
    assert status == 429
    assert LOCKOUT_S - 5 <= int(headers["retry-after"]) <= LOCKOUT_S
    page_login = client.post("/api/v1/auth/login", data={"username": "dispatcher", "password": PASSWORD})
    assert page_login.status_code == 429 and "retry-after" in page_login.headers
    assert _token(client, "requester", PASSWORD)[0] == 200  # other users are not affected

    lockout = session.exec(select(AuditEntry).where(AuditEntry.action == "login.lockout")).one()
    assert lockout.object_id == user_key("dispatcher")
    assert lockout.after["failures"] == 3 and lockout.after["address"] == "testclient"


def test_the_lockout_holds_for_every_server_process(client: TestClient, world: World) -> None:
    from web.app import create_app

    _limits(client)
    for _ in range(3):
        _token(client, "dispatcher", "wrong-guess-1")
    with TestClient(create_app()) as second_process:
        assert _token(second_process, "dispatcher", PASSWORD)[0] == 429


def test_an_unknown_username_is_locked_out_alike(client: TestClient, world: World) -> None:
    _limits(client)
    answers = [_token(client, "nobody", "wrong-guess-1")[0] for _ in range(4)]
    assert answers == [401, 401, 401, 429]


def test_each_further_failure_doubles_the_lockout(client: TestClient, world: World, session: Session) -> None:
    _limits(client)
    for _ in range(3):
        _token(client, "dispatcher", "wrong-guess-1")
    session.execute(update(LoginThrottle).values(locked_until=utcnow() - timedelta(seconds=1)))
    session.commit()  # the first lockout is over
    assert _token(client, "dispatcher", "wrong-guess-2")[0] == 401
    status, headers = _token(client, "dispatcher", PASSWORD)
    assert status == 429 and int(headers["retry-after"]) > 1.9 * LOCKOUT_S
    assert ThrottlePolicy(3, 10, 900, 60, 3600).lockout_for_s(40, 3) == 3600


def test_failures_older_than_the_window_are_forgotten(client: TestClient, world: World, session: Session) -> None:
    _limits(client, failure_window_s=900)
    for _ in range(2):
        _token(client, "dispatcher", "wrong-guess-1")
    session.execute(update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(seconds=901)))
    session.commit()
    for _ in range(2):
        assert _token(client, "dispatcher", "wrong-guess-1")[0] == 401
    assert _token(client, "dispatcher", PASSWORD)[0] == 200
    assert session.exec(select(LoginThrottle.key)).all() == ["address:testclient"]


def test_a_good_login_clears_the_usernames_count(client: TestClient, world: World) -> None:
    _limits(client)
    for _ in range(2):
        _token(client, "dispatcher", "wrong-guess-1")
    assert _token(client, "dispatcher", PASSWORD)[0] == 200
    for _ in range(2):
        assert _token(client, "dispatcher", "wrong-guess-1")[0] == 401
    assert _token(client, "dispatcher", PASSWORD)[0] == 200


def test_many_usernames_from_one_address_lock_the_address_out(client: TestClient, world: World, session: Session) -> None:
    _limits(client, address_failures_max=4)
    for name in ("admin", "driver", "auditor", "approver"):
        assert _token(client, name, "wrong-guess-1")[0] == 401
    assert _token(client, "requester", PASSWORD)[0] == 429
    keys = session.exec(select(LoginThrottle.key).where(col(LoginThrottle.locked_until).is_not(None))).all()
    assert keys == ["address:testclient"]


@pytest.mark.slow  # times many password checks
def test_unknown_usernames_take_as_long_as_known_ones(client: TestClient, world: World) -> None:
    _limits(client, user_failures_max=100)

    def seconds(username: str) -> float:
        started = time.perf_counter()
        assert _token(client, username, "wrong-guess-1")[0] == 401
        return time.perf_counter() - started

    seconds("admin"), seconds("nobody")  # warm up both paths
    known = statistics.median(seconds("admin") for _ in range(3))
    unknown = statistics.median(seconds(f"nobody{i}") for i in range(3))
    assert unknown == pytest.approx(known, rel=0.5), (known, unknown)
