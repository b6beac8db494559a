"""Turn every car's stops into a :class:`~dispatch.plan.Plan`, with one reason per trip.

A reason (a code with parameters, and its English line for the command line) says which kind of
car serves the trip, what the trip adds to that car's cost, which requests shared the car with
it, and the cheapest alternative of the other kind in the same plan (CNY).
"""

from __future__ import annotations

import numpy as np

from dispatch.plan import Plan, Reason, Route, Stop, Unserved
from dispatch.problem import Problem, busy_reason
from dispatch.schedule import Schedule
from dispatch.stops import (
    Stops,
    co_riders,
    is_chain,
    stop_requests,
    stop_times,
    stops_cost_cny,
    stops_km,
    without_request,
)


def assemble_plan(
    problem: Problem,
    routes: dict[int, Stops],
    solve_s: float,
    status: str,
    explain: bool = True,
) -> Plan:
    """A plan from stops (car index -> point indices); every other request is unserved."""
    requests = problem.instance.requests
    n = problem.n_requests
    plan_routes: list[Route] = []
    served: set[int] = set()
    shared: dict[str, list[str]] = {}
    for c, stops in sorted(routes.items()):
        if not stops:
            continue
        times = stop_times(problem, c, stops)
        if times is None:
            raise ValueError(f"route of car {problem.cars[c].id} is not feasible")
        car = problem.cars[c]
        plan_stops: list[Stop] = []
        point, ready = car.home, car.shift_start_s
        for p, start in zip(stops, times, strict=True):
            r = p if p < n else p - n
            arrival = ready + int(problem.dur_s[point, p])
            plan_stops.append(Stop(request=requests[r].id, type="pickup" if p < n else "dropoff",
                                   arrival=problem.at(arrival), start=problem.at(start)))
            ready, point = start + int(problem.service_s[p]), p
            served.add(r)
        for r, others in co_riders(problem, stops).items():
            shared[requests[r].id] = sorted(requests[o].id for o in others)
        plan_routes.append(Route(vehicle=car.id, kind=car.kind, stops=plan_stops,
                                 km=round(stops_km(problem, c, stops), 3),
                                 cost_cny=round(stops_cost_cny(problem, c, stops), 2)))
    unserved = [
        Unserved(request=requests[r].id, reason=problem.refusals.get(r) or busy_reason(problem, r))
        for r in range(len(requests)) if r not in served
    ]
    plan = Plan(status=status, total_cost_cny=round(sum(rt.cost_cny for rt in plan_routes), 2),
                solve_s=round(solve_s, 3), routes=plan_routes, unserved=unserved,
                shared_with=dict(sorted(shared.items())))
    if explain:
        plan.reasons = reasons(problem, routes)
        plan.explanations = {rid: explanation_text(reason) for rid, reason in plan.reasons.items()}
        plan.explanations |= {u.request: f"unserved: {u.reason}" for u in unserved}
    return plan


def reasons(problem: Problem, routes: dict[int, Stops]) -> dict[str, Reason]:
    """Request id -> why it got its car, as a reason code with parameters (instance ids).

    The alternative of the other kind is the cheapest place for the trip as a block of its own
    between the trips of cars that carry no shared ride, or in a car of its own.
    """
    chains = {c: stop_requests(problem, stops) for c, stops in routes.items()
              if is_chain(problem, stops)}
    schedule = Schedule(problem, chains, closed={c for c in routes if c not in chains})
    requests = problem.instance.requests
    confirmed = problem.instance.confirmed
    pool_cars = np.array([car.kind == "pool" for car in problem.cars], dtype=bool)
    found: dict[str, Reason] = {}
    for c, stops in routes.items():
        car = problem.cars[c]
        with_cost = stops_cost_cny(problem, c, stops)
        together = co_riders(problem, stops)
        for r in stop_requests(problem, stops):
            added = with_cost - stops_cost_cny(problem, c, without_request(problem, stops, r))
            other = "lease" if car.kind == "pool" else "pool"
            best = schedule.best_insertion(r, kinds=(other,))
            params: dict[str, object] = {"vehicle": car.id, "added_cny": round(added, 2)}
            if best is None and car.kind == "pool":
                code = "pool_only"
            elif best is None:
                code = "lease_needed"
                params["cause"] = "pool_busy" if (problem.compatible[r] & pool_cars).any() \
                    else "no_pool_car_fits"
            elif car.kind == "pool":
                code = "pool_cheaper"
                params |= {"lease_option": problem.cars[best.car].id,
                           "lease_cny": round(best.cost_cny, 2)}
            else:
                code = "lease_cheaper"
                params |= {"pool_vehicle": problem.cars[best.car].id,
                           "pool_cny": round(best.cost_cny, 2)}
            if r in together:
                params["shared_with"] = sorted(requests[o].id for o in together[r])
            promised = confirmed.get(requests[r].id)
            if promised is not None and promised != car.id:
                params["moved_from"] = promised
            found[requests[r].id] = Reason(code=code, params=params)
    return found


def explanation_text(reason: Reason) -> str:
    """The English line of ``reason`` with instance ids, for the command line and the log."""
    p = reason.params
    label = "pool car" if reason.code.startswith("pool") else "leased car"
    text = f"{label} {p['vehicle']} adds {p['added_cny']:.2f} CNY"
    if p.get("shared_with"):
        text += "; shared with " + ", ".join(p["shared_with"])
    if reason.code == "pool_cheaper":
        text += f"; cheapest lease option {p['lease_option']} {p['lease_cny']:.2f} CNY"
    elif reason.code == "lease_cheaper":
        text += f"; cheapest pool option {p['pool_vehicle']} {p['pool_cny']:.2f} CNY"
    else:
        text += f"; no {'lease' if reason.code == 'pool_only' else 'pool'} car could take it"
    if p.get("moved_from"):
        text += f"; moved from confirmed car {p['moved_from']}"
    return text
