"""The replacement plan as the planner hands it out: per year, each car to retire with its
replacement and the reason, and the year's figures (spend, budget use, NEV share, fuel and CO2
saved). Money in CNY, fuel in litres, CO2 in kg; lifecycle figures are discounted to the first
plan year, purchase and salvage figures are not.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from fleet.models.common import Energy, VehicleClass
from fleet.replacement.inputs import UsageSource

PlanStatus = Literal["optimal", "feasible", "infeasible", "unknown"]
#: Why a car goes, as a code the pages translate: it must retire (legacy emission standard,
#: scrappage mileage), it is idle (annual km, or share of working days used, under the policy's
#: threshold), or it is eligible (age or odometer) and replacing it pays or meets the policy.
ReasonCode = Literal["legacy_emission", "scrappage_mileage", "idle_km", "idle_utilisation", "eligible"]


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
    reason: str = Field(description="The reason in English words, for the command line.")
    reason_code: ReasonCode | None = Field(None, description="The reason as a code; empty in plans kept before codes.")
    reason_params: dict[str, float | int | str | bool | None] = Field(
        default_factory=dict,
        description=(
            "Figures of the reason: ages in years, distances in km, shares as fractions, money in CNY, "
            "years as calendar years; model, class and energy of the replacement as ids."
        ),
    )
    annual_km_source: UsageSource = Field(UsageSource.given, description="Where the car's annual km comes from.")


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
    usage_sources: dict[UsageSource, int] = Field(
        default_factory=dict, description="Cars planned per source of their annual km."
    )
