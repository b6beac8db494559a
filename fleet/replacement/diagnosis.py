"""Why a policy admits no plan: the policy constraints that cannot hold together.

The relaxable model enforces each policy constraint by its own literal. Solved with all
literals as assumptions, CP-SAT returns a set of them sufficient for infeasibility; that set is
then shrunk one constraint at a time (a constraint stays only if the rest become feasible
without it), so every constraint named is one that binds.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from fleet.replacement.car_group import CarGroup
from fleet.replacement.formulation import ConstraintTag, Formulation
from fleet.replacement.inputs import PlanInput
from fleet.replacement.lifecycle import Lifecycle


def binding_constraints(
    plan: PlanInput, groups: list[CarGroup], lifecycle: Lifecycle, time_limit_s: float
) -> list[ConstraintTag]:
    """A minimal set of policy constraints that together admit no plan (empty when none was
    found within ``time_limit_s``, or when the inputs are infeasible whatever the policy)."""
    deadline = time.monotonic() + time_limit_s
    formulation = Formulation(plan, groups, lifecycle, relaxable=True)
    model = formulation.model
    model.ClearObjective()
    by_index = {lit.Index(): tag for tag, lit in formulation.literals.items()}

    def infeasible(tags: list[ConstraintTag]) -> tuple[bool, list[int]]:
        model.ClearAssumptions()
        model.AddAssumptions([formulation.literals[t] for t in tags])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_time_in_seconds = max(0.1, deadline - time.monotonic())
        status = solver.Solve(model)
        if status != cp_model.INFEASIBLE:
            return False, []
        return True, list(solver.SufficientAssumptionsForInfeasibility())

    found, core = infeasible(list(formulation.literals))
    if not found:
        return []
    tags = [by_index[i] for i in core if i in by_index]
    for tag in list(tags):
        if time.monotonic() >= deadline:
            break
        rest = [t for t in tags if t != tag]
        if infeasible(rest)[0]:
            tags = rest
    return tags
