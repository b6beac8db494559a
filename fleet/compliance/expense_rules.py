"""Cross-checks of expense records against the fleet (私车公养 and its reverse), as pure
functions over plain values. Volumes in litres, energy in kWh, distances in km.

Each check returns a finding ``{"check": name, "detail": text, ...figures}`` or None. The
thresholds and the rule version travel with every alert and into export manifests."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from fleet.models.common import NEV_ENERGIES, Energy, VehicleClass, VehicleStatus

EXPENSE_RULE_VERSION = "expense-2026.1"
ALERT_KIND = "expense.mismatch"

Finding = dict[str, Any]


@dataclass(frozen=True)
class ExpenseThresholds:
    """Limits of the expense cross-checks (see each field's unit)."""

    station_radius_km: float = 5.0
    gps_window_min: float = 15.0
    tank_l: dict[str, float] = field(default_factory=lambda: {
        VehicleClass.sedan.value: 70, VehicleClass.suv.value: 85, VehicleClass.mpv.value: 80,
        VehicleClass.minibus.value: 110, VehicleClass.bus.value: 300, VehicleClass.special.value: 120,
    })
    tank_margin_l: float = 3.0
    max_consumption_l_per_100km: dict[str, float] = field(default_factory=lambda: {
        VehicleClass.sedan.value: 13, VehicleClass.suv.value: 16, VehicleClass.mpv.value: 16,
        VehicleClass.minibus.value: 20, VehicleClass.bus.value: 40, VehicleClass.special.value: 25,
    })
    refill_slack_l: float = 15.0
    battery_kwh_per_range_km: float = 0.2
    battery_margin_kwh: float = 5.0
    max_kwh_per_100km: float = 28.0
    recharge_slack_kwh: float = 15.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VehicleFacts:
    """What the checks need to know of a car."""

    vehicle_id: int
    plate: str
    vehicle_class: str
    energy: str
    status: str
    battery_range_km: float | None
    has_gps: bool


def check_energy_type(kind: str, car: VehicleFacts) -> Finding | None:
    """Fuel for a battery car, or charging for a car that cannot plug in."""
    if kind == "fuel" and car.energy == Energy.bev.value:
        return {"check": "fuel_for_bev", "detail": f"fuel bought for {car.plate}, a battery-electric car"}
    if kind == "charging" and car.energy not in {e.value for e in NEV_ENERGIES}:
        return {"check": "charging_for_combustion_car",
                "detail": f"charging paid for {car.plate}, which cannot plug in ({car.energy})"}
    return None


def check_station_distance(nearest_km: float | None, t: ExpenseThresholds) -> Finding | None:
    """The car's GPS was farther than the radius from the station at the time (None: no fix)."""
    if nearest_km is None or nearest_km <= t.station_radius_km:
        return None
    return {"check": "far_from_station", "nearest_gps_km": round(nearest_km, 2),
            "detail": f"the car's GPS was at least {nearest_km:.1f} km from the station within "
                      f"{t.gps_window_min:g} min of the purchase (limit {t.station_radius_km:g} km)"}


def check_volume_vs_tank(kind: str, amount: float | None, car: VehicleFacts, t: ExpenseThresholds) -> Finding | None:
    """More fuel (L) than the tank holds, or more energy (kWh) than the battery."""
    if amount is None:
        return None
    if kind == "fuel":
        tank = t.tank_l.get(car.vehicle_class, max(t.tank_l.values()))
        if amount > tank + t.tank_margin_l:
            return {"check": "volume_over_tank", "fuel_l": amount, "tank_l": tank,
                    "detail": f"{amount:g} L is more than the {tank:g} L tank of a {car.vehicle_class}"}
    if kind == "charging" and car.battery_range_km:
        battery = car.battery_range_km * t.battery_kwh_per_range_km
        if amount > battery + t.battery_margin_kwh:
            return {"check": "energy_over_battery", "energy_kwh": amount, "battery_kwh": round(battery, 1),
                    "detail": f"{amount:g} kWh is more than the ~{battery:.0f} kWh battery"}
    return None


def check_volume_vs_distance(
    kind: str, amount: float | None, distance_km: float | None, car: VehicleFacts, t: ExpenseThresholds
) -> Finding | None:
    """More fuel or energy than the distance driven since the previous fill could use
    (``distance_km`` None: no previous fill or no distance known, nothing to check)."""
    if amount is None or distance_km is None:
        return None
    if kind == "fuel":
        rate = t.max_consumption_l_per_100km.get(car.vehicle_class, max(t.max_consumption_l_per_100km.values()))
        limit = distance_km * rate / 100 + t.refill_slack_l
        unit = "L"
    else:
        limit = distance_km * t.max_kwh_per_100km / 100 + t.recharge_slack_kwh
        unit = "kWh"
    if amount <= limit:
        return None
    return {"check": "volume_over_distance", "amount": amount, "distance_km": round(distance_km, 1),
            "limit": round(limit, 1),
            "detail": f"{amount:g} {unit} after {distance_km:.1f} km since the previous fill "
                      f"(at most {limit:.1f} {unit} is plausible)"}


def check_repair_retired(car: VehicleFacts) -> Finding | None:
    """A repair billed for a car that is retired."""
    if car.status == VehicleStatus.retired.value:
        return {"check": "repair_for_retired_car", "detail": f"repair billed for {car.plate}, which is retired"}
    return None


def unknown_plate(plate: str, card_vehicle_plate: str | None) -> Finding:
    """A record for a plate that is not in the fleet (naming the fleet car whose card paid)."""
    detail = f"plate {plate} is not a fleet car"
    if card_vehicle_plate:
        detail += f"; the card used is the card of fleet car {card_vehicle_plate}"
    return {"check": "plate_not_in_fleet", "detail": detail}
