"""A requester's whole loop: a request refused for a past pickup or a missing place, the
car, plate, driver and planned pickup once it is assigned, and cancelling it with a reason
until the trip starts."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from fleet.models import Assignment, AssignmentKind, AuditEntry, TripRequest, utcnow
from tests.builders import SHANGHAI, World
from tests.web.test_trip_request_workflow import request_body


def refusals(response) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Field -> (code, English rule) of a 422 refusal."""
    assert response.status_code == 422, response.text
    return {e["loc"][-1]: (e["type"], e["msg"]) for e in response.json()["detail"]}


def file(client, w: World, **changes):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/trip-requests", json=request_body(w) | changes, headers=w.auth("requester"))


def test_a_pickup_in_the_past_is_refused_beyond_the_grace(client, world, monkeypatch):
    yesterday = utcnow() - timedelta(days=1)
    r = file(client, world, pickup_earliest=yesterday.isoformat(),
             pickup_latest=(yesterday + timedelta(minutes=30)).isoformat())
    code, msg = refusals(r)["pickup_latest"]
    assert code == "pickup_in_past" and "in the past" in msg
    assert r.json()["detail"][0]["ctx"]["grace_s"] == 300
    a_minute_ago = utcnow() - timedelta(minutes=1)
    r = file(client, world, pickup_earliest=(a_minute_ago - timedelta(minutes=30)).isoformat(),
             pickup_latest=a_minute_ago.isoformat())
    assert r.status_code == 201, r.text  # within the grace (5 min)
    monkeypatch.setattr(client.app.state.settings.trips, "pickup_grace_s", 30)
    assert "pickup_latest" in refusals(file(client, world, pickup_earliest=(a_minute_ago - timedelta(minutes=30))
                                            .isoformat(), pickup_latest=a_minute_ago.isoformat()))
    # administrators record past trips
    r = client.post("/api/v1/trip-requests", headers=world.auth("admin"), json=request_body(world) | {
        "pickup_earliest": yesterday.isoformat(), "pickup_latest": yesterday.isoformat()})
    assert r.status_code == 201, r.text


def test_a_draft_whose_pickup_passed_cannot_be_submitted(client, world, session: Session):
    rid = file(client, world).json()["id"]
    request = session.get(TripRequest, rid)
    request.pickup_earliest = request.pickup_latest = utcnow() - timedelta(hours=2)
    session.add(request)
    session.commit()
    r = client.post(f"/api/v1/trip-requests/{rid}/transitions", json={"to": "submitted"},
                    headers=world.auth("requester"))
    assert refusals(r)["pickup_latest"][0] == "pickup_in_past"


def test_empty_places_are_refused_naming_each_field(client, world):
    found = refusals(file(client, world, origin_address="  ", destination_address=""))
    assert found["origin_address"][0] == "address_missing" and "origin" in found["origin_address"][1]
    assert found["destination_address"][0] == "address_missing"


def _assigned(client, w: World, session: Session) -> tuple[int, int]:
    """A request of the requester, approved and assigned to the world's car and driver."""
    rid = file(client, w).json()["id"]
    for role, to in (("requester", "submitted"), ("approver", "approved")):
        assert client.post(f"/api/v1/trip-requests/{rid}/transitions", json={"to": to},
                           headers=w.auth(role)).status_code == 200
    request = session.get(TripRequest, rid)
    pickup = request.pickup_earliest
    r = client.post("/api/v1/assignments", headers=w.auth("dispatcher"), json={
        "request_id": rid, "kind": "pool", "vehicle_id": w.ids["vehicle"], "driver_id": w.ids["driver"],
        "planned_pickup": pickup.isoformat(), "planned_dropoff": (pickup + timedelta(hours=1)).isoformat(),
        "cost_cny": 80})
    assert r.status_code == 201, r.text
    request.state = "assigned"
    session.add(request)
    session.commit()
    return rid, r.json()["id"]


def test_the_requester_sees_car_plate_driver_and_pickup_once_assigned(client, world, session: Session):
    rid = file(client, world).json()["id"]
    r = client.get(f"/api/v1/trip-requests/{rid}/assignment", headers=world.auth("requester"))
    assert r.status_code == 404 and "no car assigned yet" in r.json()["detail"]
    rid, aid = _assigned(client, world, session)
    r = client.get(f"/api/v1/trip-requests/{rid}/assignment", headers=world.auth("requester"))
    assert r.status_code == 200, r.text
    seen = r.json()
    assignment = session.get(Assignment, aid)
    assert (seen["plate"], seen["driver_name"], seen["driver_phone"], seen["kind"]) == (
        "苏G12345", "张师傅", "13800000000", AssignmentKind.pool)
    assert seen["planned_pickup"].startswith(assignment.planned_pickup.strftime("%Y-%m-%dT%H:%M"))
    assert client.get(f"/api/v1/trip-requests/{rid}/assignment",
                      headers=world.auth("other_requester")).status_code == 404


def test_the_requester_cancels_with_a_reason_until_the_trip_starts(client, world, session: Session):
    rid, aid = _assigned(client, world, session)
    move = lambda body: client.post(f"/api/v1/trip-requests/{rid}/transitions", json=body,  # noqa: E731
                                    headers=world.auth("requester"))
    assert move({"to": "cancelled"}).status_code == 422
    r = move({"to": "cancelled", "reason": "会议改期"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["state_reason"]) == ("cancelled", "会议改期")
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "trip_request.cancelled")).one()
    assert entry.object_id == str(rid)
    drivers_day = client.get("/api/v1/driver/today", headers=world.auth("driver"),
                             params={"service_date": session.get(Assignment, aid).planned_pickup
                                     .astimezone(SHANGHAI).date().isoformat()})
    assert aid not in [s["assignment"]["id"] for s in drivers_day.json()]

    rid, aid = _assigned(client, world, session)
    request = session.get(TripRequest, rid)
    request.state = "in_progress"
    session.add(request)
    session.commit()
    r = client.post(f"/api/v1/trip-requests/{rid}/transitions", json={"to": "cancelled", "reason": "不用了"},
                    headers=world.auth("requester"))
    assert r.status_code == 409 and "'in_progress' cannot go to 'cancelled'" in r.json()["detail"]
