"""The replacement planner: from cars, candidate models and a policy to a multi-year plan.

``plan_replacement`` groups cars in the same state, solves the CP-SAT model of
``fleet.replacement.formulation`` for integer counts per group, year and replacement, and hands
each group's decisions to its cars oldest and worst first: within a year the least-used of the
chosen cars are the ones right-sized, and the most efficient replacements go to the cars that
drive the most. An infeasible policy gets a plan with status ``infeasible`` that names the
constraints that bind.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from fleet.replacement.car_group import CarGroup, GroupingRule, group_cars
from fleet.replacement.car_state import CarState, MustRetire, car_state
from fleet.replacement.diagnosis import binding_constraints
from fleet.replacement.formulation import Choice, Formulation
from fleet.replacement.inputs import CandidateModel, PlanInput
from fleet.replacement.lifecycle import Lifecycle
from fleet.replacement.plan import (
    BindingConstraint,
    BudgetUse,
    Decision,
    ReasonCode,
    ReplacementPlan,
    SolveStats,
    YearPlan,
)

#: Above this many decision variables the solver runs without presolve and cuts.
LARGE_MODEL_CHOICES = 5_000


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings: time limits in seconds, gap as a fraction (0.001 = 0.1 %).

    One worker is the default: on a 2-core machine the single LP-guided search found good
    plans of a 5,000-car fleet sooner than two workers sharing the cores.
    """

    time_limit_s: float = 10.0
    relative_gap_limit: float = 0.001
    num_workers: int = 1
    random_seed: int = 0
    diagnosis_time_limit_s: float = 20.0
    grouping: GroupingRule = field(default_factory=GroupingRule)


@dataclass(frozen=True)
class SolveProgress:
    """Reported at each better plan found: time since the start, objective and bound in CNY."""

    elapsed_s: float
    objective_cny: float
    best_bound_cny: float
    solutions: int


ProgressCallback = Callable[[SolveProgress], None]


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: ProgressCallback) -> None:
        super().__init__()
        self._report = report
        self._count = 0

    def on_solution_callback(self) -> None:
        self._count += 1
        self._report(
            SolveProgress(self.WallTime(), self.ObjectiveValue(), self.BestObjectiveBound(), self._count)
        )


def plan_replacement(
    plan: PlanInput, options: SolveOptions | None = None, progress: ProgressCallback | None = None
) -> ReplacementPlan:
    """Solve ``plan`` and return the plan per year (or why there is none)."""
    options = options or SolveOptions()
    started = time.monotonic()
    states = [car_state(plan, car) for car in plan.cars]
    groups = group_cars(states, options.grouping)
    lifecycle = Lifecycle(plan)
    formulation = Formulation(plan, groups, lifecycle)
    solver = cp_model.CpSolver()
    # The time limit covers building the model too.
    solver.parameters.max_time_in_seconds = max(0.1, options.time_limit_s - (time.monotonic() - started))
    solver.parameters.num_workers = options.num_workers
    solver.parameters.relative_gap_limit = options.relative_gap_limit
    solver.parameters.random_seed = options.random_seed
    if len(formulation.choices) > LARGE_MODEL_CHOICES:
        # Measured on 5,000 cars x 10 years: presolve, cuts and probing cost seconds and do not
        # pay back (probing alone: 1.3 of 7.3 CPU seconds); the LP-guided search alone reaches
        # a 0.01 % gap soonest.
        solver.parameters.cp_model_presolve = False
        solver.parameters.cut_level = 0
        solver.parameters.cp_model_probing_level = 0
    status = solver.Solve(formulation.model, _Reporter(progress) if progress else None)
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError(f"invalid CP-SAT model: {formulation.model.Validate()}")
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    objective = solver.ObjectiveValue() if found else None
    bound = solver.BestObjectiveBound() if found else None
    stats = SolveStats(
        cars=len(plan.cars),
        years=plan.years,
        groups=len(groups),
        variables=len(formulation.choices),
        constraints=len(formulation.model.Proto().constraints),
        wall_time_s=round(time.monotonic() - started, 3),
        objective_cny=objective,
        best_bound_cny=bound,
        gap=None if objective is None else (objective - bound) / max(abs(objective), 1.0),  # type: ignore[operator]
        baseline_cny=formulation.baseline_cny,
    )
    base = {"jurisdiction": plan.policy.jurisdiction, "start_year": plan.start_year, "years": plan.years,
            "usage_sources": dict(Counter(car.annual_km_source for car in plan.cars))}
    if status == cp_model.INFEASIBLE:
        tags = binding_constraints(plan, groups, lifecycle, options.diagnosis_time_limit_s)
        message = (
            "no plan meets the policy; binding: " + "; ".join(t.message for t in tags)
            if tags
            else "no plan meets the policy, and no single set of policy constraints explains it"
        )
        binding = [BindingConstraint(family=t.family.value, scope=t.scope, message=t.message) for t in tags]
        return ReplacementPlan(
            **base, status="infeasible", message=message, stats=stats, year_plans=[],
            binding_constraints=binding,
        )
    if not found:
        return ReplacementPlan(
            **base, status="unknown", stats=stats, year_plans=[], binding_constraints=[],
            message=f"no plan found within {options.time_limit_s:g} s; allow more time",
        )
    values = {id(c): solver.Value(c.var) for c in formulation.choices}
    decisions = _assign(plan, groups, lifecycle, formulation.choices, values)
    return ReplacementPlan(
        **base,
        # CP-SAT says OPTIMAL once the gap limit is met; only a closed gap is called optimal.
        status="optimal" if status == cp_model.OPTIMAL and stats.gap == 0 else "feasible",
        message=f"{len(decisions)} cars retired over {plan.years} years",
        stats=stats,
        year_plans=_year_plans(plan, states, decisions),
        binding_constraints=[],
    )


def _assign(
    plan: PlanInput,
    groups: list[CarGroup],
    lifecycle: Lifecycle,
    choices: list[Choice],
    values: dict[int, int],
) -> list[Decision]:
    """Hand group decisions to cars: each year the oldest and worst remaining cars go first."""
    chosen: dict[int, dict[int, list[tuple[CandidateModel | None, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for choice in choices:
        if values[id(choice)]:
            chosen[choice.group][choice.offset].append((choice.model, values[id(choice)]))
    decisions: list[Decision] = []
    for index in sorted(chosen):
        remaining = list(groups[index].states)
        for offset in sorted(chosen[index]):
            picks = chosen[index][offset]
            count = sum(n for _, n in picks)
            retiring, remaining = remaining[:count], remaining[count:]
            by_use = sorted(retiring, key=lambda s: s.car.annual_km)
            # The least-used cars are right-sized; the most efficient models go to the busiest.
            bought = sorted(
                (m for m, n in picks if m is not None for _ in range(n)),
                key=lambda m: (-m.running_cost_cny_per_km, m.model_id),
            )
            ordered = [None] * (count - len(bought)) + bought
            for state, model in zip(by_use, ordered):
                decisions.append(_decision(plan, lifecycle, state, offset, model))
    return sorted(decisions, key=lambda d: (d.year, d.org_id, d.car_id))


def _decision(
    plan: PlanInput, lifecycle: Lifecycle, state: CarState, offset: int, model: CandidateModel | None
) -> Decision:
    car = state.car
    change = lifecycle.change_cny(lifecycle.profile([state]), offset, model)
    code, params, reason = _reason(plan, state, offset, model, change)
    if model is None:
        fuel_l = co2_kg = 0.0
    else:
        fuel_l = car.annual_km * (state.fuel_l_per_km - model.fuel_l_per_100km / 100)
        co2_kg = car.annual_km * (state.co2_g_per_km - model.co2_g_per_km) / 1000
    return Decision(
        year=plan.start_year + offset,
        car_id=car.car_id,
        org_id=car.org_id,
        depot_id=car.depot_id,
        vehicle_class=car.vehicle_class,
        energy=car.energy,
        age_years=round(state.age_years + offset, 2),
        odometer_km=round(state.odometer_km_in(offset)),
        annual_km=car.annual_km,
        action="right_size" if model is None else "replace",
        replacement_model_id=None if model is None else model.model_id,
        replacement_class=None if model is None else model.vehicle_class,
        replacement_energy=None if model is None else model.energy,
        purchase_cost_cny=0.0 if model is None else model.price_cny,
        salvage_cny=round(lifecycle.salvage_value_cny(state, offset), 2),
        lifecycle_change_cny=round(change, 2),
        fuel_saved_l_per_year=round(fuel_l, 1),
        co2_saved_kg_per_year=round(co2_kg, 1),
        reason=reason,
        reason_code=code,
        reason_params=params,
        annual_km_source=car.annual_km_source,
    )


def _reason(
    plan: PlanInput, state: CarState, offset: int, model: CandidateModel | None, change_cny: float
) -> tuple[ReasonCode, dict[str, float | int | str | bool | None], str]:
    """Why ``state``'s car goes in plan year ``offset``: the code, its figures (ages in years,
    distances in km, shares as fractions, money in CNY) and the same in English words."""
    policy, car = plan.policy, state.car
    age = round(state.age_years + offset, 1)
    odometer = round(state.odometer_km_in(offset))
    code: ReasonCode
    if state.must_reason == MustRetire.legacy_emission and state.must_by is not None:
        code = "legacy_emission"
        params: dict[str, float | int | str | bool | None] = {
            "emission_standard": car.emission_standard.value if car.emission_standard else None,
            "legacy_standard": policy.legacy_emission_standard.value,
            "deadline_year": plan.start_year + state.must_by,
        }
        why = (
            f"{car.emission_standard} car: {policy.legacy_emission_standard.value} and older must "
            f"retire by {plan.start_year + state.must_by}"
        )
    elif state.must_reason == MustRetire.scrappage_mileage and state.must_by is not None:
        code = "scrappage_mileage"
        params = {"odometer_km": odometer, "scrap_odometer_km": policy.scrap_odometer_km}
        why = f"odometer {odometer:,.0f} km reaches the scrappage mileage {policy.scrap_odometer_km:,.0f} km"
    elif model is None and car.annual_km >= policy.idle_annual_km and car.utilisation_share is not None:
        code = "idle_utilisation"
        params = {"utilisation_share": car.utilisation_share, "idle_utilisation_share": policy.idle_utilisation_share}
        why = (
            f"idle (used on {car.utilisation_share:.0%} of working days, under "
            f"{policy.idle_utilisation_share or 0:.0%})"
        )
    elif model is None:
        code = "idle_km"
        params = {"annual_km": round(car.annual_km), "idle_annual_km": policy.idle_annual_km,
                  "annual_km_source": car.annual_km_source.value}
        why = f"idle ({car.annual_km:,.0f} km/year, under {policy.idle_annual_km:,.0f})"
    else:
        code = "eligible"
        params = {"age_years": age, "min_service_years": policy.min_service_years,
                  "odometer_km": odometer, "min_odometer_km": policy.min_odometer_km}
        why = (
            f"eligible: {age:.1f} years in service (policy {policy.min_service_years:g}), "
            f"odometer {odometer:,.0f} km (policy {policy.min_odometer_km:,.0f})"
        )
    params["lifecycle_change_cny"] = round(change_cny)
    if model is None:
        what = "retired without replacement, its trips go to the pool or a lessor"
    else:
        params |= {"model_id": model.model_id, "model_name": model.name or model.model_id,
                   "replacement_class": model.vehicle_class.value, "replacement_energy": model.energy.value}
        what = f"replaced by {model.name or model.model_id} ({model.vehicle_class.value}, {model.energy.value})"
        if state.nev_required:
            params["nev_required_use_type"] = car.use_type
            what += f", a NEV as use type {car.use_type!r} requires"
    cost = (
        f"saves {-change_cny:,.0f} CNY of lifecycle cost"
        if change_cny < 0
        else f"costs {change_cny:,.0f} CNY more than keeping it, to meet the policy"
    )
    return code, params, f"{why}; {what}; {cost}"


def _year_plans(plan: PlanInput, states: list[CarState], decisions: list[Decision]) -> list[YearPlan]:
    by_year: dict[int, list[Decision]] = defaultdict(list)
    for decision in decisions:
        by_year[decision.year].append(decision)
    retired_in = {d.car_id: d.year for d in decisions}
    orgs = sorted({s.car.org_id for s in states})
    plans = []
    for offset, year in enumerate(plan.plan_years):
        items = by_year[year]
        bought = [d for d in items if d.action == "replace"]
        nev = sum(d.replacement_energy in ("phev", "bev") for d in bought)
        spend_by_org: Counter[str] = Counter()
        for d in bought:
            spend_by_org[d.org_id] += d.purchase_cost_cny
        eligible_kept = sum(
            1
            for s in states
            if s.eligible_from is not None
            and s.eligible_from <= offset
            and retired_in.get(s.car.car_id, year + 1) > year
        )
        plans.append(
            YearPlan(
                year=year,
                decisions=items,
                replaced=len(bought),
                right_sized=len(items) - len(bought),
                nev_bought=nev,
                nev_share=nev / len(bought) if bought else None,
                nev_share_floor=plan.policy.nev_floor_for(year),
                spend_cny=sum(d.purchase_cost_cny for d in bought),
                salvage_cny=round(sum(d.salvage_cny for d in items), 2),
                budgets=[
                    BudgetUse(org_id=org, used_cny=spend_by_org[org], limit_cny=plan.policy.budget_for(org, year))
                    for org in orgs
                ],
                fuel_saved_l_per_year=round(sum(d.fuel_saved_l_per_year for d in items), 1),
                co2_saved_kg_per_year=round(sum(d.co2_saved_kg_per_year for d in items), 1),
                eligible_kept=eligible_kept,
            )
        )
    return plans
