"""Motion split (pure): stops and trips of hand-built tracks."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from rule_traces import DEPOT, TOWN, Trace, local

from telematics.motion import Track, split_motion

DAY = date(2026, 12, 1)


def test_park_drive_park_is_two_stops_and_one_trip() -> None:
    trace = Trace().park(DEPOT, local(DAY, 9), 10).drive(TOWN, 15).then_park(10)
    track = trace.track()
    motion = split_motion(track)
    assert motion.stop_count == 2 and motion.trip_count == 1
    assert motion.stop_last[0] == motion.trip_first[0] and motion.trip_last[0] == motion.stop_first[1]
    # 8.0 km apart; up to a stop radius of crawling at each end belongs to the stops
    assert 7600 < motion.trip_distance_m[0] <= 8010
    durations = track.t_s[motion.stop_last] - track.t_s[motion.stop_first]
    assert (durations >= 180).all()
    assert abs(motion.stop_lat[1] - TOWN[0]) < 1e-3


def test_short_halt_does_not_split_a_trip() -> None:
    trace = Trace().park(DEPOT, local(DAY, 9), 10).drive(TOWN, 8)
    trace.park(TOWN, trace.end + timedelta(seconds=20), 2, every_s=20, ignition=True)  # traffic light
    trace.drive(DEPOT, 8).then_park(10)
    motion = split_motion(trace.track())
    assert motion.stop_count == 2 and motion.trip_count == 1


def test_duration_and_radius_are_settable() -> None:
    trace = Trace().park(DEPOT, local(DAY, 9), 10).drive(TOWN, 8)
    trace.park(TOWN, trace.end + timedelta(seconds=20), 2, every_s=20, ignition=True)
    trace.drive(DEPOT, 8).then_park(10)
    assert split_motion(trace.track(), min_duration_s=60).stop_count == 3
    assert split_motion(trace.track(), radius_m=1.0, min_duration_s=60).stop_count == 3
    # a huge radius turns slow town driving into one long stop
    assert split_motion(trace.track(), radius_m=20_000).trip_count == 0


def test_ignition_off_is_a_stop_even_when_the_fix_wanders() -> None:
    trace = Trace().park(DEPOT, local(DAY, 9), 10).drive(TOWN, 10).then_park(10)
    fixes = trace.fixes[-11:]
    for i, fix in enumerate(fixes):  # +-300 m wander of a parked car under a bridge
        fix["lat"] += 0.0027 * (1 if i % 2 else -1)
    motion = split_motion(trace.track())
    assert motion.stop_count == 2


def test_long_silence_at_one_place_is_a_stop() -> None:
    trace = Trace().park(DEPOT, local(DAY, 9), 0).drive(TOWN, 10)
    trace.park(TOWN, trace.end + timedelta(hours=3), 0, ignition=True).drive(DEPOT, 10)
    motion = split_motion(trace.track())
    assert motion.stop_count == 1 and motion.trip_count == 2


def test_empty_and_single_fix_tracks() -> None:
    assert split_motion(Track.empty()).trip_count == 0
    one = Track(np.array([1]), np.array([0.0]), np.array([34.6]), np.array([119.2]), np.array([0.0]),
                np.array([False]))
    motion = split_motion(one)
    assert motion.stop_count == 0 and motion.trip_count == 1 and motion.trip_distance_m[0] == 0


def test_a_quick_hop_to_a_place_500_m_away_is_a_trip_between_two_stops() -> None:
    """Parked, then 50 s of driving to a venue 515 m away (fixes 65, 195, 320 and 440 m out),
    16 min there, and back: every fix of the hop lies in a dwell of one place or the other,
    but no dwell holds both places, so the visit is a stop of its own."""
    venue = (DEPOT[0] + 0.0028, DEPOT[1] - 0.0045)
    trace = Trace().park(DEPOT, local(DAY, 14), 30, every_s=10).drive(venue, 50 / 60)
    for fix, share in zip(trace.fixes[-5:-1], (0.126, 0.379, 0.621, 0.854), strict=True):
        fix["lat"], fix["lon"] = DEPOT[0] + 0.0028 * share, DEPOT[1] - 0.0045 * share
    trace.then_park(16, every_s=10).drive(DEPOT, 50 / 60).then_park(30, every_s=10)
    track = trace.track()
    motion = split_motion(track)
    assert motion.stop_count == 3 and motion.trip_count == 2
    assert abs(motion.stop_lat[1] - venue[0]) < 5e-4 and abs(motion.stop_lon[1] - venue[1]) < 5e-4
    assert (motion.trip_first == motion.stop_last[:2]).all() and (motion.trip_last == motion.stop_first[1:]).all()
    stayed_s = track.t_s[motion.stop_last[1]] - track.t_s[motion.stop_first[1]]
    assert 14 * 60 < stayed_s < 17 * 60
