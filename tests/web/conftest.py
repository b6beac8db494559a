"""A small organisation tree with one user of every role, served by the real app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from fleet.models import (
    Alert,
    Assignment,
    AssignmentKind,
    Depot,
    Driver,
    Lessor,
    LessorTariff,
    Organisation,
    OrgLevel,
    ParkingSite,
    Position,
    Role,
    Trip,
    TripRequest,
    User,
    Vehicle,
    Zone,
)
from fleet.models.telemetry import SpeedZone
from fleet.security import hash_password, issue_token
from fleet.settings import get_settings

PASSWORD = "correct-horse-42"
PASSWORD_HASH = hash_password(PASSWORD)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[119.20, 34.60], [119.21, 34.60], [119.21, 34.61], [119.20, 34.61], [119.20, 34.60]]],
}
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


@dataclass
class World:
    """Ids of everything the fixture created; ``tokens`` holds a bearer token per role."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def _org(session: Session, name: str, code: str, level: OrgLevel, parent: Organisation | None) -> Organisation:
    org = Organisation(name=name, code=code, level=level, parent_id=parent.id if parent else None)
    session.add(org)
    session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    return org


def build_world(session: Session) -> World:
    w = World()
    city = _org(session, "连云港市", "320700", OrgLevel.city, None)
    county = _org(session, "东海县", "320722", OrgLevel.county, city)
    township = _org(session, "牛山街道", "320722001", OrgLevel.township, county)
    agency = _org(session, "东海县教育局", "320722-EDU", OrgLevel.agency, county)
    other_agency = _org(session, "市财政局", "320700-FIN", OrgLevel.agency, city)
    w.ids.update(city=city.id, county=county.id, township=township.id, agency=agency.id,
                 other_agency=other_agency.id)

    homes = {Role.admin: city, Role.dispatcher: city, Role.driver: city, Role.requester: agency,
             Role.approver: agency, Role.auditor: city}
    for role, org in homes.items():
        user = User(username=role.value, full_name=role.value, role=role, org_id=org.id,
                    password_hash=PASSWORD_HASH)
        session.add(user)
        session.flush()
        w.ids[f"user_{role.value}"] = user.id
    other = User(username="other_requester", role=Role.requester, org_id=other_agency.id,
                 password_hash=PASSWORD_HASH)
    session.add(other)
    session.flush()
    w.ids["user_other_requester"] = other.id

    depot = Depot(name="市机关车队", org_id=city.id, lat=34.60, lon=119.20)
    session.add(depot)
    session.flush()
    site = ParkingSite(name="车队停车场", org_id=city.id, depot_id=depot.id, geometry=SQUARE)
    zone = Zone(name="某KTV", org_id=city.id, kind="forbidden_venue", category="entertainment", geometry=SQUARE)
    lessor = Lessor(name="港城租车", org_id=city.id, contract_start=date(2026, 1, 1), contract_end=date(2027, 12, 31),
                    lat=34.59, lon=119.22)
    speed_zone = SpeedZone(name="学校路段", org_id=city.id, limit_kmh=30, geometry=SQUARE)
    session.add_all([site, zone, speed_zone, lessor])
    session.flush()
    session.add(LessorTariff(lessor_id=lessor.id, vehicle_class="sedan", seats=5, energy="petrol",
                             base_cny=200, per_km_cny=1.5, per_hour_cny=30, max_vehicles=10))
    vehicle = Vehicle(plate="苏G12345", vin="LSVAA4180E2000001", org_id=city.id, vehicle_class="sedan", seats=5,
                      energy="petrol", emission_standard="china6", purchase_date=date(2020, 5, 1),
                      purchase_price_cny=150000, odometer_km=80000, gps_device_id="dev-0001",
                      home_depot_id=depot.id, parking_site_id=site.id)
    session.add(vehicle)
    session.flush()
    driver = Driver(name="张师傅", org_id=city.id, licence_class="B1", phone="13800000000",
                    shift_start=time(8, 0), shift_end=time(18, 0), home_depot_id=depot.id,
                    user_id=w.ids["user_driver"])
    session.add(driver)
    session.flush()
    request = TripRequest(agency_id=agency.id, requester_id=w.ids["user_requester"], purpose="督导检查",
                          passengers=2, origin_lat=34.60, origin_lon=119.20, destination_lat=34.55,
                          destination_lon=118.77, pickup_earliest=T0, pickup_latest=T0 + timedelta(minutes=30),
                          state="planned")
    other_request = TripRequest(agency_id=other_agency.id, requester_id=other.id, purpose="预算评审",
                                passengers=1, origin_lat=34.60, origin_lon=119.20, destination_lat=34.62,
                                destination_lon=119.18, pickup_earliest=T0, pickup_latest=T0 + timedelta(hours=1))
    draft_request = TripRequest(agency_id=agency.id, requester_id=w.ids["user_requester"], purpose="调研",
                                passengers=3, origin_lat=34.60, origin_lon=119.20, destination_lat=34.70,
                                destination_lon=119.30, pickup_earliest=T0, pickup_latest=T0 + timedelta(hours=1))
    session.add_all([request, other_request, draft_request])
    session.flush()
    assignment = Assignment(request_id=request.id, kind=AssignmentKind.pool, vehicle_id=vehicle.id,
                            driver_id=driver.id, planned_pickup=T0, planned_dropoff=T0 + timedelta(hours=1),
                            cost_cny=120, org_id=agency.id)
    session.add(assignment)
    session.flush()
    trip = Trip(vehicle_id=vehicle.id, assignment_id=assignment.id, driver_id=driver.id, started_at=T0,
                ended_at=T0 + timedelta(hours=1), distance_km=42.0)
    position = Position(vehicle_id=vehicle.id, ts=T0, lat=34.6, lon=119.2, speed_kmh=30)
    alert = Alert(kind="parking.off_site_night", vehicle_id=vehicle.id, started_at=T0, lat=34.6, lon=119.2)
    session.add_all([trip, position, alert])
    session.commit()
    w.ids.update(depot=depot.id, parking_site=site.id, zone=zone.id, speed_zone=speed_zone.id, lessor=lessor.id, vehicle=vehicle.id,
                 driver=driver.id, request=request.id, other_request=other_request.id, draft_request=draft_request.id,
                 assignment=assignment.id, trip=trip.id, alert=alert.id)
    return w


@pytest.fixture
def app(engine, mqtt_url, monkeypatch):  # type: ignore[no-untyped-def]
    from web.app import create_app

    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    return create_app()


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
        w.tokens[name] = issue_token(w.ids[f"user_{name}"], key, 60)
    return w


@pytest.fixture
def api_schema(app):  # type: ignore[no-untyped-def]
    """The application's own OpenAPI schema, for schemathesis."""
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", app)
