"""Benchmark of the dispatch solver against a greedy baseline and VROOM (pyvroom).

    python -m simulations.bench_dispatch                 # 50, 200, 400 and 1,000 requests
    python -m simulations.bench_dispatch --sizes 50 200  # only some sizes (quick mode)
    python -m simulations.bench_dispatch --quick         # 50 and 200 requests, no level 5

It generates official-car days around Lianyungang (34.6 N, 119.2 E): pool cars in two cost
classes at city depots and county depots (a fifth of the cars), 2-3 lessors, trips within the
city, out to the counties and within the counties (a fifth), groups of 1-6 passengers (a few of
10), a few exclusive trips, many with a return trip later in the day, and every drop-off due by
the latest pickup + 1.5 x the direct ride + 10 minutes (the detour a shared ride may add).
Passengers may share cars. Every solver gets the same instance and the same travel matrix;
every plan is re-scored by :mod:`dispatch.check`.

VROOM solves the same pickup-and-delivery problem: capacity [seats, 100] with amounts
[passengers, 1] (an exclusive trip's second amount is 100, so it rides alone), skills for class
and NEV, the drop-off deadlines as delivery windows, ``max_distance`` for the range, one vehicle
per leased car. A second table solves the same days with sharing off (``policy.sharing``
false; VROOM with capacity 1), the problem before shared rides.

Our solver gets the wall time VROOM took at exploration level 1 (and at level 5, at most
``--max-time``), but at least ``MIN_BUDGET_S``, so those lines compare costs at equal time
where VROOM takes longer than that; then the time limits of ``TARGET_BUDGETS_S`` (10 s with
sharing off). Progress goes to stderr; the
result table is JSON on stdout. Solve time is wall time in this process on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from dispatch.assembly import assemble_plan
from dispatch.check import audit_plan
from dispatch.greedy import solve_greedy
from dispatch.insertion import Inserter
from dispatch.instance import Instance, parse_instance
from dispatch.plan import Plan
from dispatch.problem import Problem, compile_problem
from dispatch.solver import solve
from dispatch.stops import Stops, stop_requests, without_request
from dispatch.travel import TravelMatrix, instance_matrix
from fleet.geo import haversine_m

CENTRE = (34.60, 119.20)
TZ = timezone(timedelta(hours=8))
#: the issue's targets: our time limits per size (s), each compared with VROOM's levels
TARGET_BUDGETS_S = {50: (10.0,), 200: (10.0, 60.0), 400: (60.0,), 1000: (120.0,)}
MIN_BUDGET_S = 2.0  # our solver's least time: OR-Tools models take a second to build
TRIPS_CAPACITY = 100  # VROOM's second capacity: trips on board at once when sharing
SIZES = {50: (60, 2), 200: (100, 2), 400: (180, 3), 1000: (300, 3)}  # requests: cars, lessors


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _at(day: datetime, hours: float) -> str:
    return (day + timedelta(seconds=round(hours * 3600 / 60) * 60)).isoformat()


COUNTY_SEATS = [(34.84, 118.77), (34.30, 118.87), (34.53, 119.56)]  # Donghai, Guanyun, Guannan
DETOUR_FACTOR, SPEED_KMH = 1.35, 38.0


def _place(rng: random.Random, spread_deg: float,
           centre: tuple[float, float] = CENTRE) -> dict[str, float]:
    return {"lat": round(centre[0] + rng.gauss(0, spread_deg), 5),
            "lon": round(centre[1] + rng.gauss(0, spread_deg * 1.2), 5)}


def _direct_s(a: dict[str, float], b: dict[str, float]) -> float:
    """Seconds of the direct ride under the instance's travel model."""
    km = haversine_m(a["lat"], a["lon"], b["lat"], b["lon"]) / 1000 * DETOUR_FACTOR
    return km / SPEED_KMH * 3600


def generate_day(n_requests: int, n_cars: int, n_lessors: int, seed: int = 1) -> dict[str, Any]:
    """An instance dict: one working day of approved official trips."""
    rng = random.Random(seed)
    day = datetime(2026, 11, 3, tzinfo=TZ)
    depots = [{"id": f"D{i + 1}", **_place(rng, 0.05)} for i in range(3)]
    depots += [{"id": f"C{i + 1}", **_place(rng, 0.01, seat)} for i, seat in enumerate(COUNTY_SEATS)]
    classes = [("sedan", 4, 0.8), ("mpv", 6, 0.15), ("minibus", 14, 0.05)]
    vehicles = []
    for i in range(n_cars):
        cls, seats = rng.choices([(c, s) for c, s, _ in classes], [w for *_, w in classes])[0]
        economy = rng.random() < 0.6  # the two cost classes: older economy cars, newer ones
        energy = rng.choices(["petrol", "hev", "phev", "bev"], [0.35, 0.15, 0.15, 0.35])[0]
        late = rng.random() < 0.3
        vehicles.append({
            "id": f"P{i + 1:03d}", "class": cls,
            "depot": rng.choice(depots[3:] if rng.random() < 0.2 else depots[:3])["id"],
            "seats": seats, "energy": energy,
            "range_km": rng.choice([260, 320, 400]) if energy == "bev" else None,
            "shift_start": _at(day, 7.5 if not late else 9.5),
            "shift_end": _at(day, 18.5 if not late else 21.0),
            "fixed_cost_cny": 90.0 if economy else 130.0,
            "cost_per_km_cny": 0.95 if economy else 0.55,
            "cost_per_hour_cny": 28.0 if economy else 24.0,
        })
    lessors = []
    for i in range(n_lessors):
        scale = 1.0 + 0.15 * i
        lessors.append({
            "id": f"L{i + 1}", **_place(rng, 0.06),
            "shift_start": _at(day, 7.0), "shift_end": _at(day, 22.0),
            "tariffs": [
                {"class": "sedan", "seats": 4, "energy": "petrol", "base_cny": round(160 * scale),
                 "per_km_cny": round(0.9 / scale, 2), "per_hour_cny": 20.0,
                 "max_vehicles": max(4, n_requests // 25)},
                {"class": "sedan", "seats": 4, "energy": "bev", "base_cny": round(180 * scale),
                 "per_km_cny": 0.5, "per_hour_cny": 20.0, "max_vehicles": max(2, n_requests // 60),
                 "range_km": 350},
                {"class": "mpv", "seats": 6, "energy": "petrol", "base_cny": round(240 * scale),
                 "per_km_cny": 1.2, "per_hour_cny": 25.0, "max_vehicles": max(2, n_requests // 80)},
                {"class": "minibus", "seats": 14, "energy": "diesel", "base_cny": round(420 * scale),
                 "per_km_cny": 1.8, "per_hour_cny": 35.0, "max_vehicles": 2},
            ][: 4 if i < 2 else 2],
        })
    requests: list[dict[str, Any]] = []

    def add(origin: dict[str, float], destination: dict[str, float], start_h: float,
            window_h: float, common: dict[str, Any]) -> None:
        latest_h = start_h + window_h
        due_s = latest_h * 3600 + 300 + 1.5 * _direct_s(origin, destination) + 600
        requests.append({"id": f"R{len(requests) + 1:04d}", **common, "origin": origin,
                         "destination": destination, "pickup_earliest": _at(day, start_h),
                         "pickup_latest": _at(day, latest_h), "dropoff_latest": _at(day, due_s / 3600)})

    while len(requests) < n_requests:
        county = rng.random() < 0.2
        seat = rng.choice(COUNTY_SEATS) if county else CENTRE
        origin = _place(rng, 0.03 if county else 0.04, seat)
        far = rng.random()
        destination = (_place(rng, 0.04, seat) if county and far < 0.5
                       else _place(rng, 0.05 if far < 0.7 else 0.18 if far < 0.95 else 0.35))
        start_h = min(17.0, max(7.75, rng.choice([rng.gauss(9.0, 0.9), rng.gauss(14.5, 1.0)])))
        window_h = rng.choice([0.0, 0.17, 0.25, 0.5])
        passengers = rng.choices([1, 2, 3, 4, 5, 6, 10], [30, 30, 18, 10, 5, 5, 2])[0]
        wanted = rng.choice(["mpv", "sedan"]) if rng.random() < 0.08 and passengers <= 4 else None
        common = {"agency": f"A{rng.randint(1, 40):02d}", "passengers": passengers, "class": wanted,
                  "nev_required": rng.random() < 0.1, "service_pickup_s": 300,
                  "service_dropoff_s": 180, "priority": rng.choice([0, 0, 0, 1, 2]),
                  "exclusive": rng.random() < 0.05}
        add(origin, destination, start_h, window_h, common)
        if rng.random() < 0.55 and len(requests) < n_requests:  # the way back after the meeting
            back_h = min(19.5, start_h + window_h + rng.uniform(1.5, 3.5))
            add(destination, origin, back_h, rng.choice([0.17, 0.25, 0.5]), common)
    return {"travel": {"model": "haversine", "detour_factor": DETOUR_FACTOR, "speed_kmh": SPEED_KMH},
            "depots": depots, "vehicles": vehicles, "lessors": lessors, "requests": requests,
            "policy": {"range_margin_fraction": 0.15, "winter_range_factor": 0.85}}


def solve_vroom(problem: Problem, level: int, threads: int = 1) -> tuple[dict[int, Stops], float]:
    """Stops (car index -> point indices) from VROOM, and its wall time in seconds.

    Capacity is [seats, trips]: amounts [passengers, 1], an exclusive trip's second amount the
    whole trips capacity (so it rides alone); trips capacity 1 when sharing is off.
    """
    import vroom

    started = time.perf_counter()
    requests = problem.instance.requests
    n = problem.n_requests
    trips = TRIPS_CAPACITY if problem.sharing else 1
    class_skill = {c: 10 + i for i, c in enumerate(["sedan", "mpv", "suv", "minibus", "bus", "special"])}
    vinput = vroom.Input()
    vinput.set_durations_matrix("car", problem.dur_s.astype(np.uint32))
    vinput.set_distances_matrix("car", np.ceil(problem.km * 1000).astype(np.uint32))
    for c, car in enumerate(problem.cars):
        skills = {class_skill[car.vehicle_class]} | ({1} if car.is_nev else set())
        vinput.add_vehicle(vroom.Vehicle(
            id=c, start=car.home, end=car.home, capacity=[car.seats, trips], skills=skills,
            time_window=vroom.TimeWindow(car.shift_start_s, car.shift_end_s),
            costs=vroom.VehicleCosts(fixed=round(car.fixed_cny * 100),
                                     per_hour=round(car.per_hour_cny * 100),
                                     per_km=round(car.per_km_cny * 100)),
            max_distance=(int(car.usable_km * 1000) if math.isfinite(car.usable_km) else None),
        ))
    horizon = max(car.shift_end_s for car in problem.cars)
    for r, request in enumerate(requests):
        if r in problem.refusals:
            continue
        skills = set()
        if request.vehicle_class is not None:
            skills.add(class_skill[request.vehicle_class.value])
        if request.nev_required:
            skills.add(1)
        pe, pl = int(problem.pickup_earliest_s[r]), int(problem.pickup_latest_s[r])
        due = min(horizon, int(problem.dropoff_latest_s[r]))
        vinput.add_shipment(
            vroom.ShipmentStep(id=r, location=problem.origin(r),
                               default_service=request.service_pickup_s,
                               time_windows=[vroom.TimeWindow(pe, max(pe, pl))]),
            vroom.ShipmentStep(id=r, location=problem.destination(r),
                               default_service=request.service_dropoff_s,
                               time_windows=[vroom.TimeWindow(pe, due)]),
            amount=vroom.Amount([request.passengers, trips if problem.exclusive[r] else 1]),
            skills=skills, priority=request.priority,
        )
    solution = vinput.solve(exploration_level=level, nb_threads=threads)
    wall_s = time.perf_counter() - started
    routes: dict[int, Stops] = {}
    steps = solution.routes
    for row in steps[steps["type"].isin(["pickup", "delivery"])].itertuples():
        point = int(row.id) + (0 if row.type == "pickup" else n)
        routes.setdefault(int(row.vehicle_id), []).append(point)
    return routes, wall_s


def _score(instance: Instance, matrix: TravelMatrix, plan: Plan, wall_s: float) -> dict[str, Any]:
    violations, cost_cny = audit_plan(instance, plan, matrix)
    return {"cost_cny": round(cost_cny, 2), "served": len(instance.requests) - len(plan.unserved),
            "wall_s": round(wall_s, 2), "violations": len(violations),
            "km": round(sum(r.km for r in plan.routes), 1),
            "cars_pool": sum(r.kind == "pool" for r in plan.routes),
            "cars_lease": sum(r.kind == "lease" for r in plan.routes),
            "shared_trips": len(plan.shared_with)}


def _vroom_plan(problem: Problem, level: int, threads: int) -> tuple[Plan, float]:
    routes, wall_s = solve_vroom(problem, level, threads)
    return assemble_plan(problem, routes, wall_s, "feasible", explain=False), wall_s


def urgent_insertion_ms(problem: Problem, routes: dict[int, Stops], samples: int,
                        seed: int) -> dict[str, float]:
    """Wall time (ms) of inserting one request into the plan, the rest of the plan in memory.

    Each sample takes one served request out of its car's stops and times the cheapest
    feasible insertion of its pickup and drop-off (:class:`dispatch.insertion.Inserter`, the
    route views of the plan already cached as in the service) putting it back.
    """
    inserter = Inserter(problem)
    rng = random.Random(seed)
    served = sorted((r, c) for c, stops in routes.items() for r in stop_requests(problem, stops))
    for c, stops in routes.items():  # the plan the service holds: its route views priced once
        inserter.cheapest({c: stops}, stop_requests(problem, stops)[0], open_cars=False)
    times_ms: list[float] = []
    for r, c in rng.sample(served, min(samples, len(served))):
        trial = dict(routes)
        trial[c] = without_request(problem, routes[c], r)
        started = time.perf_counter()
        move = inserter.cheapest(trial, r)
        times_ms.append((time.perf_counter() - started) * 1000)
        if move is None:  # cannot happen: its old place is still free
            raise RuntimeError(f"request {r} found no place")
    return {"samples": len(times_ms), "p50_ms": round(float(np.percentile(times_ms, 50)), 2),
            "p95_ms": round(float(np.percentile(times_ms, 95)), 2),
            "max_ms": round(max(times_ms), 2)}


def _ours(instance: Instance, matrix: TravelMatrix, budget_s: float) -> tuple[Plan, dict[str, Any]]:
    started = time.perf_counter()
    plan = solve(instance, matrix, time_limit_s=budget_s)
    return plan, _score(instance, matrix, plan, time.perf_counter() - started)


def run_size(n_requests: int, level5: bool, max_time_s: float, seed: int, threads: int,
             sharing: bool = True) -> dict[str, Any]:
    """Every solver on one generated day; ``sharing`` false solves it with sharing off."""
    n_cars, n_lessors = SIZES.get(n_requests, (max(60, n_requests // 3), 3))
    day = generate_day(n_requests, n_cars, n_lessors, seed)
    day["policy"]["sharing"] = sharing
    instance = parse_instance(day)
    matrix = instance_matrix(instance)
    problem = compile_problem(instance, matrix)
    tag = f"[{n_requests}{'' if sharing else ', sharing off'}]"
    row: dict[str, Any] = {"requests": n_requests, "pool_cars": n_cars, "lessors": n_lessors,
                           "lease_cars_allowed": sum(c.kind == "lease" for c in problem.cars)}
    solvers: dict[str, Any] = {}
    _log(f"{tag} greedy ...")
    started = time.perf_counter()
    plan = solve_greedy(instance, matrix)
    solvers["greedy"] = _score(instance, matrix, plan, time.perf_counter() - started)
    best_plan = plan
    for level in [1, 5] if level5 else [1]:
        _log(f"{tag} vroom exploration level {level} ({threads} threads) ...")
        plan, wall_s = _vroom_plan(problem, level, threads)
        solvers[f"vroom_l{level}"] = _score(instance, matrix, plan, wall_s)
        budget_s = min(max_time_s, max(wall_s, MIN_BUDGET_S))
        _log(f"{tag} ours with {budget_s:.1f} s (vroom level {level} took {wall_s:.1f} s) ...")
        best_plan, solvers[f"ours_at_l{level}_time"] = _ours(instance, matrix, budget_s)
    for budget_s in TARGET_BUDGETS_S.get(n_requests, (max_time_s,)) if sharing else (10.0,):
        _log(f"{tag} ours with {budget_s:.0f} s ...")
        best_plan, solvers[f"ours_{budget_s:.0f}s"] = _ours(instance, matrix, budget_s)
    row["solvers"] = solvers
    for name, result in solvers.items():
        _log(f"{tag} {name:>16}: {result['cost_cny']:>10.2f} CNY, {result['km']:.0f} km, "
             f"cars {result['cars_pool']}+{result['cars_lease']}, shared {result['shared_trips']}, "
             f"served {result['served']}, {result['wall_s']:.2f} s, violations {result['violations']}")
    if sharing:
        row["urgent_insertion"] = urgent_insertion_ms(problem, _plan_routes(problem, best_plan),
                                                      200, seed)
        _log(f"{tag} urgent insertion: {row['urgent_insertion']}")
    return row


def _plan_routes(problem: Problem, plan: Plan) -> dict[int, Stops]:
    car_index = {car.id: c for c, car in enumerate(problem.cars)}
    request_index = {r.id: i for i, r in enumerate(problem.instance.requests)}
    n = problem.n_requests
    return {car_index[route.vehicle]: [request_index[s.request] + (0 if s.type == "pickup" else n)
                                       for s in route.stops] for route in plan.routes}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help="numbers of requests to generate, one day each (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="50 and 200 requests only, and skip VROOM's exploration level 5")
    parser.add_argument("--level5-up-to", type=int, default=400,
                        help="run VROOM's level 5 only up to this many requests (default 400; "
                             "at 1,000 requests its level 1 alone took 93 s here)")
    parser.add_argument("--no-level5", action="store_true", help="skip VROOM's exploration level 5")
    parser.add_argument("--max-time", type=float, default=60.0,
                        help="most seconds of our equal-time runs (default 60); the target runs "
                             "take TARGET_BUDGETS_S")
    parser.add_argument("--no-sharing-off", action="store_true",
                        help="skip the table of the same days with sharing off")
    parser.add_argument("--sharing-off-up-to", type=int, default=400,
                        help="solve the sharing-off table up to this many requests (default 400)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated days")
    parser.add_argument("--vroom-threads", type=int, default=2,
                        help="threads VROOM may use (default 2, the cores of this machine)")
    args = parser.parse_args(argv)
    sizes = [50, 200] if args.quick else args.sizes
    level5 = not (args.quick or args.no_level5)
    rows = [run_size(n, level5 and n <= args.level5_up_to, args.max_time, args.seed,
                     args.vroom_threads) for n in sizes]
    off = [] if args.no_sharing_off else [
        run_size(n, False, args.max_time, args.seed, args.vroom_threads, sharing=False)
        for n in sizes if n <= args.sharing_off_up_to]
    print(json.dumps({"machine_note": "wall times on a shared 2-core machine", "results": rows,
                      "sharing_off": off}, indent=2))


if __name__ == "__main__":
    main()
