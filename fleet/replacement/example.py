"""A synthetic but realistic plan input: a city and its counties with a spread of ages,
mileages, classes and energies, the candidate models on offer and a policy with budgets and
charger capacity. ``fleet plan-replacement --example`` writes a small one for newcomers; the
benchmark builds a large one.
"""

from __future__ import annotations

import random
from collections import Counter

from fleet.models.common import EmissionStandard, Energy, VehicleClass
from fleet.replacement.inputs import (
    CandidateModel,
    CarRecord,
    MaintenanceCurve,
    PlanInput,
)
from fleet.replacement.policy import DepotChargers, OrgBudget, ReplacementPolicy

_CLASS_SHARE = {
    VehicleClass.sedan: 0.55, VehicleClass.suv: 0.15, VehicleClass.mpv: 0.14,
    VehicleClass.minibus: 0.08, VehicleClass.bus: 0.04, VehicleClass.special: 0.04,
}
#: Typical purchase price range per class, CNY.
_PRICE_CNY = {
    VehicleClass.sedan: (140_000, 180_000), VehicleClass.suv: (190_000, 250_000),
    VehicleClass.mpv: (200_000, 300_000), VehicleClass.minibus: (280_000, 400_000),
    VehicleClass.bus: (600_000, 950_000), VehicleClass.special: (250_000, 500_000),
}
_USE_TYPES = {"general": 0.82, "law_enforcement": 0.12, "emergency": 0.06}

# (class, energy, price CNY, running CNY/km, fuel l/100 km, CO2 g/km, maintenance base, increase)
_MODELS: list[tuple[VehicleClass, Energy, float, float, float, float, float, float]] = [
    (VehicleClass.sedan, Energy.petrol, 148_000, 0.56, 7.0, 163, 1_500, 550),
    (VehicleClass.sedan, Energy.hev, 169_000, 0.38, 4.6, 107, 1_400, 450),
    (VehicleClass.sedan, Energy.phev, 172_000, 0.26, 2.0, 92, 1_300, 400),
    (VehicleClass.sedan, Energy.bev, 165_000, 0.11, 0.0, 80, 900, 300),
    (VehicleClass.sedan, Energy.bev, 235_000, 0.10, 0.0, 75, 900, 300),
    (VehicleClass.suv, Energy.petrol, 205_000, 0.72, 9.0, 210, 2_000, 700),
    (VehicleClass.suv, Energy.hev, 228_000, 0.48, 5.8, 135, 1_800, 600),
    (VehicleClass.suv, Energy.bev, 239_000, 0.14, 0.0, 100, 1_200, 400),
    (VehicleClass.mpv, Energy.petrol, 229_000, 0.78, 9.8, 228, 2_200, 750),
    (VehicleClass.mpv, Energy.hev, 259_000, 0.52, 6.2, 144, 2_000, 650),
    (VehicleClass.mpv, Energy.phev, 279_000, 0.33, 2.6, 110, 1_800, 550),
    (VehicleClass.minibus, Energy.diesel, 330_000, 1.05, 12.5, 330, 3_500, 1_100),
    (VehicleClass.minibus, Energy.bev, 389_000, 0.26, 0.0, 190, 2_500, 700),
    (VehicleClass.bus, Energy.diesel, 720_000, 1.90, 24.0, 640, 8_000, 2_500),
    (VehicleClass.bus, Energy.bev, 950_000, 0.55, 0.0, 380, 6_000, 1_500),
    (VehicleClass.special, Energy.petrol, 320_000, 0.95, 11.5, 268, 3_000, 900),
    (VehicleClass.special, Energy.bev, 380_000, 0.22, 0.0, 150, 2_200, 600),
]


def candidate_models() -> list[CandidateModel]:
    """The models on offer in the example; one premium sedan lies above the sedan price cap."""
    return [
        CandidateModel(
            model_id=f"{cls.value}-{energy.value}-{int(price // 1000)}k",
            name=f"{energy.value.upper()} {cls.value} {int(price // 1000)}k",
            vehicle_class=cls,
            energy=energy,
            price_cny=price,
            running_cost_cny_per_km=run,
            fuel_l_per_100km=fuel,
            co2_g_per_km=co2,
            maintenance_curve=MaintenanceCurve(base_cny_per_year=base, increase_cny_per_year=inc),
        )
        for cls, energy, price, run, fuel, co2, base, inc in _MODELS
    ]


def example_input(cars: int = 40, years: int = 5, start_year: int = 2027, seed: int = 7) -> PlanInput:
    """A plan input with ``cars`` cars over ``years`` years, the same for the same seed."""
    rng = random.Random(seed)
    counties = max(1, min(12, cars // 400))
    orgs = ["city", *[f"county-{n:02d}" for n in range(1, counties + 1)]]
    # One depot per county; the city runs the pool depot (city_pool cars) and an office depot.
    depots = {org: [f"{org}-depot"] for org in orgs}
    depots["city"] = ["city-pool-depot", "city-office-depot"]
    records = [_car(rng, index, orgs, depots, start_year) for index in range(cars)]
    per_org = Counter(c.org_id for c in records)
    budgets = [
        # Enough to renew about one car in twelve each year at a typical price.
        OrgBudget(org_id=org, annual_budget_cny=round(per_org[org] / 12 * 200_000, -4))
        for org in orgs
        if per_org[org]
    ]
    plug_ins = Counter(c.depot_id for c in records if c.is_plug_in)
    based = Counter(c.depot_id for c in records)
    chargers = [
        DepotChargers(
            depot_id=depot,
            chargers=plug_ins[depot] + max(1, based[depot] // 6),
            added_by_year={start_year + 2: max(1, based[depot] // 8)},
        )
        for org in orgs
        for depot in depots[org]
        if based[depot]
    ]
    policy = ReplacementPolicy(
        jurisdiction="example city",
        nev_share_floor_by_year={start_year + 2: 0.4, start_year + 4: 0.5},
        nev_required_use_types=["city_pool"],
        budgets=budgets,
        depots=chargers,
    )
    return PlanInput(
        start_year=start_year, years=years, policy=policy, cars=records, models=candidate_models()
    )


def _car(
    rng: random.Random, index: int, orgs: list[str], depots: dict[str, list[str]], start_year: int
) -> CarRecord:
    org = orgs[0] if rng.random() < 0.35 else rng.choice(orgs)
    cls = rng.choices(list(_CLASS_SHARE), weights=list(_CLASS_SHARE.values()))[0]
    age = min(19.5, max(0.2, rng.triangular(0, 19, 8)))
    purchase_year = start_year - age
    energy = _energy(rng, cls, purchase_year)
    annual_km = max(1_000.0, rng.lognormvariate(9.85, 0.35))
    if rng.random() < 0.08:
        annual_km = rng.uniform(800, 4_500)
    depot = rng.choice(depots[org])
    use_type = "city_pool" if depot == "city-pool-depot" else rng.choices(
        list(_USE_TYPES), weights=list(_USE_TYPES.values())
    )[0]
    low, high = _PRICE_CNY[cls]
    history = {}
    if rng.random() < 0.5:
        for back in (3, 2, 1):
            if age > back:
                history[start_year - back] = round((2_000 + 650 * (age - back)) * rng.uniform(0.7, 1.4), -1)
    return CarRecord(
        car_id=f"car-{index:05d}",
        org_id=org,
        vehicle_class=cls,
        energy=energy,
        emission_standard=None if energy == Energy.bev else _emission(purchase_year),
        age_years=round(age, 2),
        purchase_price_cny=round(rng.uniform(low, high), -3),
        odometer_km=round(annual_km * age * rng.uniform(0.8, 1.2)),
        annual_km=round(annual_km),
        use_type=use_type,
        depot_id=depot,
        maintenance_history_cny=history,
    )


def _energy(rng: random.Random, cls: VehicleClass, purchase_year: float) -> Energy:
    if cls in (VehicleClass.minibus, VehicleClass.bus):
        return Energy.bev if purchase_year > 2018 and rng.random() < 0.3 else Energy.diesel
    nev = 0.05 if purchase_year < 2016 else 0.3 if purchase_year < 2021 else 0.5
    roll = rng.random()
    if roll < nev:
        return Energy.bev if rng.random() < 0.6 else Energy.phev
    return Energy.hev if roll < nev + 0.12 else Energy.petrol


def _emission(purchase_year: float) -> EmissionStandard:
    if purchase_year < 2011.5:
        return EmissionStandard.china3
    if purchase_year < 2017:
        return EmissionStandard.china4
    if purchase_year < 2020.5:
        return EmissionStandard.china5
    return EmissionStandard.china6
