"""GET /api/v1/stops lists the stored stops of cars in the caller's scope, by start time."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from rule_traces import DEPOT, TOWN, Trace, build_world, feed, local
from sqlmodel import Session

from fleet.models import Organisation, OrgLevel, Role, User
from fleet.security import issue_token
from fleet.settings import get_settings
from tests.builders import organisation


def test_stop_list_shows_where_cars_in_scope_stood(session: Session, engine, mqtt_url, monkeypatch) -> None:
    from web.app import create_app

    world = build_world(session)
    day = date(2026, 12, 1)
    trace = Trace().park(DEPOT, local(day, 9), 20).drive(TOWN, 15).then_park(40).drive(DEPOT, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    sibling = organisation(session, "市教育局", "320700-EDU", OrgLevel.agency, session.get(Organisation, world.ids["city"]))
    city_auditor = User(username="auditor", full_name="a", role=Role.auditor, org_id=world.ids["city"],
                        password_hash="x")
    sibling_auditor = User(username="auditor2", full_name="b", role=Role.auditor, org_id=sibling.id,
                           password_hash="x")
    session.add_all([city_auditor, sibling_auditor])
    session.commit()
    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    key = get_settings().signing_key()
    with TestClient(create_app()) as client:
        def stops(user: User, **params: object) -> list[dict]:
            response = client.get("/api/v1/stops", params=params,
                                  headers={"Authorization": f"Bearer {issue_token(user.id, key, 300)}"})
            assert response.status_code == 200, response.text
            return response.json()["items"]

        everything = stops(city_auditor)
        assert [round(s["lon"], 3) for s in everything] == [round(DEPOT[1], 3), round(TOWN[1], 3), round(DEPOT[1], 3)]
        assert 39 * 60 <= everything[1]["duration_s"] <= 43 * 60 and everything[1]["vehicle_id"] == world.ids["car"]
        assert [s["id"] for s in stops(city_auditor, since="2026-12-01T09:30:00+08:00",
                                       until="2026-12-01T10:30:00+08:00")] == [everything[1]["id"]]
        assert stops(sibling_auditor) == []
