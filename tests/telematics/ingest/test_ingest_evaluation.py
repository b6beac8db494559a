"""Evaluation off the storage fast path: dirty windows stored with the positions, merged
across batches, kept across a restart, and evaluated into the same trips, stops and alerts
whatever the batching."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from ingest_builders import T0, add_cars, drive, fix
from sqlalchemy import func
from sqlmodel import Session, select

from fleet.models import Alert, Trip
from fleet.models.device import IngestDirtyWindow
from fleet.models.telemetry import Stop
from fleet.settings import Settings
from telematics.ingest.evaluator import Evaluator
from telematics.ingest.pipeline import Inbound, IngestPipeline
from telematics.ingest.storage import clear_dirty, dirty_windows

GPS = "fleet/v1/vehicles/{}/gps"


def _trace(device: str) -> list[dict[str, Any]]:
    """A 15-minute drive on a Monday morning with no trip request (private use), then a
    10-minute stop with the ignition off."""
    parked_lon = 119.2 + 890 * 0.0000123
    parked = [fix(device, T0 + timedelta(seconds=900 + 30 * i), lon=parked_lon, speed_kmh=0.0, ignition=False)
              for i in range(20)]
    return drive(device, T0, 90, 10) + parked


def _store(pipeline: IngestPipeline, device: str, points: list[dict[str, Any]]) -> None:
    pipeline.store_with_retry([pipeline.decode(Inbound(GPS.format(device), json.dumps(points).encode()))])


def _dirty(engine) -> dict[int, tuple]:  # type: ignore[no-untyped-def]
    """Each vehicle's pending window: (first, last event time, rows)."""
    with Session(engine) as session:
        return {w.vehicle_id: (w.start_at, w.end_at, session.exec(select(func.count()).where(
                    IngestDirtyWindow.vehicle_id == w.vehicle_id)).one())
                for w in dirty_windows(session, 100)}


def _outcome(engine, vehicle_id: int) -> dict[str, list]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        trips = session.exec(select(Trip).where(Trip.vehicle_id == vehicle_id).order_by(Trip.started_at)).all()
        stops = session.exec(select(Stop).where(Stop.vehicle_id == vehicle_id).order_by(Stop.started_at)).all()
        alerts = session.exec(select(Alert).where(Alert.vehicle_id == vehicle_id).order_by(Alert.started_at)).all()
        return {
            "trips": [(t.started_at, t.ended_at, t.distance_km) for t in trips],
            "stops": [(s.started_at, s.ended_at, s.duration_s, s.lat, s.lon) for s in stops],
            "alerts": [(a.kind, a.started_at, a.ended_at, a.severity, a.lat, a.lon) for a in alerts],
        }


def test_dirty_windows_merge_across_batches_and_outlive_the_worker(engine):
    devices = add_cars(engine, 2)
    vehicle = devices["dev-0000"]
    trace = _trace("dev-0000")
    pipeline = IngestPipeline(engine, Settings())
    _store(pipeline, "dev-0000", trace[40:60])
    _store(pipeline, "dev-0000", trace[:10])  # a late blind-area upload widens the window
    _store(pipeline, "dev-0000", trace[40:60])  # redelivered: nothing new, nothing to evaluate
    assert _dirty(engine) == {vehicle: (T0, T0 + timedelta(seconds=590), 2)}
    assert _outcome(engine, vehicle)["alerts"] == []  # storing never waits for evaluation

    # A new worker (after a restart) finds the window and evaluates it once.
    published: list[dict[str, Any]] = []
    _store(IngestPipeline(engine, Settings()), "dev-0000", trace)
    outcome = Evaluator(engine, Settings(), published.extend).drain()
    assert outcome.vehicles == 1 and _dirty(engine) == {}
    assert [(a["kind"], a["vehicle_id"], a["started_at"]) for a in published] == [
        ("private_use.no_order", vehicle, "2026-11-23T01:00:00Z")]
    assert Evaluator(engine, Settings(), published.extend).drain().vehicles == 0


def test_a_window_widened_during_its_evaluation_stays_dirty(engine):
    add_cars(engine, 1)
    trace = _trace("dev-0000")
    pipeline = IngestPipeline(engine, Settings())
    _store(pipeline, "dev-0000", trace[:30])
    with Session(engine) as session:
        [read] = dirty_windows(session, 10)
    _store(pipeline, "dev-0000", trace[30:60])  # commits while the evaluator works on `read`
    with Session(engine) as session:
        assert not clear_dirty(session, read)
        session.commit()
    # What was read is cleared; only what arrived meanwhile waits (the window does not grow
    # back over what was evaluated, however long the feed keeps coming).
    [(start, end, rows)] = _dirty(engine).values()
    assert (start, end, rows) == (T0 + timedelta(seconds=300), T0 + timedelta(seconds=590), 1)


def test_the_same_trips_stops_and_alerts_whatever_the_batching(engine):
    """One car's trace in one batch evaluated once; another car's same trace point by point,
    late slice first, with an evaluation round after every few batches."""
    devices = add_cars(engine, 2)
    pipeline = IngestPipeline(engine, Settings())
    evaluator = Evaluator(engine, Settings(), lambda _alerts: None)
    _store(pipeline, "dev-0000", _trace("dev-0000"))
    evaluator.drain()
    other = _trace("dev-0001")
    arrival = other[60:] + other[:60]
    for i in range(0, len(arrival), 7):
        _store(pipeline, "dev-0001", arrival[i: i + 7])
        if i % 21 == 0:
            evaluator.run_round()
    evaluator.drain()
    whole, pieces = _outcome(engine, devices["dev-0000"]), _outcome(engine, devices["dev-0001"])
    assert whole["alerts"] and whole["trips"] and whole["stops"]
    assert pieces == whole
