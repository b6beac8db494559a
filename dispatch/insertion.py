"""Cheapest insertion of one request into shared routes: its pickup and its drop-off.

Routes are stops per car (:mod:`dispatch.stops`). For every car that may serve the request,
every pair of positions (pickup before stop ``i``, drop-off before stop ``j >= i``) is priced
at once with numpy (added per km x km + per hour x driving hours, CNY); pairs are pruned by
seats and co-rider rules on every leg in between, by the earliest arrival at the pickup against
its window and at the drop-off against its deadline, and by range. The cheapest pairs are then
verified with :func:`dispatch.stops.stop_times` in cost order, so the answer is the cheapest
feasible place (up to ``MAX_CHECKS`` verifications). An idle car of each kind is priced too,
with its fixed or base charge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from dispatch.problem import Problem
from dispatch.stops import Stops, stop_times, stops_cost_cny, stops_feasible, stops_km

MAX_CHECKS = 400  # full verifications per request before giving up on the rest


@dataclass(frozen=True)
class StopInsertion:
    """Put request ``request``'s pickup before stop ``pickup_at`` of car ``car`` and its
    drop-off before stop ``dropoff_at`` (indices into the stops before insertion)."""

    request: int
    car: int
    pickup_at: int
    dropoff_at: int
    cost_cny: float


def inserted(problem: Problem, stops: Stops, move: StopInsertion) -> Stops:
    """``stops`` with ``move`` applied."""
    result = list(stops)
    result.insert(move.dropoff_at, problem.n_requests + move.request)
    result.insert(move.pickup_at, move.request)
    return result


def share_matrix(problem: Problem) -> np.ndarray:
    """(R, R) bool: which pairs of requests may be on board together."""
    free = ~problem.exclusive
    return free[:, None] & free[None, :] & (problem.share_group[:, None] == problem.share_group[None, :])


@dataclass(frozen=True)
class _RouteView:
    """What pricing an insertion into one car's stops needs, computed once per route."""

    path: np.ndarray  # home, stops..., home
    departure: np.ndarray  # (L + 1,) leaving path[k], s
    latest_next: np.ndarray  # (L + 1,) latest start at path[k + 1] keeping the rest feasible, s
    load: np.ndarray  # (L + 1,) passengers on board on edge k
    rider: np.ndarray  # (Q,) requests on board at some edge
    rider_first: np.ndarray  # (Q,) the first edge each rides
    rider_last: np.ndarray  # (Q,) the last edge each rides
    slack_km: float


class Inserter:
    """Cheapest insertions into changing routes; each route's view is cached by its stops."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.share = share_matrix(problem)
        self._views: dict[tuple[int, tuple[int, ...]], _RouteView | None] = {}

    def cheapest(
        self,
        routes: Mapping[int, Stops],
        r: int,
        kinds: Iterable[str] = ("pool", "lease"),
        open_cars: bool = True,
    ) -> StopInsertion | None:
        """The cheapest feasible place for request ``r`` in ``routes``, or None.

        ``open_cars`` also offers one idle car of each kind.
        """
        problem = self.problem
        wanted = set(kinds)
        candidates = self._options(routes, r, wanted)
        seen: set[tuple[object, ...]] = set()
        if open_cars:
            pair = [r, problem.n_requests + r]
            for c, car in enumerate(problem.cars):
                if routes.get(c) or not problem.compatible[r, c] or car.kind not in wanted:
                    continue
                if car.type_key in seen:
                    continue
                seen.add(car.type_key)
                candidates.append((stops_cost_cny(problem, c, pair), c, 0, 0))
        candidates.sort()
        for cost, c, i, j in candidates[:MAX_CHECKS]:
            move = StopInsertion(r, c, i, j, float(cost))
            if stops_feasible(problem, c, inserted(problem, routes.get(c, []), move)):
                return move
        return None

    def _view(self, c: int, stops: Stops) -> _RouteView | None:
        key = (c, tuple(stops))
        if key not in self._views:
            if len(self._views) > 50_000:
                self._views.clear()
            self._views[key] = _route_view(self.problem, c, stops)
        return self._views[key]

    def _options(
        self, routes: Mapping[int, Stops], r: int, kinds: set[str]
    ) -> list[tuple[float, int, int, int]]:
        """(added CNY, car, i, j) of every pair of positions, over every car at once, that
        passes the quick checks (one flat array of all the cars' edges)."""
        problem = self.problem
        cars: list[int] = []
        views: list[_RouteView] = []
        for c, stops in routes.items():
            if stops and problem.compatible[r, c] and problem.cars[c].kind in kinds:
                view = self._view(c, stops)
                if view is not None:
                    cars.append(c)
                    views.append(view)
        if not cars:
            return []
        n = problem.n_requests
        o, d = r, n + r
        km, hours, dur, service = problem.km, problem.hours, problem.dur_s, problem.service_s
        sizes = np.array([len(v.departure) for v in views])  # edges per car
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        owner = np.repeat(np.arange(len(cars)), sizes)
        a = np.concatenate([v.path[:-1] for v in views])  # edge k runs from a[k] to b[k]
        b = np.concatenate([v.path[1:] for v in views])
        departure = np.concatenate([v.departure for v in views])
        latest_next = np.concatenate([v.latest_next for v in views])

        # times first: on most cars no gap between two stops fits the pickup window
        pickup_s = np.maximum(departure + dur[a, o], problem.pickup_earliest_s[r])
        leave_s = pickup_s + service[o]
        ok_pick = pickup_s <= problem.pickup_latest_s[r]
        both_drop_s = leave_s + dur[o, d]
        ok_both = (ok_pick & (both_drop_s <= problem.dropoff_latest_s[r])
                   & (both_drop_s + service[d] + dur[d, b] <= latest_next))
        ok_pick &= leave_s + dur[o, b] <= latest_next  # the next stop still in time
        if not (ok_pick.any() or ok_both.any()):
            return []
        drop_s = departure + dur[a, d]
        ok_drop = (drop_s <= problem.dropoff_latest_s[r]) & (
            drop_s + service[d] + dur[d, b] <= latest_next)

        # seats and co-riders on every edge the passengers of r would ride
        seats = np.array([problem.cars[c].seats for c in cars])[owner]
        load = np.concatenate([v.load for v in views])
        blocked = np.zeros(len(a) + 1, dtype=np.int64)
        rider = np.concatenate([v.rider for v in views])
        if len(rider):
            start = np.repeat(offsets, [len(v.rider) for v in views])
            clash = ~self.share[r, rider]
            np.add.at(blocked, (np.concatenate([v.rider_first for v in views]) + start)[clash], 1)
            np.add.at(blocked, (np.concatenate([v.rider_last for v in views]) + start + 1)[clash], -1)
        ok_edge = (load + problem.passengers[r] <= seats) & (np.cumsum(blocked)[:-1] == 0)
        # the end of the run of open edges from each edge, within its car
        index = np.arange(len(a))
        route_end = (offsets + sizes)[owner]
        run_end = np.minimum.accumulate(np.where(ok_edge, route_end, index)[::-1])[::-1] - 1

        first = np.flatnonzero(ok_edge & (ok_pick | ok_both))
        counts = run_end[first] - first + 1
        pick = np.repeat(first, counts)
        drop = pick + np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        same = pick == drop
        keep = np.where(same, ok_both[pick], ok_pick[pick] & ok_drop[drop])
        pick, drop, same = pick[keep], drop[keep], same[keep]
        pa, pb, da, db = a[pick], b[pick], a[drop], b[drop]
        extra_km = np.where(same, km[pa, o] + km[o, d] + km[d, pb] - km[pa, pb],
                            km[pa, o] + km[o, pb] - km[pa, pb] + km[da, d] + km[d, db] - km[da, db])
        extra_h = np.where(same, hours[pa, o] + hours[o, d] + hours[d, pb] - hours[pa, pb],
                           hours[pa, o] + hours[o, pb] - hours[pa, pb]
                           + hours[da, d] + hours[d, db] - hours[da, db])
        car_of = owner[pick]
        fields = np.array([[problem.cars[c].per_km_cny, problem.cars[c].per_hour_cny]
                           for c in cars])[car_of]
        slack = np.array([v.slack_km for v in views])[car_of]
        fits = extra_km <= slack + 1e-9
        cost = (fields[:, 0] * extra_km + fields[:, 1] * extra_h)[fits]
        local = index - offsets[owner]
        return [(float(x), cars[k], int(i), int(j)) for x, k, i, j in zip(
            cost, car_of[fits], local[pick[fits]], local[drop[fits]], strict=True)]


def cheapest_insertion(
    problem: Problem,
    routes: Mapping[int, Stops],
    r: int,
    kinds: Iterable[str] = ("pool", "lease"),
    open_cars: bool = True,
) -> StopInsertion | None:
    """The cheapest feasible place for request ``r`` in ``routes`` (one query), or None."""
    return Inserter(problem).cheapest(routes, r, kinds, open_cars)


def _route_view(problem: Problem, c: int, stops: Stops) -> _RouteView | None:
    times = stop_times(problem, c, stops)
    if times is None:
        return None
    n = problem.n_requests
    car = problem.cars[c]
    path = np.array([car.home, *stops, car.home])
    stop_arr = np.array(stops, dtype=np.int64)
    departure = np.concatenate([[car.shift_start_s],
                                np.array(times) + problem.service_s[stop_arr]])
    window = np.where(stop_arr < n, problem.pickup_latest_s[stop_arr % n],
                      problem.dropoff_latest_s[stop_arr % n])
    L = len(stops)
    latest_next = np.empty(L + 1, dtype=np.int64)
    latest_next[L] = car.shift_end_s  # back home
    for k in range(L - 1, -1, -1):
        following = latest_next[k + 1] - int(problem.dur_s[stops[k], path[k + 2]])
        latest_next[k] = min(int(window[k]), following - int(problem.service_s[stops[k]]))
    load = np.zeros(L + 1, dtype=np.int64)
    position = {p: k for k, p in enumerate(stops)}
    riders = []
    for p in stops:
        if p < n:
            first, last = position[p] + 1, position[n + p]  # edges with p on board
            load[first:last + 1] += problem.passengers[p]
            riders.append((p, first, last))
    rider = np.array(riders, dtype=np.int64).reshape(-1, 3)
    return _RouteView(path=path, departure=departure, latest_next=latest_next, load=load,
                      rider=rider[:, 0], rider_first=rider[:, 1], rider_last=rider[:, 2],
                      slack_km=car.usable_km - stops_km(problem, c, stops))
