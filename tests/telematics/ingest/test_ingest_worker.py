"""`fleet ingest` against a real broker: stores what arrives, refuses bad input on the
rejected topic, publishes the alerts its evaluator finds, and loses nothing when it is killed
mid-stream, the broker restarts or the database goes away."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from ingest_builders import T0, Client, add_cars, count_positions, drive, fix, wait_for
from sqlalchemy import text

from fleet import topics
from fleet.db import make_engine
from tests.builders import free_port


def _worker(db_url: str, mqtt_url: str, client_id: str, **extra: str) -> subprocess.Popen:
    env = {**os.environ, "FLEET_DATABASE_URL": db_url, "FLEET_MQTT_URL": mqtt_url,
           "FLEET_INGEST_CLIENT_ID": client_id, "FLEET_INGEST_SESSION_EXPIRY_S": "120",
           "FLEET_INGEST_METRICS_PORT": "0", "FLEET_INGEST_BATCH_MAX_DELAY_S": "0.05",
           "FLEET_INGEST_RETRY_MAX_S": "0.5", "FLEET_INGEST_EVALUATION_INTERVAL_S": "0.5", **extra}
    # In a process group of its own, as under a service manager that signals the whole group.
    process = subprocess.Popen([sys.executable, "-c", "from fleet.cli import main; main()", "ingest"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    connected = threading.Event()
    process.log_lines = []  # type: ignore[attr-defined]

    def drain() -> None:  # watch for the subscription, and keep the pipe from filling
        for line in process.stderr:
            process.log_lines.append(line)  # type: ignore[attr-defined]
            if "mqtt_connected" in line:
                connected.set()

    threading.Thread(target=drain, daemon=True).start()
    assert connected.wait(30), "the worker did not connect"
    time.sleep(0.3)  # its SUBSCRIBE is on the wire
    return process


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        process.wait(20)


@pytest.fixture
def client_id() -> str:
    return f"test-ingest-{uuid.uuid4().hex[:10]}"


@pytest.mark.slow  # the ingest worker as a process
def test_worker_stores_refuses_and_survives_a_kill(engine, db_url, mqtt_url, client_id):
    devices = add_cars(engine, 3, prefix=client_id)
    dev = list(devices)
    listener = Client(mqtt_url, subscribe=(topics.INGEST_REJECTED, topics.EVENTS_POSITIONS))
    worker = _worker(db_url, mqtt_url, client_id)
    try:
        publisher = Client(mqtt_url)
        tracks = {d: drive(d, T0, 120, 5) for d in devices}
        # A bad point among good ones, an unknown device, malformed JSON.
        publisher.publish(topics.gps_topic(dev[0]), [fix(dev[0], T0 - timedelta(hours=2)), {"device_id": dev[0]}])
        publisher.publish(topics.gps_topic("ghost"), fix("ghost", T0))
        publisher.publish(topics.gps_topic(dev[1]), b"{oops")
        assert wait_for(lambda: count_positions(engine) == 1, 30)
        for i in range(60):
            for device, track in tracks.items():
                publisher.publish(topics.gps_topic(device), track[2 * i: 2 * i + 2])
            if i == 20:
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
            if i == 40:
                worker = _worker(db_url, mqtt_url, client_id)
        assert wait_for(lambda: count_positions(engine) == 1 + 360, 60), count_positions(engine)
        reasons = [m["reason"] for m in listener.on(topics.INGEST_REJECTED)]
        assert any(r.startswith("[1].ts: Field required") for r in reasons), reasons
        assert "device_id: unknown device 'ghost' (no vehicle carries it)" in reasons
        assert any(r.startswith("payload: not valid UTF-8 JSON") for r in reasons)
        assert wait_for(lambda: {p["device_id"] for m in listener.on(topics.EVENTS_POSITIONS) for p in m} >= set(tracks), 10)
        publisher.close()
    finally:
        _stop(worker)
        listener.close()


def _dirty(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM ingest_dirty")).scalar_one()


@pytest.mark.slow  # the ingest worker as a process
def test_sigterm_to_the_process_group_stops_within_the_shutdown_time_losing_nothing(engine, db_url, mqtt_url,
                                                                                    client_id):
    """SIGTERM to the worker and its children (as a service manager sends it) while cars
    report: it exits within FLEET_INGEST_SHUTDOWN_S without killing a child, and what it had
    not stored is delivered again to the next worker."""
    devices = add_cars(engine, 3, prefix=client_id)
    shutdown_s = 4.0
    worker = _worker(db_url, mqtt_url, client_id, FLEET_INGEST_SHUTDOWN_S=str(shutdown_s))
    try:
        publisher = Client(mqtt_url)
        tracks = {d: drive(d, T0, 120, 5) for d in devices}
        for i in range(60):
            for device, track in tracks.items():
                publisher.publish(topics.gps_topic(device), track[2 * i: 2 * i + 2])
            if i == 30:  # once the evaluator has evaluated (it waits between rounds)
                assert wait_for(lambda: count_positions(engine) == 186 and not _dirty(engine), 60)
                signalled = time.monotonic()
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(shutdown_s + 10)
                took = time.monotonic() - signalled
        assert took < shutdown_s + 1.0, f"exited {took:.1f} s after SIGTERM: {worker.log_lines[-6:]}"
        assert worker.returncode == 0
        assert not [line for line in worker.log_lines if "child_killed" in line]  # type: ignore[attr-defined]
        assert any("ingest_stopped" in line for line in worker.log_lines)  # type: ignore[attr-defined]
        worker = _worker(db_url, mqtt_url, client_id)
        assert wait_for(lambda: count_positions(engine) == 360, 60), count_positions(engine)
        publisher.close()
    finally:
        _stop(worker)


@pytest.mark.slow  # the ingest worker as a process
@pytest.mark.skipif(not os.environ.get("FLEET_TEST_DATABASE_URL"), reason="needs PostgreSQL (FLEET_TEST_DATABASE_URL)")
def test_a_database_outage_is_retried_without_loss(engine, db_url, mqtt_url, client_id):
    if not db_url.startswith("postgresql"):
        pytest.skip("the outage is staged on PostgreSQL")
    devices = add_cars(engine, 1, prefix=client_id)
    dev = list(devices)
    database = engine.url.database
    admin = make_engine(engine.url.set(database="postgres").render_as_string(hide_password=False))
    worker = _worker(db_url, mqtt_url, client_id)
    publisher = Client(mqtt_url)
    try:
        track = drive(dev[0], T0, 100, 5)
        publisher.publish(topics.gps_topic(dev[0]), track[:10])
        assert wait_for(lambda: count_positions(engine) == 10, 30)
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": database})
        try:
            for i in range(1, 10):
                publisher.publish(topics.gps_topic(dev[0]), track[10 * i: 10 * i + 10])
            wait_for(lambda: False, 3)
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        assert wait_for(lambda: count_positions(engine) == 100, 60), count_positions(engine)
    finally:
        publisher.close()
        _stop(worker)
        admin.dispose()


@pytest.mark.slow  # the ingest worker as a process
def test_an_alert_found_by_the_evaluator_is_published(engine, db_url, mqtt_url, client_id):
    devices = add_cars(engine, 1, prefix=client_id)
    dev = list(devices)
    listener = Client(mqtt_url, subscribe=(topics.EVENTS_ALERTS,))
    worker = _worker(db_url, mqtt_url, client_id)
    publisher = Client(mqtt_url)
    try:
        # A 15-minute drive on a Monday morning with no trip request: private use.
        track = drive(dev[0], T0, 90, 10)
        for i in range(0, 90, 15):
            publisher.publish(topics.gps_topic(dev[0]), track[i: i + 15])
        parked = [fix(dev[0], T0 + timedelta(seconds=900 + 30 * i), lon=track[-1]["lon"], speed_kmh=0.0,
                      ignition=False) for i in range(20)]
        publisher.publish(topics.gps_topic(dev[0]), parked)
        stored_at = time.monotonic()
        assert wait_for(lambda: count_positions(engine) == 110, 30)

        def private_use() -> list[dict]:  # the broker is shared: other tests' alerts pass by
            return [a for a in listener.on(topics.EVENTS_ALERTS) if a["vehicle_id"] == devices[dev[0]]
                    and (a["kind"], a["started_at"]) == ("private_use.no_order", "2026-11-23T01:00:00Z")]

        assert wait_for(private_use, 30), listener.on(topics.EVENTS_ALERTS)
        latency_s = time.monotonic() - stored_at
        [alert] = private_use()
        assert alert["state"] == "open" and "trip_id" in alert["evidence"]
        assert {"id", "ended_at", "lat", "lon", "severity", "rule_version", "thresholds"} <= set(alert)
        assert latency_s < 30
    finally:
        publisher.close()
        _stop(worker)
        listener.close()


def _mosquitto(conf: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def answers() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0
    assert wait_for(answers, 10, 0.05), "mosquitto did not start"
    return process


@pytest.mark.slow  # the ingest worker as a process
@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs the mosquitto binary")
def test_a_broker_restart_loses_nothing(engine, db_url, client_id):
    """Messages queued for the worker's persistent session while it is not reading, and
    messages published after the restart before the worker is back, are all delivered."""
    add_cars(engine, 2)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="ingest-broker-"))
    folder.chmod(0o777)  # started by root, mosquitto saves its sessions as its own user
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {folder}/\nmax_queued_messages 10000\n")
    url = f"mqtt://127.0.0.1:{port}"
    broker = _mosquitto(conf, port)
    worker = _worker(db_url, url, client_id)
    try:
        tracks = {d: drive(d, T0, 90, 5) for d in ("dev-0000", "dev-0001")}
        publisher = Client(url)
        for device, track in tracks.items():
            publisher.publish(topics.gps_topic(device), track[:30])
        assert wait_for(lambda: count_positions(engine) == 60, 30)
        worker.send_signal(signal.SIGSTOP)  # not reading: the broker queues for its session
        for i in range(30, 60):
            for device, track in tracks.items():
                publisher.publish(topics.gps_topic(device), track[i])
        publisher.close()
        broker.terminate()
        broker.wait(10)
        broker = _mosquitto(conf, port)
        worker.send_signal(signal.SIGCONT)
        publisher = Client(url)
        for device, track in tracks.items():
            publisher.publish(topics.gps_topic(device), track[60:])
        publisher.close()
        assert wait_for(lambda: count_positions(engine) == 180, 60), count_positions(engine)
    finally:
        worker.send_signal(signal.SIGCONT)
        _stop(worker)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow  # the ingest worker as a process
@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs the mosquitto binary")
def test_two_worker_processes_share_the_load(engine, db_url, client_id, tmp_path):
    """FLEET_INGEST_PROCESSES=2: the broker splits the messages between two sessions; each
    process stores its share (its own /metrics says how many) and nothing is lost."""
    add_cars(engine, 3)
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\n")
    broker = _mosquitto(conf, port)
    url = f"mqtt://127.0.0.1:{port}"
    metrics_port = free_port()
    worker = _worker(db_url, url, client_id, FLEET_INGEST_PROCESSES="2", FLEET_MQTT_SHARE_GROUP="ingest",
                     FLEET_INGEST_METRICS_PORT=str(metrics_port))  # the helper's on metrics_port + 1
    try:
        assert wait_for(lambda: _stored_metric(metrics_port + 1) is not None, 30), "the helper did not start"
        time.sleep(1)  # its SUBSCRIBE is on the wire
        publisher = Client(url)
        tracks = {d: drive(d, T0, 60, 5) for d in ("dev-0000", "dev-0001", "dev-0002")}
        for i in range(60):
            for device, track in tracks.items():
                publisher.publish(topics.gps_topic(device), track[i])
        publisher.close()
        assert wait_for(lambda: count_positions(engine) == 180, 60), count_positions(engine)
        shares = [_stored_metric(metrics_port), _stored_metric(metrics_port + 1)]
        assert sum(shares) == 180 and min(shares) > 0, shares
    finally:
        _stop(worker)
        broker.terminate()
        broker.wait(10)


def _stored_metric(port: int) -> float | None:
    """fleet_ingest_positions_stored_total of the worker serving /metrics on ``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text_ = response.read().decode()
    except OSError:
        return None
    return next(float(line.split()[1]) for line in text_.splitlines()
                if line.startswith("fleet_ingest_positions_stored_total "))


def test_several_processes_need_a_share_group(engine):
    from fleet.settings import IngestSettings, MqttSettings, Settings
    from telematics.ingest.worker import IngestWorker

    with pytest.raises(ValueError, match="FLEET_INGEST_PROCESSES: more than one worker process needs FLEET_MQTT_SHARE_GROUP"):
        IngestWorker(Settings(ingest=IngestSettings(processes=2), mqtt=MqttSettings(share_group="")), engine)
