"""Named places: who sees which, search and kind filters, administrators' writes within their
scope (audited), and refusals that name the field."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from fleet.models import Place, Role
from fleet.security import issue_token
from tests.builders import add, user
from tests.web.conftest import World


def _places(session: Session, w: World) -> None:
    """A destination of the city, a county seat of the county, the agency's office, and an
    office of another city agency (not on the requester's path)."""
    rows = {
        "hospital": Place(name="市人民医院", kind="destination", org_id=w.ids["city"], lat=34.59, lon=119.18,
                          address="海州区幸福路1号"),
        "seat": Place(name="东海县城（牛山街道）", kind="county_seat", org_id=w.ids["county"], lat=34.542,
                      lon=118.771, address="东海县人民政府"),
        "office": Place(name="东海县教育局机关", kind="office", org_id=w.ids["agency"], lat=34.545, lon=118.76,
                        address="东海县牛山北路"),
        "finance": Place(name="市财政局机关", kind="office", org_id=w.ids["other_agency"], lat=34.6, lon=119.2,
                         address="海州区朝阳东路"),
        "closed": Place(name="旧会议中心", kind="destination", org_id=w.ids["city"], lat=34.6, lon=119.2,
                        active=False),
    }
    for key, row in rows.items():
        w.ids[f"place_{key}"] = add(session, row).id
    session.commit()


def _names(client, w: World, role: str, **params) -> list[str]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/places", params=params, headers=w.auth(role))
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["items"]]


def test_a_requester_sees_their_own_and_the_places_above_them(client, world, session) -> None:
    _places(session, world)
    assert sorted(_names(client, world, "requester")) == sorted(["市人民医院", "东海县城（牛山街道）", "东海县教育局机关"])
    # the city administrator sees the whole tree; the deactivated place only when asked for
    assert len(_names(client, world, "admin")) == 4
    assert _names(client, world, "admin", active="false") == ["旧会议中心"]
    other = client.get(f"/api/v1/places/{world.ids['place_finance']}", headers=world.auth("requester"))
    assert other.status_code == 404


def test_search_matches_name_or_address_and_kind_filters(client, world, session) -> None:
    _places(session, world)
    assert _names(client, world, "requester", search="医院") == ["市人民医院"]
    assert _names(client, world, "requester", search="牛山") == ["东海县城（牛山街道）", "东海县教育局机关"]
    assert _names(client, world, "requester", kind="office") == ["东海县教育局机关"]
    assert _names(client, world, "requester", search="100%") == []
    page = client.get("/api/v1/places", params={"limit": 1, "offset": 1}, headers=world.auth("admin")).json()
    assert page["total"] == 4 and page["limit"] == 1 and len(page["items"]) == 1


def test_only_administrators_write_and_each_write_is_audited(client, world, session) -> None:
    body = {"name": "市体育中心", "kind": "destination", "org_id": world.ids["city"], "lat": 34.58, "lon": 119.20,
            "address": "海州区瀛洲南路"}
    for role in ("requester", "dispatcher", "approver", "driver", "auditor"):
        assert client.post("/api/v1/places", json=body, headers=world.auth(role)).status_code == 403
    created = client.post("/api/v1/places", json=body, headers=world.auth("admin"))
    assert created.status_code == 201, created.text
    place_id = created.json()["id"]
    again = client.post("/api/v1/places", json=body, headers=world.auth("admin"))
    assert again.status_code == 409 and again.json()["detail"].startswith("name:")
    off = client.patch(f"/api/v1/places/{place_id}", json={"active": False}, headers=world.auth("admin"))
    assert off.status_code == 200 and off.json()["active"] is False
    assert "市体育中心" not in _names(client, world, "requester")
    entries = client.get("/api/v1/audit-entries", headers=world.auth("admin")).json()["items"]
    actions = [(e["action"], e["object_id"]) for e in entries]
    assert ("place.create", str(place_id)) in actions and ("place.update", str(place_id)) in actions


@pytest.mark.parametrize("change,field", [
    ({"lat": 91}, "lat"), ({"lon": -180.5}, "lon"), ({"name": ""}, "name"), ({"name": "地" * 121}, "name"),
    ({"kind": "airport"}, "kind"), ({"address": "路" * 201}, "address"),
])
def test_bad_input_is_refused_naming_the_field(client, world, change, field) -> None:
    body = {"name": "连云港站", "kind": "destination", "org_id": world.ids["city"], "lat": 34.6, "lon": 119.2}
    response = client.post("/api/v1/places", json=body | change, headers=world.auth("admin"))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert any(e["loc"][-1] == field for e in detail), detail
    if field == "kind":
        assert "office" in str(detail) and "destination" in str(detail)


def test_an_administrator_writes_only_within_their_scope(client, world, session) -> None:
    _places(session, world)
    county_admin = user(session, "county_admin", Role.admin, world.ids["county"])
    session.commit()
    headers = {"Authorization": "Bearer " + issue_token(county_admin.id, client.app.state.signing_key, 3600)}
    city_place = client.patch(f"/api/v1/places/{world.ids['place_hospital']}", json={"name": "市一院"}, headers=headers)
    assert city_place.status_code == 403 and city_place.json()["detail"].startswith("org_id:")
    into_city = client.post("/api/v1/places", headers=headers, json={
        "name": "市档案馆", "kind": "destination", "org_id": world.ids["city"], "lat": 34.6, "lon": 119.2})
    assert into_city.status_code == 403 and into_city.json()["detail"].startswith("org_id:")
    own = client.patch(f"/api/v1/places/{world.ids['place_office']}", json={"lat": 34.546}, headers=headers)
    assert own.status_code == 200 and own.json()["lat"] == 34.546
    elsewhere = client.get(f"/api/v1/places/{world.ids['place_finance']}", headers=headers)
    assert elsewhere.status_code == 404
