"""Inputs of the replacement planner: the cars in service, the candidate models on offer, the
running figures of the existing fleet and the policy, gathered in one ``PlanInput``.

Units: money in CNY, distances in km, fuel in litres, CO2 in grams per km, ages in years.
Bad input raises ``pydantic.ValidationError`` whose messages name the field and the rule.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fleet.models.common import NEV_ENERGIES, EmissionStandard, Energy, VehicleClass
from fleet.replacement.policy import ReplacementPolicy, non_negative_by_year

#: Emission standards from oldest to newest.
EMISSION_ORDER: list[EmissionStandard] = list(EmissionStandard)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class UsageSource(StrEnum):
    """Where a car record's annual km comes from (see ``fleet.replacement.usage``)."""

    given = "given"  # written in the plan input file
    trips = "trips"  # measured from the car's trips over the last 12 months
    odometer = "odometer"  # lifetime average: odometer reading over age
    unknown = "unknown"  # no trips and no odometer reading: never idle for it


class MaintenanceCurve(_Strict):
    """Maintenance and repair cost per year as a straight line in the car's age."""

    base_cny_per_year: float = Field(ge=0, description="Cost in the first year, CNY/year.")
    increase_cny_per_year: float = Field(
        ge=0, description="Extra cost per year for every year of age, CNY/year per year."
    )

    def cost_cny(self, age_years: float) -> float:
        """Maintenance cost of one year at ``age_years``, CNY."""
        return self.base_cny_per_year + self.increase_cny_per_year * max(age_years, 0.0)


class EnergyProfile(_Strict):
    """Running figures of a sedan-sized car of one energy, per km driven."""

    running_cost_cny_per_km: float = Field(ge=0, description="Fuel or electricity, CNY/km.")
    fuel_l_per_100km: float = Field(ge=0, description="Petrol or diesel burnt, litres/100 km.")
    co2_g_per_km: float = Field(ge=0, description="CO2 incl. grid electricity, g/km.")


class FleetProfile(_Strict):
    """Running figures of the existing fleet where a car record gives none of its own."""

    energy: dict[Energy, EnergyProfile] = Field(
        default_factory=lambda: {
            Energy.petrol: EnergyProfile(running_cost_cny_per_km=0.64, fuel_l_per_100km=8.0, co2_g_per_km=186),
            Energy.diesel: EnergyProfile(running_cost_cny_per_km=0.58, fuel_l_per_100km=7.0, co2_g_per_km=187),
            Energy.hev: EnergyProfile(running_cost_cny_per_km=0.42, fuel_l_per_100km=5.2, co2_g_per_km=121),
            Energy.phev: EnergyProfile(running_cost_cny_per_km=0.30, fuel_l_per_100km=2.5, co2_g_per_km=110),
            Energy.bev: EnergyProfile(running_cost_cny_per_km=0.12, fuel_l_per_100km=0.0, co2_g_per_km=86),
        }
    )
    class_factor: dict[VehicleClass, float] = Field(
        default_factory=lambda: {
            VehicleClass.sedan: 1.0,
            VehicleClass.suv: 1.25,
            VehicleClass.mpv: 1.3,
            VehicleClass.minibus: 1.8,
            VehicleClass.bus: 3.0,
            VehicleClass.special: 1.5,
        },
        description="Multiplier on running and maintenance figures for a class.",
    )
    sedan_maintenance: MaintenanceCurve = Field(
        default_factory=lambda: MaintenanceCurve(base_cny_per_year=2_000, increase_cny_per_year=600)
    )

    @model_validator(mode="after")
    def _complete(self) -> "FleetProfile":
        for energy in Energy:
            if energy not in self.energy:
                raise ValueError(f"energy: no running figures for {energy.value}")
        for vehicle_class in VehicleClass:
            if vehicle_class not in self.class_factor:
                raise ValueError(f"class_factor: no factor for {vehicle_class.value}")
        return self


class CarRecord(_Strict):
    """One car in service, as the planner sees it."""

    car_id: str = Field(min_length=1)
    org_id: str = Field(min_length=1, description="Organisation that owns the car and its budget.")
    vehicle_class: VehicleClass
    energy: Energy
    emission_standard: EmissionStandard | None = Field(None, description="Empty for a BEV.")
    purchase_date: date | None = Field(None, description="Give this or age_years.")
    age_years: float | None = Field(None, ge=0, le=60, description="Age at the start of the plan.")
    purchase_price_cny: float = Field(ge=0, le=5_000_000)
    odometer_km: float = Field(ge=0, le=2_000_000)
    annual_km: float = Field(ge=0, le=300_000, description="Measured from trips, km/year.")
    annual_km_source: UsageSource = Field(
        UsageSource.given, description="Where annual_km comes from; an unknown usage never makes a car idle."
    )
    utilisation_share: float | None = Field(
        None, ge=0, le=1, description="Share of working days the car was used, from trips."
    )
    use_type: str = Field("general", min_length=1)
    depot_id: str | None = None
    running_cost_cny_per_km: float | None = Field(None, ge=0, description="Overrides the profile.")
    maintenance_history_cny: dict[int, float] = Field(
        default_factory=dict, description="Maintenance and repair cost per past calendar year, CNY."
    )
    maintenance_curve: MaintenanceCurve | None = Field(
        None, description="Overrides the curve fitted from the history or the class default."
    )

    @model_validator(mode="after")
    def _consistent(self) -> "CarRecord":
        if (self.purchase_date is None) == (self.age_years is None):
            raise ValueError("purchase_date: give exactly one of purchase_date and age_years")
        if self.energy == Energy.bev and self.emission_standard is not None:
            raise ValueError("emission_standard: must be empty for a bev")
        if self.energy != Energy.bev and self.emission_standard is None:
            raise ValueError("emission_standard: required for a car with a combustion engine")
        non_negative_by_year(self.maintenance_history_cny, "maintenance_history_cny: cost in")
        return self

    @property
    def is_plug_in(self) -> bool:
        """A BEV or PHEV, which needs a charger at its depot."""
        return self.energy in NEV_ENERGIES


class CandidateModel(_Strict):
    """A model that may be bought as a replacement."""

    model_id: str = Field(min_length=1)
    name: str = ""
    vehicle_class: VehicleClass
    energy: Energy
    price_cny: float = Field(gt=0, le=5_000_000, description="Price incl. tax, CNY.")
    running_cost_cny_per_km: float = Field(ge=0, description="Fuel or electricity, CNY/km.")
    fuel_l_per_100km: float = Field(ge=0, description="Petrol or diesel burnt, litres/100 km.")
    co2_g_per_km: float = Field(ge=0, description="CO2 incl. grid electricity, g/km.")
    maintenance_curve: MaintenanceCurve

    @property
    def is_nev(self) -> bool:
        """Counts as a new-energy vehicle (BEV or PHEV)."""
        return self.energy in NEV_ENERGIES


class PlanInput(_Strict):
    """Everything the planner needs: the fleet, the models on offer, the policy, the horizon."""

    start_year: int = Field(ge=2000, le=2100, description="First calendar year of the plan.")
    years: int = Field(5, ge=1, le=15, description="Plan horizon in years.")
    policy: ReplacementPolicy = Field(default_factory=ReplacementPolicy)
    fleet_profile: FleetProfile = Field(default_factory=FleetProfile)
    cars: list[CarRecord] = Field(min_length=1)
    models: list[CandidateModel] = Field(min_length=1)

    @property
    def plan_years(self) -> list[int]:
        """Calendar years of the plan."""
        return [self.start_year + offset for offset in range(self.years)]

    def car_age_years(self, car: CarRecord) -> float:
        """Age of ``car`` on 1 January of the first plan year, years."""
        if car.age_years is not None:
            return car.age_years
        assert car.purchase_date is not None
        return (date(self.start_year, 1, 1) - car.purchase_date).days / 365.25

    def buyable_models(self, vehicle_class: VehicleClass) -> list[CandidateModel]:
        """Models of ``vehicle_class`` within its price cap."""
        cap = self.policy.price_cap_cny.get(vehicle_class)
        return [
            m for m in self.models
            if m.vehicle_class == vehicle_class and (cap is None or m.price_cny <= cap)
        ]

    @model_validator(mode="after")
    def _consistent(self) -> "PlanInput":
        self._check_unique()
        for index, car in enumerate(self.cars):
            if car.purchase_date is not None and car.purchase_date > date(self.start_year, 1, 1):
                raise ValueError(
                    f"cars[{index}].purchase_date: {car.purchase_date} is after the plan start "
                    f"{self.start_year}-01-01"
                )
        self._check_models_on_offer()
        self._check_chargers()
        return self

    def _check_unique(self) -> None:
        for field, ids in (
            ("cars", [c.car_id for c in self.cars]),
            ("models", [m.model_id for m in self.models]),
        ):
            duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
            if duplicates:
                raise ValueError(f"{field}: ids must be unique, repeated: {', '.join(duplicates)}")

    def _check_models_on_offer(self) -> None:
        policy = self.policy
        for vehicle_class, cap in policy.price_cap_cny.items():
            priced = [m.price_cny for m in self.models if m.vehicle_class == vehicle_class]
            if priced and min(priced) > cap:
                raise ValueError(
                    f"policy.price_cap_cny.{vehicle_class.value}: cap {cap:,.0f} CNY is below every "
                    f"{vehicle_class.value} model's price (cheapest {min(priced):,.0f} CNY)"
                )
        classes_in_fleet = {c.vehicle_class for c in self.cars}
        for vehicle_class in sorted(classes_in_fleet):
            options = [m for c in policy.classes_replacing(vehicle_class) for m in self.buyable_models(c)]
            if not options:
                raise ValueError(
                    f"models: no model within the price cap can replace a {vehicle_class.value}; "
                    f"add a candidate model or a policy.replacement_classes entry"
                )
            required = {c.use_type for c in self.cars if c.vehicle_class == vehicle_class}
            required &= set(policy.nev_required_use_types)
            if required and not any(m.is_nev for m in options):
                raise ValueError(
                    f"models: use type {sorted(required)[0]!r} must be replaced by a NEV, but no NEV "
                    f"model within the price cap can replace a {vehicle_class.value}"
                )

    def _check_chargers(self) -> None:
        plug_ins = Counter(c.depot_id for c in self.cars if c.is_plug_in)
        for index, depot in enumerate(self.policy.depots):
            if plug_ins[depot.depot_id] > depot.chargers:
                raise ValueError(
                    f"policy.depots[{index}].chargers: depot {depot.depot_id!r} has "
                    f"{plug_ins[depot.depot_id]} plug-in cars but only {depot.chargers} chargers"
                )


def describe_errors(error: ValidationError) -> list[str]:
    """One line per problem: ``field.path: rule`` (pydantic's wording, without its noise)."""
    lines = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{location}: {message}" if location else message)
    return lines
