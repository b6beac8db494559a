"""Bad input gets a clear 4xx that names the field and the rule; scope and ids are checked."""

import pytest


def _vehicle(world, **overrides):
    body = {"plate": "苏G77777", "vin": "LSVAA4180E2000077", "org_id": world.ids["city"], "vehicle_class": "sedan",
            "seats": 5, "energy": "petrol", "emission_standard": "china6", "purchase_date": "2023-01-10",
            "purchase_price_cny": 160000}
    return body | overrides


def _fields(response):
    return [".".join(str(p) for p in e["loc"][1:]) for e in response.json()["detail"]]


@pytest.mark.parametrize("overrides,field", [
    ({"plate": "ABC123"}, "plate"),
    ({"vin": "LSVAA4180E20000I7"}, "vin"),
    ({"seats": 1}, "seats"),
    ({"vehicle_class": "tank"}, "vehicle_class"),
    ({"purchase_price_cny": -5}, "purchase_price_cny"),
])
def test_vehicle_field_rules_name_the_field(client, world, overrides, field):
    r = client.post("/api/v1/vehicles", json=_vehicle(world, **overrides), headers=world.auth("admin"))
    assert r.status_code == 422
    assert field in _fields(r)


def test_cross_field_rule_names_the_field(client, world):
    r = client.post("/api/v1/vehicles", json=_vehicle(world, energy="bev"), headers=world.auth("admin"))
    assert r.status_code == 422
    assert "emission_standard: must be empty for a bev" in r.text


def test_duplicate_plate_is_409_and_nothing_changes(client, world):
    r = client.post("/api/v1/vehicles", json=_vehicle(world, plate="苏G12345"), headers=world.auth("admin"))
    assert r.status_code == 409
    total = client.get("/api/v1/vehicles", headers=world.auth("admin")).json()["total"]
    assert total == 1


def test_unknown_ids_are_404(client, world):
    for path in ("vehicles", "depots", "drivers", "lessors", "trip-requests", "assignments", "alerts", "users"):
        r = client.get(f"/api/v1/{path}/99999", headers=world.auth("admin"))
        assert r.status_code == 404, path
        assert "99999" in r.json()["detail"]


def test_reference_to_missing_object_is_422(client, world):
    r = client.post("/api/v1/vehicles", json=_vehicle(world, home_depot_id=4242), headers=world.auth("admin"))
    assert r.status_code == 422
    assert r.json()["detail"] == "home_depot_id: depot 4242 does not exist"


def test_null_for_a_required_column_is_422(client, world):
    r = client.patch(f"/api/v1/depots/{world.ids['depot']}", json={"name": None}, headers=world.auth("admin"))
    assert r.status_code == 422
    assert "name" in r.text


def test_self_intersecting_polygon_is_refused(client, world):
    bowtie = {"type": "Polygon", "coordinates": [[[119.2, 34.6], [119.3, 34.7], [119.3, 34.6], [119.2, 34.7],
                                                   [119.2, 34.6]]]}
    r = client.post("/api/v1/zones", headers=world.auth("admin"), json={
        "name": "x", "org_id": world.ids["city"], "kind": "forbidden_venue", "category": "scenic", "geometry": bowtie})
    assert r.status_code == 422
    assert "invalid polygon" in r.text


def test_forbidden_venue_needs_a_category(client, world):
    from tests.web.conftest import SQUARE

    r = client.post("/api/v1/zones", headers=world.auth("admin"), json={
        "name": "x", "org_id": world.ids["city"], "kind": "forbidden_venue", "geometry": SQUARE})
    assert r.status_code == 422
    assert "category: required" in r.text


@pytest.mark.parametrize(("change", "field"), [({"limit_kmh": 0}, "limit_kmh"), ({"limit_kmh": 400}, "limit_kmh"),
                                             ({"geometry": {"type": "Point", "coordinates": [119.2, 34.6]}},
                                              "geometry")])
def test_speed_zone_rules_name_the_field(client, world, change, field):
    from tests.web.conftest import SQUARE

    body = {"name": "实验小学路段", "org_id": world.ids["city"], "limit_kmh": 30, "geometry": SQUARE}
    r = client.post("/api/v1/speed-zones", headers=world.auth("admin"), json=body | change)
    assert r.status_code == 422 and field in r.text
    assert client.get("/api/v1/speed-zones", headers=world.auth("admin")).json()["total"] == 1  # the world's own


def test_pagination_and_filters(client, world):
    hdr = world.auth("admin")
    for i in range(5):
        body = _vehicle(world, plate=f"苏G8000{i}", vin=f"LSVAA4180E200010{i}", energy="bev",
                        emission_standard=None, battery_range_km=400)
        assert client.post("/api/v1/vehicles", json=body, headers=hdr).status_code == 201
    page = client.get("/api/v1/vehicles", params={"limit": 2, "offset": 1, "energy": "bev"}, headers=hdr).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 1
    assert [v["plate"] for v in page["items"]] == ["苏G80001", "苏G80002"]
    assert client.get("/api/v1/vehicles", params={"limit": 500}, headers=hdr).status_code == 422


def test_county_admin_cannot_write_into_the_city(client, world, session):
    from fleet.models import Role, User
    from fleet.security import issue_token
    from tests.web.conftest import PASSWORD_HASH

    county_admin = User(username="county_admin", role=Role.admin, org_id=world.ids["county"],
                        password_hash=PASSWORD_HASH)
    session.add(county_admin)
    session.commit()
    hdr = {"Authorization": f"Bearer {issue_token(county_admin.id, client.app.state.signing_key, 300)}"}
    r = client.post("/api/v1/depots", json={"name": "越权", "org_id": world.ids["city"], "lat": 34.6, "lon": 119.2},
                    headers=hdr)
    assert r.status_code == 403
    assert "outside your organisation's scope" in r.json()["detail"]
    assert client.get(f"/api/v1/vehicles/{world.ids['vehicle']}", headers=hdr).status_code == 404
    assert client.get("/api/v1/vehicles", headers=hdr).json()["total"] == 0
    orgs = client.get("/api/v1/organisations", headers=hdr).json()["items"]
    assert {o["id"] for o in orgs} == {world.ids["county"], world.ids["township"], world.ids["agency"]}


def test_organisation_levels_must_nest(client, world):
    r = client.post("/api/v1/organisations", headers=world.auth("admin"), json={
        "name": "某镇", "code": "X-1", "level": "township", "parent_id": world.ids["city"]})
    assert r.status_code == 422
    assert "a township cannot sit under a city" in r.json()["detail"]
    r = client.post("/api/v1/organisations", headers=world.auth("admin"), json={
        "name": "某镇", "code": "X-1", "level": "township", "parent_id": world.ids["county"]})
    assert r.status_code == 201
    assert r.json()["path"] == f"/{world.ids['city']}/{world.ids['county']}/{r.json()['id']}/"


def test_city_admin_does_not_see_another_city(client, world, session):
    from datetime import date

    from fleet.models import OrgLevel
    from tests.builders import organisation, vehicle

    other_city = organisation(session, "徐州市", "320300", OrgLevel.city)
    vehicle(session, "苏C12345", "LSVAA4180E2000999", other_city.id, purchase_date=date(2021, 1, 1),
            purchase_price_cny=100000)
    session.commit()
    plates = [v["plate"] for v in client.get("/api/v1/vehicles", headers=world.auth("admin")).json()["items"]]
    assert plates == ["苏G12345"]


def test_a_taken_unique_value_is_a_409_naming_the_field_not_the_database(client, world):
    hdr = world.auth("admin")
    r = client.post("/api/v1/vehicles", json=_vehicle(world, plate="苏G12345"), headers=hdr)
    assert r.status_code == 409
    assert r.json()["detail"] == "plate: 苏G12345 is already used by another vehicle"
    other = client.post("/api/v1/vehicles", json=_vehicle(world, gps_device_id="dev-0077"), headers=hdr).json()
    r = client.patch(f"/api/v1/vehicles/{other['id']}", json={"gps_device_id": "dev-0001"}, headers=hdr)
    assert r.status_code == 409
    assert r.json()["detail"] == "gps_device_id: dev-0001 is already used by another vehicle"
    assert client.patch(f"/api/v1/vehicles/{other['id']}", json={"gps_device_id": "dev-0077"},
                        headers=hdr).status_code == 200
