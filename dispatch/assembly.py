"""Turn chains of blocks into a :class:`~dispatch.plan.Plan`, with one explanation per trip.

An explanation says which kind of car serves the trip, what the trip adds to that car's cost,
and the cheapest alternative of the other kind in the same plan (CNY).
"""

from __future__ import annotations

from datetime import timedelta

from dispatch.plan import Plan, Route, Stop, Unserved
from dispatch.problem import Problem, busy_reason
from dispatch.schedule import Schedule


def assemble_plan(
    problem: Problem,
    chains: dict[int, list[int]],
    solve_s: float,
    status: str,
    explain: bool = True,
) -> Plan:
    """A plan from chains (car index -> request indices); every other request is unserved."""
    requests = problem.instance.requests
    routes: list[Route] = []
    served: set[int] = set()
    for c, chain in sorted(chains.items()):
        if not chain:
            continue
        starts = problem.timeline(c, chain)
        if starts is None:
            raise ValueError(f"chain of car {problem.cars[c].id} is not feasible")
        car = problem.cars[c]
        stops: list[Stop] = []
        point, ready = car.home, car.shift_start_s
        for r, start in zip(chain, starts, strict=True):
            request = requests[r]
            arrival = problem.at(ready + int(problem.dur_s[point, r]))
            pickup = problem.at(start)
            stops.append(Stop(request=request.id, type="pickup", arrival=arrival, start=pickup))
            drop = pickup + timedelta(seconds=request.service_pickup_s + int(problem.ride_s[r]))
            stops.append(Stop(request=request.id, type="dropoff", arrival=drop, start=drop))
            ready = start + int(problem.block_s[r])
            point = problem.destination(r)
            served.add(r)
        routes.append(Route(vehicle=car.id, kind=car.kind, stops=stops,
                            km=round(problem.route_km(c, chain), 3),
                            cost_cny=round(problem.route_cost_cny(c, chain), 2)))
    unserved = [
        Unserved(request=requests[r].id, reason=problem.refusals.get(r) or busy_reason(problem, r))
        for r in range(len(requests)) if r not in served
    ]
    plan = Plan(status=status, total_cost_cny=round(sum(rt.cost_cny for rt in routes), 2),
                solve_s=round(solve_s, 3), routes=routes, unserved=unserved)
    if explain:
        plan.explanations = explanations(problem, chains)
    return plan


def explanations(problem: Problem, chains: dict[int, list[int]]) -> dict[str, str]:
    """Request id -> why it got its car, or why it got none (text for the console)."""
    schedule = Schedule(problem, chains)
    requests = problem.instance.requests
    confirmed = problem.instance.confirmed
    texts: dict[str, str] = {}
    for c, chain in chains.items():
        car = problem.cars[c]
        with_cost = problem.route_cost_cny(c, chain)
        for r in chain:
            without = [x for x in chain if x != r]
            added = with_cost - problem.route_cost_cny(c, without)
            other = "lease" if car.kind == "pool" else "pool"
            best = schedule.best_insertion(r, kinds=(other,))
            label = "pool car" if car.kind == "pool" else "leased car"
            text = f"{label} {car.id} adds {added:.2f} CNY"
            if best is None:
                text += f"; no {other} car could take it"
            else:
                alternative = problem.cars[best.car].id
                text += f"; cheapest {other} option {alternative} {best.cost_cny:.2f} CNY"
            promised = confirmed.get(requests[r].id)
            if promised is not None and promised != car.id:
                text += f"; moved from confirmed car {promised}"
            texts[requests[r].id] = text
    served = {r for chain in chains.values() for r in chain}
    for r, request in enumerate(requests):
        if r not in served:
            reason = problem.refusals.get(r) or busy_reason(problem, r)
            texts[request.id] = f"unserved: {reason}"
    return texts
