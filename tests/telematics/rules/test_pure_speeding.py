"""The speeding rule on tiny hand-built tracks (pure: no database, no broker)."""

from __future__ import annotations

from pure_tracks import TH, Fixes, clock, context, square

from telematics.rules.context import Place
from telematics.rules.findings import SPEEDING
from telematics.rules.speeding import speeding


def _run(speeds_kmh: list[float], every_s: float = 10.0, north_m: float = 0.0) -> Fixes:
    """Fixes ``every_s`` apart with the given speeds, moving east at that speed."""
    fixes, east = Fixes(), 0.0
    for i, v in enumerate(speeds_kmh):
        fixes.fix(600 + i * every_s / 60, north_m, east, speed_kmh=v, ignition=True)
        east += v / 3.6 * every_s
    return fixes


def test_thirty_seconds_above_the_limit_is_speeding():
    track, motion = _run([100, 130, 135, 140, 130, 100]).split()
    (found,) = speeding(track, motion, context(), TH)
    assert found.kind == SPEEDING and found.severity == "warning"
    assert (found.start_s, found.end_s) == (clock(600 + 10 / 60), clock(600 + 40 / 60))
    assert found.evidence["max_speed_kmh"] == 140 and found.evidence["limit_kmh"] == 120
    assert found.evidence["duration_s"] == 30


def test_a_shorter_burst_is_no_speeding():
    track, motion = _run([100, 130, 140, 100]).split()
    assert speeding(track, motion, context(), TH) == []


def test_half_again_above_the_limit_is_critical():
    track, motion = _run([100, 150, 185, 150, 150, 100]).split()
    (found,) = speeding(track, motion, context(), TH)
    assert found.severity == "critical"


def test_a_speed_zone_lowers_the_limit_inside_it_only():
    school = Place(3, "学校路段", square(0, 0, 2000), limit_kmh=60)
    inside, motion = _run([50, 80, 80, 80, 80, 50]).split()
    (found,) = speeding(inside, motion, context(speed_zones=(school,)), TH)
    assert found.evidence["limit_kmh"] == 60
    outside, motion = _run([50, 80, 80, 80, 80, 50], north_m=5000).split()
    assert speeding(outside, motion, context(speed_zones=(school,)), TH) == []
