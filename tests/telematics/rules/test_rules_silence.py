"""The silence sweep: a terminal that stays silent away from its site raises an open
``device.offline`` alert, closed in place when the terminal reports again; a silence at the
site, a silence filled by a late upload and a fleet-wide silence raise nothing."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from rule_traces import DEPOT, TOWN, Trace, alerts, build_world, local
from sqlmodel import Session

from fleet.settings import Settings
from telematics.ingest.evaluator import Evaluator
from telematics.ingest.pipeline import Inbound, IngestPipeline

DAY = date(2026, 11, 24)  # a Tuesday, a working day in the past


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    return build_world(session)


class Platform:
    """Stores fixes through the ingest pipeline and runs the evaluator and the sweep."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.pipeline = IngestPipeline(engine, Settings())
        self.published: list[dict[str, Any]] = []
        self.evaluator = Evaluator(engine, Settings(), self.published.extend)

    def store(self, device: str, fixes: list[dict[str, Any]]) -> None:
        payload = [{"device_id": device, "ts": f["ts"].isoformat(), "lat": f["lat"], "lon": f["lon"],
                    "speed_kmh": f["speed_kmh"], "heading_deg": 90.0, "ignition": f["ignition"]} for f in fixes]
        inbound = Inbound(f"fleet/v1/vehicles/{device}/gps", json.dumps(payload).encode())
        self.pipeline.store_with_retry([self.pipeline.decode(inbound)])
        self.evaluator.drain()

    def ping(self, device: str, at: tuple[float, float], ts: datetime) -> None:
        """One parked fix: moves the fleet's clock to ``ts``."""
        self.store(device, Trace().park(at, ts, 0).fixes)

    def sweep(self) -> list[dict[str, Any]]:
        return self.evaluator.sweep_silent()


def to_town() -> Trace:
    """Leaves the depot at 09:00 and stands at TOWN with the ignition on until 09:26."""
    trace = Trace().park(DEPOT, local(DAY, 9), 10).drive(TOWN, 15)
    return trace.park(TOWN, trace.end + timedelta(minutes=1), 0, ignition=True)


def test_a_terminal_silent_away_from_its_site_is_flagged_until_it_reports_again(engine, session: Session,
                                                                                world) -> None:
    car = world.ids["car"]
    platform = Platform(engine)
    trace = to_town()
    platform.store("dev-0001", trace.fixes)
    last = trace.end
    platform.ping("dev-0002", TOWN, last + timedelta(minutes=20))
    assert platform.sweep() == []  # 20 minutes: not yet

    platform.ping("dev-0002", TOWN, last + timedelta(minutes=40))
    raised = platform.sweep()
    assert [(a["kind"], a["vehicle_id"], a["ended_at"]) for a in raised] == [("device.offline", car, None)]
    assert raised[0]["started_at"] == last.isoformat().replace("+00:00", "Z")
    assert raised[0]["evidence"]["ongoing"] is True and raised[0]["evidence"]["reason"] == "silent"
    assert raised[0]["thresholds"]["offline_after_s"] == 1800
    assert platform.sweep() == []  # raised once

    # A late fix from just before the silence re-evaluates around it: the alert stays.
    platform.store("dev-0001", Trace().park(TOWN, last - timedelta(seconds=30), 0, ignition=True).fixes)
    session.expire_all()
    [still] = alerts(session, car, "device.offline")
    assert still.id == raised[0]["id"] and still.ended_at is None

    # The terminal reports again: the same alert now spans the silence.
    platform.published.clear()
    platform.store("dev-0001", Trace().park(TOWN, last + timedelta(minutes=50), 2, ignition=True).fixes)
    session.expire_all()
    [closed] = alerts(session, car, "device.offline")
    assert closed.id == still.id and closed.ended_at == last + timedelta(minutes=50)
    assert closed.evidence["silent_s"] == 50 * 60 and "ongoing" not in closed.evidence
    assert [a["id"] for a in platform.published if a["kind"] == "device.offline"] == [closed.id]


def test_a_silence_parked_at_the_site_raises_nothing(engine, session: Session, world) -> None:
    platform = Platform(engine)
    platform.store("dev-0001", Trace().park(TOWN, local(DAY, 9), 5).drive(DEPOT, 15).then_park(5).fixes)
    platform.ping("dev-0002", TOWN, local(DAY, 13))
    assert platform.sweep() == [] and platform.sweep() == []
    assert alerts(session, world.ids["car"], "device.offline") == []


def test_a_silence_filled_by_a_late_upload_is_withdrawn(engine, session: Session, world) -> None:
    platform = Platform(engine)
    trace = to_town()
    platform.store("dev-0001", trace.fixes)
    platform.ping("dev-0002", TOWN, trace.end + timedelta(minutes=40))
    assert len(platform.sweep()) == 1
    # The terminal was in a blind area, not silent: its buffered fixes arrive late.
    platform.store("dev-0001", Trace().park(TOWN, trace.end + timedelta(minutes=1), 45, ignition=True).fixes)
    session.expire_all()
    assert alerts(session, world.ids["car"], "device.offline") == []


def test_a_fleet_wide_silence_raises_nothing(engine, session: Session, world) -> None:
    """Every terminal silent at once (the broker or the platform was down): the fleet's clock
    stops with the data, so no car is singled out."""
    platform = Platform(engine)
    trace = to_town()
    platform.store("dev-0001", trace.fixes)
    platform.ping("dev-0002", TOWN, trace.end)
    assert platform.evaluator.sweep_silent(wall_now=trace.end + timedelta(hours=3)) == []
    assert alerts(session, world.ids["car"], "device.offline") == []
