"""GET /api/v1/alerts lists the stored alerts with the kind, vehicle, agency and time filters."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from rule_traces import DEPOT, TOWN, Trace, build_world, feed, local
from sqlmodel import Session

from fleet.models import Organisation, OrgLevel, Role, User
from fleet.security import issue_token
from fleet.settings import get_settings
from tests.builders import organisation


def test_alert_list_filters_by_agency_kind_and_time(session: Session, engine, mqtt_url, monkeypatch) -> None:
    from web.app import create_app

    world = build_world(session)
    evening = Trace().park(DEPOT, local(date(2026, 12, 1), 20), 10).drive(TOWN, 15).then_park(10)
    feed(session, world.ids["car"], evening.fixes)
    other = organisation(session, "市教育局", "320700-EDU", OrgLevel.agency, session.get(Organisation, world.ids["city"]))
    auditor = User(username="auditor", full_name="a", role=Role.auditor, org_id=world.ids["city"], password_hash="x")
    session.add(auditor)
    session.commit()
    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    headers = {"Authorization": f"Bearer {issue_token(auditor.id, get_settings().signing_key(), 300)}"}
    with TestClient(create_app()) as client:
        def kinds(**params: object) -> list[str]:
            response = client.get("/api/v1/alerts", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return sorted(a["kind"] for a in response.json()["items"])

        assert kinds() == ["private_use.no_order", "private_use.off_hours"]
        assert kinds(agency_id=world.ids["agency"]) == ["private_use.no_order", "private_use.off_hours"]
        assert kinds(agency_id=world.ids["city"]) == ["private_use.no_order", "private_use.off_hours"]
        assert kinds(agency_id=other.id) == []
        assert kinds(kind="private_use.off_hours", vehicle_id=world.ids["car"]) == ["private_use.off_hours"]
        assert kinds(since="2026-12-02T00:00:00+08:00") == []
        assert client.get("/api/v1/alerts", params={"agency_id": 0}, headers=headers).status_code == 422
