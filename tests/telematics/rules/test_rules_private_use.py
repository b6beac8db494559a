"""Private-use rules on hand-built traces stored in the database and re-evaluated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rule_traces import (
    DEPOT,
    FAR,
    TOWN,
    VENUE,
    Trace,
    add_order,
    alerts,
    build_world,
    feed,
    kinds,
    local,
)

from fleet.settings import get_settings

WORKDAY = date(2026, 12, 1)  # a Tuesday


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    return build_world(session)


def town_and_back(start_hh: int, start_mm: int = 0, day: date = WORKDAY) -> Trace:
    """Parked at the depot, 15 min to town, 30 min there, 15 min back, parked again."""
    trace = Trace().park(DEPOT, local(day, start_hh, start_mm) - timedelta(minutes=20), 20)
    trace.drive(TOWN, 15).then_park(30).drive(DEPOT, 15).then_park(20)
    return trace


def test_trip_without_order_is_private_use(session, world) -> None:
    trace = town_and_back(10)
    changed = feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.no_order")
    assert len(found) == 2  # out and back
    assert {a.id for a in changed} >= {a.id for a in found}
    first = found[0]
    assert local(WORKDAY, 9, 50) <= first.started_at <= local(WORKDAY, 10)  # departure from the stop
    assert first.evidence["trip_id"] and first.evidence["first_position_id"] < first.evidence["last_position_id"]
    assert first.rule_version and first.thresholds["order_grace_before_s"] == 1800
    assert kinds(session, world.ids["car"]) == {"private_use.no_order"}


def test_trip_of_an_assigned_request_is_not_private_use(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 11), state="in_progress",
              round_trip=True)
    feed(session, world.ids["car"], town_and_back(10).fixes)
    assert kinds(session, world.ids["car"]) == set()


def test_grace_window_covers_an_early_start_but_not_a_late_return(session, world) -> None:
    # planned 10:20-10:50; leaving at 10:00 is inside the 30 min grace, coming back at 11:50 is not
    add_order(session, world, world.ids["car"], local(WORKDAY, 10, 20), local(WORKDAY, 10, 50))
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 40), 20).drive(TOWN, 15).then_park(80)
    trace.drive(DEPOT, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.no_order")
    assert len(found) == 1 and found[0].started_at > local(WORKDAY, 11)


def test_a_late_running_order_still_covers_its_ride(session, world) -> None:
    """Planned 10:00-10:30; the car, held up, leaves the pickup at 10:50, reaches town at
    11:10 and is back at 11:35: an official trip served late, not private use."""
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 30))
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 40), 70).drive(TOWN, 20).then_park(10)
    trace.drive(DEPOT, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    assert kinds(session, world.ids["car"]) == set()


def test_a_pickup_reached_after_the_planned_drop_off_covers_nothing(session, world) -> None:
    # planned 10:00-10:30 from town; the car only sets off for town at 11:00
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 30), origin=TOWN,
              destination=DEPOT)
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 30), 90).drive(TOWN, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.no_order")
    assert len(found) == 1 and found[0].thresholds["order_match_radius_m"] == 500


def test_a_late_order_covers_at_most_the_overrun(session, world) -> None:
    # planned 10:00-10:30; reaching the destination at 13:05 is beyond the 120-minute overrun
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 30))
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 30), 200).drive(TOWN, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.no_order")
    assert len(found) == 1 and found[0].started_at >= local(WORKDAY, 12, 49)


COUNTY = (34.35, 119.25)  # a county town 28 km south, inside the city's area


def test_the_empty_legs_to_and_from_a_county_trip_are_covered(session, world) -> None:
    """Planned 10:00-10:50 from town to the county: the car leaves its site at 09:10 to reach
    the pickup, and after the drop-off drives an hour back to its site, both empty."""
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 50), origin=TOWN,
              destination=COUNTY)
    trace = Trace().park(DEPOT, local(WORKDAY, 8, 50), 20).drive(TOWN, 40).then_park(10)
    trace.drive(COUNTY, 50).then_park(10).drive(DEPOT, 60).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    assert kinds(session, world.ids["car"]) == set()


def test_a_drive_home_that_does_not_end_at_the_site_is_not_covered(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 50), origin=TOWN,
              destination=COUNTY)
    trace = Trace().park(TOWN, local(WORKDAY, 9, 40), 20).drive(COUNTY, 50).then_park(10)
    trace.drive(VENUE, 60).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    assert "private_use.no_order" in kinds(session, world.ids["car"])


def evening_trip(day: date, hh: int) -> Trace:
    trace = Trace().park(DEPOT, local(day, hh) - timedelta(minutes=10), 10)
    return trace.drive(TOWN, 15).then_park(20)


def test_trip_after_working_time_is_off_hours(session, world) -> None:
    feed(session, world.ids["car"], evening_trip(WORKDAY, 20).fixes)
    found = alerts(session, world.ids["car"], "private_use.off_hours")
    assert len(found) == 1
    assert found[0].evidence["calendar"]["days"]["2026-12-01"] == "working"
    assert "warning" not in found[0].evidence["calendar"]


def test_approved_request_covers_off_hours_movement(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 20), local(WORKDAY, 21), state="approved")
    feed(session, world.ids["car"], evening_trip(WORKDAY, 20).fixes)
    assert alerts(session, world.ids["car"], "private_use.off_hours") == []
    # approved is not yet assigned: the trip itself is still not covered by an order
    assert alerts(session, world.ids["car"], "private_use.no_order")


def test_statutory_holiday_is_off_hours_and_make_up_day_is_not(session, world) -> None:
    feed(session, world.ids["car"], evening_trip(date(2026, 10, 1), 10).fixes)  # National Day
    holiday = alerts(session, world.ids["car"], "private_use.off_hours")
    assert len(holiday) == 1 and holiday[0].evidence["calendar"]["days"]["2026-10-01"] == "rest"
    feed(session, world.ids["car"], evening_trip(date(2026, 10, 10), 10).fixes)  # Saturday, make-up day
    assert len(alerts(session, world.ids["car"], "private_use.off_hours")) == 1


def test_leaving_the_city_is_out_of_area(session, world) -> None:
    trace = Trace().park(DEPOT, local(WORKDAY, 9), 10).drive(FAR, 60).then_park(30).drive(DEPOT, 60).then_park(10)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.out_of_area")
    assert len(found) == 1 and found[0].evidence["uncovered_s"] > 3600


def test_request_with_a_destination_outside_covers_leaving_the_city(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 9, 10), local(WORKDAY, 11, 40),
              destination=FAR, round_trip=True)
    trace = Trace().park(DEPOT, local(WORKDAY, 9), 10).drive(FAR, 60).then_park(30).drive(DEPOT, 60).then_park(10)
    feed(session, world.ids["car"], trace.fixes)
    assert kinds(session, world.ids["car"]) == set()


def test_detour_off_the_route_is_route_deviation(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 50))
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 50), 10).drive(TOWN, 30, via=(34.6600, 119.2450)).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.route_deviation")
    reasons = {a.evidence["reason"] for a in found}
    assert "outside_corridor" in reasons and "excess_distance" in reasons
    assert all(a.evidence["request_id"] for a in found)
    assert alerts(session, world.ids["car"], "private_use.no_order") == []


def test_leased_car_is_judged_only_inside_its_lease_window(session, world) -> None:
    feed(session, world.ids["leased"], town_and_back(10, day=date(2026, 12, 1)).fixes)
    assert kinds(session, world.ids["leased"]) == set()
    feed(session, world.ids["leased"], town_and_back(10, day=date(2026, 12, 2)).fixes)
    assert kinds(session, world.ids["leased"]) == {"private_use.no_order"}


def test_off_hours_in_a_year_without_official_schedule_carries_the_warning(session, world) -> None:
    feed(session, world.ids["car"], evening_trip(date(2027, 3, 3), 21).fixes)
    found = alerts(session, world.ids["car"], "private_use.off_hours")
    assert len(found) == 1 and "no official holiday schedule for 2027" in found[0].evidence["calendar"]["warning"]


def test_waiting_for_the_return_with_a_jittery_fix_is_not_excess_distance(session, world) -> None:
    """A round trip with a 3-hour wait at the destination, a fix every 10 s wandering a few
    metres: the wander adds kilometres between fixes, but nobody drove them."""
    add_order(session, world, world.ids["car"], local(WORKDAY, 9, 10), local(WORKDAY, 12, 50), round_trip=True)
    trace = Trace().park(DEPOT, local(WORKDAY, 9), 10).drive(TOWN, 15)
    trace.then_park(3 * 60, every_s=10)
    for i, fix in enumerate(trace.fixes[-3 * 360:]):
        fix["lat"] += 0.00006 * ((i * 7) % 5 - 2) / 2  # up to 7 m north or south
        fix["lon"] += 0.00007 * ((i * 3) % 5 - 2) / 2
    trace.drive(DEPOT, 15).then_park(10)
    feed(session, world.ids["car"], trace.fixes)
    assert kinds(session, world.ids["car"]) == set()


def test_a_ride_that_arrives_early_ends_at_the_arrival(session, world) -> None:
    """Planned 10:00-10:50, the car reaches town at 10:15 and is back at the depot by 10:35:
    the drive back is not part of the ride, so its kilometres are no excess."""
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 50))
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 50), 10).drive(TOWN, 15).then_park(4)
    trace.drive(DEPOT, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    assert kinds(session, world.ids["car"]) == set()


@pytest.mark.parametrize(("excess_min_m", "expected"), [(None, set()), ("0", {"private_use.route_deviation"})])
def test_a_short_ride_a_kilometre_longer_than_planned_is_no_detour(session, world, monkeypatch, excess_min_m,
                                                                  expected) -> None:
    """2.0 km east as the crow flies (2.6 km planned), driven through a point 1.9 km north:
    the ride (until the car is within 500 m of the destination) is 3.8 km, 44 % over plan
    but only 1.2 km, under the 2 km route_excess_min_m."""
    if excess_min_m is not None:
        monkeypatch.setenv("FLEET_RULES_ROUTE_EXCESS_MIN_M", excess_min_m)
        get_settings.cache_clear()
    near_east = (34.6010, 119.2230)
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 30), destination=near_east)
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 50), 10).drive(near_east, 10, via=(34.6181, 119.2120))
    feed(session, world.ids["car"], trace.then_park(20).fixes)
    assert kinds(session, world.ids["car"]) == expected
    assert all(a.evidence["reason"] == "excess_distance" for a in alerts(session, world.ids["car"]))


def test_passing_the_next_pickup_on_the_ride_before_is_not_its_ride(session, world) -> None:
    """Running late, the car drives the first ride east to town through the second order's
    pickup, then comes back to that pickup and drives the second ride north: the second ride
    starts at the car's last visit to its pickup, not at the drive-by."""
    midway = (DEPOT[0], (DEPOT[1] + TOWN[1]) / 2)
    north = (midway[0] + 0.018, midway[1])  # 2 km north of the midway pickup
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 10, 20))
    add_order(session, world, world.ids["car"], local(WORKDAY, 10, 5), local(WORKDAY, 10, 15),
              origin=midway, destination=north)
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 50), 10).drive(TOWN, 20).then_park(2)
    trace.drive(midway, 8).then_park(5).drive(north, 5).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    assert kinds(session, world.ids["car"]) == set()
