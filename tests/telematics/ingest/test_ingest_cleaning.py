"""Event-time cleaning: duplicates, GPS jumps confirmed by agreeing fixes, and standing
jitter, whatever the arrival order."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telematics.ingest.cleaning import CleaningRules, Context, FixBatch, clean, empty_batch

RULES = CleaningRules(jump_speed_kmh=250, jitter_radius_m=30, jitter_speed_kmh=3, confirm_fixes=3)
EMPTY = Context(empty_batch(), empty_batch())

Row = tuple[int, float, float, float, float]


def _track(rows: list[Row]) -> FixBatch:
    v, t, la, lo, s = zip(*rows, strict=True) if rows else ([], [], [], [], [])
    return FixBatch(np.array(v, dtype=np.int64), np.array(t, dtype=float), np.array(la, dtype=float),
                 np.array(lo, dtype=float), np.array(s, dtype=float))


def _context(stored: list[Row], held: list[Row] = ()) -> Context:
    return Context(_track(stored), _track(list(held)))


# Vehicle 1 drives north at ~40 km/h (0.001 deg lat in 10 s is ~11 m/s), one fix a 10 s.
DRIVE = [(1, 10.0 * i, 34.0 + 0.001 * i, 119.0, 40.0) for i in range(6)]


def _feed_one_by_one(stored: list[Row], fixes: list[Row]) -> tuple[list[Row], list[Row], list[Row], list[Row]]:
    """Each fix in a batch of its own, the context carried on as the pipeline does; returns
    the stored, held, dropped and marked fixes at the end."""
    held: list[Row] = []
    dropped: list[Row] = []
    marked: list[Row] = []
    for row in fixes:
        out = clean(_track([row]), _context(stored[-RULES.confirm_fixes:], held), RULES)
        window = stored[-RULES.confirm_fixes:]
        marked += [r for r, m in zip(window, out.marked, strict=True) if m]
        stored = [r for r in stored if r not in marked]
        stored += [r for r, keep in zip(held, out.released, strict=True) if keep]
        dropped += [r for r, jump in zip(held, out.held_jump, strict=True) if jump]
        held = [r for r, keep, jump in zip(held, out.released, out.held_jump, strict=True) if not (keep or jump)]
        if out.keep[0]:
            stored.append(row)
        elif out.held[0]:
            held.append(row)
        elif out.jump[0]:
            dropped.append(row)
        stored.sort(key=lambda r: r[1])
    return stored, held, dropped, marked


def test_duplicates_keep_the_first_arrival():
    out = clean(_track([DRIVE[0], DRIVE[1], (1, 10.0, 34.5, 119.0, 40.0)]), EMPTY, RULES)
    assert out.duplicate.tolist() == [False, False, True]
    assert out.order.tolist() == [0, 1]


def test_a_spike_is_dropped_and_the_track_after_it_kept():
    spike = (1, 25.0, 34.2, 119.0, 40.0)  # 20 km away within 5 s
    out = clean(_track([*DRIVE, spike]), EMPTY, RULES)
    assert out.jump.tolist() == [False] * 6 + [True]
    assert out.keep.tolist() == [True] * 6 + [False]


def test_a_last_fix_far_from_the_track_is_held_until_the_track_goes_on_without_it():
    far = (1, 60.0, 34.3, 119.0, 40.0)
    out = clean(_track([*DRIVE, far]), EMPTY, RULES)
    assert out.held[-1] and not out.jump[-1] and not out.keep[-1]
    resumed = (1, 70.0, 34.007, 119.0, 40.0)
    out = clean(_track([resumed]), _context(DRIVE[-3:], [far]), RULES)
    assert out.held_jump.tolist() == [True] and out.keep.tolist() == [True] and not out.marked.any()
    out = clean(_track([*DRIVE, (1, 4000.0, 34.3, 119.0, 40.0)]), EMPTY, RULES)  # 33 km in 66 min
    assert out.keep.all()


def test_stored_context_is_a_neighbour_but_never_output():
    context = _context([(1, -10.0, 34.0, 119.0, 40.0)])
    out = clean(_track([(1, 0.0, 34.5, 119.0, 40.0), (1, 10.0, 34.0, 119.0, 40.0)]), context, RULES)
    assert out.jump.tolist() == [True, False] and out.order.tolist() == [1]


def test_the_first_fix_of_a_car_is_stored():
    out = clean(_track([DRIVE[0]]), EMPTY, RULES)
    assert out.keep.tolist() == [True]


def test_a_fix_is_not_judged_against_one_unconfirmed_stored_fix():
    bad_first = (1, 0.0, 1.0, 0.0, 0.0)  # `lat: true, lon: false` once coerced to numbers
    out = clean(_track([(1, 600.0, 34.6, 119.2, 40.0)]), _context([bad_first]), RULES)
    assert out.held.tolist() == [True] and not out.jump.any() and not out.marked.any()


def test_a_car_whose_first_stored_fix_is_bad_recovers_and_the_bad_fix_is_marked():
    bad_first = (1, 0.0, 1.0, 0.0, 0.0)
    real = [(1, 600.0 + 10 * i, 34.6, 119.2 + 0.0001 * i, 40.0) for i in range(20)]
    stored, held, dropped, marked = _feed_one_by_one([bad_first], real)
    assert marked == [bad_first]
    assert stored == real and held == [] and dropped == []


def test_new_fixes_that_agree_outvote_a_lone_first_fix_in_the_same_batch():
    bad = (1, 0.0, 1.0, 0.0, 0.0)
    real = [(1, 600.0 + 10 * i, 34.6, 119.2 + 0.0001 * i, 40.0) for i in range(3)]
    out = clean(_track([bad, *real]), EMPTY, RULES)
    assert out.jump.tolist() == [True, False, False, False] and out.keep[1:].all()


def test_a_terminal_moved_to_a_far_car_recovers_and_the_confirmed_old_track_stays():
    elsewhere = [(1, 100.0 + 10 * i, 31.2, 121.4 + 0.0001 * i, 40.0) for i in range(5)]  # Shanghai
    stored, held, dropped, marked = _feed_one_by_one(DRIVE, elsewhere)
    assert stored == [*DRIVE, *elsewhere] and held == dropped == marked == []


def test_a_two_fix_excursion_is_dropped_when_the_track_resumes():
    away = [(1, 60.0, 34.3, 119.0, 40.0), (1, 70.0, 34.3001, 119.0, 40.0)]
    resumed = [(1, 80.0, 34.008, 119.0, 40.0)]
    stored, held, dropped, marked = _feed_one_by_one(DRIVE, [*away, *resumed])
    assert stored == [*DRIVE, *resumed] and dropped == away and marked == held == []


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
