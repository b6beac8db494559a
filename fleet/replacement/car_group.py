"""Cars in the same state, grouped so that the solver decides integer counts per group instead
of one yes/no per car.

Two cars share a group when every constraint treats them alike (organisation, depot, class,
energy, NEV-required use type, idle, legacy emission, first eligible year, retirement deadline)
and their cost figures are close: age in the same band (default whole years) and annual km in
the same band. The group's cost per car is the mean of its cars' costs; the planner reports
each car's own figures. Within a group cars are ordered oldest and worst first, which is the
order in which the group's decisions are handed to cars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from fleet.models.common import Energy, VehicleClass
from fleet.replacement.car_state import CarState, MustRetire

#: Annual-km band edges (km/year) above the idle threshold.
DEFAULT_KM_BAND_EDGES_KM: tuple[float, ...] = (15_000, 30_000)


@dataclass(frozen=True)
class GroupingRule:
    """How finely cars are told apart: age band in years, annual-km band edges in km/year."""

    age_band_years: float = 1.0
    km_band_edges_km: tuple[float, ...] = DEFAULT_KM_BAND_EDGES_KM

    def age_band(self, age_years: float) -> int:
        return math.floor(age_years / self.age_band_years)

    def km_band(self, annual_km: float) -> int:
        return sum(annual_km >= edge for edge in self.km_band_edges_km)


@dataclass(frozen=True)
class GroupKey:
    org_id: str
    depot_id: str | None
    vehicle_class: VehicleClass
    energy: Energy
    nev_required_use_type: str | None
    idle: bool
    legacy_emission: bool
    eligible_from: int | None
    must_by: int | None
    must_reason: MustRetire | None
    age_band: int
    km_band: int


@dataclass
class CarGroup:
    """Cars in one state, oldest and worst first."""

    key: GroupKey
    states: list[CarState] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.states)

    @property
    def plug_in(self) -> bool:
        return self.states[0].car.is_plug_in

    @property
    def decidable(self) -> bool:
        """Whether any decision can be taken about these cars within the horizon."""
        return self.key.idle or self.key.eligible_from is not None


def group_cars(states: list[CarState], rule: GroupingRule = GroupingRule()) -> list[CarGroup]:
    """Group ``states``; the groups and the cars inside them come in a deterministic order."""
    groups: dict[GroupKey, CarGroup] = {}
    for state in states:
        key = GroupKey(
            org_id=state.car.org_id,
            depot_id=state.car.depot_id,
            vehicle_class=state.car.vehicle_class,
            energy=state.car.energy,
            nev_required_use_type=state.car.use_type if state.nev_required else None,
            idle=state.idle,
            legacy_emission=state.legacy_emission,
            eligible_from=state.eligible_from,
            must_by=state.must_by,
            must_reason=state.must_reason,
            age_band=rule.age_band(state.age_years),
            km_band=rule.km_band(state.car.annual_km),
        )
        groups.setdefault(key, CarGroup(key=key)).states.append(state)
    for group in groups.values():
        group.states.sort(key=worst_first)
    return sorted(groups.values(), key=lambda g: worst_first(g.states[0]))


def worst_first(state: CarState) -> tuple[float, float, float, str]:
    """Sort key: oldest first, then highest odometer, then highest maintenance, then id."""
    maintenance = state.maintenance.cost_cny(state.age_years)
    return (-state.age_years, -state.car.odometer_km, -maintenance, state.car.car_id)
