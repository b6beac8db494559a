"""Builders for small hand-checked dispatch instances.

Geometry: every point lies on the meridian 119.2 E, given as km north of 34.6 N, so the
great-circle distance between two points is the difference of their km (detour factor 1) and
at 60 km/h one km takes one minute. Times are on 2026-11-03 in Asia/Shanghai (+08:00).
"""

from __future__ import annotations

from typing import Any

from dispatch.check import check_plan
from dispatch.instance import Instance, parse_instance
from dispatch.plan import Plan
from dispatch.travel import EARTH_RADIUS_KM

KM_PER_DEG = EARTH_RADIUS_KM * 3.141592653589793 / 180


def at_km(north_km: float) -> dict[str, float]:
    """A point ``north_km`` km north of 34.6 N on the meridian 119.2 E."""
    return {"lat": 34.6 + north_km / KM_PER_DEG, "lon": 119.2}


def hhmm(value: str) -> str:
    return f"2026-11-03T{value}:00+08:00"


def car(vehicle_id: str, **overrides: Any) -> dict[str, Any]:
    base = {"id": vehicle_id, "depot": "D", "class": "sedan", "seats": 4, "energy": "petrol",
            "range_km": None, "shift_start": hhmm("07:00"), "shift_end": hhmm("19:00"),
            "fixed_cost_cny": 100.0, "cost_per_km_cny": 1.0, "cost_per_hour_cny": 0.0}
    return base | overrides


def trip(request_id: str, from_km: float, to_km: float, earliest: str, latest: str | None = None,
         **overrides: Any) -> dict[str, Any]:
    base = {"id": request_id, "agency": "A1", "passengers": 1, "class": None,
            "nev_required": False, "origin": at_km(from_km), "destination": at_km(to_km),
            "pickup_earliest": hhmm(earliest), "pickup_latest": hhmm(latest or earliest),
            "service_pickup_s": 0, "service_dropoff_s": 0, "priority": 0}
    return base | overrides


def lessor(lessor_id: str, where_km: float, *tariffs: dict[str, Any]) -> dict[str, Any]:
    return {"id": lessor_id, **at_km(where_km), "shift_start": hhmm("06:00"),
            "shift_end": hhmm("22:00"), "tariffs": list(tariffs)}


def tariff(**overrides: Any) -> dict[str, Any]:
    base = {"class": "sedan", "seats": 4, "energy": "petrol", "base_cny": 100.0,
            "per_km_cny": 1.0, "per_hour_cny": 0.0, "max_vehicles": 1}
    return base | overrides


def day(vehicles: list[dict[str, Any]], requests: list[dict[str, Any]],
        lessors: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"travel": {"model": "haversine", "detour_factor": 1.0, "speed_kmh": 60.0},
            "depots": [{"id": "D", **at_km(0)}], "vehicles": vehicles,
            "lessors": lessors or [], "requests": requests, **extra}


def build(data: dict[str, Any]) -> Instance:
    return parse_instance(data)


def assert_valid(instance: Instance, plan: Plan) -> None:
    """Every test that solves re-checks the plan with the independent checker."""
    assert check_plan(instance, plan) == []


def car_of(plan: Plan, request_id: str) -> str | None:
    for route in plan.routes:
        if any(stop.request == request_id for stop in route.stops):
            return route.vehicle
    return None


def reason_of(plan: Plan, request_id: str) -> str | None:
    return next((u.reason for u in plan.unserved if u.request == request_id), None)

