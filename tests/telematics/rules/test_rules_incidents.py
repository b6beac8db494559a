"""One incident, one row: the alerts of one drive (off hours and without an order) share an
incident; the API lists it once with both kinds, keeps each kind filterable, and one review
step moves them together."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from rule_traces import DEPOT, TOWN, Trace, alerts, build_world, feed, local
from sqlmodel import Session

from fleet.models import Role, User
from fleet.security import issue_token
from fleet.settings import get_settings


def _headers(session: Session, username: str, role: Role, org_id: int) -> dict[str, str]:
    user = User(username=username, full_name=username, role=role, org_id=org_id, password_hash="x")
    session.add(user)
    session.commit()
    return {"Authorization": f"Bearer {issue_token(user.id, get_settings().signing_key(), 300)}"}


def test_an_off_hours_drive_without_order_is_one_incident_listed_and_reviewed_once(
        session: Session, engine, mqtt_url, monkeypatch) -> None:
    from web.app import create_app

    world = build_world(session)
    car = world.ids["car"]
    evening = (Trace().park(DEPOT, local(date(2026, 12, 1), 20), 10).drive(TOWN, 15).then_park(40)
               .drive(DEPOT, 15).then_park(10))
    feed(session, car, evening.fixes)
    stored = alerts(session, car)
    assert sorted(a.kind for a in stored) == ["private_use.no_order", "private_use.no_order",
                                              "private_use.off_hours", "private_use.off_hours"]
    by_trip: dict[int, set[int | None]] = {}
    for alert in stored:
        by_trip.setdefault(alert.evidence["trip_id"], set()).add(alert.incident_id)
    assert len(by_trip) == 2  # two drives, each one incident named by its lowest alert id
    for trip_id, incidents in by_trip.items():
        members = [a for a in stored if a.evidence["trip_id"] == trip_id]
        assert incidents == {min(a.id for a in members)}

    monkeypatch.setenv("FLEET_MQTT_URL", mqtt_url)
    get_settings.cache_clear()
    dispatcher = _headers(session, "dispatcher", Role.dispatcher, world.ids["city"])
    with TestClient(create_app()) as client:
        def listed(**params: object) -> list[dict]:
            response = client.get("/api/v1/alerts", params=params, headers=dispatcher)
            assert response.status_code == 200, response.text
            return response.json()["items"]

        incidents = listed(incident=True)
        assert len(incidents) == 2
        assert all(i["incident_kinds"] == ["private_use.no_order", "private_use.off_hours"] for i in incidents)
        assert len(listed()) == 4  # each kind is still a row of its own
        assert len(listed(kind="private_use.off_hours")) == 2
        assert len(listed(incident=True, kind="private_use.off_hours")) == 2
        assert listed(incident=True, kind="speeding") == []

        first = incidents[0]
        for step in ({"to": "under_review"}, {"to": "confirmed", "reason": "核实属实"}):
            answer = client.post(f"/api/v1/alerts/{first['id']}/review", json=step, headers=dispatcher)
            assert answer.status_code == 200, answer.text
        states = {a["kind"]: a["state"] for a in listed() if a["incident_id"] == first["incident_id"]}
        assert states == {"private_use.no_order": "confirmed", "private_use.off_hours": "confirmed"}
        other = next(i for i in incidents if i["id"] != first["id"])
        assert {a["state"] for a in listed() if a["incident_id"] == other["incident_id"]} == {"open"}
        steps = [client.get(f"/api/v1/alerts/{a['id']}/reviews", headers=dispatcher).json()
                 for a in listed() if a["incident_id"] == first["incident_id"]]
        assert all([s["to_state"] for s in each] == ["under_review", "confirmed"] for each in steps)
