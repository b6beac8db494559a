"""GeoJSON layers for the maps: depots, designated parking sites, zones, and the cars at
their last known position (the initial load of the live map; the websocket moves them on).

Coordinates are WGS-84 degrees in GeoJSON order (lon, lat). Each layer holds only what lies
in the caller's organisation subtree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet.models import (
    Assignment,
    Depot,
    Driver,
    Lessor,
    ParkingSite,
    Position,
    PositionPublic,
    RequestState,
    Role,
    Vehicle,
    VehiclePublic,
    Zone,
)
from web.crud import ObjectId
from web.day_assignments import assignments_of_day
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles

router = APIRouter(prefix="/map", tags=["map layers"])
place_readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.driver, Role.auditor))
fleet_readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.auditor))


class Feature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class CardAssignment(BaseModel):
    """One of the car's assignments today, with its driver and request."""

    assignment_id: int
    request_id: int
    request_state: RequestState
    purpose: str
    origin_address: str
    destination_address: str
    planned_pickup: datetime
    planned_dropoff: datetime
    driver_id: int | None
    driver_name: str | None
    driver_phone: str | None
    explanation: str


class VehicleCard(BaseModel):
    """What the console shows when a car is clicked."""

    vehicle: VehiclePublic
    lessor_name: str | None
    last_position: PositionPublic | None
    current: CardAssignment | None
    today: list[CardAssignment]


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _place_layer(session: Session, principal: Principal, table: Any, fields: tuple[str, ...],
                 geometry: Callable[[Any], dict[str, Any]] | None = None) -> FeatureCollection:
    """The rows of ``table`` in scope as features: ``fields`` and ``org_id`` as properties, the
    geometry from ``geometry`` (default the row's own GeoJSON polygon)."""
    rows = session.exec(select(table).where(principal.scope_filter(col(table.org_id)))).all()
    return FeatureCollection(features=[
        Feature(id=row.id, geometry=geometry(row) if geometry else row.geometry,
                properties={name: getattr(row, name) for name in (*fields, "org_id")})
        for row in rows])


@router.get("/depots", response_model=FeatureCollection, dependencies=[place_readers])
def depot_layer(session: SessionDep, principal: CurrentPrincipal) -> FeatureCollection:
    """Depots in scope as points."""
    return _place_layer(session, principal, Depot, ("name", "address"),
                        lambda d: _point(d.lon, d.lat))


@router.get("/parking-sites", response_model=FeatureCollection, dependencies=[place_readers])
def parking_site_layer(session: SessionDep, principal: CurrentPrincipal) -> FeatureCollection:
    """Designated parking sites (定点停放) in scope as polygons."""
    return _place_layer(session, principal, ParkingSite, ("name", "depot_id"))


@router.get("/zones", response_model=FeatureCollection, dependencies=[place_readers])
def zone_layer(session: SessionDep, principal: CurrentPrincipal) -> FeatureCollection:
    """Allowed areas and forbidden venues in scope as polygons."""
    return _place_layer(session, principal, Zone, ("name", "kind", "category"))


@router.get("/vehicles", response_model=FeatureCollection, dependencies=[fleet_readers])
def vehicle_layer(session: SessionDep, principal: CurrentPrincipal) -> JSONResponse:
    """Every car in scope at its last known position (geometry null when it never reported),
    with what the map needs to colour it: ownership, speed, ignition and the fix time."""
    in_scope = principal.scope_filter(col(Vehicle.org_id))
    latest = (select(Position.vehicle_id, func.max(Position.ts).label("ts"))
              .where(col(Position.vehicle_id).in_(select(Vehicle.id).where(in_scope)))
              .group_by(col(Position.vehicle_id)).subquery())
    positions = {
        p.vehicle_id: p
        for p in session.exec(select(Position).join(
            latest, (col(Position.vehicle_id) == latest.c.vehicle_id) & (col(Position.ts) == latest.c.ts))).all()
    }
    features = []
    for v in session.exec(select(Vehicle).where(in_scope).order_by(col(Vehicle.id))).all():
        p = positions.get(v.id)
        properties: dict[str, Any] = {
            "vehicle_id": v.id, "plate": v.plate, "ownership": v.ownership.value, "energy": v.energy.value,
            "vehicle_class": v.vehicle_class.value, "status": v.status.value, "org_id": v.org_id,
            "device_id": v.gps_device_id, "ts": p.ts.isoformat() if p else None,
            "speed_kmh": p.speed_kmh if p else None, "heading_deg": p.heading_deg if p else None,
            "ignition": p.ignition if p else None, "source": p.source if p else None,
        }
        features.append({"type": "Feature", "id": v.id, "geometry": _point(p.lon, p.lat) if p else None,
                         "properties": properties})
    # Built as plain JSON: validating 2,000 features through the response model costs more
    # than the query; the shape is the FeatureCollection model above.
    return JSONResponse({"type": "FeatureCollection", "features": features})


@router.get("/vehicles/{object_id}", response_model=VehicleCard, dependencies=[fleet_readers])
def vehicle_card(object_id: ObjectId, request: Request, session: SessionDep,
                 principal: CurrentPrincipal) -> VehicleCard:
    """One car: its record, last position, and today's assignments with driver and request
    (``current``: the trip under way, else the next one still to come)."""
    vehicle = session.get(Vehicle, object_id)
    if vehicle is None or not principal.in_scope(session, vehicle.org_id):
        raise not_found("vehicle", object_id)
    last = session.exec(select(Position).where(Position.vehicle_id == vehicle.id)
                        .order_by(col(Position.ts).desc()).limit(1)).first()
    tz = request.app.state.settings.tz
    day_start = datetime.combine(datetime.now(tz).date(), time(0), tz)
    rows = assignments_of_day(session, day_start, Assignment.vehicle_id == vehicle.id)
    today = []
    for assignment, trip_request in rows:
        driver = session.get(Driver, assignment.driver_id) if assignment.driver_id else None
        today.append(CardAssignment(
            assignment_id=assignment.id, request_id=trip_request.id, request_state=trip_request.state,
            purpose=trip_request.purpose, origin_address=trip_request.origin_address,
            destination_address=trip_request.destination_address, planned_pickup=assignment.planned_pickup,
            planned_dropoff=assignment.planned_dropoff, driver_id=driver.id if driver else None,
            driver_name=driver.name if driver else None, driver_phone=driver.phone if driver else None,
            explanation=assignment.explanation))
    waiting = {RequestState.planned, RequestState.assigned}
    current = next((a for a in today if a.request_state == RequestState.in_progress), None) or next(
        (a for a in today if a.request_state in waiting), None)
    lessor = session.get(Lessor, vehicle.lessor_id) if vehicle.lessor_id else None
    return VehicleCard(vehicle=VehiclePublic.model_validate(vehicle), lessor_name=lessor.name if lessor else None,
                       last_position=PositionPublic.model_validate(last) if last else None,
                       current=current, today=today)
