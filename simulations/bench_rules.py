"""Throughput of the pure compliance-rule core (and of the motion split) on synthetic tracks.

Each vehicle drives and parks around Lianyungang for days (a fix every 10 s while driving,
every 60 s while parked), against a city boundary, 500 forbidden venues, 50 speed zones, a
designated site and a day's orders. Prints JSON; the target for the rule core is at least
500,000 positions per second on this 2-core machine.

    python -m simulations.bench_rules [--vehicles 20] [--fixes 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from shapely.geometry import box

from telematics.motion import Track, split_motion
from telematics.rules.context import DayTable, Orders, Place, Thresholds, VehicleContext
from telematics.rules.engine import evaluate

CENTRE = (34.60, 119.22)
START = datetime(2026, 12, 1, tzinfo=UTC)
TARGET_POSITIONS_PER_S = 500_000


def synthetic_track(rng: np.random.Generator, fixes: int) -> Track:
    """Alternating drives (10-40 min, 10 s fixes) and parks (5-120 min, 60 s fixes) that
    wander over the city at 5-150 km/h."""
    legs = []
    total = 0
    while total < fixes:
        drive = int(rng.integers(60, 240))
        park = int(rng.integers(5, 120))
        legs.append((drive, park))
        total += drive + park
    moving = np.concatenate([np.r_[np.ones(d, bool), np.zeros(p, bool)] for d, p in legs])[:fixes]
    dt = np.where(moving, 10.0, 60.0)
    t = START.timestamp() + np.cumsum(dt)
    phase = np.cumsum(rng.normal(0, 0.01, fixes))
    speed = np.where(moving, np.clip(60 + 45 * np.sin(phase * 7) + rng.normal(0, 5, fixes), 5, 150), 0.0)
    travelled_km = np.cumsum(speed / 3.6 * dt) / 1000
    lat = CENTRE[0] + 0.15 * np.sin(travelled_km / 17.0 + phase)  # wanders over the city
    lon = CENTRE[1] + 0.18 * np.sin(travelled_km / 23.0)
    return Track(np.arange(1, fixes + 1), t, lat, lon, speed, moving.copy())


def context(rng: np.random.Generator, track: Track) -> VehicleContext:
    first, last = track.t_s[0], track.t_s[-1]
    days = int((last - first) // 86400) + 3
    midnight = (START - timedelta(days=1)).timestamp() - 8 * 3600 + 86400 * np.arange(days + 1)
    forbidden = tuple(Place(i, f"venue {i}", box(x, y, x + 0.002, y + 0.002))
                      for i, (y, x) in enumerate(zip(rng.uniform(34.4, 34.8, 500),
                                                     rng.uniform(119.0, 119.4, 500), strict=True)))
    speed = tuple(Place(i, f"zone {i}", box(x, y, x + 0.02, y + 0.02), 40.0)
                  for i, (y, x) in enumerate(zip(rng.uniform(34.4, 34.8, 50),
                                                 rng.uniform(119.0, 119.4, 50), strict=True)))
    k = 20
    starts = np.sort(rng.uniform(first, last, k))
    orders = Orders(np.arange(k), starts, starts + 3600, np.ones(k, bool), np.ones(k, bool),
                    np.full(k, CENTRE[0]), np.full(k, CENTRE[1]), rng.uniform(34.4, 34.8, k),
                    rng.uniform(119.0, 119.4, k), np.zeros(k, bool))
    return VehicleContext(
        vehicle_id=1,
        days=DayTable(midnight, [f"d{i}" for i in range(days)], (np.arange(days) % 7) < 5,
                      np.ones(days, bool), [None] * days),
        orders=orders,
        site=Place(1, "site", box(CENTRE[1] - 0.001, CENTRE[0] - 0.001, CENTRE[1] + 0.001, CENTRE[0] + 0.001)),
        allowed_area=box(118.9, 34.3, 119.6, 34.9),
        forbidden_zones=forbidden,
        speed_zones=speed,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--fixes", type=int, default=50_000, help="fixes per vehicle")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    rng = np.random.default_rng(2021)
    cases = []
    for _ in range(args.vehicles):
        track = synthetic_track(rng, args.fixes)
        cases.append((track, context(rng, track)))
    th = Thresholds()
    positions = sum(len(track) for track, _ in cases)

    def timed(run) -> float:  # type: ignore[no-untyped-def]
        best = float("inf")
        for _ in range(args.repeat):
            began = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - began)
        return best

    motions = [split_motion(track, th.stop_radius_m, th.stop_min_duration_s) for track, _ in cases]
    findings: dict[str, int] = {}

    def rules() -> None:
        findings.clear()
        for (track, ctx), motion in zip(cases, motions, strict=True):
            for finding in evaluate(track, motion, ctx, th):
                findings[finding.kind] = findings.get(finding.kind, 0) + 1

    rules_s = timed(rules)
    motion_s = timed(lambda: [split_motion(track, th.stop_radius_m, th.stop_min_duration_s)
                              for track, _ in cases])
    rules_rate = positions / rules_s
    print(json.dumps({
        "vehicles": args.vehicles,
        "positions": positions,
        "trips": int(sum(m.trip_count for m in motions)),
        "stops": int(sum(m.stop_count for m in motions)),
        "findings": dict(sorted(findings.items())),
        "rules_s": round(rules_s, 4),
        "rules_positions_per_s": round(rules_rate),
        "motion_s": round(motion_s, 4),
        "motion_positions_per_s": round(positions / motion_s),
        "motion_and_rules_positions_per_s": round(positions / (rules_s + motion_s)),
        "target_rules_positions_per_s": TARGET_POSITIONS_PER_S,
        "target_met": rules_rate >= TARGET_POSITIONS_PER_S,
    }, indent=2))


if __name__ == "__main__":
    main()
