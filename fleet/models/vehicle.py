"""Official cars: pooled public cars and cars leased from contracted rental companies.

When a leased car is hired to the platform is told by its hire windows
(:mod:`fleet.models.hire_window`), not by the vehicle record."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import model_validator
from sqlmodel import Field, SQLModel

from fleet.models.common import (
    NEV_ENERGIES,
    EmissionStandard,
    Energy,
    Ownership,
    VehicleClass,
    VehicleStatus,
    enum_field,
    time_field,
    utcnow,
)

PLATE_PATTERN = r"^[\u4e00-\u9fa5][A-Z][A-Z0-9]{5,6}$"
VIN_PATTERN = r"^[A-HJ-NPR-Z0-9]{17}$"


class VehicleBase(SQLModel):
    plate: str = Field(
        max_length=12, schema_extra={"pattern": PLATE_PATTERN}, description="Chinese plate, e.g. 苏G12345 or 苏GD12345."
    )
    vin: str = Field(max_length=17, schema_extra={"pattern": VIN_PATTERN}, description="17-character VIN (no I, O, Q).")
    org_id: int = Field(foreign_key="organisation.id", index=True)
    vehicle_class: VehicleClass = enum_field(VehicleClass)
    seats: int = Field(ge=2, le=60, description="Seats including the driver's.")
    energy: Energy = enum_field(Energy)
    emission_standard: EmissionStandard | None = enum_field(
        EmissionStandard, None, description="China 3 to China 6; empty for a BEV."
    )
    purchase_date: date
    purchase_price_cny: float = Field(ge=0, le=5_000_000)
    odometer_km: float = Field(0, ge=0, le=2_000_000)
    battery_range_km: float | None = Field(
        None, gt=0, le=1500, description="Rated electric range of a BEV or PHEV, km."
    )
    status: VehicleStatus = enum_field(VehicleStatus, VehicleStatus.available)
    gps_device_id: str | None = Field(None, min_length=1, max_length=40)
    home_depot_id: int | None = Field(None, foreign_key="depot.id")
    parking_site_id: int | None = Field(None, foreign_key="parking_site.id")
    ownership: Ownership = enum_field(Ownership, Ownership.pool)
    lessor_id: int | None = Field(None, foreign_key="lessor.id", index=True)


class VehicleCreate(VehicleBase):
    @model_validator(mode="after")
    def _consistent(self) -> "VehicleCreate":
        check_vehicle_rules(self)
        return self


class VehicleUpdate(SQLModel):
    org_id: int | None = None
    seats: int | None = Field(None, ge=2, le=60)
    odometer_km: float | None = Field(None, ge=0, le=2_000_000)
    battery_range_km: float | None = Field(None, gt=0, le=1500)
    status: VehicleStatus | None = None
    gps_device_id: str | None = Field(None, min_length=1, max_length=40)
    home_depot_id: int | None = None
    parking_site_id: int | None = None


class VehiclePublic(VehicleBase):
    id: int


class Vehicle(VehicleBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    plate: str = Field(max_length=12, unique=True, index=True)
    vin: str = Field(max_length=17, unique=True)
    gps_device_id: str | None = Field(None, max_length=40, unique=True, index=True)
    created_at: datetime = time_field(default_factory=utcnow)
    updated_at: datetime = time_field(default_factory=utcnow)


def check_vehicle_rules(vehicle: VehicleBase) -> None:
    """Cross-field rules of a vehicle record; raises ``ValueError`` naming the field."""
    if vehicle.energy == Energy.bev and vehicle.emission_standard is not None:
        raise ValueError("emission_standard: must be empty for a bev")
    if vehicle.energy != Energy.bev and vehicle.emission_standard is None:
        raise ValueError("emission_standard: required for a car with a combustion engine")
    if vehicle.energy in NEV_ENERGIES and vehicle.battery_range_km is None:
        raise ValueError("battery_range_km: required for a bev or phev")
    if vehicle.energy not in NEV_ENERGIES and vehicle.battery_range_km is not None:
        raise ValueError("battery_range_km: only a bev or phev has an electric range")
    if vehicle.ownership == Ownership.leased:
        if vehicle.lessor_id is None:
            raise ValueError("lessor_id: a leased car needs lessor_id, the rental company it is hired from")
    elif vehicle.lessor_id is not None:
        raise ValueError("lessor_id: a pool car has no lessor")
