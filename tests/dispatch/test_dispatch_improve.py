"""Ruin and recreate: it merges chains when that is cheaper and places trips left out."""

from __future__ import annotations

import pytest
from dispatch_builders import assert_valid, build, car, day, trip

from dispatch.assembly import assemble_plan
from dispatch.improve import ruin_and_recreate
from dispatch.problem import compile_problem
from dispatch.stops import chain_routes
from dispatch.travel import instance_matrix

PENALTY = {0: 1e6, 1: 1e6}


def _problem():  # type: ignore[no-untyped-def]
    # A: 0 -> 10 km at 08:00 (10 min), B: 10 -> 0 km at 09:00; one car does both for
    # 100 + 10 + 10 = 120 CNY (no empty km), two cars cost 2 x (100 + 20) = 240 CNY
    instance = build(day([car("V1"), car("V2")], [trip("A", 0, 10, "08:00"), trip("B", 10, 0, "09:00")]))
    return instance, compile_problem(instance, instance_matrix(instance))


def test_two_cars_become_one():
    instance, problem = _problem()
    start = {0: [0], 1: [1]}
    assert sum(problem.route_cost_cny(c, chain) for c, chain in start.items()) == pytest.approx(240)
    chains = ruin_and_recreate(problem, start, [0, 1], seconds=0.2, drop_penalty_cny=PENALTY)
    assert list(chains.values()) == [[0, 1]]
    plan = assemble_plan(problem, chain_routes(problem, chains), 0.2, "feasible")
    assert plan.total_cost_cny == pytest.approx(120)
    assert_valid(instance, plan)


def test_trips_left_out_get_a_place():
    instance, problem = _problem()
    chains = ruin_and_recreate(problem, {}, [0, 1], seconds=0.2, drop_penalty_cny=PENALTY)
    plan = assemble_plan(problem, chain_routes(problem, chains), 0.2, "feasible")
    assert plan.unserved == [] and plan.total_cost_cny == pytest.approx(120)
    assert_valid(instance, plan)
