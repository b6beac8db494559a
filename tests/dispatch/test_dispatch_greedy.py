"""The greedy baseline and the insertion of an urgent request into an existing plan."""

from __future__ import annotations

from dispatch_builders import assert_valid, build, car, car_of, day, lessor, tariff, trip

from dispatch.assembly import assemble_plan
from dispatch.greedy import greedy_schedule, insert_urgent, solve_greedy
from dispatch.problem import compile_problem
from dispatch.schedule import Schedule
from dispatch.solver import solve
from dispatch.stops import chain_routes
from dispatch.travel import instance_matrix


def _day():  # noqa: ANN202
    trips = [trip("R1", 0, 10, "09:00"), trip("R2", 10, 0, "11:00"), trip("R3", 0, 20, "09:10"),
             trip("R4", 20, 5, "14:00", "14:30")]
    return build(day([car("P1"), car("P2", fixed_cost_cny=80.0, cost_per_km_cny=1.2)], trips,
                     lessors=[lessor("L1", 30, tariff(base_cny=150.0, max_vehicles=2))]))


def test_greedy_plan_is_valid_and_serves_everything() -> None:
    instance = _day()
    plan = solve_greedy(instance)
    assert_valid(instance, plan)
    assert plan.unserved == []
    optimised = solve(instance, time_limit_s=0.3)
    assert_valid(instance, optimised)
    assert optimised.total_cost_cny <= plan.total_cost_cny + 1e-6


def test_urgent_request_goes_to_the_cheapest_feasible_gap() -> None:
    # R1 (09:00, 0 -> 10 km) and R2 (11:00, 10 -> 0 km) on one car; an urgent trip
    # 10 -> 12 km at 09:30 fits between them on the same car for 4 extra km
    trips = [trip("R1", 0, 10, "09:00"), trip("R2", 10, 0, "11:00")]
    urgent = trip("U", 10, 12, "09:30", "09:40")
    instance = build(day([car("P1"), car("P2")], trips + [urgent]))
    problem = compile_problem(instance, instance_matrix(instance))
    schedule = Schedule(problem, {0: [0, 1]})
    move = insert_urgent(schedule, 2)
    assert move is not None
    assert (move.car, move.position) == (0, 1)
    assert abs(move.cost_cny - 4.0) < 1e-9
    plan = assemble_plan(problem, chain_routes(problem, schedule.routes()), 0.0, "feasible")
    assert_valid(instance, plan)
    assert car_of(plan, "U") == "P1"
    reoptimised = solve(instance, time_limit_s=0.3, initial={"P1": ["R1", "U", "R2"]})
    assert_valid(instance, reoptimised)
    assert reoptimised.total_cost_cny <= plan.total_cost_cny + 1e-6


def test_urgent_request_that_fits_nowhere_is_not_inserted() -> None:
    trips = [trip("R1", 0, 10, "09:00"), trip("U", 0, 10, "09:00")]
    instance = build(day([car("P1")], trips))
    problem = compile_problem(instance, instance_matrix(instance))
    schedule = greedy_schedule(problem, Schedule(problem, {0: [0]}))
    assert schedule.routes() == {0: [0]}
    assert insert_urgent(schedule, 1) is None
