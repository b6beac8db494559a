"""Every id named in a request body is checked against the caller's organisation scope: an
object in another county answers exactly like one that does not exist, and a driver's login
can neither cross counties nor be taken twice (a clean 409 naming the field)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from fleet.models import Depot, Driver, Organisation, OrgLevel, Role
from fleet.security import issue_token
from tests.builders import add, driver, organisation, trip_request, user
from tests.web.conftest import PASSWORD_HASH, T0, World

MISSING = 999_999


@pytest.fixture
def counties(client, world: World, session: Session) -> World:
    """A second county beside the world's with its own admin, depot and driver record, and a
    driver login in the world's county."""
    city = session.get(Organisation, world.ids["city"])
    county_b = organisation(session, "赣榆区", "320707", OrgLevel.county, city)
    admin_b = user(session, "county_b_admin", Role.admin, county_b.id, PASSWORD_HASH)
    login_a = user(session, "county_a_driver", Role.driver, world.ids["county"], PASSWORD_HASH)
    depot_b = add(session, Depot(name="赣榆车队", org_id=county_b.id, lat=34.84, lon=119.12))
    driver_b = driver(session, "赵师傅", county_b.id, phone="13800000011")
    agency_b = organisation(session, "赣榆区教育局", "320707-EDU", OrgLevel.agency, county_b)
    request_b = trip_request(session, agency_b.id, admin_b.id, T0, (34.60, 119.20), window=timedelta(hours=1),
                             origin=(34.84, 119.12), purpose="调研", state="approved")
    session.commit()
    world.ids.update(county_b=county_b.id, user_county_b_admin=admin_b.id, user_county_a_driver=login_a.id,
                     depot_b=depot_b.id, driver_b=driver_b.id, request_b=request_b.id)
    world.tokens["county_b_admin"] = issue_token(admin_b.id, client.app.state.signing_key, 300)
    return world


def _answer(response, ref_id: int) -> tuple[int, str]:
    """Status and detail with the id blanked, to compare two answers."""
    return response.status_code, str(response.json()["detail"]).replace(str(ref_id), "<id>")


def test_a_county_admin_cannot_link_another_countys_driver_login(client, counties, session):
    w = counties
    hdr = w.auth("county_b_admin")
    url = f"/api/v1/drivers/{w.ids['driver_b']}"
    linked = client.patch(url, json={"user_id": w.ids["user_county_a_driver"]}, headers=hdr)
    missing = client.patch(url, json={"user_id": MISSING}, headers=hdr)
    assert linked.status_code == 422
    assert linked.json()["detail"] == f"user_id: user {w.ids['user_county_a_driver']} does not exist"
    assert _answer(linked, w.ids["user_county_a_driver"]) == _answer(missing, MISSING)
    session.expire_all()
    assert session.get(Driver, w.ids["driver_b"]).user_id is None


def test_a_login_already_linked_answers_a_clean_409_naming_the_field(client, counties, session):
    w = counties
    body = {"name": "钱师傅", "org_id": w.ids["city"], "licence_class": "B1", "phone": "13800000012",
            "shift_start": "08:00", "shift_end": "18:00"}
    r = client.post("/api/v1/drivers", headers=w.auth("admin"), json=body | {"user_id": w.ids["user_driver"]})
    assert r.status_code == 409
    assert r.json()["detail"] == f"user_id: {w.ids['user_driver']} is already used by another driver"
    new = client.post("/api/v1/drivers", headers=w.auth("admin"), json=body).json()
    r = client.patch(f"/api/v1/drivers/{new['id']}", json={"user_id": w.ids["user_driver"]}, headers=w.auth("admin"))
    assert r.status_code == 409 and "UNIQUE" not in r.text and "constraint" not in r.text
    assert r.json()["detail"] == f"user_id: {w.ids['user_driver']} is already used by another driver"
    # Linking a driver to the login it already has is no conflict.
    r = client.patch(f"/api/v1/drivers/{w.ids['driver']}", json={"user_id": w.ids["user_driver"]},
                     headers=w.auth("admin"))
    assert r.status_code == 200


def test_a_login_must_belong_to_the_drivers_organisation(client, counties, session):
    """Even the city may not give a county-B driver record a county-A login (which would
    then see county-B trips)."""
    w = counties
    r = client.patch(f"/api/v1/drivers/{w.ids['driver_b']}", json={"user_id": w.ids["user_county_a_driver"]},
                     headers=w.auth("admin"))
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"user_id: user {w.ids['user_county_a_driver']} belongs to an organisation")
    r = client.patch(f"/api/v1/drivers/{w.ids['driver_b']}", json={"user_id": w.ids["user_requester"]},
                     headers=w.auth("admin"))
    assert r.status_code == 422 and r.json()["detail"].endswith("not driver")


def _vehicle_body(w: World, org: str, **refs: int) -> dict:
    return {"plate": "苏G66666", "vin": "LSVAA4180E2000066", "org_id": w.ids[org], "vehicle_class": "sedan",
            "seats": 5, "energy": "petrol", "emission_standard": "china6", "purchase_date": "2023-01-10",
            "purchase_price_cny": 160000} | refs


# (method, path, body for a referenced id, world key of an object outside county B's scope)
CASES = [
    ("POST", "/vehicles", lambda w, ref: _vehicle_body(w, "county_b", home_depot_id=ref), "depot"),
    ("POST", "/vehicles", lambda w, ref: _vehicle_body(w, "county_b", parking_site_id=ref), "parking_site"),
    ("POST", "/parking-sites", lambda w, ref: {"name": "赣榆停车场", "org_id": w.ids["county_b"], "depot_id": ref,
                                               "geometry": _square()}, "depot"),
    ("PATCH", "/drivers/{driver_b}", lambda w, ref: {"home_depot_id": ref}, "depot"),
    ("POST", "/assignments", lambda w, ref: {"request_id": w.ids["request_b"], "kind": "lease", "lessor_id": ref,
                                             "planned_pickup": "2026-12-02T01:00:00+00:00",
                                             "planned_dropoff": "2026-12-02T03:00:00+00:00", "cost_cny": 300},
     "lessor"),
]


def _square() -> dict:
    from tests.web.conftest import SQUARE

    return SQUARE


@pytest.mark.parametrize("method,path,body,outside", CASES, ids=[f"{m} {p} {o}" for m, p, _, o in CASES])
def test_an_out_of_scope_reference_answers_like_a_missing_one(client, counties, method, path, body, outside):
    w = counties
    url = "/api/v1" + path.format(**w.ids)
    hdr = w.auth("county_b_admin")
    foreign = client.request(method, url, json=body(w, w.ids[outside]), headers=hdr)
    missing = client.request(method, url, json=body(w, MISSING), headers=hdr)
    assert foreign.status_code == 422, foreign.text
    assert _answer(foreign, w.ids[outside]) == _answer(missing, MISSING)
    audit = client.get("/api/v1/audit-entries", headers=w.auth("admin")).json()
    assert audit["total"] == 0


def test_an_id_beyond_the_database_range_is_an_unknown_reference(client, counties):
    w = counties
    r = client.patch(f"/api/v1/drivers/{w.ids['driver_b']}", json={"user_id": 2**40}, headers=w.auth("admin"))
    assert r.status_code == 422
    assert r.json()["detail"] == f"user_id: user {2**40} does not exist"


@pytest.mark.parametrize("path,body", [
    ("/depots", lambda org: {"name": "越权车队", "org_id": org, "lat": 34.6, "lon": 119.2}),
    ("/lessors", lambda org: {"name": "越权租赁", "org_id": org, "contract_start": "2026-01-01",
                              "contract_end": "2026-12-31", "lat": 34.6, "lon": 119.2, "tariffs": []}),
    ("/replacement/plans", lambda org: {"org_id": org, "years": 1, "start_year": 2027, "time_limit_s": 1}),
])
def test_an_organisation_in_another_branch_answers_like_a_missing_one(client, counties, path, body):
    w = counties
    hdr = w.auth("county_b_admin")
    foreign = client.post("/api/v1" + path, json=body(w.ids["county"]), headers=hdr)
    missing = client.post("/api/v1" + path, json=body(MISSING), headers=hdr)
    assert foreign.status_code == 422
    assert _answer(foreign, w.ids["county"]) == _answer(missing, MISSING)
    above = client.post("/api/v1" + path, json=body(w.ids["city"]), headers=hdr)  # in the caller's own path
    assert above.status_code == 403 and "outside your organisation's scope" in above.json()["detail"]
