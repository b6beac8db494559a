"""What one violation's evidence page states, read from the platform's own records: the
alert and its rule, the car and its owner, the driver on duty and the orders of the day, the
review decision, and the map's material (the timed track, stops, the designated parking site,
the forbidden venues and allowed areas around it). Times are UTC; the page shows them local."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, func
from sqlmodel import Session, col, select

import numpy as np

from fleet.geo import haversine_m
from fleet.models import (
    Alert,
    Assignment,
    Driver,
    Organisation,
    Position,
    Trip,
    TripRequest,
    User,
    Vehicle,
    ZoneKind,
)
from fleet.models.compliance import AlertReviewStep
from fleet.models.sites import ParkingSite, Zone
from fleet.models.telemetry import Stop

#: Degrees around the track in which forbidden venues are looked up (about 5 km).
VENUE_MARGIN_DEG = 0.05


@dataclass(frozen=True)
class TrackPoint:
    """One GPS fix: UTC time, degrees."""

    ts: datetime
    lon: float
    lat: float


@dataclass(frozen=True)
class StopMark:
    """A stop of the car in the map's time window: UTC times, centre in degrees."""

    started_at: datetime
    ended_at: datetime
    lon: float
    lat: float


@dataclass(frozen=True)
class MapArea:
    """A polygon drawn on the map: its name, what it is, and its shape (WGS-84 degrees)."""

    name: str
    role: str  # "site", "forbidden" or "allowed"
    geometry: BaseGeometry


@dataclass(frozen=True)
class OrderLine:
    """One order (trip request with its assignment) of the car that day."""

    pickup: datetime
    dropoff: datetime
    agency: str
    purpose: str
    route: str
    kind: str
    state: str
    driver: str | None


@dataclass(frozen=True)
class Decision:
    """The latest review step: who reviewed, to which state, why, when."""

    reviewer: str | None
    state: str
    reason: str | None
    at: datetime


@dataclass
class AlertEvidence:
    """Everything a violation page shows about one alert."""

    alert_id: int
    kind: str
    severity: str
    rule_version: str
    thresholds: dict[str, Any]
    evidence: dict[str, Any]
    started_at: datetime
    ended_at: datetime | None
    lat: float | None
    lon: float | None
    plate: str
    vehicle_class: str
    energy: str
    ownership: str
    owner: str
    drivers: list[str]
    orders: list[OrderLine]
    decision: Decision | None
    distance_km: float
    window_start: datetime
    window_end: datetime
    track: list[TrackPoint] = field(default_factory=list)
    stops: list[StopMark] = field(default_factory=list)
    areas: list[MapArea] = field(default_factory=list)
    site: MapArea | None = None

    def texts(self) -> list[str]:
        """Every free text of the page (for choosing the font's glyphs)."""
        out = [self.plate, self.owner, self.rule_version, *self.drivers, *(a.name for a in self.areas)]
        for order in self.orders:
            out += [order.agency, order.purpose, order.route, order.driver or ""]
        if self.decision is not None:
            out += [self.decision.reviewer or "", self.decision.reason or ""]
        out += [str(v) for v in _flat_values(self.evidence)]
        return out


def _flat_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flat_values(item)]
    if isinstance(value, list):
        return [v for item in value for v in _flat_values(item)]
    return [value]


def _day_bounds(moment: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day holding ``moment``, as UTC-aware bounds."""
    day = moment.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    return start, start + timedelta(days=1)


def _person(user: User | None) -> str | None:
    return (user.full_name or user.username) if user is not None else None


def timed_track(session: Session, vehicle_id: int, start: datetime, end: datetime,
                max_points: int) -> list[TrackPoint]:
    """The car's fixes between two times, thinned evenly to at most ``max_points`` (the last
    fix is always kept, so the track ends where the car was last seen)."""
    window = and_(Position.vehicle_id == vehicle_id, col(Position.ts) >= start, col(Position.ts) <= end)
    count = session.exec(select(func.count()).select_from(Position).where(window)).one()
    step = max(1, -(-count // max_points))
    rows = session.exec(select(Position.ts, Position.lon, Position.lat).where(window)
                        .order_by(col(Position.ts))).all()
    kept = rows[::step]
    if rows and kept[-1] is not rows[-1]:
        kept.append(rows[-1])
    return [TrackPoint(ts, lon, lat) for ts, lon, lat in kept]


def span_distance_km(track: list[TrackPoint], start: datetime, end: datetime) -> float:
    """Kilometres along the track's fixes between two times (straight steps between fixes)."""
    inside = [p for p in track if start <= p.ts <= end]
    if len(inside) < 2:
        return 0.0
    steps = haversine_m(np.array([p.lat for p in inside[:-1]]), np.array([p.lon for p in inside[:-1]]),
                        np.array([p.lat for p in inside[1:]]), np.array([p.lon for p in inside[1:]]))
    return float(steps.sum()) / 1000


def _orders(session: Session, vehicle_id: int, day: tuple[datetime, datetime]) -> list[tuple[Assignment, TripRequest]]:
    statement = (select(Assignment, TripRequest).join(TripRequest, TripRequest.id == Assignment.request_id)
                 .where(Assignment.vehicle_id == vehicle_id, col(Assignment.planned_pickup) < day[1],
                        col(Assignment.planned_dropoff) >= day[0])
                 .order_by(col(Assignment.planned_pickup)))
    return list(session.exec(statement).all())


def _drivers(session: Session, alert: Alert, orders: list[tuple[Assignment, TripRequest]],
             day: tuple[datetime, datetime]) -> list[str]:
    """Drivers of the car that day: the one whose order (or driven trip) covers the alert
    first, then the others of the day, each once."""
    end = alert.ended_at or alert.started_at
    ranked: list[tuple[int, datetime, int]] = []
    for assignment, _ in orders:
        if assignment.driver_id is not None:
            covers = assignment.planned_pickup <= end and assignment.planned_dropoff >= alert.started_at
            ranked.append((0 if covers else 1, assignment.planned_pickup, assignment.driver_id))
    trips = session.exec(select(Trip).where(Trip.vehicle_id == alert.vehicle_id, col(Trip.driver_id).is_not(None),
                                            col(Trip.started_at) < day[1], col(Trip.started_at) >= day[0])).all()
    for trip in trips:
        covers = trip.started_at <= end and (trip.ended_at or trip.started_at) >= alert.started_at
        ranked.append((0 if covers else 1, trip.started_at, trip.driver_id))  # type: ignore[arg-type]
    names: list[str] = []
    for _, _, driver_id in sorted(ranked):
        driver = session.get(Driver, driver_id)
        if driver is not None and driver.name not in names:
            names.append(driver.name)
    return names


def _decision(session: Session, alert_id: int) -> Decision | None:
    step = session.exec(select(AlertReviewStep).where(AlertReviewStep.alert_id == alert_id)
                        .order_by(col(AlertReviewStep.id).desc()).limit(1)).first()
    if step is None:
        return None
    reviewer = session.get(User, step.reviewer_id) if step.reviewer_id else None
    return Decision(_person(reviewer) or step.actor, step.to_state.value, step.reason, step.at)


def load_zones(session: Session) -> list[tuple[Zone, BaseGeometry]]:
    """Every zone with its shape, read once for all the pages of a document."""
    return [(zone, shape(zone.geometry)) for zone in session.exec(select(Zone).order_by(col(Zone.id))).all()]


def _areas(session: Session, vehicle: Vehicle, track: list[TrackPoint], alert: Alert,
           zones: list[tuple[Zone, BaseGeometry]]) -> list[MapArea]:
    """Forbidden venues near the track, and the allowed areas of the car's organisation and
    its ancestors (the city or county boundary)."""
    lons = [p.lon for p in track] + ([alert.lon] if alert.lon is not None else [])
    lats = [p.lat for p in track] + ([alert.lat] if alert.lat is not None else [])
    if not lons:
        return []
    near = box(min(lons) - VENUE_MARGIN_DEG, min(lats) - VENUE_MARGIN_DEG,
               max(lons) + VENUE_MARGIN_DEG, max(lats) + VENUE_MARGIN_DEG)
    org = session.get(Organisation, vehicle.org_id)
    chain = [int(p) for p in (org.path if org else "").strip("/").split("/") if p]
    areas: list[MapArea] = []
    for zone, geometry in zones:
        if zone.kind == ZoneKind.forbidden_venue and geometry.intersects(near):
            areas.append(MapArea(zone.name, "forbidden", geometry))
        elif zone.kind == ZoneKind.allowed_area and zone.org_id in chain:
            areas.append(MapArea(zone.name, "allowed", geometry))
    return areas


def alert_evidence(session: Session, alert: Alert, tz: ZoneInfo, margin: timedelta, max_points: int,
                   zones: list[tuple[Zone, BaseGeometry]] | None = None) -> AlertEvidence:
    """The evidence of ``alert``; the map window runs ``margin`` before and after it;
    ``zones`` as ``load_zones`` gives them (read here when not given)."""
    vehicle = session.get(Vehicle, alert.vehicle_id)
    assert vehicle is not None  # an alert's car is a foreign key
    owner = session.get(Organisation, vehicle.org_id)
    day = _day_bounds(alert.started_at, tz)
    start, end = alert.started_at - margin, (alert.ended_at or alert.started_at) + margin
    track = timed_track(session, vehicle.id, start, end, max_points)  # type: ignore[arg-type]
    orders = _orders(session, vehicle.id, day)  # type: ignore[arg-type]
    lines = []
    for assignment, request in orders:
        agency = session.get(Organisation, request.agency_id)
        driver = session.get(Driver, assignment.driver_id) if assignment.driver_id else None
        lines.append(OrderLine(assignment.planned_pickup, assignment.planned_dropoff,
                               agency.name if agency else "", request.purpose,
                               f"{request.origin_address or '?'} → {request.destination_address or '?'}",
                               assignment.kind.value, request.state.value, driver.name if driver else None))
    stops = session.exec(select(Stop).where(Stop.vehicle_id == vehicle.id, col(Stop.started_at) <= end,
                                            col(Stop.ended_at) >= start).order_by(col(Stop.started_at))).all()
    site_row = session.get(ParkingSite, vehicle.parking_site_id) if vehicle.parking_site_id else None
    distance = alert.evidence.get("distance_km", alert.evidence.get("driven_km"))
    if not isinstance(distance, int | float):
        distance = span_distance_km(track, alert.started_at, alert.ended_at or alert.started_at)
    return AlertEvidence(
        alert_id=alert.id, kind=alert.kind, severity=alert.severity.value,  # type: ignore[arg-type]
        rule_version=alert.rule_version, thresholds=dict(alert.thresholds), evidence=dict(alert.evidence),
        started_at=alert.started_at, ended_at=alert.ended_at, lat=alert.lat, lon=alert.lon,
        plate=vehicle.plate, vehicle_class=vehicle.vehicle_class.value, energy=vehicle.energy.value,
        ownership=vehicle.ownership.value, owner=owner.name if owner else "",
        drivers=_drivers(session, alert, orders, day), orders=lines, decision=_decision(session, alert.id),  # type: ignore[arg-type]
        distance_km=float(distance),
        window_start=start, window_end=end, track=track,
        stops=[StopMark(s.started_at, s.ended_at, s.lon, s.lat) for s in stops],
        areas=_areas(session, vehicle, track, alert, load_zones(session) if zones is None else zones),
        site=MapArea(site_row.name, "site", shape(site_row.geometry)) if site_row else None,
    )
