"""The replacement policy of one jurisdiction (a city or a county): who may replace which car,
when, with what, and within which budget.

Every setting of the issue is here and can be changed per jurisdiction. Money is in CNY,
distances in km, ages in years, shares as fractions (0.3 = 30 %). Calendar years are plain
integers (2027).
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from fleet.models.common import EmissionStandard, VehicleClass

Amount = TypeVar("Amount", int, float)

#: Default price caps per class, CNY including tax; a sedan at most 180,000 CNY.
DEFAULT_PRICE_CAP_CNY: dict[VehicleClass, float] = {
    VehicleClass.sedan: 180_000,
    VehicleClass.suv: 250_000,
    VehicleClass.mpv: 300_000,
    VehicleClass.minibus: 400_000,
    VehicleClass.bus: 1_000_000,
}

#: Default auction recovery share of the purchase price by age in whole years (interpolated).
DEFAULT_SALVAGE_SHARE_BY_AGE: dict[int, float] = {
    0: 0.80, 1: 0.65, 2: 0.55, 3: 0.47, 4: 0.40, 5: 0.34, 6: 0.29, 7: 0.24,
    8: 0.20, 10: 0.13, 12: 0.08, 15: 0.04, 20: 0.02,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def non_negative_by_year(amounts: dict[int, Amount], what: str, unit: str = "") -> dict[int, Amount]:
    """``amounts`` per calendar year, unchanged, when none is negative; otherwise a ValueError
    that names the year: "<what> <year> must be >= 0<unit>, got <amount>"."""
    for year, amount in amounts.items():
        if amount < 0:
            raise ValueError(f"{what} {year} must be >= 0{unit}, got {amount}")
    return amounts


def _each_year_non_negative(what: str, unit: str = "") -> AfterValidator:
    """A field check that applies :func:`non_negative_by_year` with ``what`` and ``unit``."""
    return AfterValidator(lambda amounts: non_negative_by_year(amounts, what, unit))


class OrgBudget(_Strict):
    """The replacement budget of one organisation (the purchase spend it may commit)."""

    org_id: str = Field(min_length=1, description="Organisation that holds the budget.")
    annual_budget_cny: float = Field(ge=0, description="Purchase budget per plan year, CNY.")
    budget_by_year_cny: Annotated[dict[int, float], _each_year_non_negative("budget for", " CNY")] = Field(
        default_factory=dict, description="Overrides per calendar year, CNY."
    )

    def for_year(self, year: int) -> float:
        """The budget of calendar ``year``, CNY."""
        return self.budget_by_year_cny.get(year, self.annual_budget_cny)


class DepotChargers(_Strict):
    """Charging points at a depot; every plug-in car (BEV or PHEV) based there needs one."""

    depot_id: str = Field(min_length=1)
    chargers: int = Field(ge=0, description="Charging points in place at the start of the plan.")
    added_by_year: Annotated[dict[int, int], _each_year_non_negative("chargers added in")] = Field(
        default_factory=dict, description="Charging points added at the start of a calendar year."
    )

    def for_year(self, year: int) -> int:
        """Charging points available during calendar ``year``."""
        return self.chargers + sum(n for y, n in self.added_by_year.items() if y <= year)


class ReplacementPolicy(_Strict):
    """All settings of a jurisdiction's replacement policy, with the national defaults."""

    jurisdiction: str = Field("city", min_length=1)

    # When a car may be replaced (no early renewal) and when it must go.
    min_service_years: float = Field(
        8, ge=0, le=30, description="Years in service before a car may be replaced."
    )
    min_odometer_km: float = Field(
        250_000, ge=0, le=2_000_000, description="Odometer reading that also makes a car eligible."
    )
    eligibility: Literal["age_or_mileage", "age_and_mileage"] = Field(
        "age_or_mileage",
        description="Whether reaching either threshold is enough, or both are needed.",
    )
    scrap_odometer_km: float | None = Field(
        600_000, gt=0, description="Guided scrappage mileage: a car reaching it must retire."
    )
    legacy_emission_standard: EmissionStandard = Field(
        EmissionStandard.china3,
        description="Cars at this emission standard or older retire faster.",
    )
    legacy_min_service_years: float = Field(
        0, ge=0, le=30, description="Years in service before a legacy-emission car may be replaced."
    )
    legacy_retire_within_years: int | None = Field(
        3, ge=1, le=30, description="Legacy-emission cars must be retired within this many plan years."
    )

    # What may be bought.
    price_cap_cny: dict[VehicleClass, float] = Field(
        default_factory=lambda: dict(DEFAULT_PRICE_CAP_CNY),
        description="Highest price per class, CNY; a class not listed has no cap.",
    )
    replacement_classes: dict[VehicleClass, list[VehicleClass]] = Field(
        default_factory=dict,
        description="Classes that may replace a class (downsizing); default the same class only.",
    )
    nev_share_floor: float = Field(
        0.30, ge=0, le=1, description="Least NEV share of each year's new and renewed cars."
    )
    nev_share_floor_by_year: dict[int, float] = Field(
        default_factory=dict, description="Overrides of the NEV share floor per calendar year."
    )
    nev_required_use_types: list[str] = Field(
        default_factory=list, description="Use types whose replacement must be a NEV."
    )

    # Money and infrastructure.
    budgets: list[OrgBudget] = Field(default_factory=list)
    default_annual_budget_cny: float | None = Field(
        None, ge=0, description="Budget of an organisation not listed in budgets; empty: no limit."
    )
    depots: list[DepotChargers] = Field(
        default_factory=list, description="Charger capacity per depot; unlisted depots: no limit."
    )
    max_spend_swing_share: float | None = Field(
        0.5,
        ge=0,
        description=(
            "Smoothing: spend may change from one year to the next by at most this share of the "
            "mean annual spend of the plan; empty: no smoothing."
        ),
    )

    # Right-sizing.
    idle_annual_km: float = Field(
        5_000, ge=0, description="A car driven less than this per year is idle and may go unreplaced."
    )
    idle_utilisation_share: float | None = Field(
        0.15, ge=0, le=1, description="A car used on fewer than this share of working days is idle."
    )
    displaced_trip_cost_cny_per_km: float = Field(
        2.0, ge=0, description="Cost of serving a right-sized car's trips by pool or lease, CNY/km."
    )

    # Finance.
    discount_rate: float = Field(0.04, ge=0, le=0.5, description="Real discount rate per year.")
    capital_life_years: float = Field(
        10, gt=0, le=30, description="Years over which a new car's price is annualised."
    )
    salvage_share_by_age: dict[int, float] = Field(
        default_factory=lambda: dict(DEFAULT_SALVAGE_SHARE_BY_AGE),
        description="Auction recovery share of the purchase price by age in whole years.",
    )

    @field_validator("price_cap_cny")
    @classmethod
    def _positive_caps(cls, value: dict[VehicleClass, float]) -> dict[VehicleClass, float]:
        for vehicle_class, cap in value.items():
            if cap <= 0:
                raise ValueError(f"cap for {vehicle_class.value} must be > 0 CNY, got {cap}")
        return value

    @field_validator("nev_share_floor_by_year")
    @classmethod
    def _shares(cls, value: dict[int, float]) -> dict[int, float]:
        for year, share in value.items():
            if not 0 <= share <= 1:
                raise ValueError(f"floor for {year} must be between 0 and 1, got {share}")
        return value

    @field_validator("salvage_share_by_age")
    @classmethod
    def _salvage_curve(cls, value: dict[int, float]) -> dict[int, float]:
        if not value:
            raise ValueError("needs at least one age")
        ages = sorted(value)
        if ages[0] < 0:
            raise ValueError(f"ages must be >= 0, got {ages[0]}")
        for age in ages:
            if not 0 <= value[age] <= 1:
                raise ValueError(f"share at age {age} must be between 0 and 1, got {value[age]}")
        for younger, older in zip(ages, ages[1:]):
            if value[older] > value[younger]:
                raise ValueError(
                    f"share must not rise with age: {value[younger]} at {younger}, "
                    f"{value[older]} at {older}"
                )
        return value

    @model_validator(mode="after")
    def _unique_keys(self) -> "ReplacementPolicy":
        seen: set[str] = set()
        for budget in self.budgets:
            if budget.org_id in seen:
                raise ValueError(f"budgets: organisation {budget.org_id!r} is listed twice")
            seen.add(budget.org_id)
        seen.clear()
        for depot in self.depots:
            if depot.depot_id in seen:
                raise ValueError(f"depots: depot {depot.depot_id!r} is listed twice")
            seen.add(depot.depot_id)
        return self

    def nev_floor_for(self, year: int) -> float:
        """The NEV share floor of calendar ``year``."""
        return self.nev_share_floor_by_year.get(year, self.nev_share_floor)

    def budget_for(self, org_id: str, year: int) -> float | None:
        """The purchase budget of ``org_id`` in ``year``, CNY; ``None`` when unlimited."""
        for budget in self.budgets:
            if budget.org_id == org_id:
                return budget.for_year(year)
        return self.default_annual_budget_cny

    def chargers_for(self, depot_id: str | None, year: int) -> int | None:
        """Charging points at ``depot_id`` in ``year``; ``None`` when not limited."""
        for depot in self.depots:
            if depot.depot_id == depot_id:
                return depot.for_year(year)
        return None

    def classes_replacing(self, vehicle_class: VehicleClass) -> list[VehicleClass]:
        """Classes a car of ``vehicle_class`` may be replaced with."""
        return self.replacement_classes.get(vehicle_class, [vehicle_class])

    def salvage_share(self, age_years: float) -> float:
        """Auction recovery share at ``age_years``, linear between the listed ages."""
        ages = self._salvage_ages
        if age_years <= ages[0]:
            return self.salvage_share_by_age[ages[0]]
        for younger, older in zip(ages, ages[1:]):
            if age_years <= older:
                share_y, share_o = self.salvage_share_by_age[younger], self.salvage_share_by_age[older]
                return share_y + (share_o - share_y) * (age_years - younger) / (older - younger)
        return self.salvage_share_by_age[ages[-1]]

    @cached_property
    def _salvage_ages(self) -> list[int]:
        return sorted(self.salvage_share_by_age)

    def capital_recovery_factor(self) -> float:
        """Share of a price paid each year to annualise it over ``capital_life_years``."""
        rate, life = self.discount_rate, self.capital_life_years
        if rate == 0:
            return 1 / life
        return rate / (1 - (1 + rate) ** -life)
