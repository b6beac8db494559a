"""Hand-built traces and a small world for the motion and rule tests.

Times are given in local Shanghai time (UTC+8) and stored in UTC; places are around the
Lianyungang depot. ``DEPOT`` lies in the designated parking site, ``VENUE`` in a forbidden
venue zone, ``BESIDE_VENUE`` 300 m from it, ``TOWN`` 8 km east, ``FAR`` outside the city."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete
from sqlmodel import Session, select

from fleet.models import (
    Alert,
    Assignment,
    AssignmentKind,
    HireWindow,
    OrgLevel,
    ParkingSite,
    Position,
    Role,
    Trip,
    Zone,
)
from fleet.models.telemetry import SpeedZone, Stop
from telematics.evaluation import reevaluate
from telematics.motion import Track
from tests.builders import World, box, lessor, organisation, trip_request, user, vehicle
from tests.builders import local_time as local  # noqa: F401  (the rule tests read local times from here)

DEPOT = (34.6010, 119.2010)
VENUE = (34.6210, 119.2510)
BESIDE_VENUE = (34.6237, 119.2510)  # 300 m north of the venue's centre, outside it
TOWN = (34.6010, 119.2885)  # about 8 km east of the depot
FAR = (34.6010, 119.8000)  # east of the city boundary


CITY_AREA = {"type": "Polygon", "coordinates": [[[118.9, 34.3], [119.6, 34.3], [119.6, 34.9],
                                                  [118.9, 34.9], [118.9, 34.3]]]}


@dataclass
class Trace:
    """Fixes in event-time order: dicts with ts, lat, lon, speed_kmh, ignition."""

    fixes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        return self.fixes[-1]["ts"]

    def park(self, at: tuple[float, float], start: datetime, minutes: float, every_s: float = 60,
             ignition: bool = False) -> Trace:
        """Standing at ``at`` from ``start`` for ``minutes`` (first fix at ``start``)."""
        count = int(minutes * 60 // every_s) + 1
        for i in range(count):
            self.fixes.append({"ts": start + timedelta(seconds=i * every_s), "lat": at[0],
                               "lon": at[1], "speed_kmh": 0.0, "ignition": ignition})
        return self

    def drive(self, to: tuple[float, float], minutes: float, every_s: float = 10,
              speed_kmh: float | None = None, via: tuple[float, float] | None = None) -> Trace:
        """Driving from the last fix to ``to`` (through ``via``) in ``minutes``."""
        last = self.fixes[-1]
        start = (last["lat"], last["lon"])
        legs = [start, via, to] if via else [start, to]
        count = int(minutes * 60 // every_s)
        for i in range(1, count + 1):
            u = i / count * (len(legs) - 1)
            leg = min(int(u), len(legs) - 2)
            w = u - leg
            lat = legs[leg][0] + (legs[leg + 1][0] - legs[leg][0]) * w
            lon = legs[leg][1] + (legs[leg + 1][1] - legs[leg][1]) * w
            self.fixes.append({"ts": last["ts"] + timedelta(seconds=i * every_s), "lat": lat,
                               "lon": lon, "speed_kmh": speed_kmh if speed_kmh is not None else 40.0,
                               "ignition": True})
        return self

    def then_park(self, minutes: float, every_s: float = 60) -> Trace:
        last = self.fixes[-1]
        return self.park((last["lat"], last["lon"]), last["ts"] + timedelta(seconds=every_s), minutes, every_s)

    def track(self) -> Track:
        """The trace as a pure Track (ids 1..n)."""
        n = len(self.fixes)
        return Track(np.arange(1, n + 1), np.array([f["ts"].timestamp() for f in self.fixes]),
                     np.array([f["lat"] for f in self.fixes]), np.array([f["lon"] for f in self.fixes]),
                     np.array([f["speed_kmh"] for f in self.fixes]),
                     np.array([f["ignition"] for f in self.fixes], dtype=bool))


def build_world(session: Session) -> World:
    """City with its boundary, an agency, a designated site, a forbidden venue, a pool car, a
    leased car and a requester."""
    w = World()
    city = organisation(session, "连云港市", "320700", OrgLevel.city)
    agency = organisation(session, "市财政局", "320700-FIN", OrgLevel.agency, city)
    requester = user(session, "requester", Role.requester, agency.id, full_name="r")
    site = ParkingSite(name="车队停车场", org_id=city.id, geometry=box(*DEPOT, 0.001))
    session.add_all([site,
                     Zone(name="市界", org_id=city.id, kind="allowed_area", geometry=CITY_AREA),
                     Zone(name="某会所", org_id=city.id, kind="forbidden_venue", category="entertainment",
                          geometry=box(*VENUE, 0.0015))])
    leasing = lessor(session, "港城租车", city.id)
    car = vehicle(session, "苏G12345", "LSVAA4180E2000001", agency.id, gps_device_id="dev-0001",
                  parking_site_id=site.id)
    leased = vehicle(session, "苏G54321", "LSVAA4180E2000002", agency.id, purchase_date=date(2022, 5, 1),
                     gps_device_id="dev-0002", ownership="leased", lessor_id=leasing.id)
    session.add(HireWindow(vehicle_id=leased.id, starts_at=local(date(2026, 12, 2), 0),
                           ends_at=local(date(2026, 12, 3), 0), note="lease of 2026-12-02"))
    session.commit()
    w.ids.update(city=city.id, agency=agency.id, user=requester.id, site=site.id, car=car.id,
                 leased=leased.id)
    return w


def add_order(session: Session, w: World, vehicle_id: int, pickup: datetime, dropoff: datetime,
              state: str = "assigned", origin: tuple[float, float] = DEPOT,
              destination: tuple[float, float] = TOWN, round_trip: bool = False) -> int:
    """A trip request in ``state`` with an assignment of ``vehicle_id``; returns the request id."""
    request = trip_request(session, w.ids["agency"], w.ids["user"], pickup, destination, origin=origin,
                           state=state, wait_and_return=round_trip, return_at=dropoff if round_trip else None)
    session.add(Assignment(request_id=request.id, kind=AssignmentKind.pool, vehicle_id=vehicle_id,
                           planned_pickup=pickup, planned_dropoff=dropoff, org_id=w.ids["agency"]))
    session.commit()
    return request.id


def add_speed_zone(session: Session, w: World, at: tuple[float, float], half_deg: float, limit_kmh: float) -> None:
    session.add(SpeedZone(name="学校路段", org_id=w.ids["city"], limit_kmh=limit_kmh, geometry=box(*at, half_deg)))
    session.commit()


def feed(session: Session, vehicle_id: int, fixes: list[dict[str, Any]]) -> list[Alert]:
    """Store a batch of fixes as the ingest does (duplicates skipped) and re-evaluate the
    window they touch; commits like the ingest worker."""
    stored = set(session.exec(select(Position.ts).where(Position.vehicle_id == vehicle_id,
                                                         Position.ts.in_([f["ts"] for f in fixes]))).all())
    fresh: dict[datetime, dict[str, Any]] = {}
    for fix in fixes:
        if fix["ts"] not in stored:
            fresh.setdefault(fix["ts"], fix)
    session.add_all([Position(vehicle_id=vehicle_id, **fix) for fix in fresh.values()])
    session.flush()
    times = [f["ts"] for f in fixes]
    changed = reevaluate(session, {vehicle_id: (min(times), max(times))})
    session.commit()
    return changed


def alerts(session: Session, vehicle_id: int, kind: str | None = None) -> list[Alert]:
    statement = select(Alert).where(Alert.vehicle_id == vehicle_id).order_by(Alert.started_at)
    if kind:
        statement = statement.where(Alert.kind == kind)
    return list(session.exec(statement).all())


def kinds(session: Session, vehicle_id: int) -> set[str]:
    return {a.kind for a in alerts(session, vehicle_id)}


def snapshot(session: Session, vehicle_id: int) -> dict[str, Any]:
    """Stored trips, stops and alerts of a vehicle, with position ids replaced by event times
    (ids depend on arrival order, times do not)."""
    ts_of = dict(session.exec(select(Position.id, Position.ts).where(Position.vehicle_id == vehicle_id)).all())

    def pos(value: int | None) -> str | None:
        return None if value is None else ts_of[value].isoformat()

    trips = [(t.started_at, t.ended_at, t.distance_km, pos(t.first_position_id), pos(t.last_position_id))
             for t in session.exec(select(Trip).where(Trip.vehicle_id == vehicle_id).order_by(Trip.started_at))]
    stops = [(s.started_at, s.ended_at, s.duration_s, s.lat, s.lon, s.position_count,
              pos(s.first_position_id), pos(s.last_position_id))
             for s in session.exec(select(Stop).where(Stop.vehicle_id == vehicle_id).order_by(Stop.started_at))]
    found = []
    for a in alerts(session, vehicle_id):
        evidence = {k: v for k, v in a.evidence.items() if k not in ("trip_id", "stop_id")}
        for key in ("first_position_id", "last_position_id"):
            if key in evidence:
                evidence[key] = pos(evidence[key])
        evidence.pop("also", None)
        found.append((a.kind, a.started_at, a.ended_at, a.lat, a.lon, a.severity, repr(sorted(evidence.items())),
                      a.rule_version))
    return {"trips": trips, "stops": stops, "alerts": sorted(found, key=lambda a: (a[1], a[0]))}


def clear_telemetry(session: Session, vehicle_id: int) -> None:
    for model in (Alert, Trip, Stop, Position):
        session.exec(delete(model).where(model.vehicle_id == vehicle_id))  # type: ignore[call-overload]
    session.commit()
