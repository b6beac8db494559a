"""Depots, designated parking sites, zones, speed zones, vehicles and drivers."""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field
from sqlmodel import Session, SQLModel, col, select

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
    Organisation,
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
    utcnow,
)
from fleet.models.device import DeviceState, DeviceStatePublic
from fleet.models.telemetry import SpeedZone, SpeedZoneCreate, SpeedZonePublic, SpeedZoneUpdate
from fleet.models.vehicle import VehicleBase, check_vehicle_rules
from fleet.odometer import check_new_reading, correct_reading
from web.crud import Noun, ObjectId, crud_router
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles

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


def _vehicle_rules(session: Session, principal: Principal, data: dict[str, Any], current: SQLModel | None) -> None:
    try:
        check_vehicle_rules(VehicleBase.model_construct(**data))
        if isinstance(current, Vehicle) and data["odometer_km"] != current.odometer_km:
            check_new_reading(session, current, data["odometer_km"], utcnow())
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None


def _driver_rules(session: Session, principal: Principal, data: dict[str, Any], current: SQLModel | None) -> None:
    if data.get("shift_start") and data.get("shift_end") and data["shift_end"] <= data["shift_start"]:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="shift_end: must be after shift_start")
    user_id = data.get("user_id")
    if user_id is not None and (current is None or user_id != getattr(current, "user_id")):
        _check_driver_login(session, user_id, data["org_id"])


def _check_driver_login(session: Session, user_id: int, org_id: int) -> None:
    """A driver's login (already checked to lie in the caller's scope) has the driver role and
    belongs to the driver's organisation or one under it."""
    user = session.get(User, user_id)
    assert user is not None
    if user.role != Role.driver:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"user_id: user {user_id} has role '{Role(user.role).value}', not driver")
    driver_org, user_org = session.get(Organisation, org_id), session.get(Organisation, user.org_id)
    if driver_org is None or user_org is None or not user_org.path.startswith(driver_org.path):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"user_id: user {user_id} belongs to an organisation outside the driver's")


def _zone_rules(session: Session, principal: Principal, data: dict[str, Any], current: SQLModel | None) -> None:
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
         refs={"depot_id": Depot}),
    Noun("zone", "zones", Zone, ZoneCreate, ZoneUpdate, ZonePublic,
         read_roles=PLACE_READERS, write_roles=(A,), filters=ZoneFilters, validate=_zone_rules),
    Noun("speed_zone", "speed-zones", SpeedZone, SpeedZoneCreate, SpeedZoneUpdate, SpeedZonePublic,
         read_roles=PLACE_READERS, write_roles=(A,), filters=NamedFilters),
    Noun("vehicle", "vehicles", Vehicle, VehicleCreate, VehicleUpdate, VehiclePublic,
         read_roles=FLEET_READERS, write_roles=(A,), update_roles=(A, D), filters=VehicleFilters,
         refs={"home_depot_id": Depot, "parking_site_id": ParkingSite, "lessor_id": Lessor}, validate=_vehicle_rules),
    Noun("driver", "drivers", Driver, DriverCreate, DriverUpdate, DriverPublic,
         read_roles=FLEET_READERS, write_roles=(A,), filters=DriverFilters,
         refs={"home_depot_id": Depot, "user_id": User}, validate=_driver_rules),
]


class OdometerCorrection(BaseModel):
    """An administrator's correction of a car's odometer figure."""

    odometer_km: float = Field(ge=0, le=2_000_000, description="The correct reading, km.")
    reason: str = Field(min_length=1, max_length=500,
                        description="Why the recorded figure was wrong (kept in the audit log).")


corrections = APIRouter(prefix="/vehicles", tags=["vehicles"])


@corrections.post("/{object_id}/odometer-corrections", response_model=VehiclePublic,
                  dependencies=[Depends(require_roles(A))], summary="Correct a vehicle's odometer")
def correct_odometer(object_id: ObjectId, body: OdometerCorrection, session: SessionDep,
                     principal: CurrentPrincipal) -> Vehicle:
    """Set the odometer to a figure the reading rule refuses (below the last reading, or more
    than the car could have driven since), e.g. after a typing error or a replaced instrument
    cluster. Updates through ``PATCH /vehicles/{id}`` only move the odometer forward."""
    vehicle = session.get(Vehicle, object_id)
    if vehicle is None or not principal.in_scope(session, vehicle.org_id):
        raise not_found("vehicle", object_id)
    reason = body.reason.strip()
    if not reason:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="reason: say why the figure was wrong")
    correct_reading(session, vehicle, body.odometer_km, reason, principal.user, utcnow())
    session.commit()
    session.refresh(vehicle)
    return vehicle


@corrections.get("/{object_id}/devices", response_model=list[DeviceStatePublic],
                 dependencies=[Depends(require_roles(*FLEET_READERS))], summary="A vehicle's GPS terminals")
def vehicle_devices(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> list[DeviceState]:
    """The car's GPS terminals as the ingest last heard them: online state, newest fix, and
    ``dropped_fixes`` (GPS jumps and refused points), the newest at ``last_dropped_at``."""
    vehicle = session.get(Vehicle, object_id)
    if vehicle is None or not principal.in_scope(session, vehicle.org_id):
        raise not_found("vehicle", object_id)
    return list(session.exec(select(DeviceState).where(DeviceState.vehicle_id == vehicle.id)
                             .order_by(col(DeviceState.device_id))).all())


routers = [crud_router(noun) for noun in NOUNS] + [corrections]
