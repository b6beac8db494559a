"""Private use rules on tiny hand-built tracks (pure: no database, no broker)."""

from __future__ import annotations

import pytest
from pure_tracks import DAY, TH, Fixes, clock, context, days, orders, square

from telematics.rules.findings import NO_ORDER, OFF_HOURS, OUT_OF_AREA, ROUTE_DEVIATION
from telematics.rules.private_use import no_order, off_hours, out_of_area, route_deviation

TOWN = (0.0, 8000.0)  # 8 km east of the depot


def _to_town(first_min: float, last_min: float) -> Fixes:
    """Parked at the depot, a drive to town from ``first_min`` to ``last_min``, parked there."""
    return (Fixes().stand(first_min - 10, first_min).drive(first_min, last_min, TOWN)
            .stand(last_min + 1, last_min + 10, *TOWN))


def test_a_trip_without_any_order_is_private_use_from_departure_to_arrival():
    track, motion = _to_town(600, 620).split()
    (found,) = no_order(track, motion, context(), TH)
    assert found.kind == NO_ORDER and found.trip_index == 0
    assert (found.start_s, found.end_s) == (clock(600), clock(620))
    assert found.evidence["uncovered_s"] == 1200 and found.evidence["distance_km"] == pytest.approx(8.0, abs=0.01)
    assert found.thresholds["private_use_min_s"] == 120 and found.thresholds["order_grace_before_s"] == 1800


def test_a_trip_inside_an_assigned_order_is_no_private_use():
    track, motion = _to_town(600, 620).split()
    assert no_order(track, motion, context(orders=orders((600, 620, (0, 0), TOWN))), TH) == []


@pytest.mark.parametrize(("pickup_min", "flagged"), [(630.5, False), (632, True)])
def test_the_grace_before_a_pickup_covers_all_but_the_least_private_use(pickup_min, flagged):
    """The order's window opens 30 min before its pickup: 30 s left uncovered is tolerated,
    120 s (``private_use_min_s``) is not."""
    track, motion = _to_town(600, 620).split()
    found = no_order(track, motion, context(orders=orders((pickup_min, pickup_min + 20, (0, 0), TOWN))), TH)
    assert bool(found) is flagged
    if flagged:
        assert found[0].evidence["uncovered_s"] == 120


def test_a_car_moved_across_its_yard_is_no_trip():
    track, motion = Fixes().stand(590, 600).drive(600, 602, (0, 150)).stand(603, 610, 0, 150).split()
    assert no_order(track, motion, context(), TH) == []


def test_driving_at_night_on_a_working_day_is_off_hours():
    track, motion = _to_town(23 * 60, 23 * 60 + 20).split()
    (found,) = off_hours(track, motion, context(), TH)
    assert found.kind == OFF_HOURS and found.start_s == clock(23 * 60)
    assert found.evidence["calendar"]["days"] == {DAY.isoformat(): "working"}


def test_driving_in_working_hours_is_judged_by_the_calendar():
    track, motion = _to_town(600, 620).split()
    assert off_hours(track, motion, context(), TH) == []
    (found,) = off_hours(track, motion, context(days=days(rest=(DAY,))), TH)
    assert found.evidence["calendar"]["days"] == {DAY.isoformat(): "rest"}


def test_off_hours_spans_only_the_part_after_working_time():
    track, motion = _to_town(17 * 60 + 50, 18 * 60 + 10).split()
    (found,) = off_hours(track, motion, context(), TH)
    assert (found.start_s, found.end_s) == (clock(18 * 60), clock(18 * 60 + 10))
    assert found.evidence["uncovered_s"] == 600


def test_an_approved_order_covers_driving_off_hours():
    track, motion = _to_town(23 * 60, 23 * 60 + 20).split()
    ctx = context(orders=orders((23 * 60, 23 * 60 + 20, (0, 0), TOWN), use=False))
    assert off_hours(track, motion, ctx, TH) == []


CITY = square(0, 0, 5000)


def test_standing_outside_the_allowed_area_is_out_of_area_from_the_first_fix_outside():
    track, motion = _to_town(600, 620).split()  # the town lies 3 km beyond the boundary
    (found,) = out_of_area(track, motion, context(allowed_area=CITY), TH)
    first_outside = track.t_s[track.lon > CITY.bounds[2]][0]
    assert found.kind == OUT_OF_AREA and found.start_s == first_outside and found.end_s == clock(630)


def test_an_order_to_a_place_outside_the_area_covers_going_there():
    track, motion = _to_town(600, 620).split()
    ctx = context(allowed_area=CITY, orders=orders((600, 630, (0, 0), TOWN)))
    assert out_of_area(track, motion, ctx, TH) == []


def test_a_minute_across_the_boundary_is_no_violation():
    track, motion = (Fixes().stand(590, 600, 0, 4000).drive(600, 601, (0, 5300)).drive(601, 602, (0, 4000))
                     .stand(603, 610, 0, 4000).split())
    assert out_of_area(track, motion, context(allowed_area=CITY), TH) == []


def _ride(track_fixes: Fixes) -> list:
    track, motion = track_fixes.split()
    return route_deviation(track, motion, context(orders=orders((600, 640, (0, 0), TOWN))), TH)


def test_a_straight_ride_along_the_route_is_no_deviation():
    assert _ride(Fixes().stand(590, 600).drive(600, 640, TOWN).stand(641, 650, *TOWN)) == []


def test_leaving_the_route_corridor_for_ten_minutes_is_a_deviation():
    detour = Fixes().stand(590, 600).drive(600, 620, (4000, 4000)).drive(620, 640, TOWN).stand(641, 650, *TOWN)
    (found,) = _ride(detour)
    assert found.kind == ROUTE_DEVIATION and found.evidence["reason"] == "outside_corridor"
    assert found.end_s - found.start_s >= TH.route_deviation_min_s and found.evidence["request_id"] == 1


NORTH = (4000.0, 4000.0)  # a co-rider's pickup off the straight line to town


def test_a_shared_ride_through_a_co_riders_pickup_is_no_deviation():
    """Order 1 rides depot -> town; order 2 (north -> town) boards on the way: the car's turn
    north is the shared ride (合乘), not a detour; without order 2 it is one."""
    detour = Fixes().stand(590, 600).drive(600, 620, NORTH).stand(621, 623, *NORTH).drive(623, 640, TOWN)
    track, motion = detour.stand(641, 650, *TOWN).split()
    shared = orders((600, 640, (0, 0), TOWN), (621, 640, NORTH, TOWN))
    assert route_deviation(track, motion, context(orders=shared), TH) == []
    alone = route_deviation(track, motion, context(orders=orders((600, 640, (0, 0), TOWN))), TH)
    assert "outside_corridor" in {f.evidence["reason"] for f in alone}


def test_zigzagging_inside_the_corridor_is_an_excess_distance():
    zigzag = Fixes().stand(590, 600)
    for k, (north, east) in enumerate([(1900, 2000), (-1900, 4000), (1900, 6000), TOWN]):
        zigzag.drive(600 + 10 * k, 610 + 10 * k, (north, east))
    (found,) = _ride(zigzag.stand(641, 650, *TOWN))
    assert found.evidence["reason"] == "excess_distance"
    assert found.evidence["planned_km"] == pytest.approx(8.0 * TH.route_detour_factor, abs=0.01)
    assert found.evidence["driven_km"] == pytest.approx(14.1, abs=0.1)
