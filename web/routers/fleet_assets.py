"""Depots, designated parking sites, zones, speed zones, vehicles and drivers."""

from typing import Any

from fastapi import HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import Session

from fleet.models import (
    Depot,
    DepotCreate,
    DepotPublic,
    DepotUpdate,
    Driver,
    DriverCreate,
    DriverPublic,
    DriverUpdate,
    Energy,
    Lessor,
    LicenceClass,
    Ownership,
    ParkingSite,
    ParkingSiteCreate,
    ParkingSitePublic,
    ParkingSiteUpdate,
    Role,
    User,
    Vehicle,
    VehicleClass,
    VehicleCreate,
    VehiclePublic,
    VehicleStatus,
    VehicleUpdate,
    VenueCategory,
    Zone,
    ZoneCreate,
    ZoneKind,
    ZonePublic,
    ZoneUpdate,
)
from fleet.models.telemetry import SpeedZone, SpeedZoneCreate, SpeedZonePublic, SpeedZoneUpdate
from fleet.models.vehicle import VehicleBase, check_vehicle_rules
from web.crud import Noun, crud_router
from web.deps import Principal
from web.references import check_references

A, D, DR, AU = Role.admin, Role.dispatcher, Role.driver, Role.auditor
PLACE_READERS = (A, D, DR, AU)
FLEET_READERS = (A, D, AU)


class NamedFilters(BaseModel):
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)
    q: str | None = Field(None, max_length=60, description="Part of the name.")


class ParkingSiteFilters(NamedFilters):
    depot_id: int | None = Field(None, ge=1, le=2**31 - 1)


class ZoneFilters(NamedFilters):
    kind: ZoneKind | None = None
    category: VenueCategory | None = None


class VehicleFilters(BaseModel):
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)
    status: VehicleStatus | None = None
    vehicle_class: VehicleClass | None = None
    energy: Energy | None = None
    ownership: Ownership | None = None
    lessor_id: int | None = Field(None, ge=1, le=2**31 - 1)
    plate: str | None = Field(None, max_length=12)


class DriverFilters(NamedFilters):
    licence_class: LicenceClass | None = None
    active: bool | None = None


def _parking_site_refs(session: Session, principal: Principal, data: dict[str, Any]) -> None:
    check_references(session, principal, data, {"depot_id": Depot})


def _vehicle_refs(session: Session, principal: Principal, data: dict[str, Any]) -> None:
    check_references(
        session, principal, data,
        {"home_depot_id": Depot, "parking_site_id": ParkingSite, "lessor_id": Lessor},
    )
    try:
        check_vehicle_rules(VehicleBase.model_construct(**data))
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None


def _driver_refs(session: Session, principal: Principal, data: dict[str, Any]) -> None:
    check_references(session, principal, data, {"home_depot_id": Depot})
    user_id = data.get("user_id")
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or user.role != Role.driver:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                detail=f"user_id: user {user_id} does not exist or is not a driver",
            )
    if data.get("shift_start") and data.get("shift_end") and data["shift_end"] <= data["shift_start"]:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="shift_end: must be after shift_start")


def _zone_rules(session: Session, principal: Principal, data: dict[str, Any]) -> None:
    if data.get("kind") == ZoneKind.forbidden_venue and data.get("category") is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="category: required when kind is forbidden_venue")
    if data.get("kind") == ZoneKind.allowed_area and data.get("category") is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail="category: must be empty when kind is allowed_area")


NOUNS = [
    Noun("depot", "depots", Depot, DepotCreate, DepotUpdate, DepotPublic,
         read_roles=PLACE_READERS, write_roles=(A,), filters=NamedFilters),
    Noun("parking_site", "parking-sites", ParkingSite, ParkingSiteCreate, ParkingSiteUpdate,
         ParkingSitePublic, read_roles=PLACE_READERS, write_roles=(A,), filters=ParkingSiteFilters,
         validate=_parking_site_refs),
    Noun("zone", "zones", Zone, ZoneCreate, ZoneUpdate, ZonePublic,
         read_roles=PLACE_READERS, write_roles=(A,), filters=ZoneFilters, validate=_zone_rules),
    Noun("speed_zone", "speed-zones", SpeedZone, SpeedZoneCreate, SpeedZoneUpdate, SpeedZonePublic,
         read_roles=PLACE_READERS, write_roles=(A,), filters=NamedFilters),
    Noun("vehicle", "vehicles", Vehicle, VehicleCreate, VehicleUpdate, VehiclePublic,
         read_roles=FLEET_READERS, write_roles=(A,), update_roles=(A, D), filters=VehicleFilters,
         validate=_vehicle_refs),
    Noun("driver", "drivers", Driver, DriverCreate, DriverUpdate, DriverPublic,
         read_roles=FLEET_READERS, write_roles=(A,), filters=DriverFilters, validate=_driver_refs),
]

routers = [crud_router(noun) for noun in NOUNS]
