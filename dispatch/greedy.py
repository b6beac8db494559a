"""A greedy baseline, and the cheapest feasible insertion of one urgent request.

The baseline takes the requests in order of their latest pickup time and puts each one where
it adds the least cost (CNY) to the plan, opening a pool car or a leased car when that is
cheapest. It is the benchmark's baseline and the optimiser's first solution.
"""

from __future__ import annotations

import time

from dispatch.assembly import assemble_plan
from dispatch.instance import Instance
from dispatch.plan import Plan
from dispatch.problem import Problem, compile_problem
from dispatch.schedule import Insertion, Schedule
from dispatch.stops import chain_routes
from dispatch.travel import TravelMatrix, instance_matrix


def greedy_schedule(problem: Problem, schedule: Schedule | None = None) -> Schedule:
    """Insert every request not yet in ``schedule`` at its cheapest feasible place."""
    schedule = schedule or Schedule(problem)
    served = schedule.served()
    order = sorted(
        (r for r in range(problem.n_requests) if r not in served and r not in problem.refusals),
        key=lambda r: (int(problem.pickup_latest_s[r]), int(problem.pickup_earliest_s[r])),
    )
    for r in order:
        move = schedule.best_insertion(r)
        if move is not None:
            schedule.insert(move)
    return schedule


def solve_greedy(instance: Instance, matrix: TravelMatrix | None = None) -> Plan:
    """The greedy plan for ``instance``."""
    started = time.perf_counter()
    problem = compile_problem(instance, matrix if matrix is not None else instance_matrix(instance))
    chains = greedy_schedule(problem).routes()
    status = "feasible" if chains else "empty"
    return assemble_plan(problem, chain_routes(problem, chains), time.perf_counter() - started,
                         status)


def insert_urgent(schedule: Schedule, r: int) -> Insertion | None:
    """Put request ``r`` into ``schedule`` at its cheapest feasible place; None if nowhere.

    The other trips keep their cars and their order; a full re-optimisation
    (:func:`dispatch.solver.solve` with ``initial`` set to the new chains) may follow.
    """
    move = schedule.best_insertion(r)
    if move is not None:
        schedule.insert(move)
    return move
