"""Vectorised helpers over index ranges and time intervals (no per-element Python loops)."""

from __future__ import annotations

import numpy as np


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index (inclusive) of every run of True in ``mask``."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1


def range_sum(values: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Sum of ``values[first[k] : last[k] + 1]`` for every k; each range is summed on its own,
    so the result never depends on what lies outside it. Empty ranges (last < first) give 0."""
    if len(first) == 0:
        return np.zeros(0, dtype=float)
    padded = np.concatenate((np.asarray(values, dtype=float), [0.0]))
    ok = last >= first
    lo = np.where(ok, first, 0)
    hi = np.where(ok, last + 1, 1)
    sums = np.add.reduceat(padded, np.ravel(np.column_stack((lo, hi))))[::2]
    return np.where(ok, sums, 0.0)








def merge_intervals(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of closed intervals [start, end], as sorted disjoint intervals."""
    keep = end >= start
    start, end = np.asarray(start, float)[keep], np.asarray(end, float)[keep]
    if len(start) == 0:
        return start, end
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    new_group = np.concatenate(([True], start[1:] > reach[:-1]))
    return start[new_group], np.maximum.reduceat(end, np.flatnonzero(new_group))


def covered_s(a: np.ndarray, b: np.ndarray, ws: np.ndarray, we: np.ndarray) -> np.ndarray:
    """Seconds of each [a, b] covered by the disjoint sorted intervals [ws, we]."""
    if len(ws) == 0:
        return np.zeros(len(a))
    lengths = np.concatenate(([0.0], np.cumsum(we - ws)))

    def measure_upto(x: np.ndarray) -> np.ndarray:
        k = np.searchsorted(ws, x, side="right")  # intervals starting at or before x
        partial = np.where(k > 0, np.clip(x - ws[np.maximum(k - 1, 0)], 0,
                                          (we - ws)[np.maximum(k - 1, 0)]), 0.0)
        return lengths[np.maximum(k - 1, 0)] * (k > 0) + partial

    return np.maximum(measure_upto(b) - measure_upto(a), 0.0)


def uncovered_span(a: np.ndarray, b: np.ndarray, ws: np.ndarray, we: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each [a, b]: seconds not covered by the disjoint sorted intervals [ws, we], and the
    first and last uncovered instants (clipped to [a, b])."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    uncovered = (b - a) - covered_s(a, b, ws, we)
    if len(ws) == 0:
        return uncovered, a.copy(), b.copy()
    k = np.searchsorted(ws, a, side="right") - 1
    a_inside = (k >= 0) & (a <= we[np.maximum(k, 0)])
    first = np.where(a_inside, we[np.maximum(k, 0)], a)
    j = np.searchsorted(ws, b, side="right") - 1
    b_inside = (j >= 0) & (b <= we[np.maximum(j, 0)])
    last = np.where(b_inside, ws[np.maximum(j, 0)], b)
    return uncovered, np.minimum(first, b), np.maximum(last, a)
