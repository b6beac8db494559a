"""The replacement plan as the planner hands it out: per year, each car to retire with its
replacement and the reason, and the year's figures (spend, budget use, NEV share, fuel and CO2
saved). Money in CNY, fuel in litres, CO2 in kg; lifecycle figures are discounted to the first
plan year, purchase and salvage figures are not.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from fleet.models.common import Energy, VehicleClass

PlanStatus = Literal["optimal", "feasible", "infeasible", "unknown"]


class Decision(BaseModel):
    """One car retired in one year, replaced or right-sized."""

    year: int
    car_id: str
    org_id: str
    depot_id: str | None
    vehicle_class: VehicleClass
    energy: Energy
    age_years: float
    odometer_km: float
    annual_km: float
    action: Literal["replace", "right_size"]
    replacement_model_id: str | None
    replacement_class: VehicleClass | None
    replacement_energy: Energy | None
    purchase_cost_cny: float
    salvage_cny: float
    lifecycle_change_cny: float
    fuel_saved_l_per_year: float
    co2_saved_kg_per_year: float
    reason: str


class BudgetUse(BaseModel):
    """Purchase spend of one organisation in one year against its budget."""

    org_id: str
    used_cny: float
    limit_cny: float | None


class YearPlan(BaseModel):
    """Everything decided for one calendar year."""

    year: int
    decisions: list[Decision]
    replaced: int
    right_sized: int
    nev_bought: int
    nev_share: float | None
    nev_share_floor: float
    spend_cny: float
    salvage_cny: float
    budgets: list[BudgetUse]
    fuel_saved_l_per_year: float
    co2_saved_kg_per_year: float
    eligible_kept: int


class BindingConstraint(BaseModel):
    """A policy constraint that cannot hold together with the others named with it."""

    family: str
    scope: str
    message: str


class SolveStats(BaseModel):
    """How the solve went; ``gap`` is (objective - best bound) / objective."""

    cars: int
    years: int
    groups: int
    variables: int
    constraints: int
    wall_time_s: float
    objective_cny: float | None
    best_bound_cny: float | None
    gap: float | None
    baseline_cny: float


class ReplacementPlan(BaseModel):
    """A multi-year replacement plan of one jurisdiction, or why there is none."""

    jurisdiction: str
    start_year: int
    years: int
    status: PlanStatus
    message: str
    stats: SolveStats
    year_plans: list[YearPlan]
    binding_constraints: list[BindingConstraint]
