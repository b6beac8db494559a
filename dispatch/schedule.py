"""A schedule: the chain of trip blocks of every car, with fast cheapest-insertion queries.

For every car the schedule keeps the earliest pickup start of each block (forward pass) and
the latest start that keeps the rest of the chain feasible (backward pass). Every gap between
two blocks (and before the first, after the last) is one row of flat numpy arrays, so the
cost of inserting a request into every gap of every car is one vectorised pass.
Times are integer seconds after ``Problem.t0``; money CNY; distances km.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dispatch.problem import Problem


@dataclass(frozen=True)
class Insertion:
    """Put request ``request`` at position ``position`` of car ``car``'s chain."""

    request: int
    car: int
    position: int
    cost_cny: float


class Schedule:
    """Chains of request indices per car index, kept feasible."""

    def __init__(
        self,
        problem: Problem,
        chains: dict[int, list[int]] | None = None,
        closed: set[int] | None = None,
    ) -> None:
        """``closed`` cars take no insertion (their day is planned some other way)."""
        self.problem = problem
        self.closed = set(closed or ())
        self.chains: list[list[int]] = [[] for _ in problem.cars]
        self._earliest: list[list[int]] = [[] for _ in problem.cars]
        self._latest: list[list[int]] = [[] for _ in problem.cars]
        self._km: list[float] = [0.0 for _ in problem.cars]
        self._gaps: list[np.ndarray] = [np.empty((0, 5)) for _ in problem.cars]
        self._flat: tuple[np.ndarray, ...] | None = None
        self._car_fields = np.array([  # per car: CNY/km, CNY/h, usable km, fixed CNY
            [car.per_km_cny, car.per_hour_cny, car.usable_km, car.fixed_cny] for car in problem.cars
        ]).reshape(-1, 4)
        self._kind = np.array([car.kind for car in problem.cars])
        for c in range(len(problem.cars)):
            self._refresh(c)
        for c, chain in (chains or {}).items():
            self.chains[c] = list(chain)
            self._refresh(c)

    def served(self) -> dict[int, int]:
        """Request index -> car index."""
        return {r: c for c, chain in enumerate(self.chains) for r in chain}

    def routes(self) -> dict[int, list[int]]:
        """Non-empty chains by car index."""
        return {c: list(chain) for c, chain in enumerate(self.chains) if chain}

    def _refresh(self, c: int) -> None:
        p, car, chain = self.problem, self.problem.cars[c], self.chains[c]
        earliest: list[int] = []
        point, ready, km = car.home, car.shift_start_s, 0.0
        for r in chain:
            start = max(int(p.pickup_earliest_s[r]), ready + int(p.dur_s[point, r]))
            earliest.append(start)
            km += p.km[point, r] + p.ride_km[r]
            ready = start + int(p.block_s[r])
            point = p.destination(r)
        km += p.km[point, car.home]
        latest = [0] * len(chain)
        limit = car.shift_end_s  # latest arrival at the next point
        nxt = car.home
        for k in range(len(chain) - 1, -1, -1):
            r = chain[k]
            start_by = limit - int(p.dur_s[p.destination(r), nxt]) - int(p.block_s[r])
            latest[k] = min(int(p.pickup_latest_s[r]), start_by)
            limit, nxt = latest[k], r
        self._earliest[c], self._latest[c] = earliest, latest
        self._km[c] = km if chain else 0.0
        # gap rows: prev point, ready time, next point, latest arrival at next, position
        rows = np.empty((len(chain) + 1, 5))
        prev, ready = car.home, car.shift_start_s
        for k in range(len(chain) + 1):
            nxt_point = chain[k] if k < len(chain) else car.home
            nxt_latest = latest[k] if k < len(chain) else car.shift_end_s
            rows[k] = (prev, ready, nxt_point, nxt_latest, k)
            if k < len(chain):
                r = chain[k]
                prev, ready = p.destination(r), earliest[k] + int(p.block_s[r])
        self._gaps[c] = rows
        self._flat = None

    def _flatten(self) -> tuple[np.ndarray, ...]:
        if self._flat is None:
            seen: set[tuple[object, ...]] = set()
            keep: list[int] = []
            for c, car in enumerate(self.problem.cars):
                if c in self.closed:
                    continue
                if not self.chains[c]:
                    if car.type_key in seen:
                        continue  # an empty car like one already offered
                    seen.add(car.type_key)
                keep.append(c)
            rows = np.concatenate([self._gaps[c] for c in keep] + [np.empty((0, 5))])
            cars = np.concatenate([np.full(len(self._gaps[c]), c) for c in keep]
                                  + [np.empty(0, dtype=np.int64)]).astype(np.int64)
            empty = np.array([not self.chains[c] for c in cars], dtype=bool)
            slack = self._car_fields[cars, 2] - np.array(
                [self._km[c] for c in keep], dtype=float).repeat(
                np.array([len(self._gaps[c]) for c in keep], dtype=np.int64))
            prev = rows[:, 0].astype(np.int64)
            nxt = rows[:, 2].astype(np.int64)
            base_km = self.problem.km[prev, nxt] * ~empty
            base_h = self.problem.hours[prev, nxt] * ~empty
            self._flat = (cars, prev, rows[:, 1], nxt, rows[:, 3], rows[:, 4].astype(np.int64),
                          slack, base_km, base_h, empty)
        return self._flat

    def _options(self, r: int, kinds: Iterable[str]) -> tuple[np.ndarray, ...]:
        """Car, position and added cost (CNY) of every feasible gap for request ``r``."""
        p = self.problem
        cars, prev, ready, nxt, nxt_latest, pos, slack, base_km, base_h, empty = self._flatten()
        ok = p.compatible[r, cars]
        wanted = set(kinds)
        if wanted != {"pool", "lease"}:
            ok &= np.isin(self._kind[cars], list(wanted))
        origin, dest = p.origin(r), p.destination(r)
        start = np.maximum(p.pickup_earliest_s[r], ready + p.dur_s[prev, origin])
        ok &= start <= p.pickup_latest_s[r]
        ok &= start + p.block_s[r] + p.dur_s[dest, nxt] <= nxt_latest
        add_km = p.km[prev, origin] + p.ride_km[r] + p.km[dest, nxt] - base_km
        ok &= add_km <= slack + 1e-9
        idx = np.flatnonzero(ok)
        fields = self._car_fields[cars[idx]]
        add_h = (p.hours[prev[idx], origin] + p.hours[origin, dest] + p.hours[dest, nxt[idx]]
                 - base_h[idx])
        cost = fields[:, 0] * add_km[idx] + fields[:, 1] * add_h + fields[:, 3] * empty[idx]
        return cars[idx], pos[idx], cost

    def insertions(self, r: int, kinds: Iterable[str] = ("pool", "lease")) -> list[Insertion]:
        """Every feasible insertion of request ``r``, cheapest first (the best one per car)."""
        cars, pos, cost = self._options(r, kinds)
        result: list[Insertion] = []
        seen: set[int] = set()
        for k in np.argsort(cost, kind="stable"):
            c = int(cars[k])
            if c not in seen:
                seen.add(c)
                result.append(Insertion(r, c, int(pos[k]), float(cost[k])))
        return result

    def best_insertion(
        self, r: int, kinds: Iterable[str] = ("pool", "lease")
    ) -> Insertion | None:
        """The cheapest feasible insertion of request ``r``, or None."""
        cars, pos, cost = self._options(r, kinds)
        if not len(cost):
            return None
        k = int(np.argmin(cost))
        return Insertion(r, int(cars[k]), int(pos[k]), float(cost[k]))

    def insert(self, move: Insertion) -> None:
        self.chains[move.car].insert(move.position, move.request)
        self._refresh(move.car)

    def remove(self, r: int, c: int) -> None:
        self.chains[c].remove(r)
        self._refresh(c)

    def replace(self, c: int, chain: list[int]) -> None:
        """Give car ``c`` the chain ``chain`` (the caller knows it is feasible)."""
        self.chains[c] = list(chain)
        self._refresh(c)
