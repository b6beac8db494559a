"""Device rules on tiny hand-built tracks (pure: no database, no broker)."""

from __future__ import annotations

from pure_tracks import SITE, TH, Fixes, at, clock, context

from telematics.rules.device import offline, still_silent
from telematics.rules.findings import DEVICE_OFFLINE


def test_a_long_silence_away_from_the_site_is_device_offline():
    track, motion = Fixes().fix(600, 0, 8000).fix(645, 0, 8000).split()
    (found,) = offline(track, motion, context(site=SITE), TH)
    assert found.kind == DEVICE_OFFLINE and found.severity == "warning"
    assert (found.start_s, found.end_s) == (clock(600), clock(645))
    assert found.evidence["reason"] == "silent" and found.evidence["silent_s"] == 2700
    assert found.thresholds == {"offline_after_s": 1800, "site_tolerance_m": 50}


def test_a_silence_parked_at_the_site_or_a_short_one_is_no_fault():
    at_site, motion = Fixes().fix(600, 0, 0).fix(645, 0, 0).split()
    assert offline(at_site, motion, context(site=SITE), TH) == []
    short, motion = Fixes().fix(600, 0, 8000).fix(620, 0, 8000).split()
    assert offline(short, motion, context(site=SITE), TH) == []


def test_a_silence_that_ends_away_from_the_site_counts():
    track, motion = Fixes().fix(600, 0, 0).fix(645, 0, 8000).split()
    assert len(offline(track, motion, context(site=SITE), TH)) == 1


def test_a_power_cut_is_a_critical_tamper_alert_over_its_run_of_fixes():
    fixes = Fixes().fix(600, 0, 0).fix(601, 0, 0, power_cut=True).fix(602, 0, 0, power_cut=True).fix(603, 0, 0)
    track, motion = fixes.split()
    (found,) = offline(track, motion, context(site=SITE), TH)
    assert found.severity == "critical" and found.evidence["reason"] == "tamper"
    assert found.evidence["alarms"] == ["power_cut"] and (found.start_s, found.end_s) == (clock(601), clock(602))
    assert found.evidence["first_position_id"] == 2 and found.evidence["position_count"] == 2


def test_a_terminal_still_silent_away_from_the_site_is_an_ongoing_silence():
    lat, lon = at(0, 8000)
    found = still_silent(clock(600), lat, lon, 41, clock(640), SITE, TH)
    assert found is not None and found.start_s == found.end_s == clock(600)
    assert found.evidence["ongoing"] is True and found.evidence["silent_s_at_detection"] == 2400
    assert still_silent(clock(600), lat, lon, 41, clock(620), SITE, TH) is None
    assert still_silent(clock(600), *at(0, 0), 41, clock(640), SITE, TH) is None
