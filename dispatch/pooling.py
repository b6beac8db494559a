"""Shared rides: OR-Tools routing with pickup-and-delivery pairs, started from a block plan.

Every request becomes a pickup node and a drop-off node on the same car, the pickup first.
The model adds to the block model of :mod:`dispatch.solver`:

* a seats dimension (passengers board at the pickup, leave at the drop-off) capped by the car's
  seats; a car's load on arrival at an exclusive trip's pickup must be 0, and an "exclusive on
  board" dimension must be 0 at every pickup, so an exclusive trip rides alone;
* for an agency that shares only within itself, an "agency on board" dimension: 0 at every
  other pickup, and equal to the whole load at its own pickups;
* ride ceilings: drop-off time - pickup time <= ``max_ride_s`` + pickup service.

Arc costs are per_km x km + per_hour x driving hours between stop points, in milli-CNY. The
search is guided local search from the given stops, always time-limited; the result is
re-verified stop by stop by :mod:`dispatch.stops` and returned only if every route holds.
"""

from __future__ import annotations

import math
import time

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from dispatch.problem import NO_LIMIT_S, Problem
from dispatch.stops import Stops, stops_feasible

MILLI = 1000  # model costs are integer milli-CNY
OVERRUN_RESERVE_S = 0.5  # OR-Tools checks its limit only between neighbourhood scans


def shared_search(
    problem: Problem,
    candidates: list[int],
    cars: list[int],
    seed: dict[int, Stops],
    drop_penalty_cny: dict[int, float],
    deadline: float,
) -> dict[int, Stops] | None:
    """Stops per car index after guided local search until ``deadline`` (perf_counter seconds).

    ``cars`` are the car indices offered to the model (those in ``seed`` among them);
    ``drop_penalty_cny`` is the cost of leaving each candidate out. None if the search found
    nothing or a route broke a rule.
    """
    n = problem.n_requests
    m = len(candidates)
    homes = sorted({problem.cars[c].home for c in cars})
    home_node = {h: 2 * m + i for i, h in enumerate(homes)}
    cand = np.array(candidates, dtype=np.int64)
    point = np.concatenate([cand, n + cand, np.array(homes, dtype=np.int64)])
    n_nodes = len(point)
    service = np.concatenate([problem.service_s[cand], problem.service_s[n + cand],
                              np.zeros(len(homes), dtype=np.int64)])
    km = problem.km[np.ix_(point, point)]
    hours = problem.hours[np.ix_(point, point)]
    dur = problem.dur_s[np.ix_(point, point)]
    home_pair = np.zeros((n_nodes, n_nodes), dtype=bool)
    home_pair[2 * m:, 2 * m:] = True

    starts = [home_node[problem.cars[c].home] for c in cars]
    manager = pywrapcp.RoutingIndexManager(n_nodes, len(cars), starts, starts)
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()

    evaluators: dict[tuple[float, float], int] = {}
    for v, c in enumerate(cars):
        car = problem.cars[c]
        key = (car.per_km_cny, car.per_hour_cny)
        if key not in evaluators:
            cost = np.rint((car.per_km_cny * km + car.per_hour_cny * hours) * MILLI)
            evaluators[key] = routing.RegisterTransitMatrix(
                np.where(home_pair, 0, cost).astype(np.int64).tolist())
        routing.SetArcCostEvaluatorOfVehicle(evaluators[key], v)
        routing.SetFixedCostOfVehicle(int(round(car.fixed_cny * MILLI)), v)

    horizon = int(max(problem.cars[c].shift_end_s for c in cars)) + 1
    transit = np.where(home_pair, 0, service[:, None] + dur).astype(np.int64)
    routing.AddDimension(routing.RegisterTransitMatrix(transit.tolist()), horizon, horizon,
                         False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for v, c in enumerate(cars):
        car = problem.cars[c]
        time_dim.CumulVar(routing.Start(v)).SetRange(car.shift_start_s, car.shift_end_s)
        time_dim.CumulVar(routing.End(v)).SetRange(car.shift_start_s, car.shift_end_s)

    passengers = problem.passengers[cand]
    load = np.concatenate([passengers, -passengers, np.zeros(len(homes), dtype=np.int64)])
    seats_cb = routing.RegisterUnaryTransitVector(load.astype(np.int64).tolist())
    routing.AddDimensionWithVehicleCapacity(
        seats_cb, 0, [problem.cars[c].seats for c in cars], True, "seats")
    seats_dim = routing.GetDimensionOrDie("seats")
    big = int(passengers.sum()) + 1 if m else 1

    exclusive = problem.exclusive[cand]
    alone_dim = None
    if exclusive.any() and not exclusive.all():
        flag = exclusive.astype(np.int64)
        demand = np.concatenate([flag, -flag, np.zeros(len(homes), dtype=np.int64)])
        routing.AddDimension(routing.RegisterUnaryTransitVector(demand.tolist()), 0, m, True,
                             "exclusive")
        alone_dim = routing.GetDimensionOrDie("exclusive")
    groups = problem.share_group[cand]
    group_dims = {}
    for g in sorted(set(groups.tolist()) - {0}):
        members = np.where(groups == g, passengers, 0)
        demand = np.concatenate([members, -members, np.zeros(len(homes), dtype=np.int64)])
        routing.AddDimension(routing.RegisterUnaryTransitVector(demand.tolist()), 0, big, True,
                             f"group{g}")
        group_dims[g] = routing.GetDimensionOrDie(f"group{g}")

    if any(math.isfinite(problem.cars[c].usable_km) for c in cars):
        metres = np.where(home_pair, 0, np.ceil(km * 1000)).astype(np.int64)
        caps = [int(problem.cars[c].usable_km * 1000) if math.isfinite(problem.cars[c].usable_km)
                else 10**12 for c in cars]
        routing.AddDimensionWithVehicleCapacity(
            routing.RegisterTransitMatrix(metres.tolist()), 0, caps, True, "distance")

    car_by_id = {problem.cars[c].id: v for v, c in enumerate(cars)}
    confirmed = problem.instance.confirmed
    penalty = int(round(problem.instance.policy.reassign_penalty_cny * MILLI))
    for k, r in enumerate(candidates):
        pickup, drop = manager.NodeToIndex(k), manager.NodeToIndex(m + k)
        routing.AddPickupAndDelivery(pickup, drop)
        solver.Add(routing.VehicleVar(pickup) == routing.VehicleVar(drop))
        pickup_t, drop_t = time_dim.CumulVar(pickup), time_dim.CumulVar(drop)
        pickup_t.SetRange(int(problem.pickup_earliest_s[r]), int(problem.pickup_latest_s[r]))
        drop_t.SetMax(int(min(problem.dropoff_latest_s[r], horizon)))
        solver.Add(pickup_t <= drop_t)
        if problem.max_ride_s[r] < NO_LIMIT_S:
            solver.Add(drop_t - pickup_t <= int(problem.max_ride_s[r] + problem.service_s[r]))
        if exclusive[k]:
            seats_dim.CumulVar(pickup).SetMax(0)
        if alone_dim is not None:
            alone_dim.CumulVar(pickup).SetMax(0)
        for g, dim in group_dims.items():
            if groups[k] == g:
                solver.Add(dim.CumulVar(pickup) == seats_dim.CumulVar(pickup))
            else:
                dim.CumulVar(pickup).SetMax(0)
        routing.AddDisjunction([pickup, drop], int(drop_penalty_cny[r] * MILLI), 2)
        banned = [v for v, c in enumerate(cars) if not problem.compatible[r, c]]
        if banned:
            routing.VehicleVar(pickup).RemoveValues(banned)
            routing.VehicleVar(drop).RemoveValues(banned)
        promised = confirmed.get(problem.instance.requests[r].id)
        if promised in car_by_id and penalty > 0:
            routing.AddSoftSameVehicleConstraint([routing.Start(car_by_id[promised]), pickup],
                                                 penalty)

    node_of = {int(p): k for k, p in enumerate(point[: 2 * m])}
    routes = [[node_of[p] for p in seed.get(c, [])] for c in cars]
    initial = routing.ReadAssignmentFromRoutes(routes, True)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION)
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    remaining = deadline - time.perf_counter() - 0.05 - 0.0005 * m
    remaining -= min(OVERRUN_RESERVE_S, 0.25 * remaining)
    if remaining <= 0.01 or initial is None:
        return None
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    solution = routing.SolveFromAssignmentWithParameters(initial, params)
    if solution is None:
        return None
    result: dict[int, Stops] = {}
    for v, c in enumerate(cars):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        stops: Stops = []
        while not routing.IsEnd(index):
            stops.append(int(point[manager.IndexToNode(index)]))
            index = solution.Value(routing.NextVar(index))
        if stops:
            if not stops_feasible(problem, c, stops):
                return None
            result[c] = stops
    return result
