"""The orders document: past trip requests, each with its assignment (state, times, the car by
plate, the driver by name, the rental company by name).

Records refer to the platform's data by natural keys: the agency by organisation ``code``,
people by ``username``, cars by ``plate``, drivers by ``name`` (with ``driver_phone`` when
several share it), lessors by ``name``. Times are ISO 8601 with an offset. The request fields
copy the trip-request model's (types, limits, descriptions), as the fleet document does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from fleet.fleet_document.schema import _record, _ref, _Strict
from fleet.models.common import AssignmentKind, RequestState
from fleet.models.trip_request import TripRequestCreate
from fleet.models.vehicle import PLATE_PATTERN

FORMAT = "orders-document/1"


class OrderAssignmentRecord(_Strict):
    """Who served the request: a pool car and its driver, or a rental company's car."""

    kind: AssignmentKind
    vehicle_plate: str | None = Field(
        None, max_length=12, pattern=PLATE_PATTERN,
        description="Plate of the car that served it; required for a pool car, and for a leased car to be judged.")
    driver: str | None = Field(None, min_length=1, max_length=60, description="Name of the pool car's driver.")
    driver_phone: str | None = Field(None, max_length=20, description="The driver's phone, when several share the name.")
    lessor: str | None = Field(None, min_length=1, max_length=120,
                               description="Name of the rental company; default the leased car's.")
    planned_pickup: AwareDatetime
    planned_dropoff: AwareDatetime
    cost_cny: float = Field(0, ge=0, le=1_000_000, description="What the trip cost, CNY.")
    explanation: str = Field("", max_length=1000)
    confirmed: bool = Field(True, description="A confirmed assignment (a dispatcher accepted it).")


OrderRecord = _record(
    "OrderRecord",
    TripRequestCreate,
    "One past trip request and how it was served.",
    drop=frozenset({"agency_id", "rider_id"}),
    agency=_ref("Code of the agency that asked"),
    requester=_ref("Username of the person who filed the request"),
    rider=_ref("Username of the official who rode, when someone else filed it", required=False),
    state=(RequestState, Field(description="The request's state, e.g. completed or cancelled.")),
    state_reason=(str | None, Field(None, max_length=500, description="Why it was rejected or cancelled.")),
    assignment=(OrderAssignmentRecord | None, Field(None, description="How it was served; none if it never was.")),
)


class OrdersDocument(_Strict):
    """Past trip requests with their assignments. Import is all or nothing."""

    format: Literal["orders-document/1"] = FORMAT
    orders: list[OrderRecord] = Field(default_factory=list)  # type: ignore[valid-type]
