"""A small organisation tree with one user of every role, served by the real app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from fleet.models import (
    Alert,
    Assignment,
    AssignmentKind,
    Depot,
    LessorTariff,
    OrgLevel,
    ParkingSite,
    Position,
    Role,
    Trip,
    Zone,
)
from fleet.models.telemetry import SpeedZone
from fleet.security import hash_password, issue_token
from fleet.settings import get_settings
from tests.builders import (
    World,
    add,
    driver,
    lessor,
    organisation,
    trip_request,
    user,
    vehicle,
)

PASSWORD = "correct-horse-42"
PASSWORD_HASH = hash_password(PASSWORD)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[119.20, 34.60], [119.21, 34.60], [119.21, 34.61], [119.20, 34.61], [119.20, 34.60]]],
}
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)

def build_world(session: Session) -> World:
    w = World()
    city = organisation(session, "连云港市", "320700", OrgLevel.city)
    county = organisation(session, "东海县", "320722", OrgLevel.county, city)
    township = organisation(session, "牛山街道", "320722001", OrgLevel.township, county)
    agency = organisation(session, "东海县教育局", "320722-EDU", OrgLevel.agency, county)
    other_agency = organisation(session, "市财政局", "320700-FIN", OrgLevel.agency, city)
    w.ids.update(city=city.id, county=county.id, township=township.id, agency=agency.id,
                 other_agency=other_agency.id)

    homes = {Role.admin: city, Role.dispatcher: city, Role.driver: city, Role.requester: agency,
             Role.approver: agency, Role.auditor: city, Role.planner: city}
    for role, org in homes.items():
        w.ids[f"user_{role.value}"] = user(session, role.value, role, org.id, PASSWORD_HASH,
                                           full_name=role.value).id
    other = user(session, "other_requester", Role.requester, other_agency.id, PASSWORD_HASH)
    w.ids["user_other_requester"] = other.id

    depot = add(session, Depot(name="市机关车队", org_id=city.id, lat=34.60, lon=119.20))
    site = ParkingSite(name="车队停车场", org_id=city.id, depot_id=depot.id, geometry=SQUARE)
    zone = Zone(name="某KTV", org_id=city.id, kind="forbidden_venue", category="entertainment", geometry=SQUARE)
    speed_zone = SpeedZone(name="学校路段", org_id=city.id, limit_kmh=30, geometry=SQUARE)
    session.add_all([site, zone, speed_zone])
    fleet_lessor = lessor(session, "港城租车", city.id)
    session.add(LessorTariff(lessor_id=fleet_lessor.id, vehicle_class="sedan", seats=5, energy="petrol",
                             base_cny=200, per_km_cny=1.5, per_hour_cny=30, max_vehicles=10))
    car = vehicle(session, "苏G12345", "LSVAA4180E2000001", city.id, odometer_km=80000, gps_device_id="dev-0001",
                  home_depot_id=depot.id, parking_site_id=site.id)
    chauffeur = driver(session, "张师傅", city.id, home_depot_id=depot.id, user_id=w.ids["user_driver"])
    request = trip_request(session, agency.id, w.ids["user_requester"], T0, (34.55, 118.77),
                           window=timedelta(minutes=30), purpose="督导检查", passengers=2, state="planned")
    other_request = trip_request(session, other_agency.id, other.id, T0, (34.62, 119.18), window=timedelta(hours=1),
                                 purpose="预算评审")
    draft_request = trip_request(session, agency.id, w.ids["user_requester"], T0, (34.70, 119.30),
                                 window=timedelta(hours=1), purpose="调研", passengers=3)
    assignment = add(session, Assignment(request_id=request.id, kind=AssignmentKind.pool, vehicle_id=car.id,
                                         driver_id=chauffeur.id, planned_pickup=T0,
                                         planned_dropoff=T0 + timedelta(hours=1), cost_cny=120, org_id=agency.id))
    trip = Trip(vehicle_id=car.id, assignment_id=assignment.id, driver_id=chauffeur.id, started_at=T0,
                ended_at=T0 + timedelta(hours=1), distance_km=42.0)
    position = Position(vehicle_id=car.id, ts=T0, lat=34.6, lon=119.2, speed_kmh=30)
    alert = Alert(kind="parking.off_site_night", vehicle_id=car.id, started_at=T0, lat=34.6, lon=119.2)
    session.add_all([trip, position, alert])
    session.commit()
    w.ids.update(depot=depot.id, parking_site=site.id, zone=zone.id, speed_zone=speed_zone.id,
                 lessor=fleet_lessor.id, vehicle=car.id, driver=chauffeur.id, request=request.id,
                 other_request=other_request.id, draft_request=draft_request.id, assignment=assignment.id,
                 trip=trip.id, alert=alert.id)
    return w


#: Apps built so far, by the settings their middleware keeps (body limit, tile origin,
#: environment): building one costs 0.1-0.3 s and, through FastAPI's caches of dependency
#: callables, memory that is never given back, so the tests share them.
_BUILT_APPS: dict[tuple[int, str, str], FastAPI] = {}


@pytest.fixture
def app(engine, mqtt_url, monkeypatch) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    """The real app on the test's database, broker and settings (each test its own engine,
    key and live hub; the routes and middleware are built once per session, again after a
    test that added routes or overrode dependencies)."""
    from web.app import bind_settings, create_app

    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    settings = get_settings()
    built_with = (settings.web.body_max_bytes, settings.web.tile_url, settings.env)
    shared = _BUILT_APPS.get(built_with)
    if shared is None:
        shared = _BUILT_APPS[built_with] = create_app(settings)
    else:
        bind_settings(shared, settings)
    routes = list(shared.router.routes)
    yield shared
    shared.state.engine.dispose()
    if shared.router.routes != routes or shared.dependency_overrides:
        del _BUILT_APPS[built_with]  # the test changed the app itself: later tests get a fresh one


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def world(session: Session, client: TestClient) -> World:
    """The world, with a token per role signed by the app's key (login has tests of its own)."""
    w = build_world(session)
    key = client.app.state.signing_key
    for name in [role.value for role in Role] + ["other_requester"]:
        w.tokens[name] = issue_token(w.ids[f"user_{name}"], key, 3600)
    return w


@pytest.fixture
def api_schema(app):  # type: ignore[no-untyped-def]
    """The application's own OpenAPI schema, for schemathesis."""
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", app)
