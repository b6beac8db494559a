"""Hand-checked small cases: the planner's plan is the cheapest one, checked by enumeration."""

from __future__ import annotations

import itertools

import pytest
from replacement_builders import (
    BEV,
    OPTIONS,
    PETROL,
    START,
    car,
    decisions,
    plan_input,
    solve,
)

from fleet.replacement.car_state import car_state
from fleet.replacement.inputs import PlanInput
from fleet.replacement.lifecycle import Lifecycle
from fleet.replacement.planner import plan_replacement


def brute_force_cost(plan: PlanInput) -> float:
    """The least lifecycle cost over every per-car choice that meets the budget and NEV floor."""
    lifecycle = Lifecycle(plan)
    states = [car_state(plan, c) for c in plan.cars]
    per_car = []
    for state in states:
        profile = lifecycle.profile([state])
        choices = [(None, None, 0.0)]  # keep
        for offset in range(plan.years):
            if state.eligible_from is not None and offset >= state.eligible_from:
                for m in plan.models:
                    choices.append((offset, m, lifecycle.change_cny(profile, offset, m)))
        per_car.append((lifecycle.baseline_cny(profile), choices))
    best = float("inf")
    for combo in itertools.product(*(choices for _, choices in per_car)):
        ok = True
        for offset in range(plan.years):
            bought = [m for t, m, _ in combo if t == offset and m is not None]
            spend = sum(m.price_cny for m in bought)
            limit = plan.policy.budget_for("org-a", START + offset)
            if limit is not None and spend > limit:
                ok = False
            floor = plan.policy.nev_floor_for(START + offset)
            if bought and sum(m.is_nev for m in bought) < floor * len(bought) - 1e-9:
                ok = False
        if ok:
            best = min(best, sum(b for b, _ in per_car) + sum(c for _, _, c in combo))
    return best


def test_an_old_busy_petrol_car_is_replaced_at_once_by_a_bev() -> None:
    # Keeping: 16,000 CNY fuel + 9,200 CNY maintenance a year; a BEV costs about 20,300 CNY
    # capital + 2,750 running + 900 maintenance a year, and the old car still fetches money now.
    plan = solve([car("old")])
    assert plan.status == "optimal"
    decision = decisions(plan)["old"]
    assert (decision.year, decision.action, decision.replacement_model_id) == (START, "replace", "bev-165k")
    assert decision.lifecycle_change_cny < 0
    assert decision.fuel_saved_l_per_year == pytest.approx(25_000 * 0.08, rel=1e-6)
    assert "eligible" in decision.reason and "saves" in decision.reason


def test_a_young_car_is_kept() -> None:
    plan = solve([car("young", age_years=2, odometer_km=40_000)])
    assert plan.status == "optimal"
    assert decisions(plan) == {}
    assert plan.stats.objective_cny == pytest.approx(plan.stats.baseline_cny, abs=1)


@pytest.mark.parametrize("floor, budget", [(0.0, None), (0.5, 170_000), (0.3, 320_000)])
def test_plan_cost_equals_enumerated_optimum(floor: float, budget: float | None) -> None:
    cars = [
        car("a", age_years=14, annual_km=30_000),
        car("b", age_years=9, annual_km=12_000),
        car("c", age_years=8.5, annual_km=22_000, energy="hev"),
    ]
    budgets = [] if budget is None else [{"org_id": "org-a", "annual_budget_cny": budget}]
    plan = plan_input(cars, [PETROL, BEV], years=2, nev_share_floor=floor, budgets=budgets)
    result = plan_replacement(plan, OPTIONS)
    assert result.status == "optimal"
    assert result.stats.objective_cny == pytest.approx(brute_force_cost(plan), abs=5)


def test_cars_in_one_group_are_retired_oldest_first() -> None:
    cars = [car(f"c{i}", age_years=age) for i, age in enumerate([12.1, 12.9, 12.5])]
    plan = solve(cars, budgets=[{"org_id": "org-a", "annual_budget_cny": 170_000}])
    assert plan.stats.groups == 1
    by_year = {d.car_id: d.year for d in decisions(plan).values()}
    assert by_year == {"c1": START, "c2": START + 1, "c0": START + 2}
