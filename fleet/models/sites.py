"""Places: depots, designated parking sites (定点停放) and zones (allowed areas, forbidden
venues). Polygons are GeoJSON geometries in WGS-84 degrees, validated with shapely."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from fleet.geo import validate_polygon_geojson
from fleet.models.common import VenueCategory, ZoneKind, enum_field


class DepotBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    lat: float = Field(ge=-90.0, le=90.0, description="WGS-84 latitude, degrees.")
    lon: float = Field(ge=-180.0, le=180.0, description="WGS-84 longitude, degrees.")
    address: str = Field("", max_length=200)


class DepotCreate(DepotBase):
    pass


class DepotUpdate(SQLModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    lat: float | None = Field(None, ge=-90.0, le=90.0)
    lon: float | None = Field(None, ge=-180.0, le=180.0)
    address: str | None = Field(None, max_length=200)


class DepotPublic(DepotBase):
    id: int


class Depot(DepotBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class PolygonChecked(SQLModel):
    """Checks a ``geometry`` field as a GeoJSON Polygon or MultiPolygon."""

    @field_validator("geometry", check_fields=False)
    @classmethod
    def _valid_polygon(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else validate_polygon_geojson(value)


def polygon_field() -> Any:
    """A GeoJSON Polygon or MultiPolygon in WGS-84 degrees, stored as JSON."""
    return Field(sa_type=JSON, description="GeoJSON Polygon or MultiPolygon, WGS-84 degrees.")


class PolygonUpdate(PolygonChecked):
    """What an update of any polygon place may change besides its own fields."""

    name: str | None = Field(None, min_length=1, max_length=120)
    geometry: dict[str, Any] | None = None


class ParkingSiteBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    depot_id: int | None = Field(None, foreign_key="depot.id")
    geometry: dict[str, Any] = polygon_field()


class ParkingSiteCreate(PolygonChecked, ParkingSiteBase):
    pass


class ParkingSiteUpdate(PolygonUpdate):
    depot_id: int | None = None


class ParkingSitePublic(ParkingSiteBase):
    id: int


class ParkingSite(ParkingSiteBase, table=True):
    __tablename__ = "parking_site"
    id: int | None = Field(default=None, primary_key=True)


class ZoneBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    kind: ZoneKind = enum_field(ZoneKind)
    category: VenueCategory | None = enum_field(
        VenueCategory, None, description="Required for forbidden venues, empty otherwise."
    )
    geometry: dict[str, Any] = polygon_field()


class ZoneCreate(PolygonChecked, ZoneBase):
    @model_validator(mode="after")
    def _category_matches_kind(self) -> "ZoneCreate":
        if self.kind == ZoneKind.forbidden_venue and self.category is None:
            raise ValueError("category: required when kind is forbidden_venue")
        if self.kind == ZoneKind.allowed_area and self.category is not None:
            raise ValueError("category: must be empty when kind is allowed_area")
        return self


class ZoneUpdate(PolygonUpdate):
    category: VenueCategory | None = None


class ZonePublic(ZoneBase):
    id: int


class Zone(ZoneBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
