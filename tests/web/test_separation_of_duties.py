"""Separation of duties on trip requests: nobody approves or rejects a request they filed or
ride in, a requester acts on their own requests only; each refusal is a 403 that names the rule."""

from sqlmodel import select

from fleet.models import AuditEntry, Role, TripRequest, User
from fleet.security import issue_token
from tests.web.conftest import PASSWORD_HASH, T0
from tests.web.test_trip_request_workflow import _file, _move, request_body


def _colleague(session, client, world):
    """A second requester of the world's agency, with a token under ``colleague``."""
    user = User(username="colleague", role=Role.requester, org_id=world.ids["agency"], password_hash=PASSWORD_HASH)
    session.add(user)
    session.commit()
    world.tokens["colleague"] = issue_token(user.id, client.app.state.signing_key, 3600)


def _assert_refused(client, world, session, role, rid, moves, detail, state):
    """Each of ``moves`` ((to, reason) pairs) by ``role`` on request ``rid`` is a 403 with
    ``detail``, and the request stays in ``state``."""
    for to, reason in moves:
        r = _move(client, world, role, rid, to, reason)
        assert r.status_code == 403
        assert r.json()["detail"] == detail
    session.expire_all()
    assert session.get(TripRequest, rid).state == state


def test_an_admin_may_not_approve_or_reject_a_request_they_filed(client, world, session):
    rid = _file(client, world, "admin")
    assert _move(client, world, "admin", rid, "submitted").status_code == 200
    _assert_refused(client, world, session, "admin", rid, (("approved", None), ("rejected", "不必要")),
                    "separation of duties: nobody approves or rejects a trip request they filed or ride in",
                    "submitted")
    r = _move(client, world, "approver", rid, "approved")  # the agency's approver may
    assert r.status_code == 200 and r.json()["state"] == "approved"


def test_an_approver_may_not_approve_their_own_request(client, world, session):
    request = TripRequest(agency_id=world.ids["agency"], requester_id=world.ids["user_approver"], purpose="自批",
                          passengers=1, origin_lat=34.6, origin_lon=119.2, destination_lat=34.7,
                          destination_lon=119.3, pickup_earliest=T0, pickup_latest=T0, state="submitted")
    session.add(request)
    session.commit()
    r = _move(client, world, "approver", request.id, "approved")
    assert r.status_code == 403
    assert "separation of duties" in r.json()["detail"]


def test_a_requester_may_not_move_a_colleagues_request(client, world, session):
    _colleague(session, client, world)
    rid = _file(client, world)
    _assert_refused(client, world, session, "colleague", rid, (("submitted", None), ("cancelled", "不去了")),
                    "separation of duties: a requester acts only on the trip requests they filed", "draft")
    actions = session.exec(select(AuditEntry.action).where(AuditEntry.object_type == "trip_request",
                                                           AuditEntry.object_id == str(rid))).all()
    assert actions == ["trip_request.create"]
    assert _move(client, world, "requester", rid, "submitted").status_code == 200
    assert _move(client, world, "requester", rid, "cancelled", "会议取消").json()["state"] == "cancelled"


def test_nobody_approves_a_request_they_ride_in(client, world, session):
    body = request_body(world) | {"rider_id": world.ids["user_approver"]}
    r = client.post("/api/v1/trip-requests", json=body, headers=world.auth("requester"))
    assert r.status_code == 201 and r.json()["rider_id"] == world.ids["user_approver"]
    rid = r.json()["id"]
    assert _move(client, world, "requester", rid, "submitted").status_code == 200
    r = _move(client, world, "approver", rid, "approved")
    assert r.status_code == 403
    assert r.json()["detail"] == "separation of duties: nobody approves or rejects a trip request they filed or ride in"
    assert _move(client, world, "admin", rid, "approved").json()["state"] == "approved"


def test_the_rider_must_be_a_user_of_the_agency(client, world):
    body = request_body(world)
    for rider in (world.ids["user_other_requester"], 999_999):
        r = client.post("/api/v1/trip-requests", json=body | {"rider_id": rider}, headers=world.auth("requester"))
        assert r.status_code == 422
        assert r.json()["detail"] == f"rider_id: user {rider} is not a user of agency {world.ids['agency']}"
