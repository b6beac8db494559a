"""The inspectors' read endpoints: the audit log filtered and paged within the caller's
organisation scope, the exports with the check of their kept copies, and the check of an
uploaded bundle file by file."""

# ruff: noqa: F811  (the web fixtures are imported by name)
from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from fleet import audit
from fleet.models import Organisation, OrgLevel, Role, User, utcnow
from fleet.models.compliance import ExportRecord
from fleet.security import issue_token
from tests.builders import organisation
from tests.web.conftest import PASSWORD_HASH, World

EXPORT = {"since": "2026-11-30T00:00:00+08:00", "until": "2026-12-03T00:00:00+08:00", "formats": ["csv", "pdf"]}


def _auditor_of(session: Session, client, org_id: int, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    auditor = User(username=name, role=Role.auditor, org_id=org_id, password_hash=PASSWORD_HASH)
    session.add(auditor)
    session.commit()
    return {"Authorization": f"Bearer {issue_token(auditor.id, client.app.state.signing_key, 3600)}"}


def _entries(client, headers: dict[str, str], **params) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get("/api/v1/audit/entries", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _other_county(session: Session, w: World) -> Organisation:
    other = organisation(session, "灌云县", "320723", OrgLevel.county, session.get(Organisation, w.ids["city"]))
    session.commit()
    return other


def test_the_log_is_filtered_by_actor_action_object_and_time_newest_first(client, world, session):
    admin = session.get(User, world.ids["user_admin"])
    dispatcher = session.get(User, world.ids["user_dispatcher"])
    audit.record(session, admin, "vehicle.update", "vehicle", world.ids["vehicle"], {"seats": 5}, {"seats": 7})
    audit.record(session, dispatcher, "alert.review.under_review", "alert", world.ids["alert"])
    audit.record(session, dispatcher, "alert.review.confirmed", "alert", world.ids["alert"])
    session.commit()
    auditor = world.auth("auditor")

    every = _entries(client, auditor)
    assert every["total"] == 3
    assert [e["action"] for e in every["items"]] == ["alert.review.confirmed", "alert.review.under_review",
                                                     "vehicle.update"]
    assert every["items"][0]["prev_hash"] == every["items"][1]["hash"]
    assert [e["action"] for e in _entries(client, auditor, actor="admin")["items"]] == ["vehicle.update"]
    assert _entries(client, auditor, action="alert.review")["total"] == 2
    assert _entries(client, auditor, action="alert.review.confirmed")["total"] == 1
    assert _entries(client, auditor, action="alert.rev")["total"] == 0  # a prefix ends at a dot
    assert _entries(client, auditor, action="alert.review%")["total"] == 0  # no wildcards
    by_object = _entries(client, auditor, object_type="vehicle", object_id=str(world.ids["vehicle"]))
    assert [e["after"] for e in by_object["items"]] == [{"seats": 7}]
    now = utcnow()
    assert _entries(client, auditor, since=(now - timedelta(minutes=5)).isoformat())["total"] == 3
    assert _entries(client, auditor, until=(now - timedelta(minutes=5)).isoformat())["total"] == 0
    paged = _entries(client, auditor, limit=2, offset=2)
    assert (paged["total"], paged["limit"], paged["offset"]) == (3, 2, 2)
    assert [e["action"] for e in paged["items"]] == ["vehicle.update"]

    backwards = client.get("/api/v1/audit/entries", headers=auditor,
                           params={"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 422 and "until: must be after since" in backwards.text
    naive = client.get("/api/v1/audit/entries", headers=auditor, params={"since": "2026-12-01T00:00:00"})
    assert naive.status_code == 422 and "since" in naive.text


def test_a_county_auditor_sees_its_county_only_and_a_requester_nothing(client, world, session):
    county, city = world.ids["county"], world.ids["city"]
    other = _other_county(session, world)
    admin = session.get(User, world.ids["user_admin"])
    audit.record(session, admin, "organisation.update", "organisation", county)
    audit.record(session, admin, "organisation.update", "organisation", other.id)
    audit.record(session, admin, "organisation.update", "organisation", world.ids["other_agency"])
    session.commit()

    def objects(headers: dict[str, str]) -> list[str]:
        return [e["object_id"] for e in _entries(client, headers)["items"]]

    assert objects(_auditor_of(session, client, county, "county_auditor")) == [str(county)]
    assert objects(_auditor_of(session, client, other.id, "other_auditor")) == [str(other.id)]
    assert sorted(objects(world.auth("auditor"))) == sorted([str(county), str(other.id), str(world.ids["other_agency"])])
    assert city not in (county, other.id)
    for role in ("requester", "dispatcher", "driver", "approver"):
        refused = client.get("/api/v1/audit/entries", headers=world.auth(role))
        assert refused.status_code == 403, role
        assert "may not do this" in refused.json()["detail"]
    assert client.get("/api/v1/audit/entries").status_code == 401


def _export(client, headers: dict[str, str], **changes) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    answer = client.post("/api/v1/exports", json=EXPORT | changes, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.headers["x-export-id"]), answer.content


def _upload(client, headers: dict[str, str], content: bytes, filename: str = "bundle.zip"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/exports/verification", content=content, params={"filename": filename},
                       headers={**headers, "Content-Type": "application/zip"})


def _rewritten(content: bytes, name: str, data: bytes) -> bytes:
    """The zip ``content`` with member ``name`` replaced by ``data``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.namelist():
            target.writestr(member, data if member == name else source.read(member))
    return out.getvalue()


def test_each_export_is_listed_with_the_check_of_its_kept_copy(client, world, session):
    auditor = world.auth("auditor")
    export_id, content = _export(client, auditor, org_id=world.ids["county"])
    listed = client.get("/api/v1/exports", headers=auditor).json()
    assert [(e["id"], e["created_by"], e["filters"]["org_name"]) for e in listed["items"]] == [
        (export_id, "auditor", "东海县")]

    checked = client.get(f"/api/v1/exports/{export_id}/verification", headers=auditor)
    assert checked.status_code == 200, checked.text
    result = checked.json()
    assert result["ok"] is True and result["export_id"] == export_id and result["problems"] == []
    assert {f["name"]: f["status"] for f in result["files"]} == {
        "manifest.json": "ok", "trips.csv": "ok", "alerts.csv": "ok", "alert_reviews.csv": "ok",
        "usage_per_vehicle.csv": "ok", "leased_spend.csv": "ok", "positions.csv": "ok", "summary.pdf": "ok"}
    again = client.get(f"/api/v1/exports/{export_id}/bundle", headers=auditor)
    assert again.status_code == 200 and again.content == content
    assert again.headers["content-type"] == "application/zip"

    kept = Path(session.get(ExportRecord, export_id).path)
    kept.write_bytes(_rewritten(content, "trips.csv", b"id\n1\n"))
    broken = client.get(f"/api/v1/exports/{export_id}/verification", headers=auditor).json()
    assert broken["ok"] is False
    assert {f["name"]: f["status"] for f in broken["files"]}["trips.csv"] == "changed"
    assert any(p.startswith("trips.csv: content changed") for p in broken["problems"])
    kept.unlink()
    gone = client.get(f"/api/v1/exports/{export_id}/verification", headers=auditor).json()
    assert gone["ok"] is False and "no such file" in gone["problems"][0]
    assert client.get(f"/api/v1/exports/{export_id}/bundle", headers=auditor).status_code == 404


def test_exports_of_another_county_stay_hidden(client, world, session):
    other = _other_county(session, world)
    other_auditor = _auditor_of(session, client, other.id, "other_auditor")
    export_id, content = _export(client, world.auth("auditor"), org_id=world.ids["county"])
    assert client.get("/api/v1/exports", headers=other_auditor).json()["total"] == 0
    for path in (f"/api/v1/exports/{export_id}/verification", f"/api/v1/exports/{export_id}/bundle"):
        hidden = client.get(path, headers=other_auditor)
        assert hidden.status_code == 404 and f"export {export_id} not found" in hidden.text
        assert client.get(path, headers=world.auth("admin")).status_code == 403
    # an uploaded copy is checked against its manifest only, without the record of another scope
    upload = _upload(client, other_auditor, content).json()
    assert upload["ok"] is False and upload["files_checked"] == 7
    assert upload["problems"] == [f"manifest.json: export {export_id} lies outside your organisation's scope; only "
                                  "its files were checked against its manifest"]


def test_an_uploaded_bundle_is_checked_file_by_file(client, world, session):
    auditor = world.auth("auditor")
    export_id, content = _export(client, auditor)
    intact = _upload(client, auditor, content)
    assert intact.status_code == 200, intact.text
    assert intact.json()["ok"] is True and intact.json()["export_id"] == export_id
    assert all(f["status"] == "ok" and len(f["sha256"]) == 64 for f in intact.json()["files"])
    assert _upload(client, world.auth("admin"), content).json()["ok"] is True  # admins may check too

    altered = _upload(client, auditor, _rewritten(content, "alerts.csv", b"id\n")).json()
    statuses = {f["name"]: f["status"] for f in altered["files"]}
    assert altered["ok"] is False and statuses["alerts.csv"] == "changed" and statuses["trips.csv"] == "ok"
    # the archive itself differs from the one exported, even where the files agree
    repacked = _upload(client, auditor, _rewritten(content, "", b"")).json()
    assert repacked["ok"] is False and all(f["status"] == "ok" for f in repacked["files"])
    assert any("the archive changed" in p for p in repacked["problems"])

    garbage = _upload(client, auditor, b"not a zip", "evidence.zip").json()
    assert garbage["ok"] is False and garbage["problems"][0].startswith("evidence.zip: not a readable zip archive")
    empty = client.post("/api/v1/exports/verification", headers={**auditor, "Content-Type": "application/zip"})
    assert empty.status_code == 422
    for sneaky in ("../outside.zip", "..", ".", "a/b.zip", "a\x00.zip", "证" * 81):
        refused = _upload(client, auditor, content, sneaky)
        assert refused.status_code == 422 and "filename" in refused.text, sneaky
    assert _upload(client, auditor, content, "东海县 (2026-12).zip").json()["ok"] is True
    for role in ("requester", "dispatcher", "driver", "approver"):
        assert _upload(client, world.auth(role), content).status_code == 403, role
