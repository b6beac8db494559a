"""Cost of re-evaluating stored positions into trips, stops and alerts, per vehicle.

Seeds the synthetic Lianyungang fleet (its zones, sites and calendar) in a fresh database,
stores ``--hours`` of fixes for ``--vehicles`` cars through the ingest pipeline (no broker),
then times the evaluator twice: catching up with the whole backlog, and the live case, where
every car has sent one more minute since the last round (``--rounds`` such rounds, median).
With ``--parked`` every car stands still (ignition off, a fix every 10 s) the whole time: the
live rounds then time what one more minute of an ever longer stop costs.
Also counts the SQL statements per vehicle. Prints JSON.

    python -m simulations.bench_evaluation [--vehicles 200] [--hours 2] [--rounds 5]
                                           [--parked] [--database-url URL] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import event
from sqlmodel import Session, col, select

from fleet.db import make_engine, upgrade
from fleet.models import Vehicle
from fleet.seed import seed_database
from fleet.settings import Settings
from simulations.bench_rules import synthetic_track
from telematics.ingest.evaluator import Evaluator
from telematics.ingest.pipeline import Inbound, IngestPipeline
from telematics.motion import Track

#: New fixes per car between two live rounds, seconds of event time.
MINUTE_S = 60.0


def _payloads(device: str, track: Track, lo: int, hi: int) -> bytes:
    """Fixes ``lo``..``hi`` of ``track`` as one gps message."""
    return json.dumps([
        {"device_id": device, "ts": float(track.t_s[i]), "lat": float(track.lat[i]), "lon": float(track.lon[i]),
         "speed_kmh": float(track.speed_kmh[i]), "heading_deg": 0.0, "ignition": bool(track.ignition[i])}
        for i in range(lo, hi)]).encode()


def _store(pipeline: IngestPipeline, cars: list[tuple[str, Track]], lo_s: float, hi_s: float) -> int:
    """Store every car's fixes with event time in [lo_s, hi_s); returns how many."""
    batch, count = [], 0
    for device, track in cars:
        lo, hi = np.searchsorted(track.t_s, [lo_s, hi_s])
        if hi > lo:
            batch.append(pipeline.decode(Inbound(f"fleet/v1/vehicles/{device}/gps", _payloads(device, track, lo, hi))))
            count += int(hi - lo)
    pipeline.store_with_retry(batch)
    return count


def parked_track(rng: np.random.Generator, fixes: int) -> Track:
    """A car standing at one spot with its ignition off: a fix every 10 s, GPS jitter of a
    few metres."""
    t = 10.0 * np.arange(fixes, dtype=float)
    lat = 34.6 + rng.uniform(-0.1, 0.1) + rng.normal(0, 3e-5, fixes)
    lon = 119.2 + rng.uniform(-0.1, 0.1) + rng.normal(0, 3e-5, fixes)
    return Track(np.arange(1, fixes + 1), t, lat, lon, np.zeros(fixes), np.zeros(fixes, bool))


class StatementCounter:
    """Counts SQL statements sent on an engine."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args) -> None:  # type: ignore[no-untyped-def]
        self.count += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--hours", type=float, default=2.0, help="hours of fixes stored before timing")
    parser.add_argument("--rounds", type=int, default=5, help="live rounds timed (median reported)")
    parser.add_argument("--parked", action="store_true", help="every car parked the whole time")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp folder)")
    parser.add_argument("--profile", action="store_true", help="print the top functions of one live round to stderr")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'fleet.db'}"
        upgrade(url, "heads")
        seed_database(url)
        engine = make_engine(url)
        with Session(engine) as session:
            devices = session.exec(select(Vehicle.gps_device_id).where(col(Vehicle.gps_device_id).is_not(None))
                                   .order_by(Vehicle.id).limit(args.vehicles)).all()
        rng = np.random.default_rng(2021)
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=args.rounds + 2)
        start = end - timedelta(hours=args.hours)
        fixes = int((args.hours * 3600 + (args.rounds + 1) * MINUTE_S) / 10) + 10
        cars = []
        for device in devices:
            track = parked_track(rng, fixes) if args.parked else synthetic_track(rng, fixes)
            shift = start.timestamp() - track.t_s[0]
            cars.append((device, Track(track.position_id, track.t_s + shift, track.lat, track.lon,
                                       track.speed_kmh, track.ignition)))
        settings = Settings()
        pipeline = IngestPipeline(engine, settings)
        stored = 0
        for lo in np.arange(start.timestamp(), end.timestamp(), 600.0):
            stored += _store(pipeline, cars, lo, min(lo + 600.0, end.timestamp()))
        statements = StatementCounter(engine)
        evaluator = Evaluator(engine, settings, lambda alerts: None)

        began = time.perf_counter()
        backlog = evaluator.drain()
        backlog_s = time.perf_counter() - began
        backlog_statements = statements.count

        live_ms, live_statements = [], []
        profile = cProfile.Profile() if args.profile else None
        for k in range(args.rounds):
            lo = end.timestamp() + k * MINUTE_S
            _store(pipeline, cars, lo, lo + MINUTE_S)
            statements.count = 0
            if profile is not None and k == args.rounds - 1:
                profile.enable()
            began = time.perf_counter()
            outcome = evaluator.drain()
            elapsed = time.perf_counter() - began
            if profile is not None and k == args.rounds - 1:
                profile.disable()
            live_ms.append(1000 * elapsed / max(1, outcome.vehicles))
            live_statements.append(statements.count / max(1, outcome.vehicles))
        if profile is not None:
            text = io.StringIO()
            pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats("telematics|fleet|shapely|numpy", 45)
            sys.stderr.write(text.getvalue())
        engine.dispose()

    print(json.dumps({
        "database": url.split(":", 1)[0],
        "vehicles": len(cars),
        "positions_stored": stored,
        "parked": args.parked,
        "backlog": {"hours": args.hours, "vehicles": backlog.vehicles, "seconds": round(backlog_s, 2),
                    "ms_per_vehicle": round(1000 * backlog_s / max(1, backlog.vehicles), 1),
                    "statements_per_vehicle": round(backlog_statements / max(1, backlog.vehicles), 1),
                    "alerts": len(backlog.alerts)},
        "live_minute": {"rounds": args.rounds, "ms_per_vehicle_median": round(statistics.median(live_ms), 1),
                        "ms_per_vehicle": [round(v, 1) for v in live_ms],
                        "statements_per_vehicle_median": round(statistics.median(live_statements), 1),
                        "extrapolated_round_s_for_600_cars": round(600 * statistics.median(live_ms) / 1000, 1)},
    }, indent=2))


if __name__ == "__main__":
    main()
