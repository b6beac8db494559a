"""The instance file: one day of approved trip requests, the pool cars and the lessors.

Key names follow issue 4 (``travel``, ``depots``, ``vehicles``, ``lessors`` with ``tariffs``,
``requests``). Additions: ``policy`` (range margin, winter derating, reassignment penalty,
whether passengers share cars and which agencies share only among themselves), per request
``exclusive`` and ``max_ride_s`` (shared rides),
``confirmed`` (request id -> vehicle id already promised), ``travel.speed_factors`` and
``travel.osrm_url``, and ``range_km`` on a tariff (leased BEVs). Every time is an ISO-8601
string with a UTC offset; naive times are refused. Distances are km, durations seconds, money CNY.

``load_instance`` turns a file or a dict into an :class:`Instance` or raises
:class:`InstanceError` whose messages name the field path and the rule, for example
``requests[3].pickup_latest: must not be before pickup_earliest``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from fleet.models.common import NEV_ENERGIES, Energy, VehicleClass


class InstanceError(ValueError):
    """A bad instance; ``messages`` holds one ``path: rule`` line per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class SpeedFactor(_Strict):
    """Travel speed multiplier for departures in ``[from_hour, to_hour)`` local hours."""

    from_hour: int = Field(ge=0, le=23)
    to_hour: int = Field(ge=1, le=24)
    factor: float = Field(gt=0, le=3, description="1 = free flow, 0.7 = 30 % slower.")

    @model_validator(mode="after")
    def _ordered(self) -> SpeedFactor:
        if self.to_hour <= self.from_hour:
            raise ValueError("to_hour: must be after from_hour")
        return self


class TravelSpec(_Strict):
    """How travel distances and times are obtained."""

    model: Literal["haversine", "osrm"] = "haversine"
    detour_factor: float = Field(1.3, ge=1, le=3, description="Road km per great-circle km.")
    speed_kmh: float = Field(40.0, gt=0, le=150)
    speed_factors: list[SpeedFactor] = Field(default_factory=list)
    osrm_url: str | None = None
    osrm_profile: str = "driving"

    @model_validator(mode="after")
    def _osrm_url(self) -> TravelSpec:
        if self.model == "osrm" and not self.osrm_url:
            raise ValueError("osrm_url: required when model is 'osrm'")
        return self


class Point(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Depot(Point):
    id: str = Field(min_length=1)


class Vehicle(_Strict):
    """A pooled public car and its driver, based at a depot."""

    id: str = Field(min_length=1)
    depot: str
    vehicle_class: VehicleClass = Field(alias="class")
    seats: int = Field(ge=1, le=60, description="Passenger seats (driver excluded).")
    energy: Energy
    range_km: float | None = Field(None, gt=0, description="Full-charge range; null = no limit.")
    shift_start: AwareDatetime
    shift_end: AwareDatetime
    fixed_cost_cny: float = Field(ge=0, description="Charged once if the car is used.")
    cost_per_km_cny: float = Field(ge=0)
    cost_per_hour_cny: float = Field(ge=0, description="Per hour of driving.")

    @model_validator(mode="after")
    def _shift(self) -> Vehicle:
        if self.shift_end <= self.shift_start:
            raise ValueError("shift_end: must be after shift_start")
        return self

    @property
    def is_nev(self) -> bool:
        return self.energy in NEV_ENERGIES


class Tariff(_Strict):
    """A lessor's price and daily capacity for one kind of car."""

    vehicle_class: VehicleClass = Field(alias="class")
    seats: int = Field(ge=1, le=60)
    energy: Energy
    base_cny: float = Field(ge=0, description="Charged once per leased car used.")
    per_km_cny: float = Field(ge=0)
    per_hour_cny: float = Field(ge=0, description="Per hour of driving.")
    max_vehicles: int = Field(ge=0, le=10_000, description="Cars of this kind per day.")
    range_km: float | None = Field(None, gt=0, description="Full-charge range; null = no limit.")

    @property
    def is_nev(self) -> bool:
        return self.energy in NEV_ENERGIES


class Lessor(Point):
    """A contracted rental company; its cars start and end at its site."""

    id: str = Field(min_length=1)
    shift_start: AwareDatetime
    shift_end: AwareDatetime
    tariffs: list[Tariff] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shift(self) -> Lessor:
        if self.shift_end <= self.shift_start:
            raise ValueError("shift_end: must be after shift_start")
        if ":" in self.id:
            raise ValueError("id: must not contain ':' (leased car ids are lessor:class:n)")
        return self


class Request(_Strict):
    """An approved trip from pickup to drop-off; passengers going the same way may share the
    car unless the request is ``exclusive``."""

    id: str = Field(min_length=1)
    agency: str = ""
    passengers: int = Field(ge=1, le=60)
    vehicle_class: VehicleClass | None = Field(None, alias="class")
    nev_required: bool = False
    origin: Point
    destination: Point
    pickup_earliest: AwareDatetime
    pickup_latest: AwareDatetime
    dropoff_latest: AwareDatetime | None = None
    service_pickup_s: int = Field(0, ge=0, le=6 * 3600)
    service_dropoff_s: int = Field(0, ge=0, le=6 * 3600)
    priority: int = Field(0, ge=0, le=100, description="Higher is served first when short.")
    exclusive: bool = Field(
        False, description="Rides alone: a confidential or leadership trip shares no car."
    )
    max_ride_s: int | None = Field(
        None, ge=60, le=24 * 3600,
        description="Most seconds in the car, from leaving the pickup to reaching the "
        "drop-off; null = no ceiling beyond dropoff_latest.",
    )

    @model_validator(mode="after")
    def _windows(self) -> Request:
        if self.pickup_latest < self.pickup_earliest:
            raise ValueError("pickup_latest: must not be before pickup_earliest")
        if self.dropoff_latest is not None and self.dropoff_latest <= self.pickup_earliest:
            raise ValueError("dropoff_latest: must be after pickup_earliest")
        return self


class Policy(_Strict):
    """Planning settings that are not facts about cars or trips."""

    range_margin_fraction: float = Field(
        0.15, ge=0, lt=1, description="Share of the range kept in reserve (0.15 = 15 %)."
    )
    winter_range_factor: float = Field(
        1.0, gt=0, le=1, description="Range derating in cold weather (0.7 = 30 % less)."
    )
    reassign_penalty_cny: float = Field(
        200.0, ge=0, description="Cost of moving a confirmed trip to another car."
    )
    sharing: bool = Field(True, description="Passengers of different requests may share a car.")
    share_within_agency: list[str] = Field(
        default_factory=list,
        description="Agencies whose passengers share a car only with their own agency's.",
    )


class Instance(_Strict):
    """One planning day."""

    travel: TravelSpec = Field(default_factory=TravelSpec)
    depots: list[Depot]
    vehicles: list[Vehicle] = Field(default_factory=list)
    lessors: list[Lessor] = Field(default_factory=list)
    requests: list[Request] = Field(default_factory=list)
    policy: Policy = Field(default_factory=Policy)
    confirmed: dict[str, str] = Field(
        default_factory=dict, description="Request id -> vehicle id already promised."
    )

    @model_validator(mode="after")
    def _references(self) -> Instance:
        _unique("depots", [d.id for d in self.depots])
        _unique("vehicles", [v.id for v in self.vehicles])
        _unique("lessors", [lessor.id for lessor in self.lessors])
        _unique("requests", [r.id for r in self.requests])
        depot_ids = {d.id for d in self.depots}
        for i, vehicle in enumerate(self.vehicles):
            if vehicle.depot not in depot_ids:
                raise ValueError(f"vehicles[{i}].depot: unknown depot {vehicle.depot!r}")
        request_ids = {r.id for r in self.requests}
        vehicle_ids = {v.id for v in self.vehicles} | set(lease_vehicle_ids(self))
        for request_id, vehicle_id in self.confirmed.items():
            if request_id not in request_ids:
                raise ValueError(f"confirmed.{request_id}: unknown request")
            if vehicle_id not in vehicle_ids:
                raise ValueError(f"confirmed.{request_id}: unknown vehicle {vehicle_id!r}")
        return self


def _unique(field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, item_id in enumerate(ids):
        if item_id in seen:
            raise ValueError(f"{field}[{i}].id: duplicate id {item_id!r}")
        seen.add(item_id)


class LeaseSlot(NamedTuple):
    """One leased car a tariff allows: its id and where its tariff is."""

    id: str  # <lessor>:<class>:<n>, n counted from 1 per lessor and class
    lessor: int  # index into Instance.lessors
    tariff: int  # index into that lessor's tariffs


def lease_slots(instance: Instance) -> list[LeaseSlot]:
    """Every leased car the tariffs allow, in lessor and tariff order; the one place that
    names leased cars ``<lessor>:<class>:<n>``."""
    slots: list[LeaseSlot] = []
    for li, lessor in enumerate(instance.lessors):
        counts: dict[str, int] = {}
        for ti, tariff in enumerate(lessor.tariffs):
            for _ in range(tariff.max_vehicles):
                n = counts.get(tariff.vehicle_class, 0) + 1
                counts[tariff.vehicle_class] = n
                slots.append(LeaseSlot(f"{lessor.id}:{tariff.vehicle_class.value}:{n}", li, ti))
    return slots


def lease_vehicle_ids(instance: Instance) -> list[str]:
    """Ids of every leased car the tariffs allow, ``<lessor>:<class>:<n>`` with n from 1."""
    return [slot.id for slot in lease_slots(instance)]


def _format_error(error: Any) -> str:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    head, sep, rule = message.partition(": ")
    if sep and head and " " not in head:
        # a model validator names the field inside its message
        return f"{path}.{head}: {rule}" if path and not head.startswith(path) else message
    if error["type"] == "timezone_aware":
        message = "must be an ISO-8601 time with a UTC offset (e.g. 2026-11-02T08:30:00+08:00)"
    return f"{path or '(instance)'}: {message}"


def parse_instance(data: Any) -> Instance:
    """Validate decoded JSON; raises :class:`InstanceError` naming each bad field."""
    try:
        return Instance.model_validate(data)
    except ValidationError as exc:
        raise InstanceError([_format_error(e) for e in exc.errors()]) from None


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file; raises :class:`InstanceError` on any problem."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InstanceError([f"{path}: cannot read file ({exc.strerror})"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstanceError([f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})"]) from None
    return parse_instance(data)
