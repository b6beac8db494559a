"""Contracted rental companies (社会化租赁) and their tariffs per vehicle class."""

from __future__ import annotations

from datetime import date, time

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from fleet.models.common import Energy, LocalTime, VehicleClass, enum_field


class LessorTariffBase(SQLModel):
    vehicle_class: VehicleClass = enum_field(VehicleClass)
    seats: int = Field(ge=2, le=60)
    energy: Energy = enum_field(Energy)
    base_cny: float = Field(ge=0, description="Charge per car per day used, CNY.")
    per_km_cny: float = Field(ge=0, description="Charge per km driven, CNY.")
    per_hour_cny: float = Field(ge=0, description="Charge per hour of use, CNY.")
    max_vehicles: int = Field(ge=0, le=10_000, description="Daily capacity of this class.")


class LessorTariffCreate(LessorTariffBase):
    pass


class LessorTariffPublic(LessorTariffBase):
    id: int


class LessorTariff(LessorTariffBase, table=True):
    __tablename__ = "lessor_tariff"
    id: int | None = Field(default=None, primary_key=True)
    lessor_id: int = Field(foreign_key="lessor.id", index=True)


class LessorBase(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    contract_start: date
    contract_end: date
    lat: float = Field(ge=-90.0, le=90.0, description="Where leased cars start, degrees.")
    lon: float = Field(ge=-180.0, le=180.0)
    shift_start: LocalTime = time(7, 0)
    shift_end: LocalTime = time(22, 0)
    phone: str = Field("", max_length=20)
    hire_lead_s: float | None = Field(
        None, ge=0, le=86400, description="A leased trip's hire window opens this long before its planned "
        "pickup (the lessor brings the car), seconds; empty: FLEET_LEASE_HIRE_LEAD_S.")
    hire_return_s: float | None = Field(
        None, ge=0, le=86400, description="A leased trip's hire window closes this long after its planned "
        "drop-off (the car goes back to the lessor), seconds; empty: FLEET_LEASE_HIRE_RETURN_S.")


class LessorCreate(LessorBase):
    tariffs: list[LessorTariffCreate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> "LessorCreate":
        if self.contract_end < self.contract_start:
            raise ValueError("contract_end: must not be before contract_start")
        if self.shift_end <= self.shift_start:
            raise ValueError("shift_end: must be after shift_start")
        keys = [(t.vehicle_class, t.seats, t.energy) for t in self.tariffs]
        if len(keys) != len(set(keys)):
            raise ValueError("tariffs: one tariff per class, seats and energy")
        return self


class LessorUpdate(SQLModel):
    name: str | None = Field(None, min_length=1, max_length=120)
    contract_end: date | None = None
    phone: str | None = Field(None, max_length=20)
    hire_lead_s: float | None = Field(None, ge=0, le=86400)
    hire_return_s: float | None = Field(None, ge=0, le=86400)
    tariffs: list[LessorTariffCreate] | None = None


class LessorPublic(LessorBase):
    id: int
    tariffs: list[LessorTariffPublic] = []


class Lessor(LessorBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
