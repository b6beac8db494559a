"""Closing a re-evaluation window over an in-memory history (pure: no database, no broker).

Judging only the closed window around new fixes must give, inside it, what judging the whole
history gives."""

from __future__ import annotations

import numpy as np
from pure_tracks import TH, Fixes, clock, context

from telematics.motion import Track, split_motion
from telematics.rules.engine import evaluate
from telematics.window import Window, close_window


class MemoryHistory:
    """A vehicle's stored fixes and stored item spans, kept in memory; records what is read."""

    def __init__(self, track: Track, stored: list[tuple[float, float]] | None = None) -> None:
        self.all, self.stored = track, stored or []
        self.loads: list[tuple[float, float]] = []

    def neighbours(self, at: float, before: bool) -> list[float]:
        t = self.all.t_s
        return (t[t < at][::-1] if before else t[t > at])[:2].tolist()

    def extents(self, lo: float, hi: float, order_overrun_s: float) -> list[tuple[float, float]]:
        return [span for span in self.stored if Window(lo, hi).overlaps(*span)]

    def track(self, lo: float, hi: float) -> Track:
        self.loads.append((lo, hi))
        keep = (self.all.t_s >= lo) & (self.all.t_s <= hi)
        a = self.all
        return Track(a.position_id[keep], a.t_s[keep], a.lat[keep], a.lon[keep], a.speed_kmh[keep],
                     a.ignition[keep], a.power_cut[keep], a.antenna_cut[keep])


def _day() -> Track:
    """Parked at the depot, an evening drive to town (no order), parked there, and back."""
    return (Fixes().stand(18 * 60, 19 * 60).drive(19 * 60, 19 * 60 + 20, (0, 8000))
            .stand(19 * 60 + 21, 21 * 60, 0, 8000).drive(21 * 60, 21 * 60 + 20, (0, 0))
            .stand(21 * 60 + 21, 22 * 60).track())


def _judge_whole(track: Track) -> list[tuple[str, float, float]]:
    motion = split_motion(track, TH.stop_radius_m, TH.stop_min_duration_s)
    return [(f.kind, f.start_s, f.end_s) for f in evaluate(track, motion, context(), TH)]


def test_a_fix_inside_a_stop_closes_the_window_over_the_whole_stop():
    history = MemoryHistory(_day())
    judged = close_window(history, lambda lo, hi: context(), TH, clock(20 * 60), clock(20 * 60))
    assert judged.window.start <= clock(19 * 60 + 20) and judged.window.end >= clock(21 * 60)
    stops = [(judged.track.t_s[f], judged.track.t_s[la]) for f, la in
             zip(judged.motion.stop_first, judged.motion.stop_last, strict=True)]
    assert (clock(19 * 60 + 20), clock(21 * 60)) in stops


def test_the_closed_window_judges_its_inside_as_the_whole_history_does():
    track = _day()
    judged_kinds = set()
    for minute in (19 * 60 + 10, 20 * 60, 21 * 60 + 5):  # in a trip, in a stop, in the trip back
        judged = close_window(MemoryHistory(track), lambda lo, hi: context(), TH, clock(minute), clock(minute))
        w = judged.window
        inside = [(f.kind, f.start_s, f.end_s) for f in judged.findings if w.overlaps(f.start_s, f.end_s)]
        assert inside == [item for item in _judge_whole(track) if w.overlaps(item[1], item[2])], minute
        judged_kinds |= {kind for kind, _, _ in inside}
    assert judged_kinds == {"private_use.no_order", "private_use.off_hours"}


def test_a_stored_item_overlapping_the_window_widens_it_and_the_fixes_loaded():
    track = _day()
    stored_alert = (clock(18 * 60 + 5), clock(20 * 60))
    history = MemoryHistory(track, [stored_alert])
    judged = close_window(history, lambda lo, hi: context(), TH, clock(19 * 60 + 50), clock(19 * 60 + 50))
    assert judged.window.start <= stored_alert[0]
    lo, hi = history.loads[-1]
    assert lo <= judged.window.start - TH.context_s and hi >= judged.window.end + TH.context_s
    assert np.all(np.diff(judged.track.t_s) > 0)


def test_a_window_without_stored_neighbours_is_judged_from_its_own_fixes():
    track = Fixes().stand(600, 610).track()
    judged = close_window(MemoryHistory(track), lambda lo, hi: context(), TH, clock(600), clock(610))
    assert judged.window.start <= clock(600) - TH.stop_min_duration_s and len(judged.track) == 11
    assert judged.motion.stop_count == 1 and judged.findings == []
