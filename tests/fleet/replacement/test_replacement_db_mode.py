"""The planner's database mode: car records built from vehicles, trips and maintenance bills,
policies inherited down the organisation tree, and the plan of a small hand-built fleet."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from replacement_world import PETROL, add_county_fleet, county_policy, weekdays_before
from sqlmodel import Session

from fleet.models import Organisation, OrgLevel
from fleet.replacement.inputs import CandidateModel
from fleet.replacement.planner import SolveOptions, plan_replacement
from fleet.replacement.policy import ReplacementPolicy
from fleet.replacement.usage import _working_days
from fleet.replacement.repository import (
    NoCarsToPlan,
    build_plan_input,
    replacement_figures,
    save_policy,
    settings_for,
    store_plan,
)
from tests.builders import county_tree, organisation

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
OPTIONS = SolveOptions(time_limit_s=10, relative_gap_limit=0.0, num_workers=1)


def _tree(session: Session) -> dict[str, Organisation]:
    orgs = county_tree(session)
    session.commit()
    return orgs


@pytest.fixture
def county_fleet(session: Session) -> tuple[dict[str, Organisation], dict[str, int]]:
    orgs = _tree(session)
    ids = add_county_fleet(session, orgs["county"].id, orgs["agency"].id, AS_OF)  # type: ignore[arg-type]
    body = county_policy(orgs["county"].id, ids["depot"])  # type: ignore[arg-type]
    save_policy(session, orgs["county"], ReplacementPolicy.model_validate(body["policy"]),
                [CandidateModel.model_validate(m) for m in body["models"]], "cli")
    session.commit()
    return orgs, ids


def test_car_records_come_from_vehicles_trips_and_bills(session: Session, county_fleet) -> None:  # type: ignore[no-untyped-def]
    orgs, ids = county_fleet
    built = build_plan_input(session, orgs["county"], 2027, 1, as_of=AS_OF)
    cars = {c.car_id: c for c in built.plan_input.cars}
    # Leased and retired cars are not planned; plates are the car ids.
    assert sorted(cars) == ["苏G00001", "苏G00002", "苏G00003", "苏G00004"]
    assert built.vehicle_ids["苏G00001"] == ids["old"]
    assert {usage.source for usage in built.usage.values()} == {"trips"}
    assert old_usage(built).observed_days == 365 and cars["苏G00001"].annual_km_source == "trips"
    old = cars["苏G00001"]
    # The county holds the budget, so the agency's cars plan against it; depots by database id.
    assert old.org_id == str(orgs["county"].id) and old.depot_id == str(ids["depot"])
    assert old.age_years == pytest.approx((date(2027, 1, 1) - date(2014, 3, 1)).days / 365.25, abs=1e-3)
    assert old.annual_km == pytest.approx(40_000 * 365.25 / 365, rel=1e-3)
    # Odometer projected from 1 December to 1 January at the measured rate.
    assert old.odometer_km == pytest.approx(240_000 + old.annual_km * 31 / 365.25, abs=1)
    assert old.maintenance_history_cny == {2024: 6_000, 2025: 7_000, 2026: 8_000}
    workdays = _working_days(date(2025, 12, 1), date(2026, 12, 1))
    assert 245 <= len(workdays) <= 252  # China: about 250 working days a year
    assert date(2026, 10, 1) not in workdays and date(2026, 9, 20) in workdays  # holiday; make-up Sunday
    trip_days = {start.date() for start in weekdays_before(AS_OF, 100, step_days=2)}
    assert len(trip_days & workdays) < 100  # some trips fell on holidays: they do not count
    assert old.utilisation_share == pytest.approx(len(trip_days & workdays) / len(workdays), abs=1e-4)
    assert cars["苏G00003"].annual_km == pytest.approx(100, rel=0.01)
    assert cars["苏G00004"].energy == "bev" and cars["苏G00004"].emission_standard is None
    assert [m.model_id for m in built.plan_input.models] == ["petrol-150k", "bev-165k"]
    assert built.settings.source_org_id == orgs["county"].id


def test_known_plan_of_the_county(session: Session, county_fleet) -> None:  # type: ignore[no-untyped-def]
    """The old high-mileage petrol car goes for the BEV (0.45 CNY/km cheaper to run at 40,000
    km/year), the idle car goes without replacement, the young cars stay."""
    orgs, _ = county_fleet
    built = build_plan_input(session, orgs["county"], 2027, 1, as_of=AS_OF)
    plan = plan_replacement(built.plan_input, OPTIONS)
    assert plan.status == "optimal"
    (year,) = plan.year_plans
    decided = {d.car_id: d for d in year.decisions}
    assert sorted(decided) == ["苏G00001", "苏G00003"]
    assert decided["苏G00001"].action == "replace" and decided["苏G00001"].replacement_model_id == "bev-165k"
    assert decided["苏G00003"].action == "right_size"
    assert year.spend_cny == 165_000 and year.nev_share == 1.0
    assert year.budgets[0].org_id == str(orgs["county"].id) and year.budgets[0].limit_cny == 400_000
    assert decided["苏G00001"].fuel_saved_l_per_year == pytest.approx(old_fuel(built), rel=0.01)

    record = store_plan(session, orgs["county"], built, plan, "cli")
    session.commit()
    figures = replacement_figures(session, orgs["county"], date(2026, 12, 1))
    assert figures["plan_id"] == record.id
    assert figures["years"] == [{"year": 2027, "nev_share": 1.0, "spend_cny": 165_000, "retire_count": 2}]
    # Ages in whole years on 2026-12-01: 12 (2014), 3 (2023), 14 (2012), 5 (2021).
    histogram = {row["age_years"]: row["count"] for row in figures["age_histogram"]}
    assert len(figures["age_histogram"]) == 15 and sum(histogram.values()) == 4
    assert histogram[12] == histogram[3] == histogram[14] == histogram[5] == 1


def old_usage(built):  # type: ignore[no-untyped-def]
    return built.usage["苏G00001"]


def old_fuel(built) -> float:  # type: ignore[no-untyped-def]
    """Petrol burnt a year by the old car at the fleet profile's 8 l/100 km."""
    car = next(c for c in built.plan_input.cars if c.car_id == "苏G00001")
    return car.annual_km * 8.0 / 100


def test_policy_inherited_from_the_nearest_ancestor(session: Session, county_fleet) -> None:  # type: ignore[no-untyped-def]
    orgs, _ = county_fleet
    assert settings_for(session, orgs["agency"]).source_org_id == orgs["county"].id
    defaults = settings_for(session, orgs["city"])
    assert defaults.source_org_id is None and defaults.policy.min_service_years == 8
    assert {m.model_id for m in defaults.models} >= {"sedan-bev-165k"}  # the reference catalogue
    assert PETROL["model_id"] not in {m.model_id for m in defaults.models}


def test_without_trips_annual_km_is_the_lifetime_average(session: Session, county_fleet) -> None:  # type: ignore[no-untyped-def]
    orgs, _ = county_fleet
    built = build_plan_input(session, orgs["county"], 2027, 1, as_of=datetime(2020, 1, 1, tzinfo=UTC))
    assert {usage.source for usage in built.usage.values()} == {"odometer"}
    old = next(c for c in built.plan_input.cars if c.car_id == "苏G00001")
    age_then = (date(2020, 1, 1) - date(2014, 3, 1)).days / 365.25
    assert old.annual_km == pytest.approx(240_000 / age_then, rel=1e-3) and old.utilisation_share is None


def test_an_organisation_without_cars_is_refused(session: Session, county_fleet) -> None:  # type: ignore[no-untyped-def]
    orgs, _ = county_fleet
    township = organisation(session, "牛山街道", "320722001", OrgLevel.township, orgs["county"])
    with pytest.raises(NoCarsToPlan, match="org_id"):
        build_plan_input(session, township, 2027, 1, as_of=AS_OF)
