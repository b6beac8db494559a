"""Event-time cleaning of a batch of fixes, vectorised with numpy (no per-point loop).

Per vehicle, fixes are put in event-time order; a second fix with the same time is a
duplicate; a fix whose implied speed from its predecessor, and to its successor when it has
one, exceeds the jump speed is a GPS jump and is dropped; fixes of a standing car (reported
speed below the jitter speed) within the jitter radius of where it stopped are snapped to that
place. A stored neighbour (the newest stored fix the worker knows of) takes part as context so
that a batch continues the stored track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class CleaningRules:
    jump_speed_kmh: float = 250.0
    jitter_radius_m: float = 30.0
    jitter_speed_kmh: float = 3.0


@dataclass(frozen=True)
class Track:
    """Column arrays of fixes (one row per fix); ``ts_s`` in epoch seconds."""

    vehicle_id: NDArray[np.int64]
    ts_s: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    speed_kmh: NDArray[np.float64]


@dataclass(frozen=True)
class Cleaned:
    """Outcome per input row: ``keep`` (store it), ``duplicate``, ``jump``, and the
    (possibly snapped) coordinates; ``order`` lists kept rows in vehicle, event-time order."""

    keep: NDArray[np.bool_]
    duplicate: NDArray[np.bool_]
    jump: NDArray[np.bool_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    order: NDArray[np.int64]


def distance_m(lat1: NDArray, lon1: NDArray, lat2: NDArray, lon2: NDArray) -> NDArray[np.float64]:
    """Great-circle distance between paired points, metres (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def clean(batch: Track, context: Track, rules: CleaningRules) -> Cleaned:
    """Clean ``batch`` (rows in arrival order) against ``context`` (stored fixes, never
    dropped or moved)."""
    n = len(batch.ts_s)
    vehicle = np.concatenate([context.vehicle_id, batch.vehicle_id])
    ts = np.concatenate([context.ts_s, batch.ts_s])
    lat = np.concatenate([context.lat, batch.lat])
    lon = np.concatenate([context.lon, batch.lon])
    speed = np.concatenate([context.speed_kmh, batch.speed_kmh])
    is_context = np.arange(len(ts)) < len(context.ts_s)
    # Context first among equal times, then arrival order: the first copy wins.
    order = np.lexsort((np.arange(len(ts)), ts, vehicle))
    same_vehicle = vehicle[order][1:] == vehicle[order][:-1]
    duplicate = np.zeros(len(ts), dtype=bool)
    duplicate[order[1:]] = same_vehicle & (ts[order][1:] == ts[order][:-1])

    live = order[~duplicate[order]]
    spike = _jumps(vehicle[live], ts[live], lat[live], lon[live], rules.jump_speed_kmh, tail=False)
    spike &= ~is_context[live]
    steady = live[~spike]
    tail = _jumps(vehicle[steady], ts[steady], lat[steady], lon[steady], rules.jump_speed_kmh, tail=True)
    tail &= ~is_context[steady]
    kept = steady[~tail]
    jump_rows = np.zeros(len(ts), dtype=bool)
    jump_rows[live[spike]] = True
    jump_rows[steady[tail]] = True
    out_lat, out_lon = lat.copy(), lon.copy()
    _snap_jitter(kept, vehicle, speed, out_lat, out_lon, rules)

    offset = len(context.ts_s)
    keep = np.zeros(len(ts), dtype=bool)
    keep[kept] = True
    keep &= ~is_context
    batch_order = kept[~is_context[kept]] - offset
    return Cleaned(
        keep=keep[offset:],
        duplicate=(duplicate & ~is_context)[offset:],
        jump=jump_rows[offset:],
        lat=out_lat[offset:],
        lon=out_lon[offset:],
        order=batch_order.astype(np.int64) if n else np.zeros(0, dtype=np.int64),
    )


def _jumps(
    vehicle: NDArray, ts: NDArray, lat: NDArray, lon: NDArray, jump_speed_kmh: float, tail: bool
) -> NDArray[np.bool_]:
    """Rows (sorted by vehicle and time, no duplicate times) that are GPS jumps: with
    ``tail`` False, spikes (too fast from the predecessor and to the successor, while going
    straight from predecessor to successor is not); with ``tail`` True, a vehicle's last row
    too fast from its predecessor."""
    if len(ts) < 2:
        return np.zeros(len(ts), dtype=bool)
    step_m = distance_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    step_kmh = step_m / np.maximum(ts[1:] - ts[:-1], 1e-3) * 3.6
    linked = vehicle[1:] == vehicle[:-1]
    too_fast = linked & (step_kmh > jump_speed_kmh)
    has_prev = np.concatenate([[False], linked])
    has_next = np.concatenate([linked, [False]])
    fast_in = np.concatenate([[False], too_fast])
    fast_out = np.concatenate([too_fast, [False]])
    if tail:
        return has_prev & fast_in & ~has_next
    # A spike leaves the track and comes back: skipping it gives a plausible speed.
    skip_m = distance_m(lat[:-2], lon[:-2], lat[2:], lon[2:])
    skip_kmh = skip_m / np.maximum(ts[2:] - ts[:-2], 1e-3) * 3.6
    plausible_skip = np.concatenate([[False], skip_kmh <= jump_speed_kmh, [False]])
    return has_prev & has_next & fast_in & fast_out & plausible_skip


def _snap_jitter(
    kept: NDArray[np.int64],
    vehicle: NDArray,
    speed: NDArray,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    rules: CleaningRules,
) -> None:
    """Move standing fixes near the place a stop began onto that place (in place)."""
    if len(kept) == 0 or rules.jitter_radius_m <= 0:
        return
    v, s = vehicle[kept], speed[kept] < rules.jitter_speed_kmh
    new_vehicle = np.concatenate([[True], v[1:] != v[:-1]])
    prev_standing = np.concatenate([[False], s[:-1]])
    run_start = s & (new_vehicle | ~prev_standing)
    positions = np.arange(len(kept))
    anchor = np.maximum.accumulate(np.where(run_start, positions, 0))
    rows, anchors = kept[s], kept[anchor[s]]
    near = distance_m(lat[rows], lon[rows], lat[anchors], lon[anchors]) <= rules.jitter_radius_m
    lat[rows[near]] = lat[anchors[near]]
    lon[rows[near]] = lon[anchors[near]]
