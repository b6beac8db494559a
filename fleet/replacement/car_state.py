"""What the planner derives from a car record: age, running figures, whether it is idle, and
from which plan year it may (or by which it must) be retired.

Plan years are counted as offsets from the first plan year (0 = the first year). A car retired
in year ``t`` is retired on 1 January of that year and its replacement runs from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fleet.replacement.inputs import (
    EMISSION_ORDER,
    CarRecord,
    MaintenanceCurve,
    PlanInput,
    UsageSource,
)


class MustRetire(StrEnum):
    """Why a car must be retired by a given year."""

    legacy_emission = "legacy_emission"
    scrappage_mileage = "scrappage_mileage"


@dataclass(frozen=True)
class CarState:
    """A car as the planner sees it; figures per year are for the car's measured annual km."""

    car: CarRecord
    age_years: float
    running_cost_cny_per_km: float
    fuel_l_per_km: float
    co2_g_per_km: float
    maintenance: MaintenanceCurve
    idle: bool
    legacy_emission: bool
    nev_required: bool
    eligible_from: int | None
    must_by: int | None
    must_reason: MustRetire | None

    def odometer_km_in(self, offset: int) -> float:
        """Odometer reading on 1 January of plan year ``offset``, km."""
        return self.car.odometer_km + offset * self.car.annual_km


def car_state(plan: PlanInput, car: CarRecord) -> CarState:
    """Derive the planner's view of ``car`` under ``plan``'s policy and fleet profile."""
    policy, profile = plan.policy, plan.fleet_profile
    factor = profile.class_factor[car.vehicle_class]
    energy = profile.energy[car.energy]
    age = plan.car_age_years(car)
    legacy = car.emission_standard is not None and EMISSION_ORDER.index(
        car.emission_standard
    ) <= EMISSION_ORDER.index(policy.legacy_emission_standard)
    idle = car.annual_km_source != UsageSource.unknown and (
        car.annual_km < policy.idle_annual_km
        or (
            car.utilisation_share is not None
            and policy.idle_utilisation_share is not None
            and car.utilisation_share < policy.idle_utilisation_share
        )
    )
    min_years = min(policy.min_service_years, policy.legacy_min_service_years) if legacy else (
        policy.min_service_years
    )
    eligible_from = None
    for offset in range(plan.years):
        old_enough = age + offset >= min_years
        driven_enough = car.odometer_km + offset * car.annual_km >= policy.min_odometer_km
        if policy.eligibility == "age_or_mileage":
            eligible = old_enough or driven_enough
        else:  # legacy-emission cars need the age only
            eligible = old_enough and (driven_enough or legacy)
        if eligible:
            eligible_from = offset
            break
    must_by, must_reason = _must_retire(plan, car, legacy)
    if must_by is not None and (eligible_from is None or eligible_from > must_by):
        eligible_from = must_by
    return CarState(
        car=car,
        age_years=age,
        running_cost_cny_per_km=(
            car.running_cost_cny_per_km
            if car.running_cost_cny_per_km is not None
            else energy.running_cost_cny_per_km * factor
        ),
        fuel_l_per_km=energy.fuel_l_per_100km * factor / 100,
        co2_g_per_km=energy.co2_g_per_km * factor,
        maintenance=_maintenance_curve(plan, car, age, factor),
        idle=idle,
        legacy_emission=legacy,
        nev_required=car.use_type in policy.nev_required_use_types,
        eligible_from=eligible_from,
        must_by=must_by,
        must_reason=must_reason,
    )


def _must_retire(
    plan: PlanInput, car: CarRecord, legacy: bool
) -> tuple[int | None, MustRetire | None]:
    policy = plan.policy
    candidates: list[tuple[int, MustRetire]] = []
    if legacy and policy.legacy_retire_within_years is not None:
        deadline = policy.legacy_retire_within_years - 1
        if deadline < plan.years:
            candidates.append((deadline, MustRetire.legacy_emission))
    if policy.scrap_odometer_km is not None:
        for offset in range(plan.years):
            if car.odometer_km + offset * car.annual_km >= policy.scrap_odometer_km:
                candidates.append((offset, MustRetire.scrappage_mileage))
                break
    if not candidates:
        return None, None
    return min(candidates)


def _maintenance_curve(plan: PlanInput, car: CarRecord, age: float, factor: float) -> MaintenanceCurve:
    """The car's own curve, else a line fitted to its history, else the class default.

    A history with one year keeps the default slope through that year's cost; with two or more
    years the least-squares slope is used (never below zero).
    """
    if car.maintenance_curve is not None:
        return car.maintenance_curve
    default = plan.fleet_profile.sedan_maintenance
    slope = default.increase_cny_per_year * factor
    if not car.maintenance_history_cny:
        return MaintenanceCurve(
            base_cny_per_year=default.base_cny_per_year * factor, increase_cny_per_year=slope
        )
    points = [
        (age - (plan.start_year - year) + 0.5, cost) for year, cost in car.maintenance_history_cny.items()
    ]
    mean_age = sum(a for a, _ in points) / len(points)
    mean_cost = sum(c for _, c in points) / len(points)
    spread = sum((a - mean_age) ** 2 for a, _ in points)
    if spread > 0:
        slope = max(0.0, sum((a - mean_age) * (c - mean_cost) for a, c in points) / spread)
    base = max(0.0, mean_cost - slope * mean_age)
    return MaintenanceCurve(base_cny_per_year=base, increase_cny_per_year=slope)
