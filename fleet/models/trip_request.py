"""Trip requests (用车申请) filed by agency staff, approved by the agency, served by dispatch."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, model_validator
from sqlmodel import Field, SQLModel

from fleet.models.common import (
    RequestState,
    VehicleClass,
    enum_field,
    time_field,
    utcnow,
)

MAX_PICKUP_WINDOW_HOURS = 24


class TripRequestBase(SQLModel):
    agency_id: int = Field(foreign_key="organisation.id", index=True)
    purpose: str = Field(min_length=2, max_length=200)
    passengers: int = Field(ge=1, le=59)
    vehicle_class: VehicleClass | None = enum_field(
        VehicleClass, None, description="Class wanted; empty means any with enough seats."
    )
    nev_required: bool = False
    origin_lat: float = Field(ge=-90.0, le=90.0)
    origin_lon: float = Field(ge=-180.0, le=180.0)
    origin_address: str = Field("", max_length=200)
    destination_lat: float = Field(ge=-90.0, le=90.0)
    destination_lon: float = Field(ge=-180.0, le=180.0)
    destination_address: str = Field("", max_length=200)
    pickup_earliest: datetime = time_field()
    pickup_latest: datetime = time_field()
    dropoff_latest: datetime | None = time_field(None)
    exclusive: bool = Field(
        False, description="Rides alone: a confidential or leadership trip shares the car with "
        "no other request.")
    wait_and_return: bool = Field(False, description="The car waits and brings the party back.")
    return_at: datetime | None = time_field(None, description="Departure of the return leg.")
    priority: int = Field(0, ge=0, le=9, description="0 routine ... 9 most urgent.")
    rider_id: int | None = Field(
        None, foreign_key="user.id", index=True, ge=1, le=2**31 - 1,
        description="The agency's official who rides, when someone else files the request for "
                    "them; like the filer, they may not approve or reject it.")


class TripRequestCreate(TripRequestBase):
    pickup_earliest: AwareDatetime
    pickup_latest: AwareDatetime
    dropoff_latest: AwareDatetime | None = None
    return_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _times(self) -> "TripRequestCreate":
        check_request_times(self)
        return self


class TripRequestUpdate(SQLModel):
    """Fields a requester may still change while the request is a draft."""

    purpose: str | None = Field(None, min_length=2, max_length=200)
    passengers: int | None = Field(None, ge=1, le=59)
    vehicle_class: VehicleClass | None = None
    nev_required: bool | None = None
    exclusive: bool | None = None
    pickup_earliest: AwareDatetime | None = None
    pickup_latest: AwareDatetime | None = None
    dropoff_latest: AwareDatetime | None = None
    priority: int | None = Field(None, ge=0, le=9)


class TripRequestPublic(TripRequestBase):
    id: int
    requester_id: int
    state: RequestState
    state_reason: str | None
    created_at: datetime
    updated_at: datetime


class TripRequest(TripRequestBase, table=True):
    __tablename__ = "trip_request"
    id: int | None = Field(default=None, primary_key=True)
    requester_id: int = Field(foreign_key="user.id", index=True)
    state: RequestState = enum_field(RequestState, RequestState.draft, index=True)
    state_reason: str | None = Field(None, max_length=500)
    created_at: datetime = time_field(default_factory=utcnow)
    updated_at: datetime = time_field(default_factory=utcnow)


class TransitionRequest(SQLModel):
    """A state change asked of a trip request; a reason is required to reject or cancel."""

    to: RequestState
    reason: str | None = Field(None, max_length=500)


def check_request_times(request: TripRequestBase) -> None:
    """Order of the request's times; raises ``ValueError`` naming the field."""
    if request.pickup_latest < request.pickup_earliest:
        raise ValueError("pickup_latest: must not be before pickup_earliest")
    window_h = (request.pickup_latest - request.pickup_earliest).total_seconds() / 3600
    if window_h > MAX_PICKUP_WINDOW_HOURS:
        raise ValueError(f"pickup_latest: pickup window longer than {MAX_PICKUP_WINDOW_HOURS} h")
    if request.dropoff_latest is not None and request.dropoff_latest <= request.pickup_earliest:
        raise ValueError("dropoff_latest: must be after pickup_earliest")
    if request.wait_and_return and request.return_at is None:
        raise ValueError("return_at: required when wait_and_return is set")
    if request.return_at is not None and request.return_at <= request.pickup_earliest:
        raise ValueError("return_at: must be after pickup_earliest")
