"""An infeasible policy gets an answer naming the constraints that bind."""

from __future__ import annotations

from replacement_builders import START, car, solve


def families(plan) -> set[str]:
    return {b.family for b in plan.binding_constraints}


def test_china3_deadline_without_budget_names_budget_and_deadline() -> None:
    cars = [car("c3", emission_standard="china3")]
    plan = solve(
        cars, legacy_retire_within_years=1, budgets=[{"org_id": "org-a", "annual_budget_cny": 0}]
    )
    assert plan.status == "infeasible" and plan.year_plans == []
    assert {"budget", "legacy_emission"} <= families(plan)
    assert f"annual budget of organisation 'org-a' in {START}" in plan.message
    # Only relaxing one of the named constraints would make a plan possible.
    assert families(plan) <= {"budget", "legacy_emission", "right_sizing"}


def test_nev_floor_against_full_chargers() -> None:
    cars = [
        car("c3", emission_standard="china3", depot_id="d1"),
        car("ev", energy="bev", emission_standard=None, age_years=1, odometer_km=20_000, depot_id="d1"),
    ]
    plan = solve(
        cars, legacy_retire_within_years=1, nev_share_floor=1.0, depots=[{"depot_id": "d1", "chargers": 1}]
    )
    assert plan.status == "infeasible"
    assert {"nev_floor", "chargers", "legacy_emission"} <= families(plan)
    assert "charger capacity of depot 'd1'" in plan.message
    assert "budget" not in families(plan)


def test_feasible_when_the_binding_constraint_is_relaxed() -> None:
    cars = [car("c3", emission_standard="china3")]
    plan = solve(
        cars, legacy_retire_within_years=1, budgets=[{"org_id": "org-a", "annual_budget_cny": 150_000}]
    )
    assert plan.status == "optimal"
    assert plan.year_plans[0].decisions[0].replacement_model_id == "petrol-150k"
