"""Builders for the ingest tests: a city with GPS-equipped cars, fixes, and a broker client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.broker import BrokerClient, parse_broker_url
from fleet.models import Position
from tests.builders import fix, organisation, vehicle

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Lianyungang


def add_cars(engine: Engine, count: int, prefix: str = "dev") -> dict[str, int]:
    """``count`` pool cars carrying devices ``<prefix>-0000``...; returns device id -> vehicle
    id. Tests on a broker other runs share use a prefix of their own, since every worker
    subscribed there receives every vehicle's topic."""
    with Session(engine) as session:
        city = organisation(session, "连云港市", "320700", "city")
        devices = {
            f"{prefix}-{i:04d}": vehicle(session, f"苏G{i:05d}", f"LSVAA4180E{i:07d}", city.id,
                                         gps_device_id=f"{prefix}-{i:04d}").id
            for i in range(count)
        }
        session.commit()
    return devices


def drive(device: str, start: datetime, count: int, step_s: float = 10.0) -> list[dict[str, Any]]:
    """``count`` fixes heading east at ~40 km/h, ``step_s`` seconds apart."""
    return [fix(device, start + timedelta(seconds=i * step_s), lon=119.2 + i * step_s * 0.0000123)
            for i in range(count)]


def stored(engine: Engine, vehicle_id: int | None = None) -> list[tuple[int, datetime, float, float]]:
    query = select(Position.vehicle_id, Position.ts, Position.lat, Position.lon).order_by(Position.vehicle_id, Position.ts)
    if vehicle_id is not None:
        query = query.where(Position.vehicle_id == vehicle_id)
    with Session(engine) as session:
        return [tuple(row) for row in session.execute(query).all()]


def count_positions(engine: Engine) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Position)).scalar_one()


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0, every_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every_s)
    return condition()


class Client:
    """A broker client that publishes (QoS 1, waiting for delivery) and records what arrives on
    the topics it subscribes to."""

    def __init__(self, url: str, subscribe: tuple[str, ...] = ()) -> None:
        self.received: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self.client = BrokerClient(parse_broker_url(url), name="test-client", max_inflight=200,
                                   on_message=self._on_message).connect(10)
        for topic in subscribe:
            self.client.subscribe(topic, 1, wait_s=10)

    def _on_message(self, message) -> None:  # type: ignore[no-untyped-def]
        try:
            body = json.loads(message.payload)
        except ValueError:
            body = message.payload
        with self._lock:
            self.received.append((message.topic, body))

    def on(self, topic: str) -> list[Any]:
        with self._lock:
            return [body for t, body in self.received if t == topic]

    def publish(self, topic: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        info = self.client.publish(topic, data, qos=1)
        info.wait_for_publish(10)

    def close(self) -> None:
        self.client.close()
