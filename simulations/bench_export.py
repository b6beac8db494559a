"""Benchmark of the inspector export: 1,000,000 GPS positions and 10,000 alerts (5 % of them
confirmed violations with a PDF map each) exported as one bundle in every format.

Seeds a temporary SQLite file with fast bulk inserts, then runs the export in a fresh process
so that its peak memory (ru_maxrss) is the export's own. Prints JSON; targets: <= 30 s and
<= 500 MB peak memory. ``export_s`` is wall-clock time and ``export_cpu_s`` the process's CPU
time: on a busy machine (see ``load_average_1min``) the two differ a lot.

    python -m simulations.bench_export [--positions N] [--alerts N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from fleet.db import make_engine, upgrade

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
VEHICLES = 200
FIX_INTERVAL_S = 10
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _t(moment: datetime) -> str:
    """A UTC time as the platform stores it in SQLite."""
    return moment.astimezone(UTC).strftime(SQLITE_TIME)


def seed(url: str, positions: int, alerts: int, rng: random.Random) -> dict[str, float]:
    """Bulk-insert organisations, cars, positions, trips, leased assignments and alerts."""
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    raw = engine.raw_connection()
    cur = raw.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    now = _t(datetime.now(UTC))
    cur.execute("INSERT INTO organisation (id, name, code, level, parent_id, path, created_at) "
                "VALUES (1, '连云港市', '320700', 'city', NULL, '/1/', ?)", (now,))
    cur.executemany("INSERT INTO organisation (id, name, code, level, parent_id, path, created_at) "
                    "VALUES (?, ?, ?, 'agency', 1, ?, ?)",
                    [(i, f"机关{i}", f"320700-{i:03d}", f"/1/{i}/", now) for i in range(2, 22)])
    cur.execute("INSERT INTO user (id, username, full_name, role, org_id, is_active, password_hash, created_at) "
                "VALUES (1, 'auditor', '纪委', 'auditor', 1, 1, 'x', ?)", (now,))
    cur.executemany(
        "INSERT INTO vehicle (id, plate, vin, org_id, vehicle_class, seats, energy, emission_standard, purchase_date, "
        "purchase_price_cny, odometer_km, status, gps_device_id, ownership, created_at, updated_at) "
        "VALUES (?, ?, ?, 1, 'sedan', 5, 'petrol', 'china6', ?, 150000, 0, 'available', ?, 'pool', ?, ?)",
        [(v, f"苏G{v:05d}", f"LSVAA4180E{v:07d}", date(2020, 1, 1).isoformat(), f"dev-{v:04d}", now, now)
         for v in range(1, VEHICLES + 1)])
    per_car = positions // VEHICLES
    for v in range(1, VEHICLES + 1):
        lat, lon = 34.6 + rng.uniform(-0.1, 0.1), 119.2 + rng.uniform(-0.1, 0.1)
        rows = []
        for k in range(per_car):
            lat += rng.uniform(-0.0005, 0.0005)
            lon += rng.uniform(-0.0005, 0.0005)
            rows.append((v, _t(T0 + timedelta(seconds=k * FIX_INTERVAL_S)), lat, lon, 40.0, 90.0, 1, "gps", now))
        cur.executemany("INSERT INTO position (vehicle_id, ts, lat, lon, speed_kmh, heading_deg, ignition, source, "
                        "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    span_s = per_car * FIX_INTERVAL_S
    trips = []
    for v in range(1, VEHICLES + 1):
        for k in range(50):
            start = T0 + timedelta(seconds=span_s * k / 50)
            trips.append((v, _t(start), _t(start + timedelta(minutes=40)), rng.uniform(5, 60)))
    cur.executemany("INSERT INTO trip (vehicle_id, started_at, ended_at, distance_km) VALUES (?, ?, ?, ?)", trips)
    requests, assignments = [], []
    for r in range(1, 1001):
        pickup = T0 + timedelta(seconds=rng.uniform(0, span_s))
        requests.append((r, 2 + r % 20, "公务", 2, 34.6, 119.2, "市政府", 34.7, 119.3, "东海县", _t(pickup),
                         _t(pickup + timedelta(minutes=30)), 1, "completed", now, now))
        assignments.append((r, "lease", _t(pickup), _t(pickup + timedelta(hours=2)), rng.uniform(200, 800),
                            2 + r % 20, now))
    cur.executemany(
        "INSERT INTO trip_request (id, agency_id, purpose, passengers, origin_lat, origin_lon, origin_address, "
        "destination_lat, destination_lon, destination_address, pickup_earliest, pickup_latest, requester_id, state, "
        "created_at, updated_at, nev_required, wait_and_return, priority) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)", requests)
    cur.executemany(
        "INSERT INTO assignment (request_id, kind, planned_pickup, planned_dropoff, cost_cny, org_id, created_at, "
        "confirmed, explanation) VALUES (?, ?, ?, ?, ?, ?, ?, 1, '')", assignments)
    alert_rows, steps = [], []
    for a in range(1, alerts + 1):
        v = 1 + a % VEHICLES
        start = T0 + timedelta(seconds=rng.uniform(0, span_s - 3600))
        state = "confirmed" if a % 20 == 0 else "open"
        alert_rows.append((a, "private_use.off_hours", v, _t(start), _t(start + timedelta(minutes=20)), 34.6, 119.2,
                           "warning", state, json.dumps({"distance_km": 12.5}), "rules-1",
                           json.dumps({"min_s": 120}), now))
        if state == "confirmed":
            steps += [(a, "open", "under_review", None, 1, 1, "auditor", now),
                      (a, "under_review", "confirmed", "私车公用", 1, 1, "auditor", now)]
    cur.executemany(
        "INSERT INTO alert (id, kind, vehicle_id, started_at, ended_at, lat, lon, severity, state, evidence, "
        "rule_version, thresholds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", alert_rows)
    cur.executemany(
        "INSERT INTO alert_review_step (alert_id, from_state, to_state, reason, reviewer_id, actor_id, actor, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", steps)
    raw.commit()
    raw.close()
    engine.dispose()
    return {"seed_s": round(time.perf_counter() - started, 1), "span_h": round(span_s / 3600, 1)}


def export_only(url: str, destination: Path) -> dict[str, object]:
    """Run one full export (all formats, a folder) and report time and peak memory."""
    from sqlmodel import Session

    from fleet.compliance import export_query as q
    from fleet.compliance.export_bundle import build_bundle
    from fleet.models import User

    engine = make_engine(url)
    started, cpu_started = time.perf_counter(), time.process_time()
    with Session(engine) as session:
        scope = q.resolve_scope(session, q.ExportFilters(T0 - timedelta(days=1), T0 + timedelta(days=30)))
        built = build_bundle(session, scope, session.get(User, 1), destination)
        session.commit()
        files = {f["path"]: {"bytes": f["bytes"], **({"rows": f["rows"]} if "rows" in f else {})}
                 for f in built.manifest["files"]}
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    engine.dispose()
    return {"export_s": round(seconds, 2), "export_cpu_s": round(cpu_seconds, 2),
            "load_average_1min": round(os.getloadavg()[0], 1), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "files": files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--export-only", nargs=2, metavar=("URL", "DESTINATION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        sys.stdout.write(json.dumps(export_only(args.export_only[0], Path(args.export_only[1]))) + "\n")
        return
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        url = f"sqlite:///{folder}/bench.db"
        seeded = seed(url, args.positions, args.alerts, random.Random(2021))
        child = subprocess.run([sys.executable, "-m", "simulations.bench_export", "--export-only", url,
                                f"{folder}/bundle"], capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
    report = {"positions": args.positions, "alerts": args.alerts, "confirmed_maps": args.alerts // 20, **seeded,
              **result, "target_s": 30, "target_peak_mb": 500}
    report["meets_targets"] = result["export_s"] <= 30 and result["peak_rss_mb"] <= 500
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
