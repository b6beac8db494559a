"""Drivers of the pooled public cars."""

from __future__ import annotations

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from fleet.models.common import LicenceClass, LocalTime, enum_field


class DriverBase(SQLModel):
    name: str = Field(min_length=1, max_length=60)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    licence_class: LicenceClass = enum_field(LicenceClass)
    phone: str = Field(max_length=20, schema_extra={"pattern": r"^\+?[0-9-]{7,20}$"})
    shift_start: LocalTime = Field(description="Local (display time zone) start of the daily shift.")
    shift_end: LocalTime = Field(description="Local end of the daily shift; after shift_start.")
    home_depot_id: int | None = Field(None, foreign_key="depot.id")
    user_id: int | None = Field(None, foreign_key="user.id", description="Login of the driver.")
    active: bool = True


class DriverCreate(DriverBase):
    @model_validator(mode="after")
    def _shift_order(self) -> "DriverCreate":
        if self.shift_end <= self.shift_start:
            raise ValueError("shift_end: must be after shift_start")
        return self


class DriverUpdate(SQLModel):
    phone: str | None = Field(None, max_length=20, schema_extra={"pattern": r"^\+?[0-9-]{7,20}$"})
    licence_class: LicenceClass | None = None
    shift_start: LocalTime | None = None
    shift_end: LocalTime | None = None
    home_depot_id: int | None = None
    user_id: int | None = None
    active: bool | None = None


class DriverPublic(DriverBase):
    id: int


class Driver(DriverBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(None, foreign_key="user.id", unique=True)
