"""An independent plan checker: re-verifies every rule and recomputes the cost.

It reads only the instance, the travel matrix over :func:`dispatch.travel.instance_points`
and the plan; it shares no code with the solvers. Times are checked with float durations
(solvers round up to whole seconds, so their times are never earlier than these). Shared
rides are checked stop by stop: seats over every leg, ``exclusive`` trips alone, agencies that
share only within, and each passenger's ride (leaving the pickup to reaching the drop-off)
against ``max_ride_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.instance import Instance, Request, lease_slots
from dispatch.plan import REASONS, Plan
from dispatch.travel import TravelMatrix, instance_matrix

TIME_TOL_S = 1e-6
MONEY_TOL_CNY = 0.01


@dataclass(frozen=True)
class _CarRules:
    kind: str
    home: int
    shift_start: datetime
    shift_end: datetime
    range_km: float | None
    seats: int
    vehicle_class: str
    is_nev: bool
    fixed_cny: float
    per_km_cny: float
    per_hour_cny: float


def _car_rules(instance: Instance) -> dict[str, _CarRules]:
    n = len(instance.requests)
    depot_point = {d.id: 2 * n + i for i, d in enumerate(instance.depots)}
    cars = {
        v.id: _CarRules("pool", depot_point[v.depot], v.shift_start, v.shift_end, v.range_km,
                        v.seats, v.vehicle_class.value, v.is_nev, v.fixed_cost_cny,
                        v.cost_per_km_cny, v.cost_per_hour_cny)
        for v in instance.vehicles
    }
    for slot in lease_slots(instance):
        lessor = instance.lessors[slot.lessor]
        tariff = lessor.tariffs[slot.tariff]
        cars[slot.id] = _CarRules(
            "lease", 2 * n + len(instance.depots) + slot.lessor, lessor.shift_start,
            lessor.shift_end, tariff.range_km, tariff.seats, tariff.vehicle_class.value,
            tariff.is_nev, tariff.base_cny, tariff.per_km_cny, tariff.per_hour_cny)
    return cars


def _co_ride_clashes(
    instance: Instance, request: Request, onboard: list[Request], seats: int
) -> list[str]:
    """Why ``request`` may not board a car that already carries ``onboard``."""
    clashes: list[str] = []
    total = request.passengers + sum(other.passengers for other in onboard)
    if total > seats:
        clashes.append(f"{total} passengers on board, {seats} seats")
    if not onboard:
        return clashes
    names = ", ".join(other.id for other in onboard)
    if not instance.policy.sharing:
        clashes.append(f"shares the car with {names} but sharing is off")
    elif request.exclusive or any(other.exclusive for other in onboard):
        clashes.append(f"shares the car with {names} but an exclusive trip rides alone")
    within = set(instance.policy.share_within_agency)
    if any(other.agency != request.agency and (other.agency in within or request.agency in within)
           for other in onboard):
        clashes.append(f"shares the car with {names} across agencies that share only within")
    return clashes


def check_plan(instance: Instance, plan: Plan, matrix: TravelMatrix | None = None) -> list[str]:
    """Every broken rule of ``plan`` as one line; an empty list means the plan is valid."""
    return audit_plan(instance, plan, matrix)[0]


def audit_plan(
    instance: Instance, plan: Plan, matrix: TravelMatrix | None = None
) -> tuple[list[str], float]:
    """Violations and the recomputed total cost (CNY) of ``plan``."""
    matrix = matrix or instance_matrix(instance)
    n = len(instance.requests)
    index = {r.id: i for i, r in enumerate(instance.requests)}
    cars = _car_rules(instance)
    policy = instance.policy
    violations: list[str] = []
    served: dict[str, str] = {}
    used_cars: set[str] = set()
    rode_with: dict[str, set[str]] = {}  # request id -> requests on board with it at some moment
    total_cny = 0.0

    def leg(a: int, b: int) -> tuple[float, float]:
        return float(matrix.distance_km[a, b]), float(matrix.duration_s[a, b])

    for k, route in enumerate(plan.routes):
        where = f"routes[{k}] ({route.vehicle})"
        car = cars.get(route.vehicle)
        if car is None:
            violations.append(f"{where}: unknown vehicle")
            continue
        if route.vehicle in used_cars:
            violations.append(f"{where}: vehicle has two routes")
        used_cars.add(route.vehicle)
        if route.kind != car.kind:
            violations.append(f"{where}: kind is {route.kind}, vehicle is {car.kind}")
        if not route.stops:
            violations.append(f"{where}: route without stops")
            continue
        point, free_at = car.home, car.shift_start
        km = hours = 0.0
        onboard: dict[str, datetime] = {}  # request id -> when its passengers left the pickup
        for s, stop in enumerate(route.stops):
            here = f"{where}.stops[{s}]"
            r = index.get(stop.request)
            if r is None:
                violations.append(f"{here}: unknown request {stop.request!r}")
                break
            request = instance.requests[r]
            target = r if stop.type == "pickup" else n + r
            dist_km, dur_s = leg(point, target)
            km += dist_km
            hours += dur_s / 3600.0
            if (stop.arrival - free_at).total_seconds() < dur_s - TIME_TOL_S:
                violations.append(f"{here}: arrives before the car can get there")
            if stop.start < stop.arrival:
                violations.append(f"{here}: starts before it arrives")
            if stop.type == "pickup":
                for other in onboard:
                    rode_with.setdefault(stop.request, set()).add(other)
                    rode_with.setdefault(other, set()).add(stop.request)
                violations.extend(f"{here}: {clash}" for clash in _co_ride_clashes(
                    instance, request, [instance.requests[index[o]] for o in onboard], car.seats))
                if stop.request in served:
                    violations.append(f"{here}: request {stop.request} served twice")
                served[stop.request] = route.vehicle
                onboard[stop.request] = stop.start + timedelta(seconds=request.service_pickup_s)
                if not request.pickup_earliest <= stop.start <= request.pickup_latest:
                    violations.append(f"{here}: pickup outside the pickup window")
                wanted = request.vehicle_class
                if wanted is not None and wanted.value != car.vehicle_class:
                    violations.append(f"{here}: needs a {wanted.value}")
                if request.nev_required and not car.is_nev:
                    violations.append(f"{here}: needs a new-energy vehicle")
                service_s = request.service_pickup_s
            else:
                boarded = onboard.pop(stop.request, None)
                if boarded is None:
                    violations.append(f"{here}: drop-off without its pickup before it")
                elif request.max_ride_s is not None and (
                        (stop.start - boarded).total_seconds() > request.max_ride_s + TIME_TOL_S):
                    ride_s = (stop.start - boarded).total_seconds()
                    violations.append(f"{here}: ride of {ride_s:.0f} s exceeds max_ride_s "
                                      f"{request.max_ride_s}")
                if request.dropoff_latest is not None and stop.start > request.dropoff_latest:
                    violations.append(f"{here}: drop-off after dropoff_latest")
                service_s = request.service_dropoff_s
            point = target
            free_at = stop.start + timedelta(seconds=service_s)
        if onboard:
            violations.append(f"{where}: ends with {', '.join(onboard)} on board")
        dist_km, dur_s = leg(point, car.home)
        km += dist_km
        hours += dur_s / 3600.0
        if route.stops and route.stops[0].arrival < car.shift_start:
            violations.append(f"{where}: starts before the shift")
        if (car.shift_end - free_at).total_seconds() < dur_s - TIME_TOL_S:
            violations.append(f"{where}: back home after the shift ends")
        if car.range_km is not None:
            usable = car.range_km * policy.winter_range_factor * (1 - policy.range_margin_fraction)
            if km > usable + 1e-6:
                violations.append(f"{where}: {km:.1f} km exceeds the usable range {usable:.1f} km")
        cost_cny = car.fixed_cny + car.per_km_cny * km + car.per_hour_cny * hours
        total_cny += cost_cny
        if abs(route.km - km) > 0.01 + 1e-6 * km:
            violations.append(f"{where}: km {route.km} but the legs add up to {km:.3f}")
        if abs(route.cost_cny - cost_cny) > MONEY_TOL_CNY + 1e-6 * cost_cny:
            violations.append(f"{where}: cost {route.cost_cny} but recomputed {cost_cny:.2f}")
    if abs(plan.total_cost_cny - total_cny) > MONEY_TOL_CNY * max(1, len(plan.routes)):
        violations.append(f"total_cost_cny: {plan.total_cost_cny} but recomputed {total_cny:.2f}")
    for request_id in sorted(set(rode_with) | set(plan.shared_with)):
        listed, actual = set(plan.shared_with.get(request_id, [])), rode_with.get(request_id, set())
        if listed != actual:
            violations.append(f"shared_with: {request_id} lists {sorted(listed)} but rode with "
                              f"{sorted(actual)}")
    unserved = {u.request for u in plan.unserved}
    for u in plan.unserved:
        if u.request in served:
            violations.append(f"unserved: {u.request} is also served")
        if u.reason not in REASONS:
            violations.append(f"unserved: {u.request} has unknown reason {u.reason!r}")
    for request in instance.requests:
        if request.id not in served and request.id not in unserved:
            violations.append(f"requests: {request.id} neither served nor listed as unserved")
    return violations, total_cny

