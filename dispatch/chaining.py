"""Block chains by minimum-cost flow: the classic vehicle-scheduling view of an official day.

Each trip is a block; a car's day is a chain of blocks. With one kind of car, the cheapest
set of chains is a minimum-cost flow: every block hands its car either to a later block it can
reach in time (a link, costing the empty drive) or back home (costing the return and the
car's fixed charge). OR-Tools' ``SimpleMinCostFlow`` solves that in milliseconds for a
thousand blocks. The chains are then matched to real cars (depot, shift, class, energy,
range, tariff) by a second flow, and what is left is inserted greedily. The result is a
starting point for the routing search, not a plan of its own.

Approximations, all repaired before use: links use each block's earliest start; costs use the
fleet's median rates; a chain's first and last legs use the nearest home.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from dispatch.problem import Problem
from dispatch.schedule import Schedule

SUCCESSORS = 30  # links kept per block (the cheapest feasible ones)
MILLI = 1000


def flow_chains(problem: Problem, requests: list[int]) -> list[list[int]]:
    """Chains over ``requests`` (request indices) of least link cost, split where infeasible."""
    n = len(requests)
    if n == 0:
        return []
    req = np.asarray(requests)
    pool = [car for car in problem.cars if car.kind == "pool"] or problem.cars
    per_km = float(np.median([car.per_km_cny for car in pool]))
    per_hour = float(np.median([car.per_hour_cny for car in pool]))
    fixed = float(np.median([car.fixed_cny for car in pool]))
    homes = np.array(sorted({car.home for car in problem.cars}))

    ends = problem.destination(0) + req
    finish = problem.pickup_earliest_s[req] + problem.block_s[req]
    dead_s = problem.dur_s[np.ix_(ends, req)]
    cost = per_km * problem.km[np.ix_(ends, req)] + per_hour * problem.hours[np.ix_(ends, req)]
    allowed = finish[:, None] + dead_s <= problem.pickup_latest_s[req][None, :]
    np.fill_diagonal(allowed, False)
    compat = problem.compatible[req].astype(np.float32)
    allowed &= (compat @ compat.T) > 0  # some car could take both
    cost = np.where(allowed, cost, np.inf)
    keep = min(SUCCESSORS, n - 1) if n > 1 else 0
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    costs: list[np.ndarray] = []
    if keep:
        best = np.argpartition(cost, keep - 1, axis=1)[:, :keep]
        rows = np.repeat(np.arange(n), keep)
        cols = best.ravel()
        ok = np.isfinite(cost[rows, cols])
        tails.append(rows[ok])
        heads.append(n + cols[ok])
        costs.append(np.rint(cost[rows[ok], cols[ok]] * MILLI))
    start_cost = (per_km * problem.km[np.ix_(homes, req)]
                  + per_hour * problem.hours[np.ix_(homes, req)]).min(axis=0)
    end_cost = (per_km * problem.km[np.ix_(ends, homes)]
                + per_hour * problem.hours[np.ix_(ends, homes)]).min(axis=1) + fixed
    home = 2 * n
    tails += [np.arange(n), np.full(n, home)]
    heads += [np.full(n, home), n + np.arange(n)]
    costs += [np.rint(end_cost * MILLI), np.rint(start_cost * MILLI)]
    tail = np.concatenate(tails).astype(np.int32)
    head = np.concatenate(heads).astype(np.int32)
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        tail, head, np.ones(len(tail), dtype=np.int64), np.concatenate(costs).astype(np.int64))
    supplies = np.concatenate([np.ones(n), -np.ones(n), [0]]).astype(np.int64)
    flow.set_nodes_supplies(np.arange(2 * n + 1, dtype=np.int32), supplies)
    if flow.solve() != flow.OPTIMAL:
        return [[r] for r in requests]
    used = flow.flows(arcs) > 0
    successor = {int(t): int(h) - n for t, h in zip(tail[used], head[used], strict=True)
                 if t < n and n <= h < 2 * n}
    has_predecessor = set(successor.values())
    chains: list[list[int]] = []
    for first in range(n):
        if first in has_predecessor:
            continue
        chain = [first]
        while chain[-1] in successor:
            chain.append(successor[chain[-1]])
        chains.extend(_split_late(problem, [requests[k] for k in chain]))
    return chains


def _split_late(problem: Problem, chain: list[int]) -> list[list[int]]:
    """Cut a chain wherever a block can no longer start within its pickup window."""
    pieces: list[list[int]] = [[]]
    ready = None
    for r in chain:
        if ready is not None:
            start = max(int(problem.pickup_earliest_s[r]),
                        ready + int(problem.dur_s[problem.destination(pieces[-1][-1]), r]))
            if start > problem.pickup_latest_s[r]:
                pieces.append([])
                start = int(problem.pickup_earliest_s[r])
        else:
            start = int(problem.pickup_earliest_s[r])
        pieces[-1].append(r)
        ready = start + int(problem.block_s[r])
    return pieces


def chained_schedule(problem: Problem, requests: list[int]) -> Schedule:
    """Chains matched to cars by a least-cost flow, as a schedule (some requests may be left)."""
    chains = flow_chains(problem, requests)
    groups: dict[tuple[object, ...], list[int]] = {}
    for c, car in enumerate(problem.cars):
        groups.setdefault(car.type_key, []).append(c)
    kinds = list(groups.values())
    n_chains = len(chains)
    tails: list[int] = []
    heads: list[int] = []
    costs: list[int] = []
    for k, chain in enumerate(chains):
        for g, cars in enumerate(kinds):
            c = cars[0]
            if problem.feasible(c, chain):
                tails.append(k)
                heads.append(n_chains + g)
                costs.append(int(round(problem.route_cost_cny(c, chain) * MILLI)))
    sink = n_chains + len(kinds)
    flow = min_cost_flow.SimpleMinCostFlow()
    link_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int32), np.asarray(heads, dtype=np.int32),
        np.ones(len(tails), dtype=np.int64), np.asarray(costs, dtype=np.int64))
    for g, cars in enumerate(kinds):
        flow.add_arc_with_capacity_and_unit_cost(n_chains + g, sink, len(cars), 0)
    for k in range(n_chains):
        flow.set_node_supply(k, 1)
    flow.set_node_supply(sink, -n_chains)
    # a chain that no car can take leaves through this arc and is inserted greedily later
    leftover = sink + 1
    for k in range(n_chains):
        flow.add_arc_with_capacity_and_unit_cost(k, leftover, 1, 10**12)
    flow.add_arc_with_capacity_and_unit_cost(leftover, sink, n_chains, 0)
    if flow.solve() != flow.OPTIMAL:
        return Schedule(problem)
    taken = [0] * len(kinds)
    assigned: dict[int, list[int]] = {}
    for i, used in enumerate(flow.flows(link_arcs)):
        if used > 0:
            g = heads[i] - n_chains
            assigned[kinds[g][taken[g]]] = chains[tails[i]]
            taken[g] += 1
    return Schedule(problem, assigned)
