"""Event-time cleaning: duplicates, GPS jumps and standing jitter, whatever the arrival order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telematics.ingest.cleaning import CleaningRules, Track, clean, distance_m

RULES = CleaningRules(jump_speed_kmh=250, jitter_radius_m=30, jitter_speed_kmh=3)
EMPTY = Track(*(np.zeros(0, dtype=t) for t in (np.int64, float, float, float, float)))


def _track(rows: list[tuple[int, float, float, float, float]]) -> Track:
    v, t, la, lo, s = zip(*rows, strict=True) if rows else ([], [], [], [], [])
    return Track(np.array(v, dtype=np.int64), np.array(t, dtype=float), np.array(la, dtype=float),
                 np.array(lo, dtype=float), np.array(s, dtype=float))


# Vehicle 1 drives north at ~36 km/h (0.0001 deg lat per second is ~11 m/s), one fix a 10 s.
DRIVE = [(1, 10.0 * i, 34.0 + 0.001 * i, 119.0, 40.0) for i in range(6)]


def test_distance_m_matches_a_degree_of_latitude():
    assert abs(distance_m(np.array([34.0]), np.array([119.0]), np.array([35.0]), np.array([119.0]))[0] - 111_195) < 100


def test_duplicates_keep_the_first_arrival():
    out = clean(_track([DRIVE[0], DRIVE[1], (1, 10.0, 34.5, 119.0, 40.0)]), EMPTY, RULES)
    assert out.duplicate.tolist() == [False, False, True]
    assert out.order.tolist() == [0, 1]


def test_a_spike_is_dropped_and_the_track_after_it_kept():
    spike = (1, 25.0, 34.2, 119.0, 40.0)  # 20 km away within 5 s
    out = clean(_track([*DRIVE, spike]), EMPTY, RULES)
    assert out.jump.tolist() == [False] * 6 + [True]
    assert out.keep.tolist() == [True] * 6 + [False]


def test_a_last_fix_far_from_the_track_is_a_jump_but_a_slow_relocation_is_not():
    out = clean(_track([*DRIVE, (1, 60.0, 34.3, 119.0, 40.0)]), EMPTY, RULES)
    assert out.jump[-1]
    out = clean(_track([*DRIVE, (1, 4000.0, 34.3, 119.0, 40.0)]), EMPTY, RULES)  # 33 km in 66 min
    assert not out.jump.any()


def test_stored_context_is_a_neighbour_but_never_output():
    context = _track([(1, -10.0, 34.0, 119.0, 40.0)])
    out = clean(_track([(1, 0.0, 34.5, 119.0, 40.0), (1, 10.0, 34.0, 119.0, 40.0)]), context, RULES)
    assert out.jump.tolist() == [True, False] and out.order.tolist() == [1]


def test_standing_jitter_snaps_to_where_the_car_stopped():
    stop = [(1, 100.0 + 10 * i, 34.0 + d, 119.0, 0.5) for i, d in enumerate([0, 0.0001, -0.0001, 0.0002])]
    out = clean(_track(stop + [(1, 200.0, 34.001, 119.0, 0.5)]), EMPTY, RULES)
    assert out.lat.tolist() == [34.0, 34.0, 34.0, 34.0, 34.001]  # 111 m away stays put


def test_other_vehicles_do_not_interfere():
    other = [(2, 10.0 * i, 20.0, 110.0, 40.0) for i in range(3)]
    out = clean(_track(DRIVE + other), EMPTY, RULES)
    assert out.keep.all()
    assert out.order.tolist() == list(range(9))


@settings(max_examples=60, deadline=None)
@given(st.permutations(list(range(9))), st.lists(st.integers(0, 8), max_size=5))
def test_arrival_order_and_repeats_do_not_change_what_is_kept(order: list[int], repeats: list[int]):
    rows = [*DRIVE, (1, 25.0, 34.2, 119.0, 40.0), (2, 0.0, 20.0, 110.0, 0.0), (2, 10.0, 20.0001, 110.0, 0.0)]
    expected = clean(_track(rows), EMPTY, RULES)
    arrived = [rows[i] for i in order + repeats]
    out = clean(_track(arrived), EMPTY, RULES)
    kept = sorted((arrived[i][0], arrived[i][1], out.lat[i], out.lon[i]) for i in out.order)
    assert kept == sorted((rows[i][0], rows[i][1], expected.lat[i], expected.lon[i]) for i in expected.order)
