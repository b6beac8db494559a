"""A trip request from draft to completed, checked on the server at every step."""

from datetime import datetime, timedelta, timezone

#: A pickup tomorrow (a requester may not ask for one in the past).
T = datetime.now(timezone.utc).replace(minute=30, second=0, microsecond=0) + timedelta(days=1)


def request_body(world):
    """A valid new trip request of the world's agency."""
    return {"agency_id": world.ids["agency"], "purpose": "防汛检查", "passengers": 3, "origin_lat": 34.60,
            "origin_lon": 119.20, "origin_address": "市政府", "destination_lat": 34.52, "destination_lon": 118.75,
            "destination_address": "东海县政府", "pickup_earliest": T.isoformat(), "pickup_latest": (T + timedelta(minutes=20)).isoformat()}


def _file(client, world, role="requester"):
    r = client.post("/api/v1/trip-requests", json=request_body(world), headers=world.auth(role))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _move(client, world, role, request_id, to, reason=None):
    return client.post(f"/api/v1/trip-requests/{request_id}/transitions", json={"to": to, "reason": reason},
                       headers=world.auth(role))


def test_full_life_of_a_request(client, world):
    rid = _file(client, world)
    steps = [("requester", "submitted"), ("approver", "approved"), ("dispatcher", "planned"),
             ("dispatcher", "assigned")]
    for role, to in steps:
        r = _move(client, world, role, rid, to)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == to
    r = client.post("/api/v1/assignments", headers=world.auth("dispatcher"), json={
        "request_id": rid, "kind": "pool", "vehicle_id": world.ids["vehicle"], "driver_id": world.ids["driver"],
        "planned_pickup": T.isoformat(), "planned_dropoff": (T + timedelta(hours=1)).isoformat(), "cost_cny": 80})
    assert r.status_code == 409  # no longer approved or planned
    audit = client.get("/api/v1/audit-entries", params={"object_type": "trip_request", "object_id": str(rid)},
                       headers=world.auth("auditor")).json()
    assert [e["action"] for e in audit["items"]] == [
        "trip_request.create", "trip_request.submitted", "trip_request.approved", "trip_request.planned",
        "trip_request.assigned"]


def test_driver_moves_own_assigned_request(client, world):
    rid = world.ids["request"]
    assert _move(client, world, "dispatcher", rid, "assigned").status_code == 200
    assert _move(client, world, "driver", rid, "in_progress").json()["state"] == "in_progress"
    assert _move(client, world, "driver", rid, "completed").json()["state"] == "completed"


def test_illegal_transition_answers_409_and_says_why(client, world):
    rid = _file(client, world)
    r = _move(client, world, "dispatcher", rid, "planned")
    assert r.status_code == 409
    assert "'draft' cannot go to 'planned'" in r.json()["detail"]
    assert "submitted" in r.json()["detail"]
    assert _move(client, world, "requester", rid, "completed").status_code == 409


def test_reject_and_cancel_need_a_reason(client, world):
    rid = _file(client, world)
    assert _move(client, world, "requester", rid, "submitted").status_code == 200
    r = _move(client, world, "approver", rid, "rejected")
    assert r.status_code == 422
    assert "reason" in r.json()["detail"]
    r = _move(client, world, "approver", rid, "rejected", reason="用车事由不充分")
    assert r.json()["state"] == "rejected"
    assert r.json()["state_reason"] == "用车事由不充分"
    assert _move(client, world, "requester", rid, "cancelled", reason="x").status_code == 409  # final state


def test_wrong_role_for_an_existing_step_is_403(client, world):
    rid = _file(client, world)
    assert _move(client, world, "requester", rid, "submitted").status_code == 200
    r = _move(client, world, "requester", rid, "approved")
    assert r.status_code == 403
    assert r.json()["detail"] == "role 'requester' may not move a request from 'submitted' to 'approved'"


def test_only_drafts_can_be_edited(client, world):
    rid = _file(client, world)
    assert client.patch(f"/api/v1/trip-requests/{rid}", json={"passengers": 5},
                        headers=world.auth("requester")).json()["passengers"] == 5
    _move(client, world, "requester", rid, "submitted")
    r = client.patch(f"/api/v1/trip-requests/{rid}", json={"passengers": 6}, headers=world.auth("requester"))
    assert r.status_code == 409


def test_requesters_see_only_their_agency(client, world):
    mine = client.get("/api/v1/trip-requests", headers=world.auth("requester")).json()
    theirs = client.get("/api/v1/trip-requests", headers=world.auth("other_requester")).json()
    assert {r["agency_id"] for r in mine["items"]} == {world.ids["agency"]}
    assert {r["id"] for r in theirs["items"]} == {world.ids["other_request"]}
    r = client.get(f"/api/v1/trip-requests/{world.ids['request']}", headers=world.auth("other_requester"))
    assert r.status_code == 404
    r = client.post("/api/v1/trip-requests", headers=world.auth("other_requester"), json={
        "agency_id": world.ids["agency"], "purpose": "越权", "passengers": 1, "origin_lat": 34.6,
        "origin_lon": 119.2, "destination_lat": 34.7, "destination_lon": 119.3,
        "pickup_earliest": T.isoformat(), "pickup_latest": T.isoformat()})
    assert r.status_code == 403


def test_driver_sees_only_assigned_requests(client, world):
    items = client.get("/api/v1/trip-requests", headers=world.auth("driver")).json()["items"]
    assert [r["id"] for r in items] == [world.ids["request"]]
    assert client.get(f"/api/v1/trip-requests/{world.ids['draft_request']}",
                      headers=world.auth("driver")).status_code == 404


def test_confirmed_assignment_override_needs_a_reason(client, world):
    aid = world.ids["assignment"]
    hdr = world.auth("dispatcher")
    assert client.patch(f"/api/v1/assignments/{aid}", json={"confirmed": True}, headers=hdr).status_code == 200
    r = client.post("/api/v1/drivers", headers=world.auth("admin"), json={
        "name": "赵师傅", "org_id": world.ids["city"], "licence_class": "B1", "phone": "13700000000",
        "shift_start": "08:00", "shift_end": "18:00"})
    new_driver = r.json()["id"]
    r = client.patch(f"/api/v1/assignments/{aid}", json={"driver_id": new_driver}, headers=hdr)
    assert r.status_code == 422
    assert "override_reason" in r.json()["detail"]
    r = client.patch(f"/api/v1/assignments/{aid}", json={"driver_id": new_driver, "override_reason": "原驾驶员病假"},
                     headers=hdr)
    assert r.status_code == 200
    assert r.json()["override_reason"] == "原驾驶员病假"
    actions = [e["action"] for e in client.get("/api/v1/audit-entries", headers=world.auth("admin")).json()["items"]]
    assert actions[-1] == "assignment.override"
