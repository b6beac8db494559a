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

import functools
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
    riders: tuple[tuple[int, int, int], ...]  # (request, first edge, last edge) on board
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
        candidates: list[tuple[float, int, int, int]] = []
        for c in self._reachable(routes, r, wanted):
            candidates.extend(self._options(c, routes[c], r))
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

    def _reachable(self, routes: Mapping[int, Stops], r: int, kinds: set[str]) -> list[int]:
        """Cars of ``routes`` that may take ``r`` with a gap between two stops (or after the
        last) where its pickup fits in time: one vectorised pass over every car's edges."""
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
        a = np.concatenate([v.path[:-1] for v in views])
        b = np.concatenate([v.path[1:] for v in views])
        departure = np.concatenate([v.departure for v in views])
        latest_next = np.concatenate([v.latest_next for v in views])
        pickup_s = np.maximum(departure + problem.dur_s[a, r], problem.pickup_earliest_s[r])
        ok = (pickup_s <= problem.pickup_latest_s[r]) & (
            pickup_s + problem.service_s[r] + problem.dur_s[r, b] <= latest_next)
        owner = np.repeat(np.arange(len(cars)), [len(v.departure) for v in views])
        return [cars[k] for k in np.unique(owner[ok])]

    def _view(self, c: int, stops: Stops) -> _RouteView | None:
        key = (c, tuple(stops))
        if key not in self._views:
            if len(self._views) > 50_000:
                self._views.clear()
            self._views[key] = _route_view(self.problem, c, stops)
        return self._views[key]

    def _options(self, c: int, stops: Stops, r: int) -> list[tuple[float, int, int, int]]:
        """(added CNY, car, i, j) of every pair of positions that passes the quick checks."""
        view = self._view(c, stops)
        if view is None:
            return []
        problem = self.problem
        car = problem.cars[c]
        n = problem.n_requests
        a, b = view.path[:-1], view.path[1:]  # edge k runs from path[k] to path[k + 1]
        o, d = r, n + r
        km, hours, dur = problem.km, problem.hours, problem.dur_s
        # times first: on most cars no gap between two stops fits the pickup window
        pickup_s = np.maximum(view.departure + dur[a, o], problem.pickup_earliest_s[r])
        leave_s = pickup_s + problem.service_s[o]
        ok_pick = pickup_s <= problem.pickup_latest_s[r]
        both_drop_s = leave_s + dur[o, d]
        ok_both = (ok_pick & (both_drop_s <= problem.dropoff_latest_s[r])
                   & (both_drop_s + problem.service_s[d] + dur[d, b] <= view.latest_next))
        ok_pick &= leave_s + dur[o, b] <= view.latest_next  # the next stop still in time
        if not (ok_pick.any() or ok_both.any()):
            return []
        drop_s = view.departure + dur[a, d]
        ok_drop = (drop_s <= problem.dropoff_latest_s[r]) & (
            drop_s + problem.service_s[d] + dur[d, b] <= view.latest_next)

        base_km, base_h = km[a, b], hours[a, b]
        pick_km, pick_h = km[a, o] + km[o, b] - base_km, hours[a, o] + hours[o, b] - base_h
        drop_km, drop_h = km[a, d] + km[d, b] - base_km, hours[a, d] + hours[d, b] - base_h
        both_km = km[a, o] + km[o, d] + km[d, b] - base_km
        both_h = hours[a, o] + hours[o, d] + hours[d, b] - base_h

        L = len(stops)
        blockers = np.zeros(L + 2, dtype=np.int64)
        for q, first, last in view.riders:
            if not self.share[r, q]:
                blockers[first] += 1
                blockers[last + 1] -= 1
        ok_edge = (view.load + problem.passengers[r] <= car.seats) & (
            np.cumsum(blockers)[: L + 1] == 0)
        run_end = _run_ends(ok_edge)

        first, second = _pairs(L + 1)
        same = first == second
        keep = ok_edge[first] & (second <= run_end[first]) & np.where(
            same, ok_both[first], ok_pick[first] & ok_drop[second])
        first, second, same = first[keep], second[keep], same[keep]
        extra_km = np.where(same, both_km[first], pick_km[first] + drop_km[second])
        extra_h = np.where(same, both_h[first], pick_h[first] + drop_h[second])
        fits = extra_km <= view.slack_km + 1e-9
        cost = car.per_km_cny * extra_km[fits] + car.per_hour_cny * extra_h[fits]
        return [(float(x), c, int(i), int(j))
                for x, i, j in zip(cost, first[fits], second[fits], strict=True)]


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
    return _RouteView(path=path, departure=departure, latest_next=latest_next, load=load,
                      riders=tuple(riders),
                      slack_km=car.usable_km - stops_km(problem, c, stops))


@functools.lru_cache(maxsize=256)
def _pairs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j), i <= j < size."""
    return np.triu_indices(size)


def _run_ends(ok: np.ndarray) -> np.ndarray:
    """For each k, the last index of the run of True values starting at k (k - 1 if False)."""
    ends = np.empty(len(ok), dtype=np.int64)
    end = -1
    for k in range(len(ok) - 1, -1, -1):
        end = max(end, k) if ok[k] else k - 1
        ends[k] = end
    return ends
