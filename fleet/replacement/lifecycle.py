"""Lifecycle cost of cars over the plan horizon, discounted to 1 January of the first plan
year, CNY.

Keeping a car costs its running cost (annual km x CNY/km) and its maintenance each year, and
credits its auction value at the end of the horizon. Retiring it in year ``t`` credits its
auction value then; a replacement costs its annualised price (capital recovery factor over
``capital_life_years``), running cost and maintenance each year from ``t`` on; a right-sized car
(retired without replacement) leaves its trips to the pool or a lessor at
``displaced_trip_cost_cny_per_km``. Costs of a year are counted on 1 January of that year.

All costs are linear in the cars' figures, so the cost of a group of cars is the mean of
their costs times the count.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.replacement.car_state import CarState
from fleet.replacement.inputs import CandidateModel, PlanInput


@dataclass(frozen=True)
class CostProfile:
    """Mean figures of one or more cars in the same state, used by ``Lifecycle.change_cny``.

    ``keep_from_cny[t]``: discounted cost of keeping a car from year ``t`` to the end of the
    horizon, net of its discounted end value; ``salvage_cny[t]``: its auction value on
    1 January of year ``t`` (undiscounted); ``annual_km``: km per year.
    """

    annual_km: float
    keep_from_cny: tuple[float, ...]
    salvage_cny: tuple[float, ...]


class Lifecycle:
    """Discounted cost figures of one plan, CNY."""

    def __init__(self, plan: PlanInput) -> None:
        self.years = plan.years
        self.policy = plan.policy
        rate = plan.policy.discount_rate
        self.discount = [1 / (1 + rate) ** offset for offset in range(plan.years + 1)]
        self.discount_from = [sum(self.discount[t : plan.years]) for t in range(plan.years + 1)]
        self.annual_capital_share = plan.policy.capital_recovery_factor()
        self._model_cost: dict[tuple[str, int], float] = {}

    def profile(self, states: list[CarState]) -> CostProfile:
        """Mean cost figures of ``states`` (one car or a group)."""
        count = len(states)
        keep = [0.0] * (self.years + 1)
        salvage = [0.0] * (self.years + 1)
        for state in states:
            running = state.car.annual_km * state.running_cost_cny_per_km
            for offset in range(self.years + 1):
                salvage[offset] += self.salvage_value_cny(state, offset)
            suffix = -self.discount[self.years] * self.salvage_value_cny(state, self.years)
            keep[self.years] += suffix
            for offset in range(self.years - 1, -1, -1):
                maintenance = state.maintenance.cost_cny(state.age_years + offset)
                suffix += self.discount[offset] * (running + maintenance)
                keep[offset] += suffix
        return CostProfile(
            annual_km=sum(s.car.annual_km for s in states) / count,
            keep_from_cny=tuple(k / count for k in keep),
            salvage_cny=tuple(s / count for s in salvage),
        )

    def salvage_value_cny(self, state: CarState, offset: int) -> float:
        """Auction value of the car on 1 January of plan year ``offset``, undiscounted, CNY."""
        return self.policy.salvage_share(state.age_years + offset) * state.car.purchase_price_cny

    def baseline_cny(self, profile: CostProfile) -> float:
        """Discounted cost of keeping a car through the whole horizon, net of its end value."""
        return profile.keep_from_cny[0]

    def change_cny(self, profile: CostProfile, offset: int, model: CandidateModel | None) -> float:
        """Change of the lifecycle cost when a car is retired in year ``offset`` and replaced by
        ``model`` (``None``: right-sized) instead of being kept (negative: a saving)."""
        if model is None:
            new_cost = profile.annual_km * self.policy.displaced_trip_cost_cny_per_km
            replacement = new_cost * self.discount_from[offset]
        else:
            running = profile.annual_km * model.running_cost_cny_per_km * self.discount_from[offset]
            replacement = self._model_fixed_cny(model, offset) + running
        salvage = self.discount[offset] * profile.salvage_cny[offset]
        return replacement - salvage - profile.keep_from_cny[offset]

    def _model_fixed_cny(self, model: CandidateModel, offset: int) -> float:
        """Discounted annualised price and maintenance of ``model`` bought in year ``offset``."""
        key = (model.model_id, offset)
        if key not in self._model_cost:
            self._model_cost[key] = sum(
                self.discount[year]
                * (
                    model.price_cny * self.annual_capital_share
                    + model.maintenance_curve.cost_cny(year - offset)
                )
                for year in range(offset, self.years)
            )
        return self._model_cost[key]
