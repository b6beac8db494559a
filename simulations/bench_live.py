"""Benchmark of the live console: websocket fan-out lag and the time to draw 2,000 cars.

``python -m simulations.bench_live [--clients 50] [--rate 1000] [--duration 10] [--cars 2000]``

It builds a throw-away SQLite fleet of ``--cars`` cars (one position each), starts the web app
with uvicorn in a subprocess, connects ``--clients`` websocket clients as a dispatcher, and
publishes ``--rate`` position updates per second on ``fleet/v1/events/positions`` (arrays of
100, as the ingest worker publishes them) for ``--duration`` seconds. Every update carries its
publish time as ``ts``; the lag is client receipt minus that time. Then headless Chromium
opens the console and the time until all cars are drawn on the map is taken.

Targets: lag p95 <= 1 s; console shows 2,000 cars in <= 2 s. Prints one JSON object.
The broker is FLEET_MQTT_URL, else a Mosquitto on 127.0.0.1:1883, else an embedded one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import insert

from fleet import topics
from fleet.broker import EmbeddedBroker, broker_answers, broker_client
from fleet.db import make_engine, upgrade
from fleet.models import Organisation, Position, User, Vehicle
from fleet.security import hash_password
from fleet.settings import MqttSettings, Settings

CHROMIUM = "/usr/bin/chromium"
#: The web app's secret key; the publisher signs its events with the key derived from it.
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijkl"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
PASSWORD = "bench-password-2021"
BATCH = 100
CENTRE = (34.6, 119.22)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_fleet(url: str, cars: int) -> None:
    """One city, a dispatcher, ``cars`` pool cars around Lianyungang with one position each."""
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        org_id = conn.execute(insert(Organisation).values(name="连云港市", code="320700", level="city", path="",
                                                          created_at=now)).inserted_primary_key[0]
        conn.execute(Organisation.__table__.update().values(path=f"/{org_id}/"))
        conn.execute(insert(User).values(username="dispatcher", full_name="bench", role="dispatcher", org_id=org_id,
                                         password_hash=hash_password(PASSWORD), is_active=True, created_at=now))
        conn.execute(insert(Vehicle), [
            {"plate": f"苏G{i:05d}", "vin": f"LSVAA4180E{i:07d}", "org_id": org_id, "vehicle_class": "sedan",
             "seats": 5, "energy": "petrol", "emission_standard": "china6", "purchase_date": date(2020, 1, 1),
             "purchase_price_cny": 150000, "odometer_km": 1000, "status": "available", "ownership": "pool",
             "gps_device_id": f"bench-{i}", "created_at": now, "updated_at": now}
            for i in range(1, cars + 1)])
        conn.execute(insert(Position), [
            {"vehicle_id": i, "ts": now, "lat": CENTRE[0] + ((i * 37) % 200 - 100) / 500,
             "lon": CENTRE[1] + ((i * 53) % 200 - 100) / 400, "speed_kmh": (i % 3) * 20.0, "heading_deg": 0.0,
             "ignition": i % 2 == 0, "source": "gps", "received_at": now}
            for i in range(1, cars + 1)])
    engine.dispose()


class Server:
    """The web app under uvicorn in a subprocess."""

    def __init__(self, database_url: str, mqtt_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, FLEET_DATABASE_URL=database_url, FLEET_MQTT_URL=mqtt_url,
                   FLEET_DATA_DIR=str(data_dir), FLEET_SECRET_KEY=SECRET_KEY,
                   FLEET_LOG_LEVEL="WARNING")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "web.app:create_app", "--factory", "--port", str(self.port),
             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the web app did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Publisher:
    """Publishes ``rate`` positions per second in arrays of ``BATCH`` for ``duration_s``."""

    def __init__(self, mqtt_url: str, cars: int, run_id: str) -> None:
        self.cars = cars
        settings = Settings(mqtt=MqttSettings(url=mqtt_url), secret_key=SECRET_KEY)
        self.client = broker_client(settings, "simulation").connect(10)
        self.published = 0
        self.run_id = run_id

    def run(self, rate: int, duration_s: float) -> None:
        interval_s = BATCH / rate
        next_car = 0
        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < duration_s:
            now = datetime.now(UTC).isoformat()
            items = []
            for _ in range(BATCH):
                vehicle_id = next_car % self.cars + 1
                next_car += 1
                items.append({"vehicle_id": vehicle_id, "device_id": f"bench-{vehicle_id}", "plate": self.run_id,
                              "ts": now, "lat": CENTRE[0] + (tick % 100) / 10000, "lon": CENTRE[1],
                              "speed_kmh": 30.0, "heading_deg": 90.0, "ignition": True, "source": "gps"})
            self.client.publish(topics.EVENTS_POSITIONS, json.dumps(items), qos=0)
            self.published += len(items)
            tick += 1
            time.sleep(max(0.0, start + tick * interval_s - time.monotonic()))

    def close(self) -> None:
        self.client.close()


async def _client(url: str, token: str, lags: list[float], ready: asyncio.Event, stop: asyncio.Event,
                  counts: list[int], run_id: str) -> None:
    async with websockets.connect(f"{url}/ws", max_size=2**24) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "status" and message.get("live"):
                counts[0] += 1
                if counts[0] == counts[1]:
                    ready.set()
                break
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            received = time.time()
            message = json.loads(raw)
            if message.get("type") == "positions":
                for item in message["items"]:
                    if item.get("plate") != run_id:
                        continue  # another publisher on a shared broker
                    lags.append(received - datetime.fromisoformat(item["ts"]).timestamp())


async def measure_lag(server: Server, mqtt_url: str, token: str, clients: int, rate: int, duration_s: float,
                      cars: int) -> dict[str, Any]:
    lags: list[float] = []
    ready, stop = asyncio.Event(), asyncio.Event()
    counts = [0, clients]
    url = server.url.replace("http://", "ws://")
    run_id = f"bench-{os.getpid()}-{time.time_ns()}"
    tasks = [asyncio.create_task(_client(url, token, lags, ready, stop, counts, run_id)) for _ in range(clients)]
    await asyncio.wait_for(ready.wait(), 30)
    publisher = Publisher(mqtt_url, cars, run_id)
    thread = threading.Thread(target=publisher.run, args=(rate, duration_s))
    thread.start()
    while thread.is_alive():
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)  # let the last updates arrive
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    publisher.close()
    ordered = sorted(lags)

    def pct(p: float) -> float | None:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else None

    return {"published": publisher.published, "received_items": len(lags),
            "delivery_ratio": round(len(lags) / max(1, publisher.published * clients), 3),
            "lag_ms": {"p50": pct(0.50), "p95": pct(0.95), "max": pct(1.0),
                       "mean": round(1000 * statistics.fmean(ordered), 1) if ordered else None}}


def measure_console(server: Server, cars: int, runs: int = 3) -> dict[str, Any]:
    """Seconds from opening the console to all ``cars`` drawn, best and median of ``runs``."""
    if not Path(CHROMIUM).exists():
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    from playwright.sync_api import sync_playwright

    login = httpx.post(f"{server.url}/api/v1/auth/login", data={"username": "dispatcher", "password": PASSWORD})
    cookie = {"name": "fleet_session", "value": login.cookies["fleet_session"], "url": server.url}
    times: list[float] = []
    timings: list[dict[str, int]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies([cookie])
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{server.url}/")
            page.wait_for_selector(f"#map[data-cars-drawn='{cars}']", timeout=60_000)
            times.append(time.perf_counter() - started)
            timings.append(page.evaluate(
                "Object.fromEntries(performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
                ".map(e => [new URL(e.name).pathname, Math.round(e.responseEnd)]))"))
            context.close()
        browser.close()
    return {"best_s": round(min(times), 3), "median_s": round(statistics.median(times), 3),
            "api_done_ms_last_run": timings[-1]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=int, default=1000, help="position updates per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of publishing")
    parser.add_argument("--cars", type=int, default=2000)
    args = parser.parse_args(argv)

    broker = None
    mqtt_url = os.environ.get("FLEET_MQTT_URL") or ""
    if not mqtt_url:
        if broker_answers("mqtt://127.0.0.1:1883", 1.0):
            mqtt_url = "mqtt://127.0.0.1:1883"
        else:
            broker = EmbeddedBroker("127.0.0.1", _free_port())
            broker.start()
            mqtt_url = broker.url
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/bench.db"
        build_fleet(database_url, args.cars)
        server = Server(database_url, mqtt_url, Path(tmp))
        try:
            console = measure_console(server, args.cars)
            token = httpx.post(f"{server.url}/api/v1/auth/token",
                               data={"username": "dispatcher", "password": PASSWORD}).json()["access_token"]
            lag = asyncio.run(measure_lag(server, mqtt_url, token, args.clients, args.rate, args.duration, args.cars))
        finally:
            server.stop()
            if broker is not None:
                broker.stop()
    p95 = lag["lag_ms"]["p95"]
    result = {
        "benchmark": "live", "clients": args.clients, "rate_per_s": args.rate, "duration_s": args.duration,
        "cars": args.cars, "broker": mqtt_url, **lag, "console_cars_drawn": console,
        "targets": {"lag_p95_ms": 1000, "console_s": 2.0},
        "met": {"lag_p95": p95 is not None and p95 <= 1000,
                "console": "median_s" in console and console["median_s"] <= 2.0},
    }
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
