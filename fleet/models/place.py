"""Named places of an organisation (地点): its offices, depots, sites, the county seats and
the destinations its staff often ask for. A requester picks a trip's origin and destination
from them instead of typing coordinates. Coordinates are WGS-84 degrees."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from fleet.models.common import enum_field, time_field, utcnow


class PlaceKind(StrEnum):
    office = "office"
    depot = "depot"
    site = "site"
    county_seat = "county_seat"
    destination = "destination"


class PlaceBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    kind: PlaceKind = enum_field(PlaceKind)
    org_id: int = Field(foreign_key="organisation.id", index=True,
                        description="Owner; its staff and those of the organisations under it see the place.")
    lat: float = Field(ge=-90.0, le=90.0, description="WGS-84 latitude, degrees.")
    lon: float = Field(ge=-180.0, le=180.0, description="WGS-84 longitude, degrees.")
    address: str = Field("", max_length=200)
    active: bool = Field(True, description="Offered to requesters; a deactivated place is kept for history.")


class PlaceCreate(PlaceBase):
    pass


class PlaceUpdate(SQLModel):
    """What an administrator may change; ``active: false`` deactivates the place."""

    name: str | None = Field(None, min_length=1, max_length=120)
    kind: PlaceKind | None = None
    lat: float | None = Field(None, ge=-90.0, le=90.0)
    lon: float | None = Field(None, ge=-180.0, le=180.0)
    address: str | None = Field(None, max_length=200)
    active: bool | None = None


class PlacePublic(PlaceBase):
    id: int


class Place(PlaceBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = time_field(default_factory=utcnow)
