"""Small hand-built fleets for the replacement planner tests."""

from __future__ import annotations

from typing import Any

import typer

from fleet.replacement.cli import register
from fleet.replacement.inputs import CandidateModel, CarRecord, MaintenanceCurve, PlanInput
from fleet.replacement.plan import Decision, ReplacementPlan
from fleet.replacement.planner import SolveOptions, plan_replacement

START = 2027
OPTIONS = SolveOptions(time_limit_s=10, relative_gap_limit=0.0, num_workers=2, diagnosis_time_limit_s=10)


def car(car_id: str, **fields: Any) -> CarRecord:
    """A petrol China 5 sedan, 12 years old, 25,000 km/year, unless told otherwise."""
    age = fields.pop("age_years", 12.0)
    annual = fields.pop("annual_km", 25_000)
    values: dict[str, Any] = {
        "car_id": car_id,
        "org_id": "org-a",
        "vehicle_class": "sedan",
        "energy": "petrol",
        "emission_standard": "china5",
        "age_years": age,
        "purchase_price_cny": 160_000,
        "odometer_km": min((age or 0) * annual, 240_000),
        "annual_km": annual,
    }
    values.update(fields)
    if values["age_years"] is None:
        values["odometer_km"] = fields.get("odometer_km", 200_000)
    return CarRecord.model_validate(values)


def model(model_id: str, energy: str, price_cny: float, run: float, base: float, inc: float,
          vehicle_class: str = "sedan") -> CandidateModel:
    return CandidateModel(
        model_id=model_id, vehicle_class=vehicle_class, energy=energy, price_cny=price_cny,
        running_cost_cny_per_km=run, fuel_l_per_100km=0 if energy == "bev" else 7.0,
        co2_g_per_km=80 if energy == "bev" else 163,
        maintenance_curve=MaintenanceCurve(base_cny_per_year=base, increase_cny_per_year=inc),
    )


PETROL = model("petrol-150k", "petrol", 150_000, 0.56, 1_500, 500)
BEV = model("bev-165k", "bev", 165_000, 0.11, 900, 300)


def neutral_policy(**settings: Any) -> dict[str, Any]:
    """The default policy with the coupling constraints switched off, then ``settings``."""
    values: dict[str, Any] = {
        "nev_share_floor": 0.0,
        "max_spend_swing_share": None,
        "scrap_odometer_km": None,
        "idle_utilisation_share": None,
        "legacy_retire_within_years": None,
    }
    values.update(settings)
    return values


def plan_input(cars: list[CarRecord], models: list[CandidateModel] | None = None, years: int = 3,
               **policy: Any) -> PlanInput:
    return PlanInput.model_validate({
        "start_year": START, "years": years, "policy": neutral_policy(**policy), "cars": cars,
        "models": models or [PETROL, BEV],
    })


def solve(cars: list[CarRecord], models: list[CandidateModel] | None = None, years: int = 3,
          **policy: Any) -> ReplacementPlan:
    return plan_replacement(plan_input(cars, models, years, **policy), OPTIONS)


def decisions(plan: ReplacementPlan) -> dict[str, Decision]:
    """Decisions by car id."""
    return {d.car_id: d for year in plan.year_plans for d in year.decisions}


def cli_app() -> typer.Typer:
    """A command line holding ``plan-replacement`` as a sub-command, as ``fleet`` does."""
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # keeps plan-replacement a sub-command, as under `fleet`
        pass

    return app
