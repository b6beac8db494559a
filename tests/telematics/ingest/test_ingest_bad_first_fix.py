"""One bad fix never blinds a car: a fix is judged only against a confirmed track, a car whose
new fixes agree with each other recovers within a few fixes and the bad stored fix is marked,
and every dropped fix is published, counted and visible per car."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from ingest_builders import T0, Client, add_cars, drive, fix, stored, wait_for
from prometheus_client import REGISTRY
from sqlmodel import Session, select
from test_ingest_worker import _stop, _worker, client_id  # noqa: F401 (the fixture)

from fleet import topics
from fleet.models.device import DeviceState, DeviceStatePublic, IngestDirtyWindow
from fleet.models.telemetry import PositionSuspect, SuspectState
from fleet.settings import Settings
from telematics.ingest.pipeline import Inbound, IngestPipeline


def _real_fixes(device: str, start: datetime, count: int) -> list[dict]:
    """A car driving east in Lianyungang at ~40 km/h, one fix a 10 s."""
    return [fix(device, start + timedelta(seconds=10 * i), lon=119.2 + 0.0012 * i) for i in range(count)]


def _suspects(engine) -> list[tuple[datetime, float, float, SuspectState]]:
    with Session(engine) as session:
        rows = session.exec(select(PositionSuspect).order_by(PositionSuspect.ts)).all()
        return [(r.ts, r.lat, r.lon, r.state) for r in rows]


def _device(engine) -> DeviceStatePublic:
    with Session(engine) as session:
        return DeviceStatePublic.model_validate(session.exec(select(DeviceState)).one())


def _send(pipeline: IngestPipeline, payload: object):
    raw = json.dumps(payload).encode()
    return pipeline.store_with_retry([pipeline.decode(Inbound("fleet/v1/vehicles/dev-0000/gps", raw))])


def _metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.slow  # the ingest worker as a process
def test_a_car_whose_first_fix_is_bad_recovers_through_the_worker(engine, db_url, mqtt_url, client_id):
    devices = add_cars(engine, 2, prefix=client_id)
    car, other = list(devices)
    listener = Client(mqtt_url, subscribe=(topics.INGEST_REJECTED,))
    worker = _worker(db_url, mqtt_url, client_id)
    publisher = Client(mqtt_url)
    try:
        bad = fix(car, T0, lat=1.0, lon=0.0)  # a number in the Gulf of Guinea, far from the city
        publisher.publish(topics.gps_topic(car), bad)
        assert wait_for(lambda: len(stored(engine, devices[car])) == 1, 30)
        real = _real_fixes(car, T0 + timedelta(minutes=10), 20)
        for point in real:
            publisher.publish(topics.gps_topic(car), point)
        expected = [datetime.fromisoformat(p["ts"]) for p in real]
        assert wait_for(lambda: [r[1] for r in stored(engine, devices[car])] == expected, 30), stored(engine)
        assert _suspects(engine) == [(T0, 1.0, 0.0, SuspectState.marked)]
        publisher.publish(topics.gps_topic(other), {**fix(other, T0), "lat": True, "lon": False})

        def letters() -> list[dict]:  # the broker is shared: other tests' dead letters pass by
            return [m for m in listener.on(topics.INGEST_REJECTED)
                    if m["topic"] in (topics.gps_topic(car), topics.gps_topic(other))]

        assert wait_for(lambda: len(letters()) == 2, 20), letters()
        marked, boolean = sorted(letters(), key=lambda m: m["topic"] != topics.gps_topic(car))
        assert "outvoted by 3 agreeing fixes" in marked["reason"] and marked["payload"]["lat"] == 1.0
        assert boolean["reason"].startswith("lat: Input should be a valid number")
        assert stored(engine, devices[other]) == []
    finally:
        publisher.close()
        _stop(worker)
        listener.close()


def test_a_spike_is_dropped_published_counted_and_visible_per_car(engine):
    devices = add_cars(engine, 1)
    pipeline = IngestPipeline(engine, Settings())
    before = _metric("fleet_ingest_positions_dropped_total", reason="jump")
    track = _real_fixes("dev-0000", T0, 6)
    spike = fix("dev-0000", T0 + timedelta(seconds=45), lat=35.6)  # 110 km off within 5 s
    _send(pipeline, track[:5])
    held = _send(pipeline, spike)
    assert (held.stored, held.held, held.jumps) == (0, 1, 0)
    outcome = _send(pipeline, track[5])
    assert (outcome.stored, outcome.jumps) == (1, 1)
    [letter] = [json.loads(p.payload) for p in outcome.publications if p.topic == topics.INGEST_REJECTED]
    assert letter["reason"].startswith("lat, lon: GPS jump") and letter["payload"]["lat"] == 35.6
    assert _metric("fleet_ingest_positions_dropped_total", reason="jump") == before + 1
    assert [r[1] for r in stored(engine, devices["dev-0000"])] == [datetime.fromisoformat(p["ts"]) for p in track]
    assert _suspects(engine) == [(T0 + timedelta(seconds=45), 35.6, 119.2, SuspectState.jump)]
    _send(pipeline, fix("dev-0000", T0 + timedelta(seconds=70), lat=0.0, lon=0.0))
    state = _device(engine)
    assert (state.vehicle_id, state.dropped_fixes) == (devices["dev-0000"], 2) and state.last_dropped_at is not None


def test_held_fixes_survive_a_restart_and_the_outvoted_fix_is_re_evaluated(engine):
    devices = add_cars(engine, 1)
    vehicle = devices["dev-0000"]
    first = IngestPipeline(engine, Settings())
    _send(first, fix("dev-0000", T0, lat=1.0, lon=0.0))
    real = _real_fixes("dev-0000", T0 + timedelta(minutes=10), 3)
    _send(first, real[0])
    _send(first, real[1])
    assert [r[1] for r in stored(engine, vehicle)] == [T0]
    assert [s[3] for s in _suspects(engine)] == [SuspectState.held, SuspectState.held]
    restarted = IngestPipeline(engine, Settings())
    outcome = _send(restarted, real[2])
    assert (outcome.stored, outcome.marked) == (3, 1)
    assert [r[1] for r in stored(engine, vehicle)] == [datetime.fromisoformat(p["ts"]) for p in real]
    assert _suspects(engine) == [(T0, 1.0, 0.0, SuspectState.marked)]
    with Session(engine) as session:
        windows = session.exec(select(IngestDirtyWindow).where(IngestDirtyWindow.vehicle_id == vehicle)).all()
    assert min(w.start_at for w in windows) == T0  # trips and alerts of the bad fix are redone


def test_a_late_fix_is_judged_against_the_confirmed_track_it_precedes(engine):
    devices = add_cars(engine, 1)
    pipeline = IngestPipeline(engine, Settings())
    track = drive("dev-0000", T0, 40)
    _send(pipeline, track[30:])
    far = fix("dev-0000", T0 + timedelta(seconds=5), lat=35.6)  # uploaded late, 110 km off the track
    outcome = _send(pipeline, [far, *track[:30]])
    assert (outcome.stored, outcome.held, outcome.jumps) == (30, 0, 1)
    assert len(stored(engine, devices["dev-0000"])) == 40
    late_alone = _send(pipeline, fix("dev-0000", T0 - timedelta(minutes=5), lat=35.6))
    assert (late_alone.stored, late_alone.jumps) == (0, 1)
