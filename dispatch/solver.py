"""The least-cost plan: OR-Tools routing over trip blocks, then shared rides; always time-limited.

Pure: an :class:`~dispatch.instance.Instance` (and optionally its travel matrix) in, a
:class:`~dispatch.plan.Plan` out.

Structure exploited: most official trips ride alone, so the search starts from closed trip
blocks, each request one node of a routing model (a block whose service time covers the
pickup, the ride and the drop-off) instead of a pickup node and a delivery node. That model
is a vehicle-routing problem with time windows over half the nodes and no pairing constraints:

* arc cost of car class k from block i to block j = per_km x (deadhead km + ride km of j) +
  per_hour x (deadhead h + ride h of j), in milli-CNY; fixed or base charge per car used;
* a time dimension (block durations + deadhead) with pickup windows and shift windows;
* a distance dimension capped by the usable range (range x winter factor x (1 - margin));
* a leased car is one vehicle per unit of a tariff's ``max_vehicles`` (lessor capacity);
* every request is optional with a penalty far above any route cost, so a request is dropped
  only when no car can take it; confirmed trips pay ``reassign_penalty_cny`` to move.

The block search starts from the cheaper of two plans, the block chains of a minimum-cost
flow (:mod:`dispatch.chaining`) and the greedy plan (or the given initial plan), and runs
guided local search. When passengers may share cars it gets ``BLOCK_SHARE`` of the time; its
chains then become stops, and shared rides are insertions of pickups and drop-offs into them:
simulated annealing that empties cars and re-inserts neighbourhoods (:mod:`dispatch.merging`),
then, where the time allows a model of that size, OR-Tools routing with pickup-and-delivery
pairs seeded with the result (:mod:`dispatch.pooling`). The cheapest plan found is kept.
Identical idle cars are interchangeable, so only a few of each kind enter the models.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from dispatch.assembly import assemble_plan
from dispatch.chaining import chained_schedule
from dispatch.greedy import greedy_schedule
from dispatch.improve import ruin_and_recreate
from dispatch.instance import Instance
from dispatch.merging import fewer_cars
from dispatch.plan import Plan
from dispatch.pooling import shared_search
from dispatch.problem import Problem, compile_problem
from dispatch.schedule import Schedule
from dispatch.stops import Stops, chain_routes, stop_requests, stops_cost_cny
from dispatch.travel import TravelMatrix, instance_matrix

MILLI = 1000  # model costs are integer milli-CNY
DROP_PENALTY_CNY = 1_000_000.0  # leaving a servable request out; grows with priority
SPARE_IDLE_CARS = 1  # idle cars of each kind offered beyond those in use (2 was slower)
OVERRUN_RESERVE_S = 0.5  # OR-Tools overran its own limit by up to this much here
LNS_SHARE = 0.35  # of the time left, spent on ruin and recreate when trips are left out
BLOCK_MAX_S = 10.0  # the block plan's most seconds when passengers may share (annealing pays more)
BLOCK_SHARE = 0.25  # of the time limit, spent on the block plan when passengers may share
POOLING_SHARE = 0.4  # of the time left after the block plan, for guided local search on stops
SEARCH_CAP_S, SEARCH_CAP_S_PER_REQUEST = 0.5, 0.1  # a small day is not searched for 10 s
POOLING_S_PER_REQUEST = 0.1  # with less time left per request, annealing gets all of it
ASSEMBLY_S, ASSEMBLY_S_PER_REQUEST = 0.05, 0.0005  # kept for assembling the plan, s
MODEL_S_PER_REQUEST = 0.01  # what building the pickup-and-delivery model costs, s per request


def solve(
    instance: Instance,
    matrix: TravelMatrix | None = None,
    time_limit_s: float = 10.0,
    initial: Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Least-cost plan within ``time_limit_s`` seconds of wall time (model building included).

    ``initial`` (vehicle id -> request ids in order) seeds the search, e.g. a plan that just
    took an urgent request; infeasible or unknown entries in it are ignored. When passengers
    may share cars, the block plan found in the first ``BLOCK_SHARE`` of the time seeds the
    shared-ride searches for the rest, and each search stops early once more time is not worth
    it on a day of this size (``SEARCH_CAP_S``, the annealing's stall limit).
    """
    started = time.perf_counter()
    problem = compile_problem(instance, matrix if matrix is not None else instance_matrix(instance))
    candidates = [r for r in range(problem.n_requests) if r not in problem.refusals]
    # the plan's assembly (reasons for every trip) comes out of the same time limit
    time_limit_s -= ASSEMBLY_S + ASSEMBLY_S_PER_REQUEST * problem.n_requests
    block_limit_s = time_limit_s
    if problem.sharing:
        block_limit_s = min(BLOCK_SHARE * time_limit_s, BLOCK_MAX_S,
                            _search_cap_s(problem.n_requests))
    chains = _block_plan(problem, candidates, initial, started, block_limit_s)
    best = chain_routes(problem, chains)
    if problem.sharing and candidates and len(problem.cars) and (
            _remaining(started, time_limit_s) > 0.02):
        penalties = {r: _drop_penalty_cny(problem, r) for r in candidates}
        left_s = _remaining(started, time_limit_s)
        enough = left_s >= POOLING_S_PER_REQUEST * len(candidates)
        pooling_s = POOLING_SHARE * left_s if enough else 0.0
        lns_until = started + time_limit_s - pooling_s
        merged = fewer_cars(problem, best, penalties, lns_until)
        if _objective(problem, merged) < _objective(problem, best):
            best = merged
        if _remaining(started, time_limit_s) >= MODEL_S_PER_REQUEST * len(candidates) + 0.05:
            until = min(started + time_limit_s,
                        time.perf_counter() + _search_cap_s(problem.n_requests))
            shared = shared_search(problem, candidates, _model_cars(problem, best), best,
                                   penalties, until)
            if shared is not None and _objective(problem, shared) < _objective(problem, best):
                best = shared
    status = "feasible" if best else "empty"
    return assemble_plan(problem, best, time.perf_counter() - started, status)


def _block_plan(
    problem: Problem,
    candidates: list[int],
    initial: Mapping[str, Sequence[str]] | None,
    started: float,
    time_limit_s: float,
) -> dict[int, list[int]]:
    """The least-cost plan of closed trip blocks (one request in a car at a time)."""
    starts = [greedy_schedule(problem, chained_schedule(problem, candidates)).routes()]
    if initial:
        seeded = Schedule(problem, _seed_chains(problem, initial))
        starts.append(greedy_schedule(problem, seeded).routes())
    else:
        starts.append(greedy_schedule(problem).routes())
    best = min(starts, key=lambda chains: _chain_objective(problem, chains))
    served = {r for chain in best.values() for r in chain}
    if len(served) < len(candidates) and len(problem.cars):
        # the chains left servable trips out: ruin and recreate finds them places
        seconds = LNS_SHARE * _remaining(started, time_limit_s)
        penalties = {r: _drop_penalty_cny(problem, r) for r in candidates}
        best = ruin_and_recreate(problem, best, candidates, seconds, penalties)
    if candidates and len(problem.cars) and _remaining(started, time_limit_s) > 0.05:
        improved = _routing_search(problem, candidates, best, started, time_limit_s)
        if improved is not None and (
                _chain_objective(problem, improved) < _chain_objective(problem, best)):
            best = improved
    return best


def _search_cap_s(n_requests: int) -> float:
    """The most seconds one guided local search is worth on a day of ``n_requests``."""
    return SEARCH_CAP_S + SEARCH_CAP_S_PER_REQUEST * n_requests


def _drop_penalty_cny(problem: Problem, r: int) -> float:
    return DROP_PENALTY_CNY * (1 + problem.instance.requests[r].priority)


def _remaining(started: float, time_limit_s: float) -> float:
    return time_limit_s - (time.perf_counter() - started)


def _seed_chains(problem: Problem, initial: Mapping[str, Sequence[str]]) -> dict[int, list[int]]:
    car_index = {car.id: c for c, car in enumerate(problem.cars)}
    request_index = {r.id: i for i, r in enumerate(problem.instance.requests)}
    chains: dict[int, list[int]] = {}
    taken: set[int] = set()
    for vehicle_id, request_ids in initial.items():
        c = car_index.get(vehicle_id)
        if c is None:
            continue
        chain = [request_index[x] for x in request_ids if x in request_index]
        chain = [r for r in chain if r not in taken]
        if chain and problem.feasible(c, chain):
            chains[c] = chain
            taken.update(chain)
    return chains


def _chain_objective(problem: Problem, chains: dict[int, list[int]]) -> float:
    return _objective(problem, chain_routes(problem, chains))


def _objective(problem: Problem, routes: dict[int, Stops]) -> float:
    """Route costs + drop penalties + reassignment penalties, CNY."""
    cost = sum(stops_cost_cny(problem, c, stops) for c, stops in routes.items())
    served = {r: c for c, stops in routes.items() for r in stop_requests(problem, stops)}
    for r in range(problem.n_requests):
        if r not in served and r not in problem.refusals:
            cost += _drop_penalty_cny(problem, r)
    return cost + _reassign_cny(problem, served)


def _reassign_cny(problem: Problem, served: dict[int, int]) -> float:
    confirmed = problem.instance.confirmed
    if not confirmed:
        return 0.0
    penalty = problem.instance.policy.reassign_penalty_cny
    ids = [car.id for car in problem.cars]
    moved = 0
    for r, request in enumerate(problem.instance.requests):
        promised = confirmed.get(request.id)
        if promised is not None and (r not in served or ids[served[r]] != promised):
            moved += 1
    return penalty * moved


def _model_cars(problem: Problem, chains: Mapping[int, Sequence[int]]) -> list[int]:
    """Cars in use, cars named in ``confirmed``, and a few idle ones of each kind."""
    promised = set(problem.instance.confirmed.values())
    chosen: list[int] = []
    spare: dict[tuple[object, ...], int] = {}
    for c, car in enumerate(problem.cars):
        if c in chains or car.id in promised:
            chosen.append(c)
        elif spare.get(car.type_key, 0) < SPARE_IDLE_CARS:
            spare[car.type_key] = spare.get(car.type_key, 0) + 1
            chosen.append(c)
    return chosen


def _routing_search(
    problem: Problem,
    candidates: list[int],
    chains: dict[int, list[int]],
    started: float,
    time_limit_s: float,
) -> dict[int, list[int]] | None:
    cars = _model_cars(problem, chains)
    homes = sorted({problem.cars[c].home for c in cars})
    m = len(candidates)
    home_node = {h: m + i for i, h in enumerate(homes)}
    n_nodes = m + len(homes)
    cand = np.array(candidates)
    out_point = np.concatenate([problem.destination(0) + cand, homes]).astype(np.int64)
    in_point = np.concatenate([cand, homes]).astype(np.int64)
    block_s = np.concatenate([problem.block_s[cand], np.zeros(len(homes), dtype=np.int64)])
    ride_km = np.concatenate([problem.ride_km[cand], np.zeros(len(homes))])
    ride_h = np.concatenate([problem.hours[cand, problem.destination(0) + cand],
                             np.zeros(len(homes))])
    dead_km = problem.km[np.ix_(out_point, in_point)]
    dead_h = problem.hours[np.ix_(out_point, in_point)]
    dead_s = problem.dur_s[np.ix_(out_point, in_point)]
    home_block = np.zeros((n_nodes, n_nodes), dtype=bool)
    home_block[m:, m:] = True  # home to home: an unused car

    starts = [home_node[problem.cars[c].home] for c in cars]
    manager = pywrapcp.RoutingIndexManager(n_nodes, len(cars), starts, starts)
    routing = pywrapcp.RoutingModel(manager)

    evaluators: dict[tuple[float, float], int] = {}
    for v, c in enumerate(cars):
        car = problem.cars[c]
        key = (car.per_km_cny, car.per_hour_cny)
        if key not in evaluators:
            cost = (car.per_km_cny * (dead_km + ride_km[None, :])
                    + car.per_hour_cny * (dead_h + ride_h[None, :]))
            cost = np.where(home_block, 0.0, np.rint(cost * MILLI)).astype(np.int64)
            evaluators[key] = routing.RegisterTransitMatrix(cost.tolist())
        routing.SetArcCostEvaluatorOfVehicle(evaluators[key], v)
        routing.SetFixedCostOfVehicle(int(round(car.fixed_cny * MILLI)), v)

    horizon = int(max(problem.cars[c].shift_end_s for c in cars)) + 1
    transit_s = np.where(home_block, 0, block_s[:, None] + dead_s).astype(np.int64)
    time_cb = routing.RegisterTransitMatrix(transit_s.tolist())
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for k, r in enumerate(candidates):
        index = manager.NodeToIndex(k)
        time_dim.CumulVar(index).SetRange(int(problem.pickup_earliest_s[r]),
                                          int(problem.pickup_latest_s[r]))
    for v, c in enumerate(cars):
        car = problem.cars[c]
        time_dim.CumulVar(routing.Start(v)).SetRange(car.shift_start_s, car.shift_end_s)
        time_dim.CumulVar(routing.End(v)).SetRange(car.shift_start_s, car.shift_end_s)

    if any(math.isfinite(problem.cars[c].usable_km) for c in cars):
        metres = np.ceil((dead_km + ride_km[None, :]) * 1000)
        metres = np.where(home_block, 0, metres).astype(np.int64)
        dist_cb = routing.RegisterTransitMatrix(metres.tolist())
        caps = [int(problem.cars[c].usable_km * 1000) if math.isfinite(problem.cars[c].usable_km)
                else 10**12 for c in cars]
        routing.AddDimensionWithVehicleCapacity(dist_cb, 0, caps, True, "distance")

    car_pos = {c: v for v, c in enumerate(cars)}
    confirmed = problem.instance.confirmed
    car_by_id = {problem.cars[c].id: v for v, c in enumerate(cars)}
    penalty = int(round(problem.instance.policy.reassign_penalty_cny * MILLI))
    for k, r in enumerate(candidates):
        index = manager.NodeToIndex(k)
        request = problem.instance.requests[r]
        routing.AddDisjunction([index], int(DROP_PENALTY_CNY * (1 + request.priority) * MILLI))
        banned = [v for v, c in enumerate(cars) if not problem.compatible[r, c]]
        if banned:
            routing.VehicleVar(index).RemoveValues(banned)
        promised = confirmed.get(request.id)
        if promised in car_by_id and penalty > 0:
            start = routing.Start(car_by_id[promised])  # fixed to that car
            routing.AddSoftSameVehicleConstraint([start, index], penalty)

    node_of = {r: k for k, r in enumerate(candidates)}
    seed = [[] for _ in cars]
    for c, chain in chains.items():
        seed[car_pos[c]] = [node_of[r] for r in chain]
    initial = routing.ReadAssignmentFromRoutes(seed, True)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (  # used only when the seed cannot be read
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION)
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    # OR-Tools checks its limit only between neighbourhood scans and overran it by up to
    # 0.5 s here; keep that in reserve, and time for assembling the plan.
    remaining = _remaining(started, time_limit_s) - 0.05 - 0.0005 * m
    remaining -= min(OVERRUN_RESERVE_S, 0.25 * remaining)
    if remaining <= 0.01:
        return None
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    solution = (routing.SolveFromAssignmentWithParameters(initial, params) if initial is not None
                else routing.SolveWithParameters(params))
    if solution is None:
        return None
    result: dict[int, list[int]] = {}
    for v, c in enumerate(cars):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        chain: list[int] = []
        while not routing.IsEnd(index):
            chain.append(candidates[manager.IndexToNode(index)])
            index = solution.Value(routing.NextVar(index))
        if chain:
            if not problem.feasible(c, chain):
                return None
            result[c] = chain
    return result
