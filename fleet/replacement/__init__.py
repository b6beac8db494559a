"""Replacement planning: which ageing official cars to retire and replace each year, under a
jurisdiction's policy (service years, price caps, NEV floor, budgets, chargers), solved with
CP-SAT over groups of cars in the same state. Pure: plain data in, plain data out.
"""

from fleet.replacement.inputs import (
    CandidateModel,
    CarRecord,
    FleetProfile,
    MaintenanceCurve,
    PlanInput,
)
from fleet.replacement.plan import ReplacementPlan
from fleet.replacement.planner import SolveOptions, SolveProgress, plan_replacement
from fleet.replacement.policy import DepotChargers, OrgBudget, ReplacementPolicy

__all__ = [
    "CandidateModel",
    "CarRecord",
    "DepotChargers",
    "FleetProfile",
    "MaintenanceCurve",
    "OrgBudget",
    "PlanInput",
    "ReplacementPlan",
    "ReplacementPolicy",
    "SolveOptions",
    "SolveProgress",
    "plan_replacement",
]
