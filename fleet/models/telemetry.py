"""What the telematics motion split and the rules keep beside trips and alerts: stops, speed
zones, the official working calendar an administrator loads per year, and the fixes the GPS
jump filter set aside.

Stops are derived from positions (like trips with a ``first_position_id``): re-evaluating a
window replaces them. Times are UTC; distances in metres; durations in seconds.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.models.common import enum_field, time_field, utcnow
from fleet.models.sites import PolygonChecked, PolygonUpdate, polygon_field


class StopPublic(SQLModel):
    id: int
    vehicle_id: int
    started_at: datetime
    ended_at: datetime
    duration_s: float
    lat: float
    lon: float
    position_count: int
    first_position_id: int
    last_position_id: int


class Stop(SQLModel, table=True):
    """A vehicle standing still (within the stop radius, or with the ignition off) for at least
    the stop duration; ``lat``/``lon`` is the centre of its fixes (WGS-84 degrees)."""

    __table_args__ = (UniqueConstraint("vehicle_id", "started_at", name="uq_stop_vehicle_start"),)
    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    started_at: datetime = time_field(index=True)
    ended_at: datetime = time_field()
    duration_s: float = Field(ge=0)
    lat: float
    lon: float
    position_count: int = Field(ge=1)
    first_position_id: int
    last_position_id: int


class SpeedZoneBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    limit_kmh: float = Field(gt=0, le=300, description="Speed limit inside the zone, km/h.")
    geometry: dict[str, Any] = polygon_field()


class SpeedZoneCreate(PolygonChecked, SpeedZoneBase):
    pass


class SpeedZoneUpdate(PolygonUpdate):
    limit_kmh: float | None = Field(None, gt=0, le=300, description="Speed limit inside the zone, km/h.")


class SpeedZonePublic(SpeedZoneBase):
    id: int


class SpeedZone(SpeedZoneBase, table=True):
    """An area with its own speed limit (school streets, urban roads); where several overlap,
    the lowest limit applies. Outside every zone the default limit setting applies."""

    __tablename__ = "speed_zone"
    id: int | None = Field(default=None, primary_key=True)


class CalendarYear(SQLModel, table=True):
    """A year whose official holiday schedule (State Council notice) an administrator loaded;
    its days in :class:`CalendarDay` override the library's calendar for that year."""

    __tablename__ = "calendar_year"
    year: int = Field(primary_key=True, ge=1950, le=2200)
    source: str = Field(max_length=200, description="The notice, e.g. 国办发明电〔2026〕x号.")
    loaded_at: datetime = time_field(default_factory=utcnow)
    loaded_by: str = Field("cli", max_length=64)


class CalendarDay(SQLModel, table=True):
    """One day of an official schedule that differs from a plain Monday-Friday week: a
    statutory holiday or day off (``is_working_day`` false) or a make-up working day on a
    weekend (true)."""

    __tablename__ = "calendar_day"
    day: date = Field(primary_key=True)
    year: int = Field(foreign_key="calendar_year.year", index=True)
    is_working_day: bool
    name: str = Field("", max_length=120)


class SuspectState(StrEnum):
    """Why a fix is out of the track: ``held`` until later fixes confirm it (it is then
    stored and its row deleted), ``jump`` dropped as a GPS jump, ``marked`` a stored position
    that later confirming fixes outvoted (moved here out of ``position``)."""

    held = "held"
    jump = "jump"
    marked = "marked"


class PositionSuspect(SQLModel, table=True):
    """A fix the ingest's GPS jump filter keeps out of the vehicle's track, with the whole
    position row it would be (``fix``, the ``position`` columns as JSON) so that nothing
    received is lost. Times UTC; ``lat``/``lon`` WGS-84 degrees."""

    __tablename__ = "position_suspect"
    __table_args__ = (UniqueConstraint("vehicle_id", "ts", name="uq_position_suspect_vehicle_ts"),)
    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    ts: datetime = time_field()
    lat: float
    lon: float
    speed_kmh: float = 0
    state: SuspectState = enum_field(SuspectState, index=True)
    reason: str = Field(max_length=200)
    fix: dict[str, Any] = Field(sa_type=JSON)
    marked_at: datetime = time_field(default_factory=utcnow)
