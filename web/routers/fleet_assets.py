"""Depots, designated parking sites, zones, speed zones, vehicles (with a leased car's hire
windows) and drivers."""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import AwareDatetime, BaseModel, Field
from sqlmodel import Session, SQLModel, col, select

from fleet import audit
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
    HireWindow,
    HireWindowPublic,
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
from fleet.models.hire_window import check_hire_window
from fleet.models.telemetry import SpeedZone, SpeedZoneCreate, SpeedZonePublic, SpeedZoneUpdate
from fleet.models.vehicle import VehicleBase, check_vehicle_rules
from fleet.odometer import check_new_reading, correct_reading
from web.audited import save_audited
from web.crud import Noun, ObjectId, crud_router
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles
from web.pagination import Page, PageDep, paginate
from web.refusals import refusal

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


class HireWindowBody(BaseModel):
    """A hire window entered by hand: when a leased car is hired to the platform."""

    starts_at: AwareDatetime = Field(description="Start of the hire (inclusive), with its offset.")
    ends_at: AwareDatetime = Field(description="End of the hire (exclusive), with its offset; after starts_at.")
    note: str = Field("", max_length=200, description="E.g. the contract or day-hire number.")


def _car_in_scope(session: Session, principal: Principal, vehicle_id: int) -> Vehicle:
    """The vehicle in the caller's scope (404 otherwise)."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None or not principal.in_scope(session, vehicle.org_id):
        raise not_found("vehicle", vehicle_id)
    return vehicle


@corrections.get("/{object_id}/hire-windows", response_model=Page[HireWindowPublic],
                 dependencies=[Depends(require_roles(*FLEET_READERS))], summary="A leased car's hire windows")
def list_hire_windows(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal,
                      page: PageDep) -> dict:
    """When the car is hired to the platform, by start: windows entered by hand and those that
    follow its confirmed lease assignments (``assignment_id``). A leased car is judged by the
    compliance rules only inside them."""
    vehicle = _car_in_scope(session, principal, object_id)
    statement = select(HireWindow).where(HireWindow.vehicle_id == vehicle.id)
    return paginate(session, statement, page, col(HireWindow.starts_at))


@corrections.post("/{object_id}/hire-windows", response_model=HireWindowPublic, status_code=status.HTTP_201_CREATED,
                  dependencies=[Depends(require_roles(A, D))], summary="Add a hire window to a leased car")
def create_hire_window(object_id: ObjectId, body: HireWindowBody, session: SessionDep,
                       principal: CurrentPrincipal) -> HireWindow:
    """Hire a leased car to the platform from ``starts_at`` to ``ends_at`` (a lease, or one
    day hire of a series). Refused: a pool car, an end not after the start, a window longer
    than the longest lease."""
    vehicle = _car_in_scope(session, principal, object_id)
    if vehicle.ownership != Ownership.leased:
        raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, "vehicle_id", "hire_window_pool_car",
                      f"vehicle_id: {vehicle.plate} is a pool car; only a leased car has hire windows",
                      plate=vehicle.plate)
    window = HireWindow(vehicle_id=vehicle.id, **body.model_dump())
    try:
        check_hire_window(window)
    except ValueError as exc:
        raise refusal(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc).partition(": ")[0], "hire_window_order", str(exc),
                      starts_at=body.starts_at.isoformat(), ends_at=body.ends_at.isoformat()) from None
    return save_audited(session, principal, "hire_window.create", window)


@corrections.delete("/{object_id}/hire-windows/{window_id}", status_code=status.HTTP_204_NO_CONTENT,
                    dependencies=[Depends(require_roles(A, D))], summary="Remove a hire window")
def delete_hire_window(object_id: ObjectId, window_id: ObjectId, session: SessionDep,
                       principal: CurrentPrincipal) -> None:
    """Remove a window entered by hand; one that follows an assignment changes with that
    assignment (409)."""
    vehicle = _car_in_scope(session, principal, object_id)
    window = session.get(HireWindow, window_id)
    if window is None or window.vehicle_id != vehicle.id:
        raise not_found("hire window", window_id)
    if window.assignment_id is not None:
        raise refusal(status.HTTP_409_CONFLICT, "assignment_id", "hire_window_follows_assignment",
                      f"assignment_id: this window follows assignment {window.assignment_id}; change the assignment",
                      assignment_id=window.assignment_id)
    before = audit.snapshot(window)
    session.delete(window)
    audit.record(session, principal.user, "hire_window.delete", "hire_window", window_id, before, None)
    session.commit()


routers = [crud_router(noun) for noun in NOUNS] + [corrections]
