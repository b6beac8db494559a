"""A car's day as a sequence of stops, for shared rides: times, cost and every rule.

A stop is a point index of :class:`~dispatch.problem.Problem`: ``r`` is the pickup of request
``r`` and ``n + r`` its drop-off. Passengers of several requests may be on board at once when
seats, ``exclusive``, the share groups and every time window allow. Times are integer seconds
after ``Problem.t0``; a stop's time is when its service starts (pickup: boarding; drop-off:
arrival). A passenger's ride runs from leaving the pickup (its start + ``service_pickup_s``) to
reaching the drop-off. Distances are km, money CNY.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from dispatch.problem import NO_LIMIT_S, Problem

#: a car's stops: point indices, pickups before their drop-offs
Stops = list[int]


def chain_stops(problem: Problem, chain: Iterable[int]) -> Stops:
    """The stops of a chain of closed trip blocks: each pickup followed by its drop-off."""
    n = problem.n_requests
    return [p for r in chain for p in (r, n + r)]


def chain_routes(problem: Problem, chains: Mapping[int, Iterable[int]]) -> dict[int, Stops]:
    """Stops per car of chains of closed trip blocks (car index -> request indices)."""
    return {c: chain_stops(problem, chain) for c, chain in chains.items()}


def stop_requests(problem: Problem, stops: Sequence[int]) -> list[int]:
    """Request indices of ``stops`` in pickup order."""
    n = problem.n_requests
    return [p for p in stops if p < n]


def _loads_ok(problem: Problem, c: int, stops: Sequence[int]) -> bool:
    """Each request picked up once before its drop-off, seats never exceeded, co-riders allowed."""
    n = problem.n_requests
    seats = problem.cars[c].seats
    onboard: set[int] = set()
    seen: set[int] = set()
    load = 0
    for p in stops:
        if p < n:
            if p in seen or not problem.compatible[p, c]:
                return False
            if any(not problem.may_share(p, other) for other in onboard):
                return False
            seen.add(p)
            onboard.add(p)
            load += int(problem.passengers[p])
            if load > seats:
                return False
        else:
            r = p - n
            if r not in onboard:
                return False
            onboard.remove(r)
            load -= int(problem.passengers[r])
    return not onboard


def _forward(problem: Problem, c: int, stops: Sequence[int], lower: list[int]) -> list[int] | None:
    car = problem.cars[c]
    n = problem.n_requests
    point, ready = car.home, car.shift_start_s
    times: list[int] = []
    for k, p in enumerate(stops):
        start = max(lower[k], ready + int(problem.dur_s[point, p]))
        latest = problem.pickup_latest_s[p] if p < n else problem.dropoff_latest_s[p - n]
        if start > latest:
            return None
        times.append(start)
        ready = start + int(problem.service_s[p])
        point = p
    if ready + int(problem.dur_s[point, car.home]) > car.shift_end_s:
        return None
    return times


def stop_times(problem: Problem, c: int, stops: Sequence[int]) -> list[int] | None:
    """Earliest service start of every stop of car ``c``, or None if a rule is broken.

    Waiting moves to before a pickup when a passenger's ride would exceed ``max_ride_s``
    (the earliest schedule of a simple temporal network, by repeated forward passes).
    """
    if not stops:
        return []
    if not _loads_ok(problem, c, stops):
        return None
    n = problem.n_requests
    lower = [int(problem.pickup_earliest_s[p]) if p < n else 0 for p in stops]
    position = {p: k for k, p in enumerate(stops)}
    limited = [(position[p - n], k, p - n) for k, p in enumerate(stops)
               if p >= n and problem.max_ride_s[p - n] < NO_LIMIT_S]
    ride_before: dict[int, int] = {}
    for _ in range(2 * len(stops) + 2):
        times = _forward(problem, c, stops, lower)
        if times is None:
            return None
        late = False
        for i, j, r in limited:
            ride = times[j] - times[i] - int(problem.service_s[r])
            excess = ride - int(problem.max_ride_s[r])
            if excess > 0:
                if ride >= ride_before.get(r, ride + 1):
                    return None  # waiting cannot absorb it: no slack between the two stops
                ride_before[r] = ride
                lower[i] = times[i] + excess
                late = True
        if not late:
            return times
    return None


def _path_total(problem: Problem, c: int, stops: Sequence[int], legs: np.ndarray) -> float:
    """Sum of ``legs`` (a (P, P) matrix) from the car's home through ``stops`` and back."""
    if not stops:
        return 0.0
    home = problem.cars[c].home
    path = np.array([home, *stops, home])
    return float(legs[path[:-1], path[1:]].sum())


def stops_km(problem: Problem, c: int, stops: Sequence[int]) -> float:
    """Road km from the car's home through ``stops`` and back."""
    return _path_total(problem, c, stops, problem.km)


def stops_hours(problem: Problem, c: int, stops: Sequence[int]) -> float:
    """Driving hours from the car's home through ``stops`` and back."""
    return _path_total(problem, c, stops, problem.hours)


def stops_cost_cny(problem: Problem, c: int, stops: Sequence[int]) -> float:
    """Fixed or base charge + per km x km + per hour x driving hours; 0 if unused."""
    if not stops:
        return 0.0
    car = problem.cars[c]
    return (car.fixed_cny + car.per_km_cny * stops_km(problem, c, stops)
            + car.per_hour_cny * stops_hours(problem, c, stops))


def stops_feasible(problem: Problem, c: int, stops: Sequence[int]) -> bool:
    """Every rule holds for car ``c`` driving ``stops``: loads, windows, rides, shift, range."""
    return (stop_times(problem, c, stops) is not None
            and stops_km(problem, c, stops) <= problem.cars[c].usable_km + 1e-9)


def co_riders(problem: Problem, stops: Sequence[int]) -> dict[int, set[int]]:
    """Request -> the other requests on board with it at some moment of the route."""
    n = problem.n_requests
    onboard: set[int] = set()
    together: dict[int, set[int]] = {}
    for p in stops:
        if p < n:
            for other in onboard:
                together.setdefault(p, set()).add(other)
                together.setdefault(other, set()).add(p)
            onboard.add(p)
        else:
            onboard.discard(p - n)
    return together


def is_chain(problem: Problem, stops: Sequence[int]) -> bool:
    """Whether ``stops`` are closed blocks (every pickup straight followed by its drop-off)."""
    n = problem.n_requests
    return len(stops) % 2 == 0 and all(
        stops[k] < n and stops[k + 1] == stops[k] + n for k in range(0, len(stops), 2))


def without_request(problem: Problem, stops: Sequence[int], r: int) -> Stops:
    """``stops`` with request ``r``'s pickup and drop-off taken out."""
    return [p for p in stops if p != r and p != problem.n_requests + r]


def trip_costs_cny(problem: Problem, c: int, stops: Sequence[int]) -> dict[int, float]:
    """The route's cost split over its requests (CNY); the shares add up to the route cost.

    A leg driven with passengers is split evenly among the requests on board; an empty leg
    goes to the request picked up at its end (the last drop-off's request for the way home);
    the fixed or base charge is split evenly.
    """
    if not stops:
        return {}
    car = problem.cars[c]
    n = problem.n_requests
    requests = stop_requests(problem, stops)
    shares = {r: car.fixed_cny / len(requests) for r in requests}
    onboard: set[int] = set()
    path = [car.home, *stops, car.home]
    for k in range(len(path) - 1):
        a, b = path[k], path[k + 1]
        leg = car.per_km_cny * problem.km[a, b] + car.per_hour_cny * problem.hours[a, b]
        payers = sorted(onboard) or [b if b < n else stops[-1] - n]
        for r in payers:
            shares[r] += leg / len(payers)
        if k < len(stops):
            p = stops[k]
            if p < n:
                onboard.add(p)
            else:
                onboard.discard(p - n)
    return shares
