"""Motion split: one vehicle's fixes -> stops and the trips between them (pure, vectorised).

A fix *opens a dwell* when the fixes from it until ``min_duration_s`` later (up to and
including the first fix at or after that time) stay within ``radius_m`` of one another (the
diagonal of their bounding box), or all of them have the ignition off (a parked car's fixes wander; ignition off
is standing whatever the GPS says). A stop is a maximal run of fixes covered by dwells in
which every two consecutive fixes lie in one dwell, so it always lasts at least
``min_duration_s``; a long silence between two fixes at the same place is a stop too. Two
dwells that only touch (one ends on a fix, the next begins on the following fix) are two
stops: a hop of a few hundred metres between two places, too quick to leave a fix outside
both, is still a trip. A trip runs between consecutive stops: from the last fix of the stop
before it (departure) to the first fix of the stop after it (arrival), and from the track's
first fix or to its last when it begins or ends moving.

Whether a fix belongs to a stop depends only on the fixes within ``min_duration_s`` around it
(and their immediate neighbours), which is what lets the service recompute a window alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telematics.motion.intervals import range_sum, runs
from telematics.motion.track import LocalFrame, Track


@dataclass(frozen=True)
class Motion:
    """Index ranges (inclusive) into a :class:`Track`, and per-range figures."""

    trip_first: np.ndarray
    trip_last: np.ndarray
    trip_distance_m: np.ndarray
    stop_first: np.ndarray
    stop_last: np.ndarray
    stop_lat: np.ndarray
    stop_lon: np.ndarray
    in_stop: np.ndarray  # bool per fix

    @property
    def trip_count(self) -> int:
        return len(self.trip_first)

    @property
    def stop_count(self) -> int:
        return len(self.stop_first)


def _window_extent(values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """max - min of ``values[first:last + 1]`` for every window (sparse table, O(n log w))."""
    n = len(values)
    length = last - first + 1
    levels = int(np.floor(np.log2(max(int(length.max()), 1)))) + 1
    level_of = np.floor(np.log2(np.maximum(length, 1))).astype(np.int64)
    hi, lo = values.copy(), values.copy()
    extent = np.zeros(len(first))
    for k in range(levels):  # loop over table levels (log of the window), not over fixes
        pick = level_of == k
        if pick.any():
            a, b = first[pick], last[pick] - (1 << k) + 1
            extent[pick] = np.maximum(hi[a], hi[b]) - np.minimum(lo[a], lo[b])
        step = 1 << k
        if step < n:
            hi = np.concatenate((np.maximum(hi[:-step], hi[step:]), hi[n - step:]))
            lo = np.concatenate((np.minimum(lo[:-step], lo[step:]), lo[n - step:]))
    return extent


def _stops(in_stop: np.ndarray, joined: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last fix of every stop: runs of ``in_stop`` fixes, cut between two fixes
    that no dwell holds together (``joined`` per consecutive pair)."""
    breaks = np.flatnonzero(in_stop[:-1] & in_stop[1:] & ~joined)
    first, last = runs(in_stop)
    return np.sort(np.concatenate((first, breaks + 1))), np.sort(np.concatenate((last, breaks)))


def _trips(stop_first: np.ndarray, stop_last: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last fix of every trip of an ``n``-fix track: between consecutive stops, and
    before the first or after the last stop when the track begins or ends moving (a track
    without stops is one trip)."""
    if len(stop_first) == 0:
        return np.array([0], np.int64), np.array([n - 1], np.int64)
    first = [stop_last[:-1]]
    last = [stop_first[1:]]
    if stop_first[0] > 0:
        first.insert(0, np.array([0]))
        last.insert(0, stop_first[:1])
    if stop_last[-1] < n - 1:
        first.append(stop_last[-1:])
        last.append(np.array([n - 1]))
    return np.concatenate(first).astype(np.int64), np.concatenate(last).astype(np.int64)


def split_motion(track: Track, radius_m: float = 200.0, min_duration_s: float = 180.0) -> Motion:
    """Stops and trips of ``track`` (see the module text for the definitions)."""
    n = len(track)
    if n == 0:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0)
        return Motion(empty_i, empty_i, empty_f, empty_i, empty_i, empty_f, empty_f,
                      np.zeros(0, bool))
    t = track.t_s
    window_end = np.searchsorted(t, t + min_duration_s, side="left")
    complete = window_end < n
    starts = np.flatnonzero(complete)
    ends = window_end[complete]
    dwell = np.zeros(len(starts), dtype=bool)
    if len(starts):
        x, y = LocalFrame.around(track.lat).xy(track.lat, track.lon)
        diagonal = np.hypot(_window_extent(x, starts, ends), _window_extent(y, starts, ends))
        on = np.concatenate(([0], np.cumsum(track.ignition, dtype=np.int64)))
        all_off = (on[ends + 1] - on[starts]) == 0
        dwell = (diagonal <= radius_m) | all_off
    cover = np.bincount(starts[dwell], minlength=n + 1) - np.bincount(ends[dwell] + 1, minlength=n + 1)
    in_stop = np.cumsum(cover[:n]) > 0
    # Pair i (fixes i and i + 1) is joined when one dwell holds both: a dwell [s, e] joins
    # the pairs s to e - 1.
    pair_cover = np.bincount(starts[dwell], minlength=n) - np.bincount(ends[dwell], minlength=n)
    joined = np.cumsum(pair_cover[:n - 1]) > 0

    stop_first, stop_last = _stops(in_stop, joined)
    trip_first, trip_last = _trips(stop_first, stop_last, n)
    steps = np.concatenate((track.step_m(), [0.0]))
    counts = (stop_last - stop_first + 1).astype(float)
    return Motion(
        trip_first=trip_first,
        trip_last=trip_last,
        trip_distance_m=range_sum(steps, trip_first, trip_last - 1),
        stop_first=stop_first,
        stop_last=stop_last,
        stop_lat=range_sum(track.lat, stop_first, stop_last) / np.maximum(counts, 1),
        stop_lon=range_sum(track.lon, stop_first, stop_last) / np.maximum(counts, 1),
        in_stop=in_stop,
    )
