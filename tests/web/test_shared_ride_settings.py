"""The shared-ride fields through the API: a request that rides alone, an agency that shares
only within itself; each with its role check and its error for bad input."""

from tests.web.test_trip_request_workflow import request_body


def test_a_request_can_ride_alone_and_say_so(client, world):
    body = request_body(world) | {"exclusive": True}
    r = client.post("/api/v1/trip-requests", json=body, headers=world.auth("requester"))
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["exclusive"] is True
    r = client.patch(f"/api/v1/trip-requests/{rid}", json={"exclusive": False},
                     headers=world.auth("requester"))
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/trip-requests/{rid}",
                      headers=world.auth("requester")).json()["exclusive"] is False
    plain = client.post("/api/v1/trip-requests", json=request_body(world), headers=world.auth("requester"))
    assert plain.json()["exclusive"] is False  # sharing allowed unless asked


def test_a_bad_exclusive_value_is_named(client, world):
    body = request_body(world) | {"exclusive": "perhaps"}
    r = client.post("/api/v1/trip-requests", json=body, headers=world.auth("requester"))
    assert r.status_code == 422
    assert "exclusive" in r.text


def test_only_an_admin_makes_an_agency_share_only_within(client, world):
    agency = world.ids["agency"]
    r = client.patch(f"/api/v1/organisations/{agency}", json={"share_within_agency": True},
                     headers=world.auth("dispatcher"))
    assert r.status_code == 403
    r = client.patch(f"/api/v1/organisations/{agency}", json={"share_within_agency": True},
                     headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["share_within_agency"] is True
    entries = client.get("/api/v1/audit-entries", params={"object_type": "organisation", "object_id": str(agency)},
                         headers=world.auth("auditor")).json()["items"]
    assert entries[-1]["after"]["share_within_agency"] is True
