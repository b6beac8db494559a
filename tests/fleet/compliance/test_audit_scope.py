"""Audit entries carry their object's organisation and are listed by it: an auditor sees every
change to the cars of their organisation, whoever made it, and nothing of other counties'
cars; existing entries get their object's organisation when the schema is upgraded."""

# ruff: noqa: F811  (the web fixtures are imported by name)
from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from fleet import audit
from fleet.db import alembic_config, make_engine, upgrade
from fleet.models import Organisation, OrgLevel, Role, User, Vehicle
from fleet.models.compliance import AuditEntryOrg
from fleet.security import issue_token
from tests.builders import organisation
from tests.web.conftest import PASSWORD_HASH, app, build_world, client, world  # noqa: F401  (fixtures)


def _auditor_of(session: Session, client, org_id: int, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    auditor = User(username=name, role=Role.auditor, org_id=org_id, password_hash=PASSWORD_HASH)
    session.add(auditor)
    session.commit()
    return {"Authorization": f"Bearer {issue_token(auditor.id, client.app.state.signing_key, 3600)}"}


def _vehicle_entries(client, headers: dict[str, str], vehicle_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    listed = client.get("/api/v1/audit-entries", params={"object_type": "vehicle", "object_id": str(vehicle_id)},
                        headers=headers)
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


def test_county_auditor_sees_the_city_admins_change_to_a_county_car(client, world, session):
    county, city = world.ids["county"], world.ids["city"]
    car = session.get(Vehicle, world.ids["vehicle"])
    car.org_id = county
    session.add(car)
    session.commit()
    other_county = organisation(session, "灌云县", "320723", OrgLevel.county, session.get(Organisation, city))
    session.commit()
    county_auditor = _auditor_of(session, client, county, "county_auditor")
    other_auditor = _auditor_of(session, client, other_county.id, "other_county_auditor")

    changed = client.patch(f"/api/v1/vehicles/{car.id}", json={"seats": 7}, headers=world.auth("admin"))
    assert changed.status_code == 200, changed.text
    seen = _vehicle_entries(client, county_auditor, car.id)
    assert [(e["action"], e["actor"]) for e in seen] == [("vehicle.update", "admin")]
    assert _vehicle_entries(client, other_auditor, car.id) == []
    assert len(_vehicle_entries(client, world.auth("auditor"), car.id)) == 1  # the city auditor too

    # moved to the other county: both counties see the move, only the new one the next change
    moved = client.patch(f"/api/v1/vehicles/{car.id}", json={"org_id": other_county.id}, headers=world.auth("admin"))
    assert moved.status_code == 200, moved.text
    assert client.patch(f"/api/v1/vehicles/{car.id}", json={"seats": 5}, headers=world.auth("admin")).status_code == 200
    assert len(_vehicle_entries(client, county_auditor, car.id)) == 2
    assert len(_vehicle_entries(client, other_auditor, car.id)) == 2


def test_objects_of_no_organisation_are_listed_by_the_actors_scope(client, world, session):
    county_auditor = _auditor_of(session, client, world.ids["county"], "county_auditor")
    admin = session.get(User, world.ids["user_admin"])
    audit.record(session, admin, "organisation.update", "organisation", world.ids["county"])
    audit.record(session, admin, "import", "fleet_document", "abc123")
    audit.record(session, "cli", "import", "fleet_document", "def456")
    session.commit()

    def listed(headers: dict[str, str]) -> list[str]:
        answer = client.get("/api/v1/audit-entries", headers=headers)
        return [f"{e['object_type']}:{e['object_id']}" for e in answer.json()["items"]]

    county = f"organisation:{world.ids['county']}"
    assert listed(county_auditor) == [county, "fleet_document:def456"]
    assert listed(world.auth("auditor")) == [county, "fleet_document:abc123", "fleet_document:def456"]


def test_an_alert_review_is_scoped_by_the_alerts_car(session):
    w = build_world(session)
    entry = audit.record(session, "cli", "alert.review.under_review", "alert", w.ids["alert"],
                         {"state": "open"}, {"state": "under_review"})
    session.commit()
    orgs = session.exec(select(AuditEntryOrg.org_id).where(AuditEntryOrg.entry_id == entry.id)).all()
    assert orgs == [session.get(Vehicle, w.ids["vehicle"]).org_id]


def test_upgrade_fills_existing_entries_with_their_objects_organisation(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'scope.db'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        w = build_world(session)
        ids = [audit.record(session, "cli", action, noun, w.ids[key]).id for action, noun, key in (
            ("vehicle.update", "vehicle", "vehicle"), ("trip_request.update", "trip_request", "request"),
            ("organisation.update", "organisation", "county"), ("alert.review.confirmed", "alert", "alert"),
            ("lessor.update", "lessor", "lessor"))]
        session.commit()
        expected = {ids[0]: w.ids["city"], ids[1]: w.ids["agency"], ids[2]: w.ids["county"], ids[3]: w.ids["city"],
                    ids[4]: w.ids["city"]}
    config = alembic_config(url)
    command.downgrade(config, "audit_object_org@-1")
    command.upgrade(config, "heads")
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT entry_id, org_id FROM audit_entry_org")).all())
        count = conn.execute(text("SELECT entry_count FROM audit_chain_head")).scalar_one()
    assert rows == expected and count == len(ids)
    engine.dispose()
