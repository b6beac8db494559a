"""Shared rides on hand-checked days: when passengers ride together, and every rule that
keeps them apart (seats, exclusive trips, ride-time ceilings, agencies that share only
within, sharing off), in the solver, the insertion, the search and the checker.

Geometry of :mod:`dispatch_builders`: points on one meridian, 1 km = 1 minute, every car costs
100 CNY fixed + 1 CNY/km, the depot at km 0.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from dispatch_builders import assert_valid, build, car, car_of, day, trip

from dispatch.check import check_plan
from dispatch.insertion import cheapest_insertion
from dispatch.instance import InstanceError
from dispatch.merging import fewer_cars
from dispatch.plan import Plan, Route, Stop
from dispatch.pooling import shared_search
from dispatch.problem import compile_problem
from dispatch.solver import solve
from dispatch.stops import chain_routes, stop_times, trip_costs_cny
from dispatch.travel import instance_matrix

PENALTY = {0: 1e6, 1: 1e6}


def _same_way(**policy: object) -> dict[str, object]:
    """Two trips from km 10 to km 30 at 08:00 sharp, 2 passengers each, two 4-seat cars.

    Together: one car drives 0 -> 10 -> 30 -> 0 = 60 km, 160 CNY. Apart: 320 CNY.
    """
    data = day([car("P1"), car("P2")],
               [trip("R1", 10, 30, "08:00", passengers=2), trip("R2", 10, 30, "08:00", passengers=2)])
    if policy:
        data["policy"] = policy
    return data


def _solve(data: dict[str, object]) -> Plan:
    instance = build(data)
    plan = solve(instance, time_limit_s=1.0)
    assert_valid(instance, plan)
    return plan


def test_two_trips_the_same_way_share_one_car():
    plan = _solve(_same_way())
    assert plan.total_cost_cny == pytest.approx(160)
    assert car_of(plan, "R1") == car_of(plan, "R2")
    assert plan.shared_with == {"R1": ["R2"], "R2": ["R1"]}
    assert "shared with R2" in plan.explanations["R1"]


@pytest.mark.parametrize(("data", "why"), [
    (day([car("P1"), car("P2")], [trip("R1", 10, 30, "08:00", passengers=3),
                                  trip("R2", 10, 30, "08:00", passengers=2)]), "seats"),
    (day([car("P1"), car("P2")], [trip("R1", 10, 30, "08:00", passengers=2, exclusive=True),
                                  trip("R2", 10, 30, "08:00", passengers=2)]), "exclusive"),
    (_same_way(sharing=False), "sharing off"),
    (day([car("P1"), car("P2")], [trip("R1", 10, 30, "08:00", agency="A1"),
                                  trip("R2", 10, 30, "08:00", agency="A2")],
         policy={"share_within_agency": ["A1"]}), "share within agency"),
])
def test_rules_that_keep_passengers_apart(data, why):
    plan = _solve(data)
    assert plan.total_cost_cny == pytest.approx(320), why
    assert car_of(plan, "R1") != car_of(plan, "R2") and plan.shared_with == {}


def test_an_agency_that_shares_within_rides_with_its_own():
    data = _same_way(share_within_agency=["A1"])
    plan = _solve(data)
    assert plan.total_cost_cny == pytest.approx(160)


def _waiting_day(max_ride_s: int | None) -> dict[str, object]:
    """R1 10 -> 30 at 08:00 sharp; R2 20 -> 30 at 08:30 sharp, one car.

    Shared, the car waits at km 20 with R1 on board: 60 km, 160 CNY, R1 rides 40 minutes.
    In turn (R1 dropped at 08:20, back to km 20 by 08:30): 80 km, 180 CNY, R1 rides 20 minutes.
    """
    return day([car("P1")], [trip("R1", 10, 30, "08:00", max_ride_s=max_ride_s),
                             trip("R2", 20, 30, "08:30")])


def test_a_longer_ride_is_taken_when_no_ceiling_forbids_it():
    plan = _solve(_waiting_day(None))
    assert plan.total_cost_cny == pytest.approx(160)


def test_a_ride_ceiling_keeps_a_passenger_from_waiting_on_board():
    plan = _solve(_waiting_day(25 * 60))
    assert plan.total_cost_cny == pytest.approx(180)
    assert plan.shared_with == {}


def test_ride_times_wait_before_the_pickup_rather_than_on_board():
    """R1 (ceiling 25 min) may still share if the car waits for R2 before picking R1 up."""
    data = day([car("P1")], [trip("R1", 10, 30, "08:00", "08:30", max_ride_s=25 * 60),
                             trip("R2", 20, 30, "08:30")])
    instance = build(data)
    problem = compile_problem(instance, instance_matrix(instance))
    n = problem.n_requests
    times = stop_times(problem, 0, [0, 1, n + 0, n + 1])
    assert times is not None
    pickup_r1, pickup_r2, drop_r1, _ = times
    # R2 waits for 08:30 and the drop-off is at 08:40: R1 boards no earlier than 08:15
    assert problem.at(pickup_r2).strftime("%H:%M") == "08:30"
    assert problem.at(pickup_r1).strftime("%H:%M") == "08:15"
    assert drop_r1 - pickup_r1 == 25 * 60
    plan = _solve(data)
    assert plan.total_cost_cny == pytest.approx(160)


def test_a_trip_whose_ceiling_is_shorter_than_its_direct_ride_is_refused():
    plan = _solve(day([car("P1")], [trip("R1", 10, 30, "08:00", max_ride_s=10 * 60)]))
    assert [(u.request, u.reason) for u in plan.unserved] == [("R1", "ride_time")]


def test_bad_shared_ride_fields_are_refused_by_name():
    data = _same_way()
    data["requests"][0]["max_ride_s"] = 10
    with pytest.raises(InstanceError, match=r"requests\[0\]\.max_ride_s: .*greater than or equal to 60"):
        build(data)
    data = _same_way()
    data["requests"][1]["exclusive"] = "maybe"
    with pytest.raises(InstanceError, match=r"requests\[1\]\.exclusive"):
        build(data)
    data = _same_way(share_within_agency="A1")
    with pytest.raises(InstanceError, match=r"policy\.share_within_agency"):
        build(data)


def test_insertion_puts_a_trip_beside_the_one_going_the_same_way():
    instance = build(_same_way())
    problem = compile_problem(instance, instance_matrix(instance))
    routes = chain_routes(problem, {0: [0]})
    move = cheapest_insertion(problem, routes, 1)
    assert move is not None and move.car == 0
    assert move.cost_cny == pytest.approx(0)  # same pickup, same drop-off
    apart = cheapest_insertion(problem, routes, 1, open_cars=True, kinds=("pool",))
    assert apart == move


def test_insertion_never_breaks_seats():
    data = _same_way()
    data["requests"][0]["passengers"] = 3
    instance = build(data)
    problem = compile_problem(instance, instance_matrix(instance))
    move = cheapest_insertion(problem, chain_routes(problem, {0: [0]}), 1)
    assert move is not None and move.car == 1 and move.cost_cny == pytest.approx(160)


def test_both_searches_merge_two_cars_into_one():
    instance = build(_same_way())
    problem = compile_problem(instance, instance_matrix(instance))
    apart = chain_routes(problem, {0: [0], 1: [1]})
    merged = fewer_cars(problem, apart, PENALTY, deadline=_soon(0.5))
    assert len(merged) == 1
    routed = shared_search(problem, [0, 1], [0, 1], apart, PENALTY, deadline=_soon(1.0))
    assert routed is not None and len(routed) == 1


def test_trip_costs_add_up_to_the_route_cost():
    instance = build(_waiting_day(None))
    problem = compile_problem(instance, instance_matrix(instance))
    n = problem.n_requests
    shares = trip_costs_cny(problem, 0, [0, 1, n + 0, n + 1])
    assert sum(shares.values()) == pytest.approx(160)
    # R1 alone 0 -> 20 (20 km, empty leg to its pickup included), both 20 -> 30, R1's way
    # home by the last drop-off's request R2: fixed 50 each
    assert shares == pytest.approx({0: 50 + 20 + 5, 1: 50 + 5 + 30})


def _shared_plan(data: dict[str, object]) -> Plan:
    """The plan of one car carrying R1 and R2 together on the same-way day."""
    instance = build(data)
    stops = [Stop(request=rid, type=kind, arrival=instance.requests[0].pickup_earliest + offset,
                  start=instance.requests[0].pickup_earliest + offset)
             for rid, kind, offset in [("R1", "pickup", timedelta()), ("R2", "pickup", timedelta()),
                                       ("R1", "dropoff", timedelta(minutes=20)),
                                       ("R2", "dropoff", timedelta(minutes=20))]]
    return Plan(status="feasible", total_cost_cny=160.0, solve_s=0.0,
                routes=[Route(vehicle="P1", kind="pool", stops=stops, km=60.0, cost_cny=160.0)],
                shared_with={"R1": ["R2"], "R2": ["R1"]})


def test_the_checker_accepts_a_good_shared_ride():
    data = _same_way()
    assert check_plan(build(data), _shared_plan(data)) == []


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["requests"][0].update(passengers=3), "5 passengers on board, 4 seats"),
    (lambda d: d["requests"][1].update(exclusive=True), "an exclusive trip rides alone"),
    (lambda d: d.update(policy={"sharing": False}), "sharing is off"),
    (lambda d: (d["requests"][1].update(agency="A9"), d.update(policy={"share_within_agency": ["A9"]})),
     "across agencies that share only within"),
    (lambda d: d["requests"][0].update(max_ride_s=15 * 60), "exceeds max_ride_s 900"),
])
def test_the_checker_refuses_a_bad_shared_ride(change, message):
    data = _same_way()
    plan = _shared_plan(data)
    change(data)
    violations = check_plan(build(data), plan)
    assert any(message in v for v in violations), violations


def test_the_checker_refuses_a_wrong_shared_with_list():
    data = _same_way()
    plan = _shared_plan(data)
    plan.shared_with = {}
    assert any(v.startswith("shared_with: R1 lists [] but rode with ['R2']")
               for v in check_plan(build(data), plan))


def _soon(seconds: float) -> float:
    return time.perf_counter() + seconds
