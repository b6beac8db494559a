"""Ingest benchmark: end-to-end positions/s through a real broker into the database (the
`fleet ingest` worker with its alert evaluator on), beside the raw paho receive rate measured
in the same run on the same broker; prints JSON.

Runs a private Mosquitto (simulations/ingest_mosquitto.conf: queues sized for the burst) on a
free port and a fresh database (SQLite in a temporary folder, or --database-url, which must
name an empty database). Phases: raw paho receive rate of the single-point messages; the same
messages through the worker; 100-point array messages; a 10x burst of single-point messages
(counting losses); the evaluation backlog left behind (how long the evaluator takes to catch
up); a memory soak. Each burst is published while the worker is paused (SIGSTOP), then timed
from SIGCONT until every position is in the database.

    python -m simulations.bench_ingest                  # a few minutes
    python -m simulations.bench_ingest --full           # 20,000 messages, 1,000 arrays, 10-minute soak
    python -m simulations.bench_ingest --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet import topics
from fleet.broker import BrokerClient, parse_broker_url
from fleet.db import make_engine, upgrade
from fleet.models import Alert, Organisation, Position, Trip, Vehicle
from fleet.models.device import IngestDirtyWindow
from simulations import mosquitto

#: First fix: 01:00 UTC (09:00 in Lianyungang) two days ago, so that even the soak's last fixes
#: (a fix every 10 s per car, 8,000 per car at most) are not refused as future times.
T0 = datetime.now(UTC).replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(days=2)
TARGETS = {"single_vs_raw": 0.8, "arrays_positions_per_s": 50_000, "burst_lost": 0}
#: Longest wait for one phase to reach the database, seconds.
PHASE_LIMIT_S = 600
EVALUATION_INTERVAL_S = 2.0
PUBLISH_CHUNK = 50_000
#: Longest wait for the worker processes to start and subscribe, seconds.
CONNECT_LIMIT_S = 120


def _add_cars(engine: Engine, count: int) -> list[str]:
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
    return [f"dev-{i:04d}" for i in range(count)]


def _point(device: str, k: int) -> dict[str, Any]:
    """The k-th fix of a car driving east at 45 km/h, one fix every 10 s."""
    ts = T0 + timedelta(seconds=10 * k)
    return {"device_id": device, "ts": ts.isoformat(), "lat": 34.6, "lon": 119.2 + k * 0.00012,
            "speed_kmh": 45.0, "heading_deg": 90.0, "ignition": True}


def _messages(devices: list[str], count: int, per_message: int, start_k: int) -> list[tuple[str, bytes]]:
    """``count`` messages round-robin over the cars, each car's fixes in event-time order."""
    out = []
    for m in range(count):
        device = devices[m % len(devices)]
        k = start_k + (m // len(devices)) * per_message
        body = [_point(device, k + j) for j in range(per_message)] if per_message > 1 else _point(device, k)
        out.append((topics.gps_topic(device), json.dumps(body).encode()))
    return out


def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and wait until the broker has every message."""
    client = BrokerClient(parse_broker_url(url), name="bench-publisher", max_inflight=1000).connect(10)
    # Message ids are 16 bits: never more than 65,535 messages outstanding.
    for first in range(0, len(messages), PUBLISH_CHUNK):
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages[first: first + PUBLISH_CHUNK]]
        for info in infos:
            info.wait_for_publish(PHASE_LIMIT_S)
    client.close()


def raw_receive_rate(url: str, messages: list[tuple[str, bytes]]) -> float:
    """Messages/s a plain paho QoS 1 subscriber (persistent session, auto-ack) receives from
    the burst queued for it while it was not reading."""
    got = [0]
    done = threading.Event()

    def on_message(_message: Any) -> None:
        got[0] += 1
        if got[0] == len(messages):
            done.set()

    address = parse_broker_url(url)
    client = BrokerClient(address, name="bench-raw", client_id="bench-raw", persistent=True, on_message=on_message)
    client.subscribe(topics.GPS_WILDCARD, 1)
    client.connect(10)
    time.sleep(0.5)
    client.close()  # away: the broker queues the burst for the session
    _publish(url, messages)
    started = time.perf_counter()
    client.start()
    done.wait(PHASE_LIMIT_S)
    elapsed = time.perf_counter() - started
    client.close()
    # Unsubscribe for good so that the later phases are not queued for it.
    BrokerClient(address, name="bench-raw", client_id="bench-raw").connect(10).close()
    return got[0] / elapsed


def _count(engine: Engine, model: Any = Position) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _dirty_vehicles(engine: Engine) -> int:
    """Vehicles with stored positions awaiting evaluation."""
    with Session(engine) as session:
        return session.execute(select(func.count(func.distinct(IngestDirtyWindow.vehicle_id)))).scalar_one()


class Worker:
    """``fleet ingest`` as a process; its children are the evaluator and the helper workers."""

    def __init__(self, db_url: str, mqtt_url: str, processes: int) -> None:
        env = {**os.environ, "FLEET_DATABASE_URL": db_url, "FLEET_MQTT_URL": mqtt_url, "FLEET_INGEST_METRICS_PORT": "0",
               "FLEET_INGEST_CLIENT_ID": "bench-ingest", "FLEET_INGEST_BATCH_SIZE": "5000",
               "FLEET_INGEST_EVALUATION_INTERVAL_S": str(EVALUATION_INTERVAL_S),
               "FLEET_INGEST_PROCESSES": str(processes), "FLEET_MQTT_SHARE_GROUP": "bench" if processes > 1 else ""}
        env["FLEET_LOG_LEVEL"] = "INFO"  # its connect lines say when every worker has subscribed
        self.process = subprocess.Popen([sys.executable, "-c", "from fleet.cli import main; main()", "ingest"], env=env,
                                        stderr=subprocess.PIPE, text=True)
        connected = threading.Semaphore(0)

        def relay() -> None:  # count the workers' connects; pass warnings and errors on
            for line in self.process.stderr or ():
                if "mqtt_connected" in line:
                    connected.release()
                elif "[info" not in line and "[debug" not in line:
                    sys.stderr.write(line)

        threading.Thread(target=relay, name="worker-log", daemon=True).start()
        for _ in range(processes):
            if not connected.acquire(timeout=CONNECT_LIMIT_S):
                raise RuntimeError(f"the ingest worker did not connect within {CONNECT_LIMIT_S} s")
        time.sleep(0.5)  # the SUBSCRIBE is on the wire

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def signal_all(self, signum: int) -> None:
        """Send ``signum`` to the worker and its children."""
        for pid in [self.process.pid, *self.children()]:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of the worker and of its children (evaluator, helpers), MB."""
        return {"worker": _rss_mb(self.process.pid), "children": sum(_rss_mb(pid) for pid in self.children())}

    def stop(self) -> None:
        self.signal_all(signal.SIGCONT)
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def _rss_mb(pid: int) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0.0)


def end_to_end(engine: Engine, url: str, worker: Worker, messages: list[tuple[str, bytes]], expected: int) -> dict[str, Any]:
    """Publish the burst while the worker processes are paused (SIGSTOP), then time how fast
    they drain it into the database."""
    before = _count(engine)
    worker.signal_all(signal.SIGSTOP)
    _publish(url, messages)
    started = time.perf_counter()
    worker.signal_all(signal.SIGCONT)
    deadline = started + PHASE_LIMIT_S
    while _count(engine) < before + expected and time.perf_counter() < deadline:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stored = _count(engine) - before
    return {"messages": len(messages), "positions": stored, "lost": expected - stored, "seconds": round(elapsed, 2),
            "positions_per_s": round(stored / elapsed), "messages_per_s": round(len(messages) * stored / expected / elapsed)}


def evaluation_backlog(engine: Engine) -> dict[str, Any]:
    """How many vehicles still await evaluation when ingest is done, and how long the
    evaluator takes to catch up."""
    pending = _dirty_vehicles(engine)
    started = time.perf_counter()
    while _dirty_vehicles(engine) and time.perf_counter() - started < PHASE_LIMIT_S:
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    return {"pending_vehicles": pending, "catch_up_s": round(elapsed, 1), "left": _dirty_vehicles(engine),
            "trips": _count(engine, Trip), "alerts": _count(engine, Alert), "interval_s": EVALUATION_INTERVAL_S}


def soak_run(engine: Engine, url: str, worker: Worker, devices: list[str], seconds: float) -> dict[str, Any]:
    """Publish a steady stream (10 fixes per car per second, each car in one message) and
    sample the memory of the worker and its children."""
    samples: list[dict[str, float]] = []
    k = 2_000
    stored_before = _count(engine)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        _publish(url, _messages(devices, len(devices), 10, k))
        k += 10
        samples.append(worker.rss_mb())
        time.sleep(1)
    half = max(1, len(samples) // 2)

    def peak(part: list[dict[str, float]], name: str) -> float:
        return round(max((s.get(name, 0.0) for s in part), default=0.0), 1)

    return {
        "seconds": round(time.perf_counter() - started), "positions": _count(engine) - stored_before,
        **{f"{name}_rss_mb_{label}_max": peak(part, name) for name in ("worker", "children")
           for label, part in (("first_half", samples[:half]), ("second_half", samples[half:] or samples))},
        "worker_rss_mb_samples": [round(s["worker"], 1) for s in samples[:: max(1, len(samples) // 10)]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="single-point messages (the burst is 10x)")
    parser.add_argument("--arrays", type=int, default=500, help="100-point array messages")
    parser.add_argument("--cars", type=int, default=600)
    parser.add_argument("--processes", type=int, default=2, help="FLEET_INGEST_PROCESSES (a shared subscription)")
    parser.add_argument("--soak-s", type=float, default=20, help="memory soak length, seconds")
    parser.add_argument("--full", action="store_true", help="20,000 messages, 1,000 arrays and a 600 s soak")
    parser.add_argument("--database-url", default=None, help="empty database to use; default a temporary SQLite file")
    args = parser.parse_args()
    if args.full:
        args.messages, args.arrays, args.soak_s = 20_000, 1_000, 600
    if not mosquitto.available():
        raise SystemExit("the benchmark needs the mosquitto binary")
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    db_url = args.database_url or f"sqlite:///{folder / 'fleet.db'}"
    load_before = os.getloadavg()
    with mosquitto.private_mosquitto(folder) as url:
        upgrade(db_url)
        engine = make_engine(db_url)
        devices = _add_cars(engine, args.cars)
        singles = _messages(devices, args.messages, 1, 0)
        raw = raw_receive_rate(url, singles)
        worker = Worker(db_url, url, args.processes)
        try:
            # Warm-up (device map, newest stored fixes, first connections), not measured.
            end_to_end(engine, url, worker, _messages(devices, 2 * len(devices), 1, 90), 2 * len(devices))
            single = end_to_end(engine, url, worker, singles, args.messages)
            arrays = end_to_end(engine, url, worker, _messages(devices, args.arrays, 100, 100), args.arrays * 100)
            burst = end_to_end(engine, url, worker, _messages(devices, 10 * args.messages, 1, 1_000), 10 * args.messages)
            evaluation = evaluation_backlog(engine)
            soak = soak_run(engine, url, worker, devices, args.soak_s)
        finally:
            worker.stop()
        result = {
            "database": engine.url.get_backend_name(), "cars": args.cars, "ingest_processes": args.processes,
            "load_average_1m": {"before": round(load_before[0], 2), "after": round(os.getloadavg()[0], 2)},
            "raw_paho_receive_msgs_per_s": round(raw),
            "single_point": single, "single_vs_raw": round(single["messages_per_s"] / raw, 2),
            "arrays_100": arrays, "burst_10x": burst, "evaluation": evaluation, "soak": soak,
            "targets": TARGETS,
        }
        engine.dispose()
        print(json.dumps(result, indent=2))
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
