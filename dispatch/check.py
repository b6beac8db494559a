"""An independent plan checker: re-verifies every rule and recomputes the cost.

It reads only the instance, the travel matrix over :func:`dispatch.travel.instance_points`
and the plan; it shares no code with the solvers. Times are checked with float durations
(solvers round up to whole seconds, so their times are never earlier than these). Shared
rides are checked stop by stop: seats over every leg, ``exclusive`` trips alone, agencies that
share only within, and each passenger's ride (leaving the pickup to reaching the drop-off)
against ``max_ride_s``.

:func:`plan_violations` gives the same findings as data (:class:`Violation`: a rule code, the
route, stop and request it concerns, and the figures), for callers that say them in other
words or pick some rules out (a dispatcher's override is checked that way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dispatch.instance import Instance, Request, lease_slots
from dispatch.plan import REASONS, Plan
from dispatch.travel import TravelMatrix, instance_matrix

TIME_TOL_S = 1e-6
MONEY_TOL_CNY = 0.01


@dataclass(frozen=True)
class Violation:
    """One broken rule of a plan.

    ``code`` names the rule (``seats``, ``vehicle_class``, ``nev_required``, ``unreachable``,
    ``before_shift``, ``after_shift``, ``range``, ``exclusive``, ``share_within_agency``,
    ``sharing_off``, ``pickup_window``, ``max_ride``, ``dropoff_late``, ... ); ``vehicle`` and
    ``stop`` (index in its route) say where, ``request`` the request of that stop; ``params``
    holds the figures (km, seconds, passenger counts; ``with``: the requests on board or the
    request of the stop before). ``text`` is the line :func:`check_plan` gives.
    """

    code: str
    text: str
    vehicle: str | None = None
    stop: int | None = None
    request: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


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
) -> list[tuple[str, str, dict[str, Any]]]:
    """Why ``request`` may not board a car that already carries ``onboard``: (code, words,
    figures) of each rule it breaks."""
    clashes: list[tuple[str, str, dict[str, Any]]] = []
    total = request.passengers + sum(other.passengers for other in onboard)
    others = [other.id for other in onboard]
    if total > seats:
        clashes.append(("seats", f"{total} passengers on board, {seats} seats",
                        {"passengers": total, "seats": seats, "with": others}))
    if not onboard:
        return clashes
    names = ", ".join(others)
    if not instance.policy.sharing:
        clashes.append(("sharing_off", f"shares the car with {names} but sharing is off",
                        {"with": others}))
    elif request.exclusive or any(other.exclusive for other in onboard):
        clashes.append(("exclusive", f"shares the car with {names} but an exclusive trip rides alone",
                        {"with": [o.id for o in onboard if o.exclusive or request.exclusive]}))
    within = set(instance.policy.share_within_agency)
    apart = [other.id for other in onboard if other.agency != request.agency
             and (other.agency in within or request.agency in within)]
    if apart:
        clashes.append(("share_within_agency",
                        f"shares the car with {names} across agencies that share only within",
                        {"with": apart}))
    return clashes


def check_plan(instance: Instance, plan: Plan, matrix: TravelMatrix | None = None) -> list[str]:
    """Every broken rule of ``plan`` as one line; an empty list means the plan is valid."""
    return audit_plan(instance, plan, matrix)[0]


def audit_plan(
    instance: Instance, plan: Plan, matrix: TravelMatrix | None = None
) -> tuple[list[str], float]:
    """Violations and the recomputed total cost (CNY) of ``plan``."""
    found, total_cny = plan_violations(instance, plan, matrix)
    return [v.text for v in found], total_cny


def plan_violations(
    instance: Instance, plan: Plan, matrix: TravelMatrix | None = None
) -> tuple[list[Violation], float]:
    """Every broken rule of ``plan`` as a :class:`Violation`, and the recomputed total cost
    (CNY)."""
    matrix = matrix or instance_matrix(instance)
    n = len(instance.requests)
    index = {r.id: i for i, r in enumerate(instance.requests)}
    cars = _car_rules(instance)
    policy = instance.policy
    violations: list[Violation] = []
    served: dict[str, str] = {}
    used_cars: set[str] = set()
    rode_with: dict[str, set[str]] = {}  # request id -> requests on board with it at some moment
    total_cny = 0.0

    def leg(a: int, b: int) -> tuple[float, float]:
        return float(matrix.distance_km[a, b]), float(matrix.duration_s[a, b])

    def flag(code: str, where: str, words: str, vehicle: str | None = None, stop: int | None = None,
             request: str | None = None, **params: Any) -> None:
        violations.append(Violation(code, f"{where}: {words}", vehicle, stop, request, params))

    for k, route in enumerate(plan.routes):
        where = f"routes[{k}] ({route.vehicle})"
        car = cars.get(route.vehicle)
        if car is None:
            flag("unknown_vehicle", where, "unknown vehicle", route.vehicle)
            continue
        if route.vehicle in used_cars:
            flag("two_routes", where, "vehicle has two routes", route.vehicle)
        used_cars.add(route.vehicle)
        if route.kind != car.kind:
            flag("kind", where, f"kind is {route.kind}, vehicle is {car.kind}", route.vehicle)
        if not route.stops:
            flag("no_stops", where, "route without stops", route.vehicle)
            continue
        point, free_at = car.home, car.shift_start
        previous: str | None = None  # request of the stop before (None: the car's home)
        km = hours = 0.0
        onboard: dict[str, datetime] = {}  # request id -> when its passengers left the pickup
        for s, stop in enumerate(route.stops):
            here = f"{where}.stops[{s}]"
            at = {"vehicle": route.vehicle, "stop": s, "request": stop.request}
            r = index.get(stop.request)
            if r is None:
                flag("unknown_request", here, f"unknown request {stop.request!r}", **at)
                break
            request = instance.requests[r]
            target = r if stop.type == "pickup" else n + r
            dist_km, dur_s = leg(point, target)
            km += dist_km
            hours += dur_s / 3600.0
            if (stop.arrival - free_at).total_seconds() < dur_s - TIME_TOL_S:
                flag("unreachable", here, "arrives before the car can get there", **at,
                     type=stop.type, after=previous, drive_s=round(dur_s))
            if stop.start < stop.arrival:
                flag("starts_early", here, "starts before it arrives", **at)
            if stop.type == "pickup":
                for other in onboard:
                    rode_with.setdefault(stop.request, set()).add(other)
                    rode_with.setdefault(other, set()).add(stop.request)
                for code, words, figures in _co_ride_clashes(
                        instance, request, [instance.requests[index[o]] for o in onboard], car.seats):
                    flag(code, here, words, **at, **figures)
                if stop.request in served:
                    flag("served_twice", here, f"request {stop.request} served twice", **at)
                served[stop.request] = route.vehicle
                onboard[stop.request] = stop.start + timedelta(seconds=request.service_pickup_s)
                if not request.pickup_earliest <= stop.start <= request.pickup_latest:
                    flag("pickup_window", here, "pickup outside the pickup window", **at,
                         pickup=stop.start.isoformat(), earliest=request.pickup_earliest.isoformat(),
                         latest=request.pickup_latest.isoformat())
                wanted = request.vehicle_class
                if wanted is not None and wanted.value != car.vehicle_class:
                    flag("vehicle_class", here, f"needs a {wanted.value}", **at,
                         wanted=wanted.value, actual=car.vehicle_class)
                if request.nev_required and not car.is_nev:
                    flag("nev_required", here, "needs a new-energy vehicle", **at)
                service_s = request.service_pickup_s
            else:
                boarded = onboard.pop(stop.request, None)
                if boarded is None:
                    flag("dropoff_first", here, "drop-off without its pickup before it", **at)
                elif request.max_ride_s is not None and (
                        (stop.start - boarded).total_seconds() > request.max_ride_s + TIME_TOL_S):
                    ride_s = (stop.start - boarded).total_seconds()
                    flag("max_ride", here, f"ride of {ride_s:.0f} s exceeds max_ride_s "
                         f"{request.max_ride_s}", **at, ride_s=round(ride_s), max_ride_s=request.max_ride_s)
                if request.dropoff_latest is not None and stop.start > request.dropoff_latest:
                    flag("dropoff_late", here, "drop-off after dropoff_latest", **at,
                         dropoff=stop.start.isoformat(), latest=request.dropoff_latest.isoformat())
                service_s = request.service_dropoff_s
            point = target
            previous = stop.request
            free_at = stop.start + timedelta(seconds=service_s)
        if onboard:
            flag("left_on_board", where, f"ends with {', '.join(onboard)} on board", route.vehicle)
        dist_km, dur_s = leg(point, car.home)
        km += dist_km
        hours += dur_s / 3600.0
        if route.stops and route.stops[0].arrival < car.shift_start:
            flag("before_shift", where, "starts before the shift", route.vehicle,
                 shift_start=car.shift_start.isoformat())
        if (car.shift_end - free_at).total_seconds() < dur_s - TIME_TOL_S:
            flag("after_shift", where, "back home after the shift ends", route.vehicle,
                 shift_end=car.shift_end.isoformat(), drive_home_s=round(dur_s))
        if car.range_km is not None:
            usable = car.range_km * policy.winter_range_factor * (1 - policy.range_margin_fraction)
            if km > usable + 1e-6:
                flag("range", where, f"{km:.1f} km exceeds the usable range {usable:.1f} km",
                     route.vehicle, km=round(km, 1), usable_km=round(usable, 1))
        cost_cny = car.fixed_cny + car.per_km_cny * km + car.per_hour_cny * hours
        total_cny += cost_cny
        if abs(route.km - km) > 0.01 + 1e-6 * km:
            flag("km", where, f"km {route.km} but the legs add up to {km:.3f}", route.vehicle)
        if abs(route.cost_cny - cost_cny) > MONEY_TOL_CNY + 1e-6 * cost_cny:
            flag("cost", where, f"cost {route.cost_cny} but recomputed {cost_cny:.2f}", route.vehicle)
    if abs(plan.total_cost_cny - total_cny) > MONEY_TOL_CNY * max(1, len(plan.routes)):
        flag("total_cost", "total_cost_cny", f"{plan.total_cost_cny} but recomputed {total_cny:.2f}")
    for request_id in sorted(set(rode_with) | set(plan.shared_with)):
        listed, actual = set(plan.shared_with.get(request_id, [])), rode_with.get(request_id, set())
        if listed != actual:
            flag("shared_with", "shared_with", f"{request_id} lists {sorted(listed)} but rode with "
                 f"{sorted(actual)}", request=request_id)
    unserved = {u.request for u in plan.unserved}
    for u in plan.unserved:
        if u.request in served:
            flag("unserved_served", "unserved", f"{u.request} is also served", request=u.request)
        if u.reason not in REASONS:
            flag("unserved_reason", "unserved", f"{u.request} has unknown reason {u.reason!r}",
                 request=u.request)
    for request in instance.requests:
        if request.id not in served and request.id not in unserved:
            flag("not_listed", "requests", f"{request.id} neither served nor listed as unserved",
                 request=request.id)
    return violations, total_cny
