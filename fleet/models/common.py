"""Shared column types, enums and field helpers for the domain models.

Times are stored in UTC and always come back timezone-aware, on SQLite as on PostgreSQL.
Enumerations are stored as short strings so that the same Alembic revisions run on both.
"""

from __future__ import annotations

from datetime import datetime, time, timezone
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator
from sqlalchemy import DateTime, String
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


def _local_time_of_day(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a time of day is local (display time zone): give it without an offset")
    return value


#: A wall-clock time of day in the display time zone (shifts), never with an offset.
LocalTime = Annotated[time, AfterValidator(_local_time_of_day)]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """A time read back without its column type (an aggregate, a union), as aware UTC: a
    naive value is UTC as stored."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC that refuses naive input and returns aware values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: store timezone-aware times only")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class StrEnumType(TypeDecorator):
    """A short string column that reads back as a member of ``enum``."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> StrEnum | None:
        return None if value is None else self.enum(value)


def enum_field(enum: type[StrEnum], default: Any = ..., **kwargs: Any) -> Any:
    """A string column that holds one of the values of ``enum``."""
    length = max(16, *(len(member.value) for member in enum))
    return Field(default, sa_type=StrEnumType(enum, length), **kwargs)


def time_field(default: Any = ..., **kwargs: Any) -> Any:
    """A timezone-aware UTC timestamp column."""
    return Field(default, sa_type=UTCDateTime, **kwargs)


class OrgLevel(StrEnum):
    city = "city"
    county = "county"
    township = "township"
    agency = "agency"


class Role(StrEnum):
    admin = "admin"
    dispatcher = "dispatcher"
    driver = "driver"
    requester = "requester"
    approver = "approver"
    auditor = "auditor"
    planner = "planner"


class VehicleClass(StrEnum):
    sedan = "sedan"
    mpv = "mpv"
    suv = "suv"
    minibus = "minibus"
    bus = "bus"
    special = "special"


class Energy(StrEnum):
    petrol = "petrol"
    diesel = "diesel"
    hev = "hev"
    phev = "phev"
    bev = "bev"


#: Energies that count as new-energy vehicles (NEV) in policy figures.
NEV_ENERGIES = frozenset({Energy.phev, Energy.bev})


class EmissionStandard(StrEnum):
    china3 = "china3"
    china4 = "china4"
    china5 = "china5"
    china6 = "china6"


class VehicleStatus(StrEnum):
    available = "available"
    in_service = "in_service"
    maintenance = "maintenance"
    retired = "retired"


class Ownership(StrEnum):
    pool = "pool"
    leased = "leased"


class ZoneKind(StrEnum):
    allowed_area = "allowed_area"
    forbidden_venue = "forbidden_venue"


class VenueCategory(StrEnum):
    entertainment = "entertainment"
    restaurant = "restaurant"
    scenic = "scenic"
    residential = "residential"
    other = "other"


class LicenceClass(StrEnum):
    A1 = "A1"
    A2 = "A2"
    A3 = "A3"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"


class RequestState(StrEnum):
    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    planned = "planned"
    assigned = "assigned"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"
    rejected = "rejected"


class AssignmentKind(StrEnum):
    pool = "pool"
    lease = "lease"


class AlertSeverity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class AlertState(StrEnum):
    open = "open"
    under_review = "under_review"
    confirmed = "confirmed"
    justified = "justified"
    false_positive = "false_positive"
