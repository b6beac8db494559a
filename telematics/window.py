"""Closing a re-evaluation window (pure: it reads one vehicle's history through
:class:`WindowHistory`, and touches no database itself).

New fixes in [start, end] can change every trip, stop and alert they fall in, and what those
touch in turn. The window therefore starts one stop duration before the stored fix before
``start`` (and ends one after the fix after ``end``) and is widened until it is *closed*:
every stored trip, stop, alert or use order that overlaps it lies inside it, and so does
every trip, stop and finding computed for it. Fixes are loaded with enough context around it
(the longest rule duration, doubled on each pass, and two fixes beyond each edge) for the
motion split and the rules to judge its inside exactly as a run over the whole history would.
Times are epoch seconds (UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from telematics.motion import Motion, Track, split_motion
from telematics.rules.context import Thresholds, VehicleContext
from telematics.rules.engine import evaluate
from telematics.rules.findings import Finding

log = structlog.get_logger(__name__)

#: Passes before a window that keeps growing is given up (logged); the margin doubles each pass.
MAX_WIDENINGS = 16


class WindowHistory(Protocol):
    """What closing a window reads of one vehicle's stored history."""

    def neighbours(self, at: float, before: bool) -> list[float]:
        """Times of the (up to) two stored fixes nearest to ``at``, strictly before or after
        it, nearest first."""
        ...

    def extents(self, lo: float, hi: float, order_overrun_s: float) -> list[tuple[float, float]]:
        """(start, end) spans of the stored trips, stops, alerts and use orders (stretched by
        ``order_overrun_s``) overlapping [lo, hi)."""
        ...

    def track(self, lo: float, hi: float) -> Track:
        """The stored fixes in [lo, hi]."""
        ...


@dataclass
class Window:
    """A span of time being re-evaluated, epoch s."""

    start: float
    end: float

    def cover(self, start: float, end: float) -> bool:
        """Widen to include [start, end]; True when it grew."""
        grew = start < self.start or end > self.end
        self.start, self.end = min(self.start, start), max(self.end, end)
        return grew

    def overlaps(self, start: float, end: float) -> bool:
        """Whether an item from ``start`` to ``end`` overlaps the window: it starts inside it,
        or spans into it."""
        return start < self.end and (end > self.start or start >= self.start)


@dataclass(frozen=True)
class Judged:
    """A closed window, the fixes loaded around it, and their motion split and findings."""

    window: Window
    track: Track
    motion: Motion
    findings: list[Finding]


def _nth_neighbour(history: WindowHistory, at: float, before: bool, rank: int) -> float | None:
    """Time of the ``rank``-th (1 or 2) stored fix strictly before (or after) ``at``."""
    times = history.neighbours(at, before)
    return times[rank - 1] if len(times) >= rank else None


def _computed_spans(judged: Judged) -> list[tuple[float, float]]:
    """(start, end) of every computed trip, stop and finding."""
    t, m = judged.track.t_s, judged.motion
    spans = [(f.start_s, f.end_s) for f in judged.findings]
    spans += list(zip(t[m.trip_first].tolist(), t[m.trip_last].tolist(), strict=True))
    spans += list(zip(t[m.stop_first].tolist(), t[m.stop_last].tolist(), strict=True))
    return spans


def close_window(history: WindowHistory, context: Callable[[float, float], VehicleContext],
                 th: Thresholds, start: float, end: float, vehicle_id: int | None = None) -> Judged:
    """The closed window around new fixes in [start, end] and everything computed for it.
    ``context(lo, hi)`` gives the rule inputs for the fixes loaded from ``lo`` to ``hi``;
    ``vehicle_id`` only names the vehicle in the log when a window does not close."""
    before = _nth_neighbour(history, start, before=True, rank=1)
    after = _nth_neighbour(history, end, before=False, rank=1)
    window = Window((before if before is not None else start) - th.stop_min_duration_s,
                    (after if after is not None else end) + th.stop_min_duration_s)
    for attempt in range(MAX_WIDENINGS):
        while any([window.cover(lo, hi) for lo, hi in history.extents(window.start, window.end,
                                                                       th.order_overrun_max_s)]):
            pass
        lo2 = _nth_neighbour(history, window.start, before=True, rank=2)
        hi2 = _nth_neighbour(history, window.end, before=False, rank=2)
        # The margin doubles on each pass: an item running past the loaded fixes (a car
        # parked all night, seen in a window from the evening) is covered in a few passes.
        margin_s = th.context_s * 2 ** attempt
        load_start = min(window.start, lo2 if lo2 is not None else window.start) - margin_s
        load_end = max(window.end, hi2 if hi2 is not None else window.end) + margin_s
        track = history.track(load_start, load_end)
        motion = split_motion(track, th.stop_radius_m, th.stop_min_duration_s)
        judged = Judged(window, track, motion, evaluate(track, motion, context(load_start, load_end), th))
        if not any([window.cover(s, e) for s, e in _computed_spans(judged) if window.overlaps(s, e)]):
            return judged
    log.warning("reevaluation_window_not_closed", vehicle_id=vehicle_id,
                start=datetime.fromtimestamp(window.start, UTC).isoformat(),
                end=datetime.fromtimestamp(window.end, UTC).isoformat())
    return judged
