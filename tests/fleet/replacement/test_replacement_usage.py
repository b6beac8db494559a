"""Annual km from one source for every plan built from the database: trips where the platform
has observed a car long enough, odometer over age where it has not, and an unknown usage that
never makes a car idle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session

from fleet.models import Organisation, Position, Trip
from fleet.replacement.car_state import car_state
from fleet.replacement.planner import SolveOptions, plan_replacement
from fleet.replacement.repository import build_plan_input
from tests.builders import county_tree, vehicle

AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
OPTIONS = SolveOptions(time_limit_s=10, relative_gap_limit=0.0)


def _fleet(session: Session) -> dict[str, int]:
    """Three petrol sedans of the county: 120,000 km at 6 years, a new car of 2026 without a
    reading, and a 9-year-old car of 150,000 km."""
    orgs = county_tree(session)
    county = orgs["county"].id
    cars = {
        "six_years": vehicle(session, "苏G10001", "LSVAA4180E2010001", county, purchase_date=date(2020, 12, 1),
                             odometer_km=120_000),
        "no_reading": vehicle(session, "苏G10002", "LSVAA4180E2010002", county, purchase_date=date(2026, 3, 1),
                              odometer_km=0),
        "nine_years": vehicle(session, "苏G10003", "LSVAA4180E2010003", county, purchase_date=date(2017, 12, 1),
                              odometer_km=150_000),
    }
    session.commit()
    return {name: car.id for name, car in cars.items()} | {"county": county}  # type: ignore[dict-item]


def test_a_car_of_120000_km_at_6_years_without_trips_drives_20000_a_year_and_is_not_idle(session: Session) -> None:
    ids = _fleet(session)
    built = build_plan_input(session, _org(session, ids), 2027, 1, as_of=AS_OF)
    car = next(c for c in built.plan_input.cars if c.car_id == "苏G10001")
    assert car.annual_km_source == "odometer" and car.annual_km == pytest.approx(20_000, rel=0.01)
    assert not car_state(built.plan_input, car).idle


def test_a_platform_live_for_two_days_measures_nobody_from_trips(session: Session) -> None:
    """Two days of trips are no year: every car keeps its lifetime average, none is idle (the
    demo's first plan had retired every car as idle at 0 km/year)."""
    ids = _fleet(session)
    session.add(Trip(vehicle_id=ids["nine_years"], started_at=AS_OF - timedelta(days=1), distance_km=30))
    session.commit()
    built = build_plan_input(session, _org(session, ids), 2027, 3, as_of=AS_OF)
    assert {u.source for u in built.usage.values()} == {"odometer", "unknown"}
    assert not any(car_state(built.plan_input, car).idle for car in built.plan_input.cars)
    plan = plan_replacement(built.plan_input, OPTIONS)
    assert all(d.reason_code not in ("idle_km", "idle_utilisation") for y in plan.year_plans for d in y.decisions)


def test_a_car_without_history_or_reading_has_an_unknown_usage_that_does_not_retire_it(session: Session) -> None:
    ids = _fleet(session)
    built = build_plan_input(session, _org(session, ids), 2027, 3, as_of=AS_OF)
    usage = built.usage["苏G10002"]
    assert usage.source == "unknown" and usage.annual_km == 0 and usage.utilisation_share is None
    car = next(c for c in built.plan_input.cars if c.car_id == "苏G10002")
    assert not car_state(built.plan_input, car).idle
    plan = plan_replacement(built.plan_input, OPTIONS)
    assert "苏G10002" not in {d.car_id for y in plan.year_plans for d in y.decisions}


def test_a_year_of_recording_measures_from_trips_and_a_standing_car_is_idle(session: Session) -> None:
    """With a year of fixes, a car whose terminal reports it standing is measured at 0 km (idle);
    a car the platform never saw keeps its odometer average."""
    ids = _fleet(session)
    year_ago = AS_OF - timedelta(days=365) + timedelta(hours=1)
    session.add_all([
        Position(vehicle_id=ids["nine_years"], ts=year_ago, lat=34.5, lon=118.7),
        Position(vehicle_id=ids["nine_years"], ts=AS_OF - timedelta(days=2), lat=34.5, lon=118.7),
        Position(vehicle_id=ids["six_years"], ts=year_ago, lat=34.5, lon=118.7),
        *(Trip(vehicle_id=ids["six_years"], started_at=year_ago + timedelta(days=7 * week), distance_km=300)
          for week in range(50)),
    ])
    session.commit()
    built = build_plan_input(session, _org(session, ids), 2027, 1, as_of=AS_OF)
    assert built.usage["苏G10001"].source == "trips" and built.usage["苏G10001"].annual_km == pytest.approx(
        50 * 300 * 365.25 / 365, rel=1e-3)
    standing = built.usage["苏G10003"]
    assert standing.source == "trips" and standing.annual_km == 0 and standing.observed_days == 365
    cars = {c.car_id: c for c in built.plan_input.cars}
    assert car_state(built.plan_input, cars["苏G10003"]).idle
    assert built.usage["苏G10002"].source == "unknown"
    plan = plan_replacement(built.plan_input, OPTIONS)
    (year,) = plan.year_plans
    idle = next(d for d in year.decisions if d.car_id == "苏G10003")
    assert idle.action == "right_size" and idle.reason_code == "idle_km"
    assert idle.reason_params["annual_km"] == 0 and idle.annual_km_source == "trips"


def _org(session: Session, ids: dict[str, int]) -> Organisation:
    org = session.get(Organisation, ids["county"])
    assert org is not None
    return org


def test_a_terminal_fitted_last_week_measures_a_week_so_the_odometer_counts(session: Session) -> None:
    """The platform has recorded for a year, but one car's first fix is five days old: five
    days of trips are no year, and the car keeps its lifetime average."""
    ids = _fleet(session)
    session.add_all([
        Position(vehicle_id=ids["nine_years"], ts=AS_OF - timedelta(days=365) + timedelta(hours=1), lat=34.5, lon=118.7),
        Position(vehicle_id=ids["six_years"], ts=AS_OF - timedelta(days=5), lat=34.5, lon=118.7),
        Trip(vehicle_id=ids["six_years"], started_at=AS_OF - timedelta(days=4), distance_km=12),
    ])
    session.commit()
    built = build_plan_input(session, _org(session, ids), 2027, 1, as_of=AS_OF)
    assert built.usage["苏G10001"].source == "odometer" and built.usage["苏G10001"].annual_km == pytest.approx(20_000, rel=0.01)
    assert built.usage["苏G10003"].source == "trips" and built.usage["苏G10003"].observed_days == 365
