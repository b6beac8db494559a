"""An instance compiled to arrays for the solvers: trip blocks, cars, compatibility.

An official trip is one closed block: the car reaches the origin, waits if early, picks the
passengers up (``service_pickup_s``), drives straight to the destination and drops them off
(``service_dropoff_s``). A car's day is a chain of blocks between leaving its home (depot or
lessor) and coming back. Times here are integer seconds after ``t0``; travel durations are
rounded up to whole seconds so that every computed time is reachable. Money is CNY.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from dispatch.instance import Instance, lease_slots
from dispatch.travel import TravelMatrix

NO_LIMIT_S = 10**9  # stands for "no limit" in the integer-second arrays


@dataclass(frozen=True)
class Car:
    """One pool car or one leased car a tariff allows."""

    id: str
    kind: str  # "pool" | "lease"
    home: int  # point index of the depot or lessor
    shift_start_s: int
    shift_end_s: int
    usable_km: float  # range after margin and winter derating; inf = no limit
    fixed_cny: float
    per_km_cny: float
    per_hour_cny: float
    seats: int
    vehicle_class: str
    is_nev: bool
    lessor: str | None = None
    tariff: int | None = None  # index of the tariff at its lessor

    @property
    def type_key(self) -> tuple[object, ...]:
        """Cars with equal keys are interchangeable while empty."""
        return (self.kind, self.home, self.shift_start_s, self.shift_end_s, self.usable_km,
                self.fixed_cny, self.per_km_cny, self.per_hour_cny, self.seats,
                self.vehicle_class, self.is_nev, self.lessor, self.tariff)


@dataclass
class Problem:
    """Arrays over requests (index r) and cars (index c) for one planning day."""

    instance: Instance
    matrix: TravelMatrix
    t0: datetime
    cars: list[Car]
    pickup_earliest_s: np.ndarray  # (R,) int
    pickup_latest_s: np.ndarray  # (R,) int, tightened by dropoff_latest
    ride_s: np.ndarray  # (R,) int, origin -> destination, rounded up
    block_s: np.ndarray  # (R,) int, service at pickup + ride + service at drop-off
    ride_km: np.ndarray  # (R,) float
    dur_s: np.ndarray  # (P, P) int, travel durations rounded up
    km: np.ndarray  # (P, P) float
    hours: np.ndarray  # (P, P) float, driving hours
    compatible: np.ndarray  # (R, C) bool: the car can serve the request on its own
    passengers: np.ndarray  # (R,) int
    service_s: np.ndarray  # (2R,) int, service at each pickup point, then each drop-off point
    dropoff_latest_s: np.ndarray  # (R,) int, NO_LIMIT_S where none
    max_ride_s: np.ndarray  # (R,) int, leaving the pickup to reaching the drop-off; NO_LIMIT_S
    exclusive: np.ndarray  # (R,) bool: rides alone (every request when sharing is off)
    share_group: np.ndarray  # (R,) int: 0 shares with anyone; k > 0 only within agency group k
    refusals: dict[int, str] = field(default_factory=dict)  # r -> reason, nobody can serve

    @property
    def n_requests(self) -> int:
        return len(self.instance.requests)

    @property
    def sharing(self) -> bool:
        """Whether any two requests may ride together."""
        return bool((~self.exclusive).sum() > 1)

    def may_share(self, a: int, b: int) -> bool:
        """Whether requests ``a`` and ``b`` may be in one car at the same time."""
        return (not self.exclusive[a] and not self.exclusive[b]
                and self.share_group[a] == self.share_group[b])

    def origin(self, r: int) -> int:
        return r

    def destination(self, r: int) -> int:
        return self.n_requests + r

    def at(self, seconds: int) -> datetime:
        return self.t0 + timedelta(seconds=int(seconds))

    def timeline(self, c: int, seq: list[int]) -> list[int] | None:
        """Earliest pickup start of each block of ``seq`` on car ``c``; None if infeasible."""
        car = self.cars[c]
        point, ready = car.home, car.shift_start_s
        starts: list[int] = []
        for r in seq:
            start = max(int(self.pickup_earliest_s[r]), ready + int(self.dur_s[point, r]))
            if start > self.pickup_latest_s[r]:
                return None
            starts.append(start)
            ready = start + int(self.block_s[r])
            point = self.destination(r)
        if ready + int(self.dur_s[point, car.home]) > car.shift_end_s:
            return None
        return starts

    def route_km(self, c: int, seq: list[int]) -> float:
        car = self.cars[c]
        point, total = car.home, 0.0
        for r in seq:
            total += self.km[point, r] + self.ride_km[r]
            point = self.destination(r)
        return total + self.km[point, car.home]

    def route_hours(self, c: int, seq: list[int]) -> float:
        car = self.cars[c]
        point, total = car.home, 0.0
        for r in seq:
            total += self.hours[point, r] + self.hours[r, self.destination(r)]
            point = self.destination(r)
        return total + self.hours[point, car.home]

    def route_cost_cny(self, c: int, seq: list[int]) -> float:
        """Fixed or base charge + per km x km + per hour x driving hours; 0 if unused."""
        if not seq:
            return 0.0
        car = self.cars[c]
        return (car.fixed_cny + car.per_km_cny * self.route_km(c, seq)
                + car.per_hour_cny * self.route_hours(c, seq))

    def feasible(self, c: int, seq: list[int]) -> bool:
        return (self.timeline(c, seq) is not None
                and self.route_km(c, seq) <= self.cars[c].usable_km + 1e-9
                and all(self.compatible[r, c] for r in seq))


def _seconds(t: datetime, t0: datetime) -> int:
    return math.floor((t - t0).total_seconds())


def _seconds_up(t: datetime, t0: datetime) -> int:
    return math.ceil((t - t0).total_seconds())


def _cars(instance: Instance, t0: datetime, n_requests: int) -> list[Car]:
    policy = instance.policy
    derate = policy.winter_range_factor * (1.0 - policy.range_margin_fraction)
    depot_point = {d.id: 2 * n_requests + i for i, d in enumerate(instance.depots)}
    lessor_base = 2 * n_requests + len(instance.depots)
    cars: list[Car] = []
    for v in instance.vehicles:
        cars.append(Car(
            id=v.id, kind="pool", home=depot_point[v.depot],
            shift_start_s=_seconds_up(v.shift_start, t0), shift_end_s=_seconds(v.shift_end, t0),
            usable_km=math.inf if v.range_km is None else v.range_km * derate,
            fixed_cny=v.fixed_cost_cny, per_km_cny=v.cost_per_km_cny,
            per_hour_cny=v.cost_per_hour_cny, seats=v.seats,
            vehicle_class=v.vehicle_class.value, is_nev=v.is_nev,
        ))
    for slot in lease_slots(instance):
        lessor = instance.lessors[slot.lessor]
        tariff = lessor.tariffs[slot.tariff]
        cars.append(Car(
            id=slot.id, kind="lease", home=lessor_base + slot.lessor,
            shift_start_s=_seconds_up(lessor.shift_start, t0),
            shift_end_s=_seconds(lessor.shift_end, t0),
            usable_km=math.inf if tariff.range_km is None else tariff.range_km * derate,
            fixed_cny=tariff.base_cny, per_km_cny=tariff.per_km_cny,
            per_hour_cny=tariff.per_hour_cny, seats=tariff.seats,
            vehicle_class=tariff.vehicle_class.value, is_nev=tariff.is_nev,
            lessor=lessor.id, tariff=slot.tariff,
        ))
    return cars


def compile_problem(instance: Instance, matrix: TravelMatrix) -> Problem:
    """Compile ``instance`` with ``matrix`` over :func:`dispatch.travel.instance_points`."""
    requests = instance.requests
    n = len(requests)
    times = [r.pickup_earliest for r in requests] + [v.shift_start for v in instance.vehicles]
    times += [lessor.shift_start for lessor in instance.lessors]
    t0 = min(times) if times else datetime.now().astimezone()
    t0 = t0.replace(minute=0, second=0, microsecond=0)
    cars = _cars(instance, t0, n)
    dur_s = np.ceil(matrix.duration_s - 1e-9).astype(np.int64)
    idx = np.arange(n)
    ride_s = dur_s[idx, n + idx] if n else np.zeros(0, dtype=np.int64)
    ride_km = matrix.distance_km[idx, n + idx] if n else np.zeros(0)
    service_p = np.array([r.service_pickup_s for r in requests], dtype=np.int64)
    block_s = service_p + ride_s + np.array([r.service_dropoff_s for r in requests], dtype=np.int64)
    pe = np.array([_seconds_up(r.pickup_earliest, t0) for r in requests], dtype=np.int64)
    pl = np.array([_seconds(r.pickup_latest, t0) for r in requests], dtype=np.int64)
    dl = np.full(n, NO_LIMIT_S, dtype=np.int64)
    for i, r in enumerate(requests):
        if r.dropoff_latest is not None:
            dl[i] = _seconds(r.dropoff_latest, t0)
            pl[i] = min(pl[i], dl[i] - service_p[i] - ride_s[i])
    policy = instance.policy
    restricted = {agency: k + 1 for k, agency in enumerate(policy.share_within_agency)}
    problem = Problem(
        instance=instance, matrix=matrix, t0=t0, cars=cars,
        pickup_earliest_s=pe, pickup_latest_s=pl, ride_s=ride_s, block_s=block_s,
        ride_km=ride_km, dur_s=dur_s, km=matrix.distance_km, hours=matrix.duration_s / 3600.0,
        compatible=np.zeros((n, len(cars)), dtype=bool),
        passengers=np.array([r.passengers for r in requests], dtype=np.int64),
        service_s=np.concatenate([service_p, block_s - service_p - ride_s]),
        dropoff_latest_s=dl,
        max_ride_s=np.array([NO_LIMIT_S if r.max_ride_s is None else r.max_ride_s
                             for r in requests], dtype=np.int64),
        exclusive=np.array([r.exclusive or not policy.sharing for r in requests], dtype=bool),
        share_group=np.array([restricted.get(r.agency, 0) for r in requests], dtype=np.int64),
    )
    _fill_compatibility(problem)
    return problem


def _fill_compatibility(problem: Problem) -> None:
    """Which car can serve which request alone, and why the others cannot be served at all."""
    requests, cars, n = problem.instance.requests, problem.cars, problem.n_requests
    if not requests or not cars:
        problem.refusals.update({r: "no_vehicle_class" for r in range(n)})
        return
    idx = np.arange(n)[:, None]
    home = np.array([car.home for car in cars])[None, :]
    seats = np.array([car.seats for car in cars])[None, :]
    car_class = np.array([car.vehicle_class for car in cars], dtype=object)[None, :]
    car_nev = np.array([car.is_nev for car in cars])[None, :]
    passengers = np.array([r.passengers for r in requests])[:, None]
    wanted = np.array([r.vehicle_class.value if r.vehicle_class else "" for r in requests],
                      dtype=object)[:, None]
    nev_required = np.array([r.nev_required for r in requests])[:, None]
    suits = (seats >= passengers) & ((wanted == "") | (wanted == car_class))
    suits &= car_nev | ~nev_required
    shift_start = np.array([car.shift_start_s for car in cars])[None, :]
    shift_end = np.array([car.shift_end_s for car in cars])[None, :]
    start = np.maximum(problem.pickup_earliest_s[:, None], shift_start + problem.dur_s[home, idx])
    back = problem.dur_s[n + idx, home]
    times = (start <= problem.pickup_latest_s[:, None])
    times &= start + problem.block_s[:, None] + back <= shift_end
    km = problem.km[home, idx] + problem.ride_km[:, None] + problem.km[n + idx, home]
    ranges = km <= np.array([car.usable_km for car in cars])[None, :] + 1e-9
    rides = (problem.ride_s <= problem.max_ride_s)[:, None]
    problem.compatible = suits & times & ranges & rides
    for r in np.flatnonzero(~problem.compatible.any(axis=1)):
        problem.refusals[int(r)] = (
            "no_vehicle_class" if not suits[r].any()
            else "ride_time" if not rides[r, 0]
            else "window_infeasible" if not (suits[r] & times[r]).any() else "range"
        )


def busy_reason(problem: Problem, r: int) -> str:
    """Why a request that some car could serve alone was left out of a plan."""
    kinds = {problem.cars[c].kind for c in np.flatnonzero(problem.compatible[r])}
    return "lessor_capacity" if "lease" in kinds else "pool_busy"
