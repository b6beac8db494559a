"""A pool driver's whole loop: every action on every trip given to them, whichever agency
asked for it; nobody else's trips; no start long before the planned pickup."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from fleet.models import Assignment, AssignmentKind, Organisation, OrgLevel, Role, TripRequest, utcnow
from fleet.security import issue_token
from tests.builders import SHANGHAI, World, add, driver, organisation, trip_request, user, vehicle
from tests.web.conftest import PASSWORD_HASH


def soon_today(minutes: int) -> datetime:
    """``minutes`` from now, but no later than the last minute of today in Asia/Shanghai."""
    last_minute = datetime.now(SHANGHAI).replace(hour=23, minute=59, second=0, microsecond=0)
    return min(utcnow() + timedelta(minutes=minutes), last_minute)


def pool_trip(session: Session, w: World, pickup: datetime, name: str = "pool") -> int:
    """A trip that 市财政局 (``other_agency``) asked for, assigned to the pool driver of the
    vehicle service centre (an agency beside it, so neither is in the other's subtree)."""
    request = trip_request(session, w.ids["other_agency"], w.ids["user_other_requester"], pickup, (34.65, 119.25),
                           window=timedelta(minutes=30), purpose="送审材料", origin_address="市财政局",
                           destination_address="海州区政府", state="assigned")
    assignment = add(session, Assignment(
        request_id=request.id, kind=AssignmentKind.pool, vehicle_id=w.ids["pool_vehicle"],
        driver_id=w.ids["pool_driver"], planned_pickup=pickup, planned_dropoff=pickup + timedelta(hours=1),
        cost_cny=60, org_id=w.ids["other_agency"], confirmed=True))
    session.commit()
    w.ids[f"{name}_request"] = request.id
    return assignment.id


@pytest.fixture
def pool(world: World, session: Session, client) -> World:  # type: ignore[no-untyped-def]
    """The world with a vehicle service centre (an agency under the city) whose driver login
    ``pool_driver`` drives its car; and a county dispatcher, whose subtree holds neither."""
    centre = organisation(session, "市机关事务管理局", "320700-A01", OrgLevel.agency,
                          session.get_one(Organisation, world.ids["city"]))
    login = user(session, "pool_driver", Role.driver, centre.id, PASSWORD_HASH)
    record = driver(session, "李师傅", centre.id, user_id=login.id, phone="13800001111")
    car = vehicle(session, "苏G9P001", "LSVAA4180E2009001", centre.id, odometer_km=50_000)
    county_dispatcher = user(session, "county_dispatcher", Role.dispatcher, world.ids["county"], PASSWORD_HASH)
    session.commit()
    world.ids.update(pool_driver=record.id, pool_vehicle=car.id, user_pool_driver=login.id)
    key = client.app.state.signing_key
    world.tokens["pool_driver"] = issue_token(login.id, key, 3600)
    world.tokens["county_dispatcher"] = issue_token(county_dispatcher.id, key, 3600)
    return world


def event(client, w: World, assignment_id: int, body: dict, who: str = "pool_driver"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/assignments/{assignment_id}/events", json=body, headers=w.auth(who))


def test_a_pool_driver_runs_a_trip_another_agency_asked_for(client, pool, session):
    w = pool
    aid = pool_trip(session, w, soon_today(10))
    today = client.get("/api/v1/driver/today", headers=w.auth("pool_driver")).json()
    assert [s["assignment"]["id"] for s in today] == [aid]
    assert client.get(f"/api/v1/trip-requests/{w.ids['pool_request']}", headers=w.auth("pool_driver")).status_code == 200
    assert client.get(f"/api/v1/assignments/{aid}", headers=w.auth("pool_driver")).status_code == 200
    for body in ({"event": "arrived"}, {"event": "problem", "note": "乘客晚到十分钟"},
                 {"event": "started", "odometer_km": 50_010}, {"event": "completed", "odometer_km": 50_032}):
        r = event(client, w, aid, body)
        assert r.status_code == 200, (body, r.text)
    assert r.json()["request_state"] == "completed"
    session.expire_all()
    assert session.get(TripRequest, w.ids["pool_request"]).state == "completed"


def test_only_the_assigned_driver_and_dispatchers_of_the_agency_act(client, pool, session):
    w = pool
    aid = pool_trip(session, w, soon_today(10))
    problem = {"event": "problem", "note": "空调故障"}
    # the world's other driver sits at the city (whose subtree holds every agency): still not theirs
    assert event(client, w, aid, problem, who="driver").status_code == 404
    assert event(client, w, aid, problem, who="county_dispatcher").status_code == 404
    assert event(client, w, aid, problem, who="dispatcher").status_code == 200
    assert event(client, w, w.ids["assignment"], problem, who="pool_driver").status_code == 404
    assert client.get(f"/api/v1/trip-requests/{w.ids['request']}", headers=w.auth("pool_driver")).status_code == 404


def test_a_start_long_before_the_pickup_is_refused_with_the_time(client, pool, session, monkeypatch):
    w = pool
    pickup = utcnow() + timedelta(hours=3)
    aid = pool_trip(session, w, pickup)
    assert event(client, w, aid, {"event": "arrived"}).status_code == 200
    r = event(client, w, aid, {"event": "started", "odometer_km": 50_001})
    assert r.status_code == 409, r.text
    [error] = r.json()["detail"]
    assert (error["type"], error["loc"]) == ("start_too_early", ["body", "event"])
    assert "too early to start" in error["msg"] and "2 h before the pickup" in error["msg"]
    earliest = datetime.fromisoformat(error["ctx"]["earliest_start"])
    assert abs((earliest - (pickup - timedelta(hours=2))).total_seconds()) < 1
    assert error["ctx"]["lead_s"] == 7200
    monkeypatch.setattr(client.app.state.settings.trips, "start_lead_s", 4 * 3600)
    r = event(client, w, aid, {"event": "started", "odometer_km": 50_001})
    assert r.status_code == 200, r.text
