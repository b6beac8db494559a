"""Ingest benchmark: end-to-end positions/s through a real broker into the database (the
`fleet ingest` worker with alert evaluation on), beside the raw paho receive rate measured in
the same run on the same broker; prints JSON.

Runs a private Mosquitto (simulations/ingest_mosquitto.conf: queues sized for the burst) on a
free port and a fresh database (SQLite in a temporary folder, or --database-url).

    python -m simulations.bench_ingest [--messages 20000] [--soak-s 20] [--database-url URL]
    python -m simulations.bench_ingest --soak-s 600      # the 10-minute memory soak
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import func, select
from sqlmodel import Session

from fleet import topics
from fleet.db import make_engine, upgrade
from fleet.models import Organisation, Position, Vehicle

CONF = Path(__file__).with_name("ingest_mosquitto.conf")
T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_mosquitto(folder: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(CONF.read_text() + f"\nlistener {port} 127.0.0.1\npersistence false\n")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"mqtt://127.0.0.1:{port}"
        time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def _add_cars(url: str, count: int) -> list[str]:
    engine = make_engine(url)
    with Session(engine) as session:
        city = Organisation(name="连云港市", code="320700", level="city")
        session.add(city)
        session.flush()
        city.path = f"/{city.id}/"
        for i in range(count):
            session.add(Vehicle(plate=f"苏G{i:05d}", vin=f"LSVAA4180E{i:07d}", org_id=city.id, vehicle_class="sedan",
                                seats=5, energy="petrol", emission_standard="china6", purchase_date=datetime(2020, 5, 1).date(),
                                purchase_price_cny=150000, gps_device_id=f"dev-{i:04d}"))
        session.commit()
    engine.dispose()
    return [f"dev-{i:04d}" for i in range(count)]


def _point(device: str, k: int) -> dict[str, Any]:
    ts = T0 + timedelta(seconds=10 * k)
    return {"device_id": device, "ts": ts.isoformat(), "lat": 34.6, "lon": 119.2 + k * 0.00012,
            "speed_kmh": 45.0, "heading_deg": 90.0, "ignition": True}


def _messages(devices: list[str], count: int, per_message: int, start_k: int) -> list[tuple[str, bytes]]:
    out = []
    for m in range(count):
        device = devices[m % len(devices)]
        k = start_k + (m // len(devices)) * per_message
        out.append((topics.gps_topic(device), json.dumps([_point(device, k + j) for j in range(per_message)]
                                                         if per_message > 1 else _point(device, k)).encode()))
    return out


def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    port = int(url.rsplit(":", 1)[1])
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def raw_receive_rate(url: str, messages: list[tuple[str, bytes]]) -> float:
    """Messages/s a plain paho QoS 1 subscriber receives (auto-ack), publishing all first."""
    port = int(url.rsplit(":", 1)[1])
    got = [0]
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw", clean_session=False)
    first: list[float] = []

    def on_message(*_: Any) -> None:
        if not first:
            first.append(time.perf_counter())
        got[0] += 1
        if got[0] == len(messages):
            done.set()

    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(topics.GPS_WILDCARD, qos=1)
    client.loop_start()
    time.sleep(0.5)
    client.loop_stop()  # not reading: the broker queues the burst
    _publish(url, messages)
    started = time.perf_counter()
    client.loop_start()
    done.wait(300)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return got[0] / elapsed


def _count(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(Position)).scalar_one()


class Worker:
    def __init__(self, db_url: str, mqtt_url: str) -> None:
        env = {**os.environ, "FLEET_DATABASE_URL": db_url, "FLEET_MQTT_URL": mqtt_url, "FLEET_INGEST_METRICS_PORT": "0",
               "FLEET_INGEST_CLIENT_ID": "bench-ingest", "FLEET_INGEST_BATCH_SIZE": "5000", "FLEET_LOG_LEVEL": "WARNING"}
        self.process = subprocess.Popen([sys.executable, "-c", "from fleet.cli import main; main()", "ingest"], env=env)
        time.sleep(3)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


def end_to_end(engine, url: str, worker: Worker, messages: list[tuple[str, bytes]], expected: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Publish the burst while the worker stops reading (SIGSTOP), then time how fast it
    drains into the database."""
    before = _count(engine)
    os.kill(worker.process.pid, signal.SIGSTOP)
    _publish(url, messages)
    started = time.perf_counter()
    os.kill(worker.process.pid, signal.SIGCONT)
    deadline = started + 600
    while _count(engine) < before + expected and time.perf_counter() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stored = _count(engine) - before
    return {"positions": stored, "lost": expected - stored, "seconds": round(elapsed, 2),
            "positions_per_s": round(stored / elapsed), "messages_per_s": round(len(messages) * stored / expected / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000, help="single-point messages per run")
    parser.add_argument("--arrays", type=int, default=1000, help="100-point array messages")
    parser.add_argument("--cars", type=int, default=600)
    parser.add_argument("--soak-s", type=float, default=20, help="memory soak length, seconds (600 for the full soak)")
    parser.add_argument("--database-url", default=None, help="empty database to use; default a temporary SQLite file")
    args = parser.parse_args()
    if shutil.which("mosquitto") is None:
        raise SystemExit("the benchmark needs the mosquitto binary")
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    broker, url = _start_mosquitto(folder)
    db_url = args.database_url or f"sqlite:///{folder / 'fleet.db'}"
    try:
        upgrade(db_url)
        devices = _add_cars(db_url, args.cars)
        engine = make_engine(db_url)
        singles = _messages(devices, args.messages, 1, 0)
        raw = raw_receive_rate(url, singles)
        worker = Worker(db_url, url)
        try:
            single = end_to_end(engine, url, worker, singles, args.messages)
            arrays = end_to_end(engine, url, worker, _messages(devices, args.arrays, 100, 10_000), args.arrays * 100)
            burst = end_to_end(engine, url, worker, _messages(devices, 10 * args.messages, 1, 1_000_000), 10 * args.messages)
            soak = soak_run(engine, url, worker, devices, args.soak_s)
        finally:
            worker.stop()
        result = {
            "database": engine.url.get_backend_name(), "cars": args.cars,
            "raw_paho_receive_msgs_per_s": round(raw),
            "single_point": single, "single_vs_raw": round(single["messages_per_s"] / raw, 2),
            "arrays_100": arrays, "burst_10x": burst, "soak": soak,
            "targets": {"single_vs_raw": 0.8, "arrays_positions_per_s": 50_000, "burst_lost": 0},
        }
        engine.dispose()
        print(json.dumps(result, indent=2))
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def soak_run(engine, url: str, worker: Worker, devices: list[str], seconds: float) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Publish a steady stream (~1 fix per car per 10 s sped up) and sample the worker's RSS."""
    samples = []
    k = 2_000_000
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        _publish(url, _messages(devices, len(devices), 10, k))
        k += 10
        samples.append(round(worker.rss_mb(), 1))
        time.sleep(1)
    half = max(1, len(samples) // 2)
    return {"seconds": round(time.perf_counter() - started), "rss_mb_first_half_max": max(samples[:half]),
            "rss_mb_second_half_max": max(samples[half:] or samples), "rss_mb_samples": samples[:: max(1, len(samples) // 10)]}


if __name__ == "__main__":
    main()
