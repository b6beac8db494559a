"""Large-neighbourhood search over shared routes: fewer cars, shorter detours.

Two ruins, each followed by cheapest re-insertion (:mod:`dispatch.insertion`):

* **empty a car**: take every request off one car (the cars with fewest requests first) and
  put each into the other cars, opening none; it pays when the car's fixed or base charge is
  more than the detours the others take on;
* **a neighbourhood**: take a request and the requests nearest to it in place and time off
  their cars and insert them again in a shuffled order, idle cars allowed.

Changes are accepted by simulated annealing on the plan's cost (CNY, drop penalties
included), and the cheapest plan seen is returned. Pure and deterministic for a given seed and
number of iterations; stops at ``deadline`` (perf_counter seconds), or earlier when many ruins
in a row found no cheaper plan (a small day is done in well under a second).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping

import numpy as np

from dispatch.insertion import Inserter, inserted
from dispatch.problem import Problem
from dispatch.stops import Stops, stop_requests, stops_cost_cny, without_request

NEIGHBOURS = 8  # most requests taken off together with a seed request
EMPTY_CAR_SHARE = 0.3  # of the ruins, the share that tries to empty a car
STALL_ITERATIONS = 300  # ruins without a new best plan before the search stops early,
STALL_ITERATIONS_PER_REQUEST = 20  # ... plus this many per request
START_TEMPERATURE_CNY = 15.0  # a plan this much dearer is taken with probability 1/e at first
TIME_WEIGHT_KM_PER_H = 30.0  # an hour apart in pickup time counts as this many km apart


def fewer_cars(
    problem: Problem,
    routes: Mapping[int, Stops],
    drop_penalty_cny: Mapping[int, float],
    deadline: float,
    seed: int = 7,
) -> dict[int, Stops]:
    """An improved copy of ``routes`` (car index -> stops), never dearer.

    Simulated annealing over the two ruins: a dearer plan is taken as the current one with
    probability exp(-extra / T), T falling linearly from ``START_TEMPERATURE_CNY`` to 0 by
    the deadline; the cheapest plan seen is returned.
    """
    rng = random.Random(seed)
    inserter = Inserter(problem)
    current = {c: list(s) for c, s in routes.items() if s}
    current_cost = _cost(problem, current, drop_penalty_cny)
    best, best_cost = current, current_cost
    near = _neighbours(problem)
    started = time.perf_counter()
    span = max(deadline - started, 1e-3)
    tried: set[int] = set()
    stall_limit = STALL_ITERATIONS + STALL_ITERATIONS_PER_REQUEST * problem.n_requests
    stalled = 0
    while (now := time.perf_counter()) < deadline and stalled < stall_limit:
        stalled += 1
        served = [r for stops in current.values() for r in stop_requests(problem, stops)]
        if not served:
            break
        untried = [c for c in current if c not in tried]
        if untried and rng.random() < EMPTY_CAR_SHARE:
            c = min(untried, key=lambda k: (len(current[k]) * rng.uniform(1, 2)))
            tried.add(c)
            trial = {k: s for k, s in current.items() if k != c}
            removed = sorted(stop_requests(problem, current[c]),
                             key=lambda r: (-int(problem.passengers[r]), rng.random()))
            ok = _recreate(problem, trial, removed, inserter, open_cars=False, deadline=deadline)
        else:
            centre = rng.choice(served)
            served_now = set(served)
            removed = [centre, *(r for r in near[centre][: rng.randint(2, NEIGHBOURS)]
                                 if r in served_now)]
            trial = _ruin(problem, current, removed)
            rng.shuffle(removed)
            ok = _recreate(problem, trial, removed, inserter, open_cars=True, deadline=deadline)
        if not ok:
            continue
        cost = _cost(problem, trial, drop_penalty_cny)
        temperature = START_TEMPERATURE_CNY * max(0.0, 1 - (now - started) / span)
        if cost < current_cost - 1e-6 or (
                temperature > 0 and rng.random() < math.exp(-(cost - current_cost) / temperature)):
            if cost < current_cost - 1e-6:
                tried.clear()
            current, current_cost = trial, cost
            if cost < best_cost - 1e-6:
                best, best_cost = trial, cost
                stalled = 0
    return best


def _cost(problem: Problem, routes: Mapping[int, Stops], drop_penalty_cny: Mapping[int, float]) -> float:
    served = {r for stops in routes.values() for r in stop_requests(problem, stops)}
    return (sum(stops_cost_cny(problem, c, s) for c, s in routes.items())
            + sum(v for r, v in drop_penalty_cny.items() if r not in served))


def _ruin(problem: Problem, routes: Mapping[int, Stops], removed: list[int]) -> dict[int, Stops]:
    gone = set(removed)
    trial: dict[int, Stops] = {}
    for c, stops in routes.items():
        kept = list(stops)
        for r in stop_requests(problem, stops):
            if r in gone:
                kept = without_request(problem, kept, r)
        if kept:
            trial[c] = kept
    return trial


def _recreate(
    problem: Problem,
    routes: dict[int, Stops],
    removed: list[int],
    inserter: Inserter,
    open_cars: bool,
    deadline: float,
) -> bool:
    """Insert ``removed`` one by one at their cheapest places; False if one finds none."""
    for r in removed:
        if time.perf_counter() >= deadline:
            return False
        move = inserter.cheapest(routes, r, open_cars=open_cars)
        if move is None:
            return False
        routes[move.car] = inserted(problem, routes.get(move.car, []), move)
    return True


def _neighbours(problem: Problem) -> list[list[int]]:
    """For every request, the others ordered by pickup distance plus pickup-time distance."""
    n = problem.n_requests
    idx = np.arange(n)
    apart = (problem.km[np.ix_(idx, idx)] + problem.km[np.ix_(n + idx, n + idx)]
             + TIME_WEIGHT_KM_PER_H * np.abs(problem.pickup_earliest_s[:, None]
                                            - problem.pickup_earliest_s[None, :]) / 3600.0)
    np.fill_diagonal(apart, np.inf)
    order = np.argsort(apart, axis=1)[:, :NEIGHBOURS]
    return [[int(x) for x in row if int(x) != r and int(x) not in problem.refusals]
            for r, row in enumerate(order)]
