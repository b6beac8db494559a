"""Ruin and recreate over block chains: a large-neighbourhood search for big days.

Each round takes a served trip and up to ``MAX_RUIN`` of its neighbours (close in pickup
time and in km), takes them off their cars, and puts them back, together with every trip
still unserved, at their cheapest feasible places (:meth:`Schedule.best_insertion`, one
vectorised pass over every gap of every car) in order of latest pickup with some noise. The
round is kept when the plan's cost plus drop penalties falls, and undone otherwise. It finds
places for trips the chains left out, and it is cheap per round, so the solver runs it before
the routing search when the starting plan leaves servable trips unserved. Money is CNY.
"""

from __future__ import annotations

import random
import time

import numpy as np

from dispatch.problem import Problem
from dispatch.schedule import Schedule

MIN_RUIN = 8
MAX_RUIN = 30
KM_PER_HOUR_APART = 30.0  # relatedness: one hour of pickup time apart counts like 30 km
NOISE_S = 1800  # shuffles the reinsertion order within about half an hour


def ruin_and_recreate(
    problem: Problem,
    chains: dict[int, list[int]],
    candidates: list[int],
    seconds: float,
    drop_penalty_cny: dict[int, float],
    seed: int = 0,
) -> dict[int, list[int]]:
    """Improved chains after ``seconds`` of rounds; ``drop_penalty_cny[r]`` prices leaving
    request ``r`` out. Never returns a plan worse than ``chains``."""
    deadline = time.perf_counter() + seconds
    rng = random.Random(seed)
    schedule = Schedule(problem, chains)
    cand = np.asarray(candidates)
    served = schedule.served()
    unserved = [r for r in candidates if r not in served]
    while time.perf_counter() < deadline and (served or unserved):
        snapshot: dict[int, list[int]] = {}
        removed = _related(problem, cand, served, rng) if served else []
        for r in removed:
            c = served[r]
            snapshot.setdefault(c, list(schedule.chains[c]))
            schedule.remove(r, c)
        order = sorted(removed + unserved,
                       key=lambda r: int(problem.pickup_latest_s[r]) + rng.randint(0, NOISE_S))
        left: list[int] = []
        for r in order:
            move = schedule.best_insertion(r)
            if move is None:
                left.append(r)
                continue
            snapshot.setdefault(move.car, list(schedule.chains[move.car]))
            schedule.insert(move)
        delta = sum(problem.route_cost_cny(c, schedule.chains[c]) - problem.route_cost_cny(c, old)
                    for c, old in snapshot.items())
        delta += sum(drop_penalty_cny[r] for r in left) - sum(drop_penalty_cny[r] for r in unserved)
        if delta < -1e-6:
            unserved = left
            served = schedule.served()
        else:
            for c, old in snapshot.items():
                schedule.replace(c, old)
    return schedule.routes()


def _related(problem: Problem, cand: np.ndarray, served: dict[int, int],
             rng: random.Random) -> list[int]:
    """A served request and served neighbours in time and space, in random order."""
    k = rng.randint(MIN_RUIN, MAX_RUIN)
    seed = rng.choice(list(served))
    apart_h = np.abs(problem.pickup_earliest_s[cand] - problem.pickup_earliest_s[seed]) / 3600
    closeness = apart_h * KM_PER_HOUR_APART + problem.km[seed, cand]
    near = [int(r) for r in cand[np.argsort(closeness)[: 2 * k]] if int(r) in served]
    rng.shuffle(near)
    return near[:k]
