"""Helpers shared by the page, hub and driver-action tests: today's work in the web world,
a logged-in page, an authenticated live socket, and an MQTT publisher/recorder on the test
broker that signs what it publishes as the platform does."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from fleet.broker import broker_client
from fleet.models import Assignment, AssignmentKind, Position, utcnow
from fleet.settings import MqttSettings, get_settings
from tests.builders import SHANGHAI, local_time, trip_request, vehicle
from tests.web.conftest import PASSWORD, World


def local_today_at(hour: int, minute: int = 0) -> datetime:
    """Today (Asia/Shanghai) at hour:minute, as an aware UTC time."""
    return local_time(datetime.now(SHANGHAI).date(), hour, minute)


def soon_today(minutes: int = 10) -> datetime:
    """``minutes`` from now, but no later than the last minute of today (Asia/Shanghai), as
    an aware UTC time: a pickup today that a driver may already start."""
    last_minute = local_today_at(23, 59)
    return min(utcnow() + timedelta(minutes=minutes), last_minute)


def add_todays_work(session: Session, w: World) -> None:
    """A car of its own (``today_vehicle``, device ``w.device``, seen a minute ago), an
    assigned trip today for the world's driver in it, picking up in ten minutes
    (``today_assignment``), and an approved request today at 13:00 for dispatch to plan
    (``approved_today``).

    The car's id, plate and device are random and large: the test broker may be shared with
    other runs whose events name small vehicle ids, and the hub coalesces per vehicle id."""
    rnd = random.Random(uuid.uuid4().int)
    car = vehicle(session, f"苏U{rnd.randint(10000, 99999)}", f"LUJ{rnd.randint(10**13, 10**14 - 1)}", w.ids["city"],
                  id=rnd.randint(10**8, 2 * 10**9), purchase_date=date(2022, 3, 1), purchase_price_cny=160000,
                  odometer_km=80000, gps_device_id=f"ui-{uuid.uuid4().hex[:12]}", home_depot_id=w.ids["depot"],
                  parking_site_id=w.ids["parking_site"])
    session.add(Position(vehicle_id=car.id, ts=utcnow() - timedelta(minutes=1), lat=34.6, lon=119.2))
    w.ids["today_vehicle"] = car.id
    w.device = car.gps_device_id  # type: ignore[attr-defined]
    w.plate = car.plate  # type: ignore[attr-defined]
    pickup = soon_today()
    common: dict[str, Any] = {"passengers": 2, "window": timedelta(minutes=30)}
    assigned = trip_request(session, w.ids["agency"], w.ids["user_requester"], pickup, (34.65, 119.25), **common,
                            purpose="送文件", origin_address="市政府东门", destination_address="东海县教育局",
                            state="assigned")
    approved = trip_request(session, w.ids["agency"], w.ids["user_requester"], local_today_at(13),
                            (34.65, 119.25), **common, purpose="检查调研", origin_address="市政府",
                            destination_address="海州区", state="approved")
    assignment = Assignment(request_id=assigned.id, kind=AssignmentKind.pool, vehicle_id=car.id,
                            driver_id=w.ids["driver"], planned_pickup=pickup, planned_dropoff=pickup + timedelta(hours=1),
                            cost_cny=80, org_id=w.ids["agency"], confirmed=True, explanation="公车：比租赁便宜")
    session.add(assignment)
    session.commit()
    w.ids.update(today_request=assigned.id, today_assignment=assignment.id, approved_today=approved.id)


def log_in(page: Any, server: Any, username: str, path: str = "/", password: str = PASSWORD) -> None:
    """Log in through the login page and wait until ``path`` has finished loading."""
    page.goto(f"{server.url}{path}")
    page.wait_for_url("**/login**")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)
    page.wait_for_selector("body[data-ready='true']")


#: Marks this run's positions: the broker may be shared with other test runs publishing
#: on the same events topic.
RUN = f"ui-{uuid.uuid4().hex[:8]}"


def receive_until(ws: Any, kind: str, timeout_s: float = 5.0, **match: Any) -> dict[str, Any]:
    """The next message of type ``kind`` (with the ``match`` fields), skipping others; of a
    positions message only this run's items are kept."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = ws.receive_json()
        if message.get("type") != kind or any(message.get(k) != v for k, v in match.items()):
            continue
        if kind == "positions":
            message["items"] = [i for i in message["items"] if i.get("device_id") == RUN]
            if not message["items"]:
                continue
        return message
    raise AssertionError(f"no {kind} message within {timeout_s} s")


@contextmanager
def live_socket(client: Any, token: str) -> Iterator[Any]:
    """A socket on /ws (of a TestClient) that authenticated with a first ``auth`` message."""
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        yield ws


def wait_live(ws: Any) -> None:
    receive_until(ws, "status", live=True)


class MqttProbe:
    """A publisher and recorder on the test broker; what it publishes carries the platform's
    signature (key from the test's FLEET_SECRET_KEY), as the platform's own services' does."""

    def __init__(self, url: str) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        settings = get_settings().model_copy(update={"mqtt": MqttSettings(url=url)})
        self.client = broker_client(settings, "simulation", on_message=lambda m: self.messages.append(
            (m.topic, json.loads(m.payload)))).connect(10)

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, 1, wait_s=5)

    def publish(self, topic: str, payload: Any) -> None:
        self.client.publish_json(topic, payload, qos=1).wait_for_publish(5)

    def wait_for(self, topic: str, timeout_s: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for got_topic, payload in self.messages:
                if got_topic == topic:
                    return payload
            time.sleep(0.05)
        raise AssertionError(f"nothing arrived on {topic} within {timeout_s} s")

    def close(self) -> None:
        self.client.close()
