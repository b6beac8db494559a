"""API latency benchmark: 10,000 vehicles and 100,000 trip requests behind a real server.

Seeds the synthetic Lianyungang fleet, tops it up with bulk inserts, starts `fleet serve` in
a subprocess and times list (50-item pages) and get endpoints over HTTP, one request at a
time. Prints JSON with p50/p95 latency per endpoint, in milliseconds.

    python -m simulations.bench_api [--vehicles 10000] [--requests 100000] [--samples 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from fleet.db import make_engine
from fleet.models import Organisation, OrgLevel, TripRequest, User, Vehicle
from fleet.seed import seed_database

PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
TARGET_P95_MS = 50.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _plate(index: int) -> str:
    chars = []
    for _ in range(5):
        index, digit = divmod(index, len(PLATE_CHARS))
        chars.append(PLATE_CHARS[digit])
    return "苏H" + "".join(chars)


def _vin(index: int) -> str:
    return f"LBENCH{index:011d}"


def populate(url: str, vehicles: int, requests: int, rng: random.Random) -> dict[str, int]:
    """Seed the fleet, then bulk-insert vehicles and trip requests up to the given counts."""
    seed_database(url, seed=2021)
    engine = make_engine(url)
    with engine.begin() as conn:
        orgs = conn.execute(select(Organisation.id, Organisation.level)).all()
        agencies = [o.id for o in orgs if o.level == OrgLevel.agency]
        all_orgs = [o.id for o in orgs]
        requester = conn.execute(select(User.id).where(User.username == "requester")).scalar_one()
        existing = conn.execute(select(Vehicle.id)).all()
        now = datetime.now(timezone.utc)
        rows = []
        for i in range(vehicles - len(existing)):
            rows.append(dict(plate=_plate(i), vin=_vin(i), org_id=rng.choice(all_orgs), vehicle_class="sedan",
                             seats=5, energy="petrol", emission_standard="china6",
                             purchase_date=date(2020, 1, 1), purchase_price_cny=150000, odometer_km=50000,
                             status="available", ownership="pool", created_at=now, updated_at=now))
        if rows:
            conn.execute(insert(Vehicle), rows)
        day0 = datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)
        batch = []
        states = ["draft", "submitted", "approved", "planned", "assigned", "completed"]
        for i in range(requests):
            start = day0 + timedelta(minutes=37 * i)
            batch.append(dict(agency_id=rng.choice(agencies), requester_id=requester, purpose="公务出行",
                              passengers=rng.randint(1, 4), nev_required=False, origin_lat=34.6,
                              origin_lon=119.2, origin_address="", destination_lat=34.7, destination_lon=119.3,
                              destination_address="", pickup_earliest=start,
                              pickup_latest=start + timedelta(minutes=30), wait_and_return=False, priority=0,
                              state=rng.choice(states), created_at=now, updated_at=now))
            if len(batch) == 10_000:
                conn.execute(insert(TripRequest), batch)
                batch = []
        if batch:
            conn.execute(insert(TripRequest), batch)
        counts = {
            "vehicles": len(conn.execute(select(Vehicle.id)).all()),
            "trip_requests": len(conn.execute(select(TripRequest.id)).all()),
        }
    engine.dispose()
    return counts


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    quantiles = statistics.quantiles(samples_ms, n=100)
    return {"p50_ms": round(statistics.median(samples_ms), 2), "p95_ms": round(quantiles[94], 2),
            "n": len(samples_ms)}


def measure(base: str, samples: int, counts: dict[str, int], rng: random.Random) -> dict[str, dict[str, float]]:
    """Time each endpoint ``samples`` times, one request at a time."""
    results: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        tokens = {}
        for user in ("admin", "requester"):
            r = client.post("/api/v1/auth/token", data={"username": user, "password": f"{user}-demo-2021"})
            r.raise_for_status()
            tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        v, t = counts["vehicles"], counts["trip_requests"]
        cases = {
            "GET /vehicles (pages in the first 1,000)": ("admin", lambda: ("/api/v1/vehicles", {"limit": 50, "offset": rng.randrange(0, 1000)})),
            "GET /vehicles (any page)": ("admin", lambda: ("/api/v1/vehicles", {"limit": 50, "offset": rng.randrange(0, v - 50)})),
            "GET /vehicles?energy=petrol": ("admin", lambda: ("/api/v1/vehicles", {"limit": 50, "energy": "petrol"})),
            "GET /vehicles/{id}": ("admin", lambda: (f"/api/v1/vehicles/{rng.randrange(1, v)}", {})),
            "GET /trip-requests (pages in the first 1,000)": ("admin", lambda: ("/api/v1/trip-requests", {"limit": 50, "offset": rng.randrange(0, 1000)})),
            "GET /trip-requests (any page)": ("admin", lambda: ("/api/v1/trip-requests", {"limit": 50, "offset": rng.randrange(0, t - 50)})),
            "GET /trip-requests?state=approved": ("admin", lambda: ("/api/v1/trip-requests", {"limit": 50, "state": "approved"})),
            "GET /trip-requests (requester's agency)": ("requester", lambda: ("/api/v1/trip-requests", {"limit": 50})),
            "GET /trip-requests/{id}": ("admin", lambda: (f"/api/v1/trip-requests/{rng.randrange(1, t)}", {})),
        }
        for name, (user, make) in cases.items():
            for _ in range(10):  # warm-up
                path, params = make()
                client.get(path, params=params, headers=tokens[user])
            timings = []
            for _ in range(samples):
                path, params = make()
                started = time.perf_counter()
                r = client.get(path, params=params, headers=tokens[user])
                timings.append((time.perf_counter() - started) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {r.status_code} {r.text[:200]}")
            results[name] = _percentiles(timings)
            print(f"{name}: {results[name]}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=300, help="Timed requests per endpoint.")
    parser.add_argument("--database-url", help="Benchmark this (empty) database instead of a temporary SQLite file.")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        counts = populate(url, args.vehicles, args.requests, rng)
        seed_s = time.perf_counter() - started
        port = _free_port()
        env = os.environ | {"FLEET_DATABASE_URL": url, "FLEET_DATA_DIR": tmp, "FLEET_WEB_PORT": str(port),
                            "FLEET_MQTT_EMBEDDED_PORT": str(_free_port()), "FLEET_LOG_LEVEL": "WARNING"}
        env.pop("FLEET_MQTT_URL", None)
        server = subprocess.Popen([sys.executable, "-c", "from fleet.cli import main; main()", "serve"], env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(base + "/livez", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            results = measure(base, args.samples, counts, rng)
        finally:
            server.terminate()
            server.wait(timeout=20)
    worst = max(r["p95_ms"] for r in results.values())
    print(json.dumps({
        "database": url.split(":")[0], "counts": counts, "seed_s": round(seed_s, 1),
        "target_p95_ms": TARGET_P95_MS, "worst_p95_ms": worst, "meets_target": worst <= TARGET_P95_MS,
        "endpoints": results,
    }, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
