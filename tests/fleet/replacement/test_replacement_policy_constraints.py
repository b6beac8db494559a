"""Each policy constraint, binding in a case of its own."""

from __future__ import annotations

from replacement_builders import PETROL, START, car, decisions, model, solve

from fleet.replacement.inputs import MaintenanceCurve

COSTLY = MaintenanceCurve(base_cny_per_year=30_000, increase_cny_per_year=0)


def test_min_service_years_delay_renewal_of_a_costly_young_car() -> None:
    young = car("young", age_years=6, odometer_km=120_000, maintenance_curve=COSTLY)
    assert decisions(solve([young]))["young"].year == START + 2  # 8 years in service
    assert decisions(solve([young], min_service_years=5))["young"].year == START


def test_mileage_threshold_makes_a_young_car_eligible() -> None:
    driven = car("driven", age_years=4, odometer_km=260_000, annual_km=60_000, maintenance_curve=COSTLY)
    assert decisions(solve([driven]))["driven"].year == START
    assert "driven" not in decisions(solve([driven], eligibility="age_and_mileage"))


def test_a_usable_car_past_its_service_years_may_stay() -> None:
    cheap = MaintenanceCurve(base_cny_per_year=500, increase_cny_per_year=0)
    plan = solve([car("usable", age_years=10, annual_km=8_000, maintenance_curve=cheap)])
    assert decisions(plan) == {}
    assert plan.year_plans[0].eligible_kept == 1


def test_price_cap_excludes_a_better_but_dearer_model() -> None:
    basic = model("bev-175k", "bev", 175_000, 0.30, 1_500, 500)
    premium = model("bev-200k", "bev", 200_000, 0.10, 900, 300)
    worn = car("a", maintenance_curve=COSTLY)
    uncapped = solve([worn], [basic, premium], price_cap_cny={"sedan": 250_000})
    assert decisions(uncapped)["a"].replacement_model_id == "bev-200k"
    assert decisions(solve([worn], [basic, premium]))["a"].replacement_model_id == "bev-175k"


def test_nev_floor_forces_a_dearer_nev() -> None:
    dear_bev = model("bev-179k", "bev", 179_000, 0.60, 3_000, 800)
    cars = [car("a", age_years=14, maintenance_curve=COSTLY), car("b", maintenance_curve=COSTLY)]
    free = decisions(solve(cars, [PETROL, dear_bev], years=1))
    assert {d.replacement_energy for d in free.values()} == {"petrol"}
    plan = solve(cars, [PETROL, dear_bev], years=1, nev_share_floor=0.5)
    year = plan.year_plans[0]
    assert year.replaced == 2 and year.nev_bought == 1 and year.nev_share == 0.5


def test_nev_required_use_type_gets_a_nev() -> None:
    dear_bev = model("bev-179k", "bev", 179_000, 0.60, 3_000, 800)
    pool = car("pool", use_type="city_pool", maintenance_curve=COSTLY)
    assert decisions(solve([pool], [PETROL, dear_bev]))["pool"].replacement_energy == "petrol"
    plan = solve([pool], [PETROL, dear_bev], nev_required_use_types=["city_pool"])
    decision = decisions(plan)["pool"]
    assert decision.replacement_energy == "bev"
    assert "city_pool" in decision.reason


def test_china3_cars_retire_faster() -> None:
    cheap = MaintenanceCurve(base_cny_per_year=500, increase_cny_per_year=0)
    old_standard = car("c3", age_years=6, annual_km=10_000, emission_standard="china3", maintenance_curve=cheap)
    newer = car("c4", age_years=6, annual_km=10_000, emission_standard="china4", maintenance_curve=cheap)
    plan = solve([old_standard, newer], legacy_retire_within_years=2)
    chosen = decisions(plan)
    assert set(chosen) == {"c3"}
    assert chosen["c3"].year <= START + 1
    assert "china3" in chosen["c3"].reason


def test_budget_spreads_renewals_over_years() -> None:
    cars = [car("a", age_years=14), car("b", age_years=13), car("c", age_years=11)]
    assert {d.year for d in decisions(solve(cars)).values()} == {START}
    plan = solve(cars, budgets=[{"org_id": "org-a", "annual_budget_cny": 170_000}])
    assert [y.replaced for y in plan.year_plans] == [1, 1, 1]
    for year in plan.year_plans:
        (use,) = year.budgets
        assert use.used_cny <= use.limit_cny == 170_000


def test_charger_capacity_limits_nevs_at_a_depot() -> None:
    cars = [
        car("old", depot_id="d1", maintenance_curve=COSTLY),
        car("ev", depot_id="d1", energy="bev", emission_standard=None, age_years=2, odometer_km=40_000),
    ]
    full = [{"depot_id": "d1", "chargers": 1}]
    assert decisions(solve(cars, depots=full))["old"].replacement_energy == "petrol"
    later = [{"depot_id": "d1", "chargers": 1, "added_by_year": {START + 1: 1}}]
    decision = decisions(solve(cars, depots=later))["old"]
    assert decision.replacement_energy == "bev" or decision.year == START
    spare = [{"depot_id": "d1", "chargers": 2}]
    assert decisions(solve(cars, depots=spare))["old"].replacement_energy == "bev"


def test_smoothing_bounds_the_swing_of_spend() -> None:
    cheap = MaintenanceCurve(base_cny_per_year=500, increase_cny_per_year=0)
    cars = [
        car("c3a", emission_standard="china3", annual_km=10_000, maintenance_curve=cheap),
        car("c3b", emission_standard="china3", annual_km=10_000, maintenance_curve=cheap),
        car("oa", annual_km=10_000, maintenance_curve=cheap),
        car("ob", annual_km=10_000, maintenance_curve=cheap),
    ]
    spiky = solve(cars, legacy_retire_within_years=1)
    assert [y.replaced for y in spiky.year_plans] == [2, 0, 0]
    smooth = solve(cars, legacy_retire_within_years=1, max_spend_swing_share=1.0)
    spend = [y.spend_cny for y in smooth.year_plans]
    assert len(decisions(smooth)) > 2
    mean = sum(spend) / len(spend)
    assert all(abs(b - a) <= 1.0 * mean + 1e-6 for a, b in zip(spend, spend[1:]))


def test_an_idle_car_is_right_sized() -> None:
    idle = car("idle", age_years=3, annual_km=2_000, odometer_km=6_000)
    busy = car("busy", age_years=3, annual_km=10_000, odometer_km=30_000)
    quiet = car("quiet", age_years=3, annual_km=10_000, odometer_km=30_000, utilisation_share=0.05)
    chosen = decisions(solve([idle, busy, quiet], idle_utilisation_share=0.15))
    assert set(chosen) == {"idle", "quiet"}
    assert chosen["idle"].action == "right_size" and chosen["idle"].replacement_model_id is None
    assert chosen["idle"].purchase_cost_cny == 0 and "idle" in chosen["idle"].reason
