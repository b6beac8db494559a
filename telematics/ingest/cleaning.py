"""Event-time cleaning of a batch of fixes, vectorised with numpy (no per-point loop).

Per vehicle, fixes are put in event-time order; a second fix with the same time is a
duplicate. Two fixes *agree* when the speed implied between them stays within the jump
speed. A fix that disagrees with both neighbours while they agree with each other is a spike
(a GPS jump). The rest of a vehicle's fixes fall into runs of agreeing fixes; a run of at
least ``confirm_fixes`` fixes is *confirmed*. No fix is judged against a single unconfirmed
neighbour:

- an unconfirmed run older than the vehicle's newest confirmed run is outvoted: its new fixes
  are jumps (dropped) and its stored fixes are marked (moved out of the track);
- a vehicle's first run is accepted while nothing confirmed contradicts it (the first fixes of
  a car, or fixes continuing its stored track);
- a run that agrees with the end of the newest confirmed run before it continues that run
  (the track goes on after an excursion) and counts as confirmed;
- a later unconfirmed run is held: kept aside, not stored, until further fixes confirm it
  (it is then stored, and the run it broke from is outvoted when unconfirmed) or outvote it.

Fixes of a standing car (reported speed below the jitter speed) within the jitter radius of
where it stopped are snapped to that place. The context (the newest stored fixes of each
vehicle, and the fixes held earlier) takes part so that a batch continues the stored track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fleet.geo import haversine_m

STORED, HELD, NEW = 0, 1, 2


@dataclass(frozen=True)
class CleaningRules:
    """``jump_speed_kmh``: fastest plausible speed between two fixes, km/h;
    ``confirm_fixes``: agreeing fixes that confirm a run; ``jitter_radius_m`` (metres) and
    ``jitter_speed_kmh`` (km/h): what counts as a standing car's jitter."""

    jump_speed_kmh: float = 250.0
    jitter_radius_m: float = 30.0
    jitter_speed_kmh: float = 3.0
    confirm_fixes: int = 3


@dataclass(frozen=True)
class FixBatch:
    """Column arrays of fixes of many vehicles (one row per fix); ``ts_s`` in epoch seconds.
    One car's track for the rules is ``telematics.motion.Track``."""

    vehicle_id: NDArray[np.int64]
    ts_s: NDArray[np.float64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    speed_kmh: NDArray[np.float64]


def empty_batch() -> FixBatch:
    """A track without rows."""
    return FixBatch(np.zeros(0, np.int64), *(np.zeros(0, np.float64) for _ in range(4)))


@dataclass(frozen=True)
class Context:
    """What is known of the batch's vehicles: ``stored``, the newest stored fixes of each (at
    most ``confirm_fixes``; never moved, possibly marked), and ``held``, fixes set aside by an
    earlier batch awaiting confirmation."""

    stored: FixBatch
    held: FixBatch


@dataclass(frozen=True)
class Cleaned:
    """Outcome per batch row: ``keep`` (store it), ``duplicate``, ``jump`` (dropped),
    ``held`` (set aside), the (possibly snapped) coordinates, and ``order``, the kept rows in
    vehicle, event-time order. Per held context row: ``released`` (store it now),
    ``held_jump`` (dropped now), ``held_duplicate``. Per stored context row: ``marked``
    (outvoted: to be moved out of the track)."""

    keep: NDArray[np.bool_]
    duplicate: NDArray[np.bool_]
    jump: NDArray[np.bool_]
    held: NDArray[np.bool_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    order: NDArray[np.int64]
    released: NDArray[np.bool_]
    released_lat: NDArray[np.float64]
    released_lon: NDArray[np.float64]
    held_jump: NDArray[np.bool_]
    held_duplicate: NDArray[np.bool_]
    marked: NDArray[np.bool_]


def clean(batch: FixBatch, context: Context, rules: CleaningRules) -> Cleaned:
    """Clean ``batch`` (rows in arrival order) against ``context``."""
    parts = (context.stored, context.held, batch)
    sizes = [len(p.ts_s) for p in parts]
    vehicle = np.concatenate([p.vehicle_id for p in parts]).astype(np.int64)
    ts = np.concatenate([p.ts_s for p in parts])
    lat = np.concatenate([p.lat for p in parts])
    lon = np.concatenate([p.lon for p in parts])
    speed = np.concatenate([p.speed_kmh for p in parts])
    kind = np.repeat(np.array([STORED, HELD, NEW]), sizes)
    # Stored first among equal times, then held, then arrival order: the first copy wins.
    order = np.lexsort((np.arange(len(ts)), ts, vehicle))
    same_vehicle = vehicle[order][1:] == vehicle[order][:-1]
    duplicate = np.zeros(len(ts), dtype=bool)
    duplicate[order[1:]] = same_vehicle & (ts[order][1:] == ts[order][:-1])

    live = order[~duplicate[order]]
    spike = _spikes(vehicle[live], ts[live], lat[live], lon[live], rules.jump_speed_kmh)
    steady = live[~spike]
    accepted, outvoted = _judge_runs(
        vehicle[steady], ts[steady], lat[steady], lon[steady], kind[steady], rules
    )
    rejected = np.zeros(len(ts), dtype=bool)
    rejected[live[spike]] = True
    rejected[steady[outvoted]] = True
    accept = np.zeros(len(ts), dtype=bool)
    accept[steady[accepted]] = True
    pending = np.zeros(len(ts), dtype=bool)
    pending[steady[~accepted & ~outvoted]] = True

    on_track = steady[(accepted | (kind[steady] == STORED)) & ~outvoted]
    out_lat, out_lon = lat.copy(), lon.copy()
    _snap_jitter(on_track, vehicle, speed, out_lat, out_lon, rules)

    is_new, is_held = kind == NEW, kind == HELD
    first_new = sizes[0] + sizes[1]
    held_part = slice(sizes[0], first_new)
    kept_new = on_track[is_new[on_track]]
    return Cleaned(
        keep=(accept & is_new)[first_new:],
        duplicate=(duplicate & is_new)[first_new:],
        jump=(rejected & is_new)[first_new:],
        held=(pending & is_new)[first_new:],
        lat=out_lat[first_new:],
        lon=out_lon[first_new:],
        order=(kept_new - first_new).astype(np.int64),
        released=(accept & is_held)[held_part],
        released_lat=out_lat[held_part],
        released_lon=out_lon[held_part],
        held_jump=(rejected & is_held)[held_part],
        held_duplicate=(duplicate & is_held)[held_part],
        marked=rejected[: sizes[0]],
    )


def _step_kmh(ts: NDArray, lat: NDArray, lon: NDArray, gap: int) -> NDArray[np.float64]:
    """Speed implied between each row and the row ``gap`` places later, km/h."""
    metres = haversine_m(lat[:-gap], lon[:-gap], lat[gap:], lon[gap:])
    return metres / np.maximum(ts[gap:] - ts[:-gap], 1e-3) * 3.6


def _spikes(vehicle: NDArray, ts: NDArray, lat: NDArray, lon: NDArray, jump_speed_kmh: float) -> NDArray[np.bool_]:
    """Rows (sorted by vehicle and time, no duplicate times) too fast from the predecessor
    and to the successor, while going straight from predecessor to successor is not."""
    if len(ts) < 3:
        return np.zeros(len(ts), dtype=bool)
    linked = vehicle[1:] == vehicle[:-1]
    too_fast = linked & (_step_kmh(ts, lat, lon, 1) > jump_speed_kmh)
    plausible_skip = (vehicle[2:] == vehicle[:-2]) & (_step_kmh(ts, lat, lon, 2) <= jump_speed_kmh)
    spike = np.zeros(len(ts), dtype=bool)
    spike[1:-1] = too_fast[:-1] & too_fast[1:] & plausible_skip
    return spike


def _judge_runs(
    vehicle: NDArray, ts: NDArray, lat: NDArray, lon: NDArray, kind: NDArray, rules: CleaningRules
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Split each vehicle's rows (sorted, no spikes) into runs of agreeing fixes and judge
    them; returns ``accepted`` and ``outvoted`` per row (neither: held)."""
    n = len(ts)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    new_vehicle = np.ones(n, dtype=bool)
    breaks = np.ones(n, dtype=bool)
    if n > 1:
        new_vehicle[1:] = vehicle[1:] != vehicle[:-1]
        breaks[1:] = new_vehicle[1:] | (_step_kmh(ts, lat, lon, 1) > rules.jump_speed_kmh)
    run = np.cumsum(breaks) - 1
    owner = np.cumsum(new_vehicle) - 1
    # The oldest stored row of a vehicle whose stored window is full stands for the stored
    # history before it, which confirmed it.
    stored_rows = np.flatnonzero(kind == STORED)
    owners, first = np.unique(owner[stored_rows], return_index=True)
    full = np.bincount(owner[stored_rows], minlength=owner[-1] + 1)[owners] >= rules.confirm_fixes
    weight = np.ones(n)
    weight[stored_rows[first[full]]] = rules.confirm_fixes
    confirmed = np.bincount(run, weights=weight) >= rules.confirm_fixes
    run_owner = owner[breaks]
    _confirm_continuations(confirmed, run_owner, np.flatnonzero(breaks), ts, lat, lon, rules.jump_speed_kmh)
    newest_confirmed = np.full(owner[-1] + 1, -1)
    confirmed_runs = np.flatnonzero(confirmed)
    np.maximum.at(newest_confirmed, run_owner[confirmed_runs], confirmed_runs)
    first_run = run[new_vehicle][owner]
    row_confirmed = confirmed[run]
    newest = newest_confirmed[owner]
    outvoted = ~row_confirmed & (run < newest)
    accepted = row_confirmed | (~outvoted & (run == first_run))
    return accepted, outvoted


def _confirm_continuations(
    confirmed: NDArray[np.bool_], run_owner: NDArray, run_first: NDArray, ts: NDArray, lat: NDArray, lon: NDArray,
    jump_speed_kmh: float,
) -> None:
    """Confirm (in place) each run that agrees with the end of the newest confirmed run
    before it of the same vehicle: the track goes on after an excursion."""
    run_last = np.append(run_first[1:] - 1, len(ts) - 1)
    runs = np.arange(len(confirmed))
    while True:
        newest = np.maximum.accumulate(np.where(confirmed, runs, -1))
        before = np.append(-1, newest[:-1])
        candidate = ~confirmed & (before >= 0)
        candidate[candidate] &= run_owner[before[candidate]] == run_owner[candidate]
        if not candidate.any():
            return
        a, b = run_last[before[candidate]], run_first[candidate]
        kmh = haversine_m(lat[a], lon[a], lat[b], lon[b]) / np.maximum(ts[b] - ts[a], 1e-3) * 3.6
        continues = np.flatnonzero(candidate)[kmh <= jump_speed_kmh]
        if len(continues) == 0:
            return
        confirmed[continues] = True


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
    near = haversine_m(lat[rows], lon[rows], lat[anchors], lon[anchors]) <= rules.jitter_radius_m
    lat[rows[near]] = lat[anchors[near]]
    lon[rows[near]] = lon[anchors[near]]
