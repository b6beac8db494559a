"""A small hand-built county fleet for the replacement service tests.

Under a county: an agency with four pool cars at a county depot, plus a leased car and a
retired car that the planner must leave alone. Trips are laid on weekdays before ``as_of``:

- 苏G00001: petrol China 5 sedan bought 2014, 40,000 km/year, maintenance bills 2024-2026:
  due for replacement, and a BEV pays back at that mileage;
- 苏G00002: petrol China 6 sedan bought 2023, 15,000 km/year: too young;
- 苏G00003: petrol China 5 sedan bought 2012, 2 trips a year (idle): retired without
  replacement;
- 苏G00004: BEV sedan bought 2021, 12,000 km/year: too young.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from fleet.models import (
    Depot,
    Organisation,
    OrgLevel,
    Position,
    Role,
    Trip,
    Vehicle,
)
from fleet.models.replacement import MaintenanceCostRecord
from fleet.security import issue_token
from tests.builders import add, lessor, organisation, user, vehicle

PETROL = {"model_id": "petrol-150k", "vehicle_class": "sedan", "energy": "petrol", "price_cny": 150_000,
          "running_cost_cny_per_km": 0.56, "fuel_l_per_100km": 7.0, "co2_g_per_km": 163,
          "maintenance_curve": {"base_cny_per_year": 1_500, "increase_cny_per_year": 500}}
BEV = {"model_id": "bev-165k", "vehicle_class": "sedan", "energy": "bev", "price_cny": 165_000,
       "running_cost_cny_per_km": 0.11, "fuel_l_per_100km": 0.0, "co2_g_per_km": 80,
       "maintenance_curve": {"base_cny_per_year": 900, "increase_cny_per_year": 300}}


def weekdays_before(as_of: datetime, count: int, step_days: int = 1) -> list[datetime]:
    """``count`` weekday mornings (09:00 UTC+8) before ``as_of``, every ``step_days`` weekdays."""
    days, day = [], as_of - timedelta(days=3)
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day.replace(hour=1, minute=0, second=0, microsecond=0))
        day -= timedelta(days=step_days)
    return days


def _vehicle(session: Session, plate: str, org: Organisation, depot: Depot | None, **fields: Any) -> Vehicle:
    values: dict[str, Any] = {"emission_standard": "china5", "purchase_price_cny": 160_000,
                              "home_depot_id": None if depot is None else depot.id}
    return vehicle(session, plate, f"LSVAA4180E{plate[-5:]}XX", org.id, **(values | fields))


def _trips(session: Session, vehicle: Vehicle, starts: list[datetime], km_each: float) -> None:
    session.add_all([
        Trip(vehicle_id=vehicle.id, started_at=start, ended_at=start + timedelta(hours=2), distance_km=km_each)
        for start in starts
    ])


def add_county_fleet(session: Session, county_id: int, agency_id: int, as_of: datetime) -> dict[str, int]:
    """The fleet of the module docstring under the county; returns ids by name."""
    county = session.get(Organisation, county_id)
    agency = session.get(Organisation, agency_id)
    assert county is not None and agency is not None
    depot = add(session, Depot(name="东海县车队", org_id=county.id, lat=34.52, lon=118.77))
    old = _vehicle(session, "苏G00001", agency, depot, purchase_date=date(2014, 3, 1), odometer_km=240_000)
    young = _vehicle(session, "苏G00002", agency, depot, emission_standard="china6",
                     purchase_date=date(2023, 6, 1), odometer_km=50_000)
    idle = _vehicle(session, "苏G00003", agency, depot, purchase_date=date(2012, 5, 1), odometer_km=90_000)
    bev = _vehicle(session, "苏G00004", agency, depot, energy="bev", emission_standard=None, battery_range_km=450,
                   purchase_date=date(2021, 9, 1), odometer_km=60_000)
    _vehicle(session, "苏G00005", agency, depot, purchase_date=date(2010, 1, 1), odometer_km=300_000,
             status="retired")
    leasing = lessor(session, "东海租车", county.id, lat=34.5, lon=118.8)
    _vehicle(session, "苏G00006", agency, None, purchase_date=date(2011, 1, 1), odometer_km=280_000,
             ownership="leased", lessor_id=leasing.id, lease_start=date(2026, 1, 1), lease_end=date(2027, 12, 31))
    # The platform has recorded since the start of the year measured: the old car's first fix.
    session.add(Position(vehicle_id=old.id, ts=as_of - timedelta(days=365) + timedelta(hours=1), lat=34.52, lon=118.77))
    _trips(session, old, weekdays_before(as_of, 100, step_days=2), 400.0)  # 40,000 km
    _trips(session, young, weekdays_before(as_of, 100, step_days=2), 150.0)  # 15,000 km
    _trips(session, idle, weekdays_before(as_of, 2, step_days=60), 50.0)  # 100 km
    _trips(session, bev, weekdays_before(as_of, 80, step_days=3), 150.0)  # 12,000 km
    session.add_all([
        MaintenanceCostRecord(vehicle_id=old.id, incurred_on=date(year, 6, 1), cost_cny=cost)
        for year, cost in ((2024, 6_000), (2025, 7_000), (2026, 5_000), (2026, 3_000))
    ])
    session.commit()
    return {"depot": depot.id, "old": old.id, "young": young.id, "idle": idle.id, "bev": bev.id}  # type: ignore[dict-item]


def county_policy(county_id: int, depot_id: int, budget_cny: float = 400_000) -> dict[str, Any]:
    """A policy body for PUT /replacement/policies/{county}: no NEV floor, smoothing,
    scrappage or legacy deadline, so that the plan is the lifecycle-cheapest one."""
    return {
        "policy": {
            "nev_share_floor": 0.0, "max_spend_swing_share": None, "scrap_odometer_km": None,
            "legacy_retire_within_years": None, "idle_utilisation_share": None,
            "budgets": [{"org_id": county_id, "annual_budget_cny": budget_cny}],
            "depots": [{"depot_id": depot_id, "chargers": 4}],
        },
        "models": [PETROL, BEV],
    }


def add_admin(session: Session, username: str, org_id: int, signing_key: str) -> dict[str, str]:
    """An administrator of ``org_id``; returns the bearer header."""
    admin = user(session, username, Role.admin, org_id)
    session.commit()
    return {"Authorization": f"Bearer {issue_token(admin.id, signing_key, 3600)}"}  # type: ignore[arg-type]


def second_county(session: Session, city_id: int) -> int:
    """Another county under the city, with nothing in it."""
    city = session.get(Organisation, city_id)
    assert city is not None
    county = organisation(session, "灌云县", "320723", OrgLevel.county, city)
    session.commit()
    return county.id  # type: ignore[return-value]


NOW = datetime.now(UTC)
