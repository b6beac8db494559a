"""Inspector export bundles: contents (dispatch-slip fields, dispositions, formula-safe text,
tracks, PDF maps), and any change to any byte of a bundle, folder or zip, is detected."""

# ruff: noqa: F811  (the web fixtures are imported by name)
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet.compliance import export_query as q
from fleet.compliance.alert_review import review_alert
from fleet.compliance.export_bundle import build_bundle, check_registered, verify_bundle
from fleet.models import (
    Alert,
    AlertState,
    AuditEntry,
    Organisation,
    OrgLevel,
    Position,
    Role,
    TripRequest,
    User,
)
from fleet.security import issue_token
from tests.web.conftest import PASSWORD_HASH, T0, app, build_world, client, world  # noqa: F401  (fixtures)

SINCE = T0 - timedelta(days=1)
UNTIL = T0 + timedelta(days=1)
INJECTION = "=HYPERLINK(\"http://evil\",\"x\")"


def _prepare(session: Session, ids: dict[str, int]) -> None:
    """Give the world a formula-like purpose, a track, and a confirmed violation."""
    request = session.get(TripRequest, ids["request"])
    request.purpose = INJECTION
    session.add(request)
    for minute in range(0, 40, 2):
        session.add(Position(vehicle_id=ids["vehicle"], ts=T0 + timedelta(minutes=minute + 1),
                             lat=34.6 + minute * 0.001, lon=119.2 + minute * 0.0015, speed_kmh=40))
    alert = session.get(Alert, ids["alert"])
    alert.ended_at = T0 + timedelta(minutes=30)
    admin = session.get(User, ids["user_admin"])
    review_alert(session, alert, admin, AlertState.under_review)
    review_alert(session, alert, admin, AlertState.confirmed, "私车公用：周末前往景区")
    session.commit()


@pytest.fixture
def bundle(session: Session, tmp_path: Path) -> Path:
    w = build_world(session)
    _prepare(session, w.ids)
    scope = q.resolve_scope(session, q.ExportFilters(SINCE, UNTIL))
    built = build_bundle(session, scope, session.get(User, w.ids["user_auditor"]), tmp_path / "bundle")
    session.commit()
    return built.path


def _verified(session: Session, path: Path):  # type: ignore[no-untyped-def]
    check = verify_bundle(path)
    check_registered(session, check)
    return check


def _csv(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def test_bundle_holds_every_table_and_verifies(session, bundle):
    names = sorted(p.name for p in bundle.iterdir())
    assert names == ["alert_reviews.csv", "alerts.csv", "compliance.xlsx", "leased_spend.csv", "manifest.json",
                     "positions.csv", "summary.pdf", "tracks.geojson", "trips.csv", "usage_per_vehicle.csv"]
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generated_by"] == {"username": "auditor", "role": "auditor"}
    assert manifest["filters"]["since"] == SINCE.isoformat()
    assert manifest["rules"]["expense"]["thresholds"]["station_radius_km"] == 5.0
    assert {r["kind"] for r in manifest["rules"]["alerts"]} == {"parking.off_site_night"}
    rows = {f["path"]: f.get("rows") for f in manifest["files"]}
    assert rows["trips.csv"] == 1 and rows["alerts.csv"] == 1 and rows["alert_reviews.csv"] == 2
    assert rows["positions.csv"] == 21
    assert ",苏G12345,2026-12-01T01:01:00+00:00,34.6,119.2,40.0,0.0,false,,,gps" in _csv(bundle / "positions.csv")

    trips = _csv(bundle / "trips.csv")
    for value in ("东海县教育局", "requester", "张师傅", "苏G12345", "pool", "120", "42.0"):
        assert value in trips
    assert "'" + INJECTION.replace('"', '""') in trips  # quoted so spreadsheets show text
    alerts = _csv(bundle / "alerts.csv")
    assert "confirmed" in alerts and "私车公用：周末前往景区" in alerts and "admin" in alerts
    with zipfile.ZipFile(bundle / "compliance.xlsx") as book:
        sheets = "".join(book.read(n).decode("utf-8") for n in book.namelist() if n.startswith("xl/"))
    assert "<f>" not in sheets and "'=HYPERLINK" in sheets.replace("&quot;", '"')
    tracks = json.loads((bundle / "tracks.geojson").read_text(encoding="utf-8"))
    assert tracks["features"][0]["geometry"]["type"] == "LineString"
    assert tracks["features"][0]["properties"]["points"] == 21
    pdf = (bundle / "summary.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b", pdf)) == 2  # summary + one map

    check = _verified(session, bundle)
    assert check.ok, check.problems
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "export.create")).one()
    assert entry.after["manifest_sha256"] == check.manifest_sha256


def test_any_changed_byte_of_any_file_is_named(session, bundle):
    for path in sorted(bundle.iterdir()):
        original = path.read_bytes()
        for offset in {0, len(original) // 2, len(original) - 1}:
            changed = bytearray(original)
            changed[offset] ^= 0x01
            path.write_bytes(bytes(changed))
            check = _verified(session, bundle)
            assert not check.ok, f"{path.name}@{offset}"
            assert any(p.startswith(path.name) for p in check.problems), (path.name, check.problems)
        path.write_bytes(original)
    assert _verified(session, bundle).ok


def test_removed_added_and_rewritten_files_are_named(session, bundle):
    (bundle / "positions.csv").rename(bundle / "positions.bak")
    problems = _verified(session, bundle).problems
    assert "positions.csv: missing (listed in the manifest)" in problems
    assert "positions.bak: not listed in the manifest (added)" in problems
    (bundle / "positions.bak").rename(bundle / "positions.csv")

    # rewrite a file and its manifest entry together: the recorded manifest hash catches it
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (bundle / "trips.csv").write_text("trip_id\n", encoding="utf-8")
    for entry in manifest["files"]:
        if entry["path"] == "trips.csv":
            entry["sha256"] = hashlib.sha256(b"trip_id\n").hexdigest()
            entry["bytes"] = 8
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    check = verify_bundle(bundle)
    assert check.ok  # the files alone agree with the forged manifest...
    check_registered(session, check)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "export.create")).one()
    assert check.problems == [
        "manifest.json: changed since export 1 was generated (its SHA-256 differs from the one recorded)",
        f"manifest.json: its SHA-256 differs from the one audit entry {entry.id} chained for export 1",
    ]


def test_zip_bundle_any_byte(session, tmp_path):
    w = build_world(session)
    _prepare(session, w.ids)
    scope = q.resolve_scope(session, q.ExportFilters(SINCE, UNTIL, org_id=w.ids["city"]))
    archive = build_bundle(session, scope, "cli", tmp_path / "b.zip", ("csv", "geojson"), as_zip=True).path
    session.commit()
    assert _verified(session, archive).ok
    original = archive.read_bytes()
    for offset in range(0, len(original), max(1, len(original) // 60)):
        changed = bytearray(original)
        changed[offset] ^= 0x20
        archive.write_bytes(bytes(changed))
        assert not _verified(session, archive).ok, offset
    archive.write_bytes(original)
    assert _verified(session, archive).ok


def test_api_export_for_auditors_in_scope_only(client, world, session, tmp_path):
    body = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "org_id": world.ids["county"],
            "formats": ["csv", "pdf"]}
    response = client.post("/api/v1/exports", json=body, headers=world.auth("auditor"))
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/zip"
    saved = tmp_path / "download.zip"
    saved.write_bytes(response.content)
    session.expire_all()
    check = _verified(session, saved)
    assert check.ok, check.problems
    assert check.manifest_sha256 == response.headers["x-manifest-sha256"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "summary.pdf" in archive.namelist() and "compliance.xlsx" not in archive.namelist()

    for role in ("admin", "dispatcher", "driver", "requester", "approver"):
        assert client.post("/api/v1/exports", json=body, headers=world.auth(role)).status_code == 403, role
    # an auditor of the county cannot export the city's finance bureau
    county = session.get(Organisation, world.ids["county"])
    assert county.level == OrgLevel.county
    auditor = User(username="county_auditor", role=Role.auditor, org_id=county.id, password_hash=PASSWORD_HASH)
    session.add(auditor)
    session.commit()
    token = issue_token(auditor.id, client.app.state.signing_key, 3600)
    outside = body | {"org_id": world.ids["other_agency"]}
    refused = client.post("/api/v1/exports", json=outside, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and "outside" in refused.json()["detail"]
    listed = client.get("/api/v1/exports", headers=world.auth("auditor")).json()
    assert listed["total"] == 1 and listed["items"][0]["manifest_sha256"] == check.manifest_sha256
    assert client.get("/api/v1/audit/verification", headers=world.auth("auditor")).json()["ok"] is True


def test_cli_export_and_verify_bundle(session, tmp_path):
    from fleet.cli import _load_plugins
    from fleet.cli import app as cli_app

    w = build_world(session)
    _prepare(session, w.ids)
    _load_plugins()
    runner = CliRunner()
    out = tmp_path / "cli-bundle"
    made = runner.invoke(cli_app, ["audit", "export", str(out), "--since", "2026-11-30", "--until", "2026-12-02",
                                   "--org", "320700", "--formats", "csv,xlsx"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(cli_app, ["audit", "verify-bundle", str(out)]).exit_code == 0
    with (out / "alerts.csv").open("ab") as handle:
        handle.write(b"\n")
    broken = runner.invoke(cli_app, ["audit", "verify-bundle", str(out)])
    assert broken.exit_code == 1 and "alerts.csv: content changed" in broken.output
    assert runner.invoke(cli_app, ["audit", "verify"]).exit_code == 0
