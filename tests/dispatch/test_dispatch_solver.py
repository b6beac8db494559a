"""The solver on small hand-checked days (distances in km along one meridian, 60 km/h).

Unless a test says otherwise a pool car costs 100 CNY if used + 1 CNY per km, nothing per
hour, and lives at the depot at km 0. Every plan is re-checked by ``dispatch.check``.
"""

from __future__ import annotations

import itertools
import random

import pytest
from dispatch_builders import (
    assert_valid,
    build,
    car,
    car_of,
    day,
    hhmm,
    lessor,
    reason_of,
    tariff,
    trip,
)

from dispatch.problem import compile_problem
from dispatch.solver import solve
from dispatch.stops import stops_cost_cny, stops_feasible
from dispatch.travel import instance_matrix

LIMIT_S = 0.3
SHARED_LIMIT_S = 3.0


def test_two_trips_chain_on_one_car() -> None:
    # out 0 -> 10 km at 09:00, back 10 -> 0 km at 11:00: one car, 20 km, 100 + 20 CNY
    instance = build(day([car("P1"), car("P2")],
                         [trip("R1", 0, 10, "09:00"), trip("R2", 10, 0, "11:00")]))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert plan.total_cost_cny == pytest.approx(120.0, abs=0.01)
    assert len(plan.routes) == 1
    assert [s.type for s in plan.routes[0].stops] == ["pickup", "dropoff", "pickup", "dropoff"]
    assert plan.routes[0].stops[1].start.strftime("%H:%M") == "09:10"
    assert plan.unserved == []


def test_overlapping_trips_need_two_cars() -> None:
    # both at 09:00 and sharing off: 2 x (100 + 0 + 10 + 10) CNY (shared, one car: 120 CNY)
    instance = build(day([car("P1"), car("P2")],
                         [trip("R1", 0, 10, "09:00"), trip("R2", 0, 10, "09:05")],
                         policy={"sharing": False}))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert plan.total_cost_cny == pytest.approx(240.0, abs=0.01)
    assert car_of(plan, "R1") != car_of(plan, "R2")


@pytest.mark.parametrize(("base_cny", "expected_kind"), [(150.0, "lease"), (250.0, "pool")])
def test_pool_or_lease_flips_with_the_tariff(base_cny: float, expected_kind: str) -> None:
    # trip 50 -> 60 km. Pool car from km 0: 50 + 10 + 60 = 120 km -> 220 CNY.
    # Lessor at km 55: 5 + 10 + 5 = 20 km -> base + 20 CNY (170 or 270).
    instance = build(day([car("P1")], [trip("R1", 50, 60, "10:00")],
                         lessors=[lessor("L1", 55, tariff(base_cny=base_cny))]))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    (route,) = plan.routes
    assert route.kind == expected_kind
    assert plan.total_cost_cny == pytest.approx(min(220.0, base_cny + 20), abs=0.01)
    other = "pool" if expected_kind == "lease" else "lease"
    assert f"cheapest {other} option" in plan.explanations["R1"]
    if expected_kind == "lease":
        assert route.vehicle == "L1:sedan:1"
        assert plan.explanations["R1"].startswith("leased car L1:sedan:1 adds 170.00 CNY")


@pytest.mark.parametrize("nev_required", [True, False])
def test_nev_requirement_binds(nev_required: bool) -> None:
    cars = [car("PETROL", fixed_cost_cny=50.0), car("BEV", energy="bev", range_km=400)]
    instance = build(day(cars, [trip("R1", 0, 10, "09:00", nev_required=nev_required)]))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert car_of(plan, "R1") == ("BEV" if nev_required else "PETROL")


def test_phev_counts_as_nev() -> None:
    instance = build(day([car("P1"), car("PHEV", energy="phev", fixed_cost_cny=300.0)],
                         [trip("R1", 0, 10, "09:00", nev_required=True)]))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert car_of(plan, "R1") == "PHEV"


@pytest.mark.parametrize(("winter", "margin", "expected"), [(0.85, 0.15, "PETROL"), (1.0, 0.1, "BEV")])
def test_range_with_margin_and_winter_derating_binds(winter: float, margin: float, expected: str) -> None:
    # round trip 0 -> 0 -> 40 -> 0 = 80 km; usable range 100 x 0.85 x 0.85 = 72.25 or 100 x 0.9 = 90
    cars = [car("BEV", energy="bev", range_km=100), car("PETROL", fixed_cost_cny=200.0)]
    policy = {"winter_range_factor": winter, "range_margin_fraction": margin}
    instance = build(day(cars, [trip("R1", 0, 40, "09:00")], policy=policy))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert car_of(plan, "R1") == expected


def test_range_splits_a_day_that_one_bev_could_not_drive() -> None:
    # two 30 km round trips: 60 km each, usable range 100 x 0.85 = 85 km -> two BEVs
    cars = [car("B1", energy="bev", range_km=100), car("B2", energy="bev", range_km=100)]
    trips = [trip("R1", 0, 30, "08:00"), trip("R2", 30, 0, "09:00"),
             trip("R3", 0, 30, "12:00"), trip("R4", 30, 0, "13:00")]
    instance = build(day(cars, trips, policy={"winter_range_factor": 1.0}))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert len(plan.routes) == 2
    assert car_of(plan, "R1") == car_of(plan, "R2") != car_of(plan, "R3") == car_of(plan, "R4")


def test_class_and_seats_bind() -> None:
    cars = [car("SEDAN", fixed_cost_cny=50.0), car("MPV", **{"class": "mpv"}, seats=6)]
    trips = [trip("R1", 0, 10, "09:00", **{"class": "mpv"}), trip("R2", 0, 10, "12:00", passengers=5),
             trip("R3", 0, 10, "15:00")]
    instance = build(day(cars, trips))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert car_of(plan, "R1") == car_of(plan, "R2") == "MPV"
    assert car_of(plan, "R3") == "MPV"  # it is out anyway: cheaper than opening the sedan


def test_refusals_carry_the_reason() -> None:
    trips = [trip("BUS", 0, 10, "09:00", **{"class": "bus"}),
             trip("EARLY", 0, 10, "06:00", "06:30"),
             trip("LATE", 0, 30, "18:50"),
             trip("FAR", 0, 200, "09:00"),
             trip("OK", 0, 10, "12:00")]
    cars = [car("B1", energy="bev", range_km=300)]
    instance = build(day(cars, trips, policy={"winter_range_factor": 1.0}))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert reason_of(plan, "BUS") == "no_vehicle_class"
    assert reason_of(plan, "EARLY") == "window_infeasible"
    assert reason_of(plan, "LATE") == "window_infeasible"
    assert reason_of(plan, "FAR") == "range"
    assert car_of(plan, "OK") == "B1"
    assert plan.explanations["BUS"] == "unserved: no_vehicle_class"


def test_lessor_capacity_refuses_the_lower_priority_trip() -> None:
    trips = [trip("R1", 0, 10, "09:00", passengers=3),  # 3 + 3 passengers: two cars
             trip("R2", 0, 10, "09:00", passengers=3, priority=5)]
    instance = build(day([], trips, lessors=[lessor("L1", 0, tariff(max_vehicles=1))]))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert car_of(plan, "R2") == "L1:sedan:1"
    assert reason_of(plan, "R1") == "lessor_capacity"


def test_pool_busy_uses_a_lease_instead_of_refusing() -> None:
    trips = [trip("R1", 0, 10, "09:00", exclusive=True), trip("R2", 0, 10, "09:00")]
    instance = build(day([car("P1")], trips, lessors=[lessor("L1", 0, tariff(base_cny=500.0))]))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert sorted(r.kind for r in plan.routes) == ["lease", "pool"]
    assert plan.unserved == []


@pytest.mark.parametrize(("penalty", "expected"), [(200.0, "P2"), (10.0, "P1")])
def test_confirmed_assignment_moves_only_when_it_pays(penalty: float, expected: str) -> None:
    # P1 costs 120 CNY for the trip, P2 170; moving the confirmed trip costs the penalty
    cars = [car("P1"), car("P2", fixed_cost_cny=150.0)]
    instance = build(day(cars, [trip("R1", 0, 10, "09:00")], confirmed={"R1": "P2"},
                         policy={"reassign_penalty_cny": penalty}))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert car_of(plan, "R1") == expected
    if expected == "P1":
        assert "moved from confirmed car P2" in plan.explanations["R1"]


def test_waits_for_the_pickup_window_and_respects_dropoff_latest() -> None:
    # the car could be at km 20 by 08:20; it waits until 09:00. Drop-off by 09:05 is
    # impossible for a 10-minute ride starting at 09:00.
    trips = [trip("R1", 20, 30, "09:00", "09:30"),
             trip("R2", 0, 10, "09:00", "09:00", dropoff_latest="2026-11-03T09:05:00+08:00")]
    instance = build(day([car("P1"), car("P2")], trips))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    pickup = next(s for r in plan.routes for s in r.stops if s.request == "R1" and s.type == "pickup")
    assert pickup.start.strftime("%H:%M") == "09:00"
    assert reason_of(plan, "R2") == "window_infeasible"


def _brute_force(instance, route_costs) -> float:  # noqa: ANN001
    """The least cost over every assignment of requests to cars, each car's subset priced by
    ``route_costs(problem, c, subset)`` (the costs of its feasible routes)."""
    problem = compile_problem(instance, instance_matrix(instance))
    n, cars = problem.n_requests, range(len(problem.cars))
    best = float("inf")
    for assignment in itertools.product(cars, repeat=n):
        total = 0.0
        for c in cars:
            costs = route_costs(problem, c, [r for r in range(n) if assignment[r] == c])
            if not costs:
                total = float("inf")
                break
            total += min(costs)
        best = min(best, total)
    return best


def _brute_force_cny(instance) -> float:  # noqa: ANN001
    """The least cost of closed blocks (sharing off): every assignment, every block order."""
    return _brute_force(instance, lambda problem, c, subset: [
        problem.route_cost_cny(c, list(p)) for p in itertools.permutations(subset)
        if problem.feasible(c, list(p))])


def _stop_orders(problem, subset: list[int]):  # noqa: ANN001, ANN202
    """Every order of the pickups and drop-offs of ``subset`` with each pickup first."""
    n = problem.n_requests
    for order in itertools.permutations([p for r in subset for p in (r, n + r)]):
        if all(order.index(r) < order.index(n + r) for r in subset):
            yield list(order)


def _brute_force_shared_cny(instance) -> float:  # noqa: ANN001
    """The least cost with shared rides: every assignment, every stop order."""
    return _brute_force(instance, lambda problem, c, subset: [
        stops_cost_cny(problem, c, order) for order in _stop_orders(problem, subset)
        if stops_feasible(problem, c, order)])


def _random_day(seed: int, n: int, **extra: object) -> dict[str, object]:
    rng = random.Random(seed)
    trips = []
    for k in range(n):
        start = 8 * 60 + rng.randrange(0, 8 * 60, 15)
        trips.append(trip(f"R{k}", rng.uniform(-20, 20), rng.uniform(-30, 30),
                          f"{start // 60:02d}:{start % 60:02d}",
                          f"{(start + 20) // 60:02d}:{(start + 20) % 60:02d}"))
    cars = [car("P1", cost_per_hour_cny=30.0),
            car("P2", fixed_cost_cny=60.0, cost_per_km_cny=1.5, energy="bev", range_km=90)]
    lessors = [lessor("L1", 15, tariff(base_cny=90.0, per_km_cny=0.8, per_hour_cny=10.0))]
    return day(cars, trips, lessors=lessors, **extra)


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_on_small_random_days(seed: int) -> None:
    instance = build(_random_day(seed, 5, policy={"sharing": False}))
    plan = solve(instance, time_limit_s=LIMIT_S)
    assert_valid(instance, plan)
    assert plan.unserved == []
    assert plan.total_cost_cny == pytest.approx(_brute_force_cny(instance), abs=0.02)


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_with_shared_rides(seed: int) -> None:
    data = _random_day(seed, 4)
    for k, request in enumerate(data["requests"]):  # close in time, so that sharing can pay
        request["pickup_earliest"] = hhmm(f"09:{10 * k:02d}")
        request["pickup_latest"] = hhmm(f"09:{10 * k + 20:02d}")
    instance = build(data)
    # the searches stop early on a day this small; the limit only leaves room for a loaded machine
    plan = solve(instance, time_limit_s=SHARED_LIMIT_S)
    assert_valid(instance, plan)
    assert plan.unserved == []
    assert plan.total_cost_cny == pytest.approx(_brute_force_shared_cny(instance), abs=0.02)
    assert plan.total_cost_cny <= _brute_force_cny(instance) + 0.02
