"""`fleet replay` and the pipeline on a real database: late, duplicated and jumping fixes,
unknown devices, device state, alert evaluation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from ingest_builders import T0, add_cars, drive, fix, stored
from sqlmodel import Session, select
from typer.testing import CliRunner

import fleet.cli
import telematics.cli
from fleet.models import Position
from fleet.models.device import DeviceState
from fleet.models.operations import ALARM_POWER_CUT
from fleet.settings import IngestSettings, Settings
from telematics.ingest.pipeline import Inbound, IngestPipeline
from tests.builders import commands_registered, write_json_lines

runner = CliRunner()


_registered = commands_registered(telematics.cli.register, "replay")


def test_replay_stores_in_event_time_whatever_the_order(engine, tmp_path):
    devices = add_cars(engine, 2)
    track = drive("dev-0000", T0, 30)
    late_batch = track[:20]  # a blind-area upload arriving after the live points
    payloads = [*[p for p in track[20:]], late_batch, track[5], fix("dev-0000", T0 + timedelta(seconds=205), lat=35.5)]
    result = runner.invoke(fleet.cli.app, ["replay", str(write_json_lines(tmp_path / "points.jsonl", payloads))])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["lines"], summary["stored"], summary["duplicates"], summary["jumps"]) == (13, 30, 1, 1)
    rows = stored(engine, devices["dev-0000"])
    assert [r[1] for r in rows] == [T0 + timedelta(seconds=10 * i) for i in range(30)]
    again = runner.invoke(fleet.cli.app, ["replay", str(write_json_lines(tmp_path / "points.jsonl", payloads))])
    assert json.loads(again.stdout)["stored"] == 0 and len(stored(engine)) == 30


def test_replay_reports_refused_points_and_keeps_the_rest(engine, tmp_path):
    add_cars(engine, 1)
    payloads = [[fix("dev-0000", T0), fix("dev-0000", T0 + timedelta(seconds=10), lon=200)], fix("nobody", T0), "{"]
    path = write_json_lines(tmp_path / "points.jsonl", payloads)
    path.write_text(path.read_text().replace('"{"', "{"), encoding="utf-8")
    result = runner.invoke(fleet.cli.app, ["replay", str(path)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["stored"] == 1
    assert "points.jsonl:1: [1].lon: Input should be less than or equal to 180" in result.stderr
    assert "points.jsonl:2: device_id: unknown device 'nobody' (no vehicle carries it)" in result.stderr
    assert "points.jsonl:3: payload: not valid UTF-8 JSON" in result.stderr


def test_device_state_tracks_newest_fix_alarms_and_status(engine):
    devices = add_cars(engine, 1)
    pipeline = IngestPipeline(engine, Settings())
    topic = "fleet/v1/vehicles/dev-0000/"
    late = fix("dev-0000", T0, alarm={"power_cut": True})
    newest = fix("dev-0000", T0 + timedelta(minutes=5))
    batch = [pipeline.decode(Inbound(topic + "gps", json.dumps(newest).encode())),
             pipeline.decode(Inbound(topic + "status", b"offline"))]
    pipeline.store_with_retry(batch)
    pipeline.store_with_retry([pipeline.decode(Inbound(topic + "gps", json.dumps(late).encode()))])
    with Session(engine) as session:
        state = session.exec(select(DeviceState)).one()
    assert (state.vehicle_id, state.online, state.last_position_at, state.power_cut) == (
        devices["dev-0000"], False, T0 + timedelta(minutes=5), False)
    with Session(engine) as session:  # the late fix keeps its own alarm
        alarms = dict(session.exec(select(Position.ts, Position.alarms)).all())
    assert alarms == {T0: ALARM_POWER_CUT, T0 + timedelta(minutes=5): 0}


def test_live_positions_follow_the_contract_and_are_throttled(engine):
    devices = add_cars(engine, 1)
    pipeline = IngestPipeline(engine, Settings(ingest=IngestSettings(positions_interval_s=60)))
    first = pipeline.store_with_retry([pipeline.decode(Inbound("fleet/v1/vehicles/dev-0000/gps", json.dumps(drive("dev-0000", T0, 3)).encode()))])
    [live] = [p for p in first.publications if p.topic == "fleet/v1/events/positions"]
    [position] = json.loads(live.payload)
    assert position == {"vehicle_id": devices["dev-0000"], "device_id": "dev-0000", "plate": "苏G00000",
                        "ts": (T0 + timedelta(seconds=20)).isoformat(), "lat": 34.6, "lon": pytest.approx(119.2 + 20 * 0.0000123),
                        "speed_kmh": 40.0, "heading_deg": 90.0, "ignition": True, "source": "gps"}
    second = pipeline.store_with_retry([pipeline.decode(Inbound("fleet/v1/vehicles/dev-0000/gps", json.dumps(drive("dev-0000", T0 + timedelta(minutes=1), 3)).encode()))])
    assert not [p for p in second.publications if p.topic == "fleet/v1/events/positions"]


def test_positions_stored_by_the_orm_are_duplicates_to_the_ingest(engine):
    """The SQLite fast insert writes times in the form the ORM does: the unique (vehicle, ts)
    key sees them as the same fix, and they read back equal."""
    devices = add_cars(engine, 1)
    at = T0 + timedelta(microseconds=250)
    with Session(engine) as session:
        session.add(Position(vehicle_id=devices["dev-0000"], ts=at, lat=34.6, lon=119.2))
        session.commit()
    pipeline = IngestPipeline(engine, Settings())
    outcome = pipeline.store_with_retry([pipeline.decode(Inbound(
        "fleet/v1/vehicles/dev-0000/gps", json.dumps([fix("dev-0000", at), fix("dev-0000", at + timedelta(seconds=10))]).encode()))])
    assert (outcome.stored, outcome.duplicates) == (1, 1)
    assert [r[1] for r in stored(engine)] == [at, at + timedelta(seconds=10)]


def test_replay_flags_a_terminal_that_falls_silent_away_from_its_site(engine, tmp_path):
    """One car's terminal stops after 5 minutes on the road while another car reports for an
    hour: by the recording's own clock the first has been silent for 55 minutes."""
    devices = add_cars(engine, 2)
    payloads = [drive("dev-0000", T0, 30), drive("dev-0001", T0, 360)]
    result = runner.invoke(fleet.cli.app, ["replay", str(write_json_lines(tmp_path / "points.jsonl", payloads))])
    assert result.exit_code == 0, result.output
    offline = [a for a in json.loads(result.stdout)["alerts"] if a["kind"] == "device.offline"]
    assert [(a["vehicle_id"], a["ended_at"], a["evidence"]["reason"]) for a in offline] == [
        (devices["dev-0000"], None, "silent")]
    assert offline[0]["started_at"].startswith((T0 + timedelta(seconds=290)).strftime("%Y-%m-%dT%H:%M:%S"))
