"""The live hub's defences, on the real app under uvicorn and a real broker: only the
platform's signed events reach users, events are scoped (one naming no organisation reaches
only users who see every organisation), no token ever reaches the server's log, client
messages are parsed strictly without losing the socket, and a revoked user's socket closes
within a second."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from fleet import topics
from fleet.broker import BrokerClient, parse_broker_url
from fleet.models import Role, User
from tests.builders import free_port
from tests.web.conftest import PASSWORD, PASSWORD_HASH, World
from web.app import create_app
from web.hub import CLOSE_UNAUTHENTICATED, EVENTS_DROPPED

ALERT = {"kind": "parking.forbidden_zone", "state": "open", "severity": "warning",
         "started_at": "2026-12-03T01:00:00+00:00"}


@pytest.fixture
def server(ui_world: World, caplog: pytest.LogCaptureFixture) -> Iterator[str]:
    """The app under uvicorn on a free port with its request log at INFO (captured); yields
    its base URL."""
    caplog.set_level(logging.INFO)
    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_config=None, log_level="info",
                            access_log=True, lifespan="on")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, name="uvicorn-hub-security", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not served.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=10)


def token_of(server: str, username: str) -> str:
    answer = httpx.post(f"http://{server}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@contextmanager
def socket_of(server: str, token: str) -> Iterator[ClientConnection]:
    """A live socket authenticated by a first message, once the hub says it is live."""
    with connect(f"ws://{server}/ws") as ws:
        ws.send(json.dumps({"type": "auth", "token": token}))
        next_of(ws, "status", live=True)
        yield ws


def next_of(ws: ClientConnection, kind: str, timeout_s: float = 5.0, **match: Any) -> dict[str, Any]:
    """The next message of type ``kind`` with the ``match`` fields, skipping others."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            break
        if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
            return message
    raise AssertionError(f"no {kind} message within {timeout_s} s")


def closed_within(ws: ClientConnection, timeout_s: float) -> tuple[int | None, float]:
    """Read until the server closes the socket; (close code, seconds it took)."""
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() - started < timeout_s:
            ws.recv(timeout=timeout_s)
    return closed.value.rcvd.code if closed.value.rcvd else None, time.monotonic() - started


def dropped(reason: str) -> float:
    return EVENTS_DROPPED.labels(reason)._value.get()


def test_only_signed_events_reach_users(server, ui_world, mqtt_url, mqtt_probe):
    address = parse_broker_url(mqtt_url)
    anonymous = BrokerClient(address, name="intruder").connect(5)
    forger = BrokerClient(address, name="forger", v5=True, signing_key=b"not the platform's key").connect(5)
    before = dropped("unsigned"), dropped("bad_signature")
    vehicle = ui_world.ids["vehicle"]
    try:
        with socket_of(server, token_of(server, "auditor")) as ws:
            anonymous.publish_json(topics.EVENTS_ALERTS, {**ALERT, "id": 1, "vehicle_id": vehicle}, qos=1).wait_for_publish(5)
            forger.publish_json(topics.EVENTS_ALERTS, {**ALERT, "id": 2, "vehicle_id": vehicle}, qos=1).wait_for_publish(5)
            mqtt_probe.publish(topics.EVENTS_ALERTS, {**ALERT, "id": 3, "vehicle_id": vehicle})
            got = next_of(ws, "alert")
    finally:
        anonymous.close()
        forger.close()
    assert got["alert"]["id"] == 3
    assert dropped("unsigned") >= before[0] + 1 and dropped("bad_signature") >= before[1] + 1


def test_a_plan_change_naming_no_organisation_reaches_only_users_who_see_all(server, ui_world, session, mqtt_probe):
    county = User(username="county_dispatcher", role=Role.dispatcher, org_id=ui_world.ids["county"],
                  password_hash=PASSWORD_HASH)
    session.add(county)
    session.commit()
    event = {"plan_id": 77, "service_date": "2026-12-03", "status": "proposed", "changed_assignment_ids": []}
    with socket_of(server, token_of(server, "dispatcher")) as city_ws, \
            socket_of(server, token_of(server, "county_dispatcher")) as county_ws:
        mqtt_probe.publish(topics.EVENTS_PLANS, event)
        assert next_of(city_ws, "plan", plan_id=77)["status"] == "proposed"
        county_ws.send(json.dumps({"type": "ping"}))
        next_of(county_ws, "pong")
        with pytest.raises(AssertionError, match="no plan message"):
            next_of(county_ws, "plan", timeout_s=1.0, plan_id=77)


def test_no_token_reaches_the_server_log(server, ui_world, caplog):
    token = token_of(server, "dispatcher")
    with connect(f"ws://{server}/ws?token={token}") as ws:
        code, _ = closed_within(ws, 5)
    assert code == CLOSE_UNAUTHENTICATED
    httpx.get(f"http://{server}/api/v1/auth/me", params={"token": token})
    with socket_of(server, token) as ws:
        ws.send(json.dumps({"type": "ping"}))
        assert next_of(ws, "pong")["type"] == "pong"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("uvicorn"))
    assert "WebSocket /ws" in logged and "/api/v1/auth/me" in logged
    assert token not in logged and token.split(".")[1] not in logged
    assert "token=[redacted]" in logged


def test_bad_messages_get_an_error_naming_the_field_and_the_socket_stays(server, ui_world):
    with socket_of(server, token_of(server, "driver")) as ws:
        ws.send('{"type": "location", "lat": NaN, "lon": 119.2}')
        assert next_of(ws, "error")["message"].startswith("lat: ")
        ws.send('{"type": "location", "lat": 34.6, "lon": Infinity}')
        assert next_of(ws, "error")["message"].startswith("lon: ")
        ws.send('{"type": "location", "lat": 1e999, "lon": 119.2}')
        assert "finite" in next_of(ws, "error")["message"]
        ws.send("{not json")
        assert "JSON" in next_of(ws, "error")["message"]
        ws.send("[1, 2]")
        assert "object" in next_of(ws, "error")["message"]
        ws.send(b"\x00\x01")
        assert "binary" in next_of(ws, "error")["message"]
        ws.send(json.dumps({"type": "ping"}))
        assert next_of(ws, "pong")["type"] == "pong"


def revoke_by_logout(server: str, token: str, admin: str, user_id: int) -> None:
    assert httpx.post(f"http://{server}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204


def revoke_by_password_change(server: str, token: str, admin: str, user_id: int) -> None:
    answer = httpx.patch(f"http://{server}/api/v1/users/{user_id}", json={"password": "a-new-Passw0rd-for-him"},
                         headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200, answer.text


def revoke_by_deactivation(server: str, token: str, admin: str, user_id: int) -> None:
    answer = httpx.patch(f"http://{server}/api/v1/users/{user_id}", json={"is_active": False},
                         headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200, answer.text


def revoke_by_role_change(server: str, token: str, admin: str, user_id: int) -> None:
    answer = httpx.patch(f"http://{server}/api/v1/users/{user_id}", json={"role": "requester"},
                         headers={"Authorization": f"Bearer {admin}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("revoke", [revoke_by_logout, revoke_by_password_change, revoke_by_deactivation,
                                    revoke_by_role_change])
def test_a_revoked_users_socket_closes_within_a_second(server, ui_world, revoke):
    token = token_of(server, "dispatcher")
    admin = token_of(server, "admin")
    with socket_of(server, token) as ws:
        revoke(server, token, admin, ui_world.ids["user_dispatcher"])
        code, seconds = closed_within(ws, 3)
    assert code == CLOSE_UNAUTHENTICATED
    assert seconds < 1.0
    with connect(f"ws://{server}/ws") as again:
        again.send(json.dumps({"type": "auth", "token": token}))
        code, _ = closed_within(again, 5)
    assert code == CLOSE_UNAUTHENTICATED
