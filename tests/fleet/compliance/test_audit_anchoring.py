"""The audit trail holds against someone who can edit the database: an emptied log, a
truncated or rewound chain (even with its head row rewritten to match), a rewritten bundle
with its recorded hash and a table that no longer agrees with the chain are all caught; the
signed checkpoints that anchor the chain outside the database are written on schedule."""

# ruff: noqa: F811  (the web fixtures are imported by name)
from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet import audit
from fleet.compliance import audit_checkpoint as cp
from fleet.compliance import export_query as q
from fleet.compliance.audit_verification import verify_audit_log
from fleet.compliance.export_bundle import build_bundle, check_registered, verify_bundle
from fleet.models import AuditEntry, OrgLevel, Role, User, utcnow
from fleet.models.compliance import AuditChainHead, ExpenseImport, ExpenseKind, ExportRecord
from fleet.settings import (
    AuditSettings,
    MqttSettings,
    Settings,
    SettingsError,
    get_settings,
)
from tests.builders import organisation, user
from tests.web.conftest import PASSWORD_HASH, T0, app, build_world, client, world  # noqa: F401  (fixtures)

RUNNER = CliRunner()


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from fleet.cli import _load_plugins, app

    _load_plugins()
    return RUNNER.invoke(app, list(args))


def _user(session: Session) -> User:
    org = organisation(session, "连云港市", "320700", OrgLevel.city)
    admin = user(session, "admin", Role.admin, org.id, PASSWORD_HASH)
    session.commit()
    return admin


def _append(session: Session, count: int, start: int = 0) -> list[AuditEntry]:
    """``count`` entries, each in its own transaction."""
    entries = []
    for n in range(start, start + count):
        entries.append(audit.record(session, "cli", "vehicle.update", "vehicle", n, None, {"odometer_km": n}))
        session.commit()
    return entries


def _delete_from(session: Session, first_id: int) -> None:
    """Remove the entries from ``first_id`` on (and their organisation rows)."""
    session.execute(text("DELETE FROM audit_entry_org WHERE entry_id >= :id"), {"id": first_id})
    session.execute(text("DELETE FROM audit_entry WHERE id >= :id"), {"id": first_id})


def _rechain_from(session: Session, first_id: int) -> None:
    """Recompute every hash from ``first_id`` on and the head row, as a forger with database
    access would, so that the chain and its head agree again."""
    prev = session.exec(select(AuditEntry.hash).where(AuditEntry.id < first_id)
                        .order_by(AuditEntry.id.desc()).limit(1)).first() or audit.GENESIS_HASH  # type: ignore[union-attr]
    entries = session.exec(select(AuditEntry).where(AuditEntry.id >= first_id).order_by(AuditEntry.id)).all()
    for entry in entries:
        entry.prev_hash = prev
        entry.hash = audit.entry_digest(entry)
        prev = entry.hash
        session.add(entry)
    count = len(session.exec(select(AuditEntry.id)).all())
    last = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc())).first()  # type: ignore[union-attr]
    session.execute(text("UPDATE audit_chain_head SET last_entry_id = :id, last_hash = :h, entry_count = :n"),
                    {"id": last.id if last else 0, "h": last.hash if last else audit.GENESIS_HASH, "n": count})
    session.commit()


def _take_checkpoint(tmp_path: Path) -> Path:
    out = tmp_path / "anchor.json"
    made = _cli("audit", "checkpoint", str(out))
    assert made.exit_code == 0, made.output
    return out


def test_deleting_every_entry_and_the_head_is_broken_not_intact(session):
    assert verify_audit_log(session).ok  # an empty log of an empty database is intact
    _user(session)
    _append(session, 3)
    assert _cli("audit", "verify").exit_code == 0
    session.execute(text("DELETE FROM audit_entry"))
    session.execute(text("DELETE FROM audit_chain_head"))
    session.commit()
    result = verify_audit_log(session)
    assert not result.ok and "empty but the database holds users" in result.first_break.reason
    cp.checkpoint_path(get_settings()).unlink()  # no checkpoint to compare with: the emptiness alone tells
    emptied = _cli("audit", "verify")
    assert emptied.exit_code == 1 and "the audit log is empty but the database holds users" in emptied.output


def _anchored_then_cut(session: Session, tmp_path: Path, total: int, kept: int) -> Path:
    """``total`` entries and a checkpoint of them, then every entry after the first ``kept``
    removed and the head rewritten to match; returns the checkpoint file."""
    _user(session)
    first_cut = _append(session, total)[kept].id
    anchor = _take_checkpoint(tmp_path)
    _delete_from(session, first_cut)
    _rechain_from(session, first_cut)
    return anchor


def test_truncated_tail_with_a_rewritten_head_is_caught_by_a_checkpoint(session, tmp_path):
    anchor = _anchored_then_cut(session, tmp_path, 6, 4)
    assert verify_audit_log(session).ok  # the database alone agrees with itself again...
    truncated = _cli("audit", "verify", "--checkpoint", str(anchor))
    assert truncated.exit_code == 1
    assert "truncated: the log holds 4 entries" in truncated.output and "entry #6" in truncated.output


def test_rewound_chain_of_the_same_length_is_caught(session, tmp_path):
    anchor = _anchored_then_cut(session, tmp_path, 5, 3)
    _append(session, 2, start=100)  # the chain grows back to 5 entries, with other content
    assert verify_audit_log(session).ok
    rewound = _cli("audit", "verify", "--checkpoint", str(anchor))
    assert rewound.exit_code == 1 and "rewound or rewritten: entry #5" in rewound.output


def test_edited_row_with_the_whole_tail_rechained_is_caught(session, tmp_path):
    _user(session)
    entries = _append(session, 4)
    anchor = _take_checkpoint(tmp_path)
    session.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE id = :id"), {"id": entries[1].id})
    session.commit()
    assert verify_audit_log(session).first_break.entry_id == entries[1].id
    _rechain_from(session, entries[1].id)
    assert verify_audit_log(session).ok
    result = _cli("audit", "verify", "--checkpoint", str(anchor))
    assert result.exit_code == 1 and "rewound or rewritten: entry #4" in result.output


def test_a_checkpoint_still_in_a_growing_chain_passes(session, tmp_path):
    _user(session)
    _append(session, 3)
    anchor = _take_checkpoint(tmp_path)
    _append(session, 4, start=10)
    result = _cli("audit", "verify", "--checkpoint", str(anchor))
    assert result.exit_code == 0, result.output
    assert "7 entries" in result.output and "entry #3" in result.output


def test_forged_or_foreign_checkpoints_are_refused(session, tmp_path):
    _user(session)
    _append(session, 3)
    anchor = _take_checkpoint(tmp_path)
    data = json.loads(anchor.read_text())
    data["entries"] = 2  # what a forger would claim after removing the newest entry
    anchor.write_text(json.dumps(data))
    forged = _cli("audit", "verify", "--checkpoint", str(anchor))
    assert forged.exit_code == 1 and "signature: does not match" in forged.output
    foreign = cp.Checkpoint(3, 3, "f" * 64, utcnow()).signed("another-platform-key-0123456789abcdef")
    anchor.write_text(json.dumps(foreign))
    refused = _cli("audit", "verify", "--checkpoint", str(anchor))
    assert refused.exit_code == 1 and "signed with another key" in refused.output
    assert _cli("audit", "verify", "--checkpoint", str(tmp_path / "none.json")).exit_code == 2


def test_checkpoints_are_kept_every_n_entries_or_after_the_interval(session, monkeypatch):
    monkeypatch.setenv("FLEET_AUDIT_CHECKPOINT_EVERY_ENTRIES", "5")
    get_settings.cache_clear()
    settings = get_settings()
    path = cp.checkpoint_path(settings)
    key = settings.audit_checkpoint_signing_key()
    entries = _append(session, 1)
    assert cp.read_checkpoint(path, key).entries == 1  # the first entry: no checkpoint yet
    entries += _append(session, 4, start=1)
    assert cp.read_checkpoint(path, key).entries == 1
    entries += _append(session, 1, start=5)
    kept = cp.read_checkpoint(path, key)
    assert (kept.entries, kept.entry_id, kept.hash) == (6, entries[-1].id, entries[-1].hash)

    # an entry rolled back leaves no checkpoint behind
    stale = cp.Checkpoint(6, entries[-1].id, entries[-1].hash, utcnow() - timedelta(hours=2))
    cp.write_checkpoint(path, stale, key)
    audit.record(session, "cli", "vehicle.update", "vehicle", 99)
    session.rollback()
    session.commit()
    assert cp.read_checkpoint(path, key).at == stale.at
    # an hour after the last checkpoint, the next entry is checkpointed however few came since
    newest = _append(session, 1, start=7)[-1]
    kept = cp.read_checkpoint(path, key)
    assert (kept.entries, kept.entry_id) == (7, newest.id) and kept.at > stale.at


def test_a_kept_checkpoint_of_a_longer_chain_is_not_overwritten(session):
    settings = get_settings()
    path = cp.checkpoint_path(settings)
    key = settings.audit_checkpoint_signing_key()
    cp.write_checkpoint(path, cp.Checkpoint(50, 50, "a" * 64, utcnow() - timedelta(hours=3)), key)
    _append(session, 1)
    assert cp.read_checkpoint(path, key).entries == 50
    # and plain `verify` checks the kept checkpoint by default
    verified = _cli("audit", "verify")
    assert verified.exit_code == 1 and "truncated" in verified.output


def test_production_requires_a_checkpoint_key():
    strong = "Zq8vN2pLr5Tx9Wc3Jh7Kd1Mf6Gb4Ys0Ea"
    with pytest.raises(SettingsError, match="FLEET_AUDIT_CHECKPOINT_KEY"):
        Settings(env="production", secret_key=strong + "x", mqtt=MqttSettings(url="mqtt://broker:1883"),
                 audit=AuditSettings(checkpoint_key=None))
    settings = Settings(env="production", secret_key=strong + "x", mqtt=MqttSettings(url="mqtt://broker:1883"),
                        audit=AuditSettings(checkpoint_key=strong + "y"))
    assert settings.audit_checkpoint_signing_key() == strong + "y"


def test_development_generates_a_checkpoint_key_into_the_data_folder(tmp_path):
    settings = Settings(data_dir=tmp_path / "d")
    key = settings.audit_checkpoint_signing_key()
    assert len(key) >= 32 and (tmp_path / "d" / "audit_checkpoint_key").read_text() == key
    assert Settings(data_dir=tmp_path / "d").audit_checkpoint_signing_key() == key


@pytest.fixture
def bundle(session: Session, tmp_path: Path) -> Path:
    w = build_world(session)
    _append(session, 2)
    scope = q.resolve_scope(session, q.ExportFilters(T0 - timedelta(days=1), T0 + timedelta(days=1)))
    built = build_bundle(session, scope, session.get(User, w.ids["user_auditor"]), tmp_path / "bundle", ("csv",))
    session.commit()
    return built.path


def test_rewriting_a_bundle_and_its_recorded_hash_is_caught(session, bundle):
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    (bundle / "trips.csv").write_text("trip_id\n", encoding="utf-8")
    for entry in manifest["files"]:
        if entry["path"] == "trips.csv":
            entry["sha256"], entry["bytes"] = hashlib.sha256(b"trip_id\n").hexdigest(), 8
    manifest_bytes = json.dumps(manifest).encode("utf-8")
    manifest_path.write_bytes(manifest_bytes)
    session.execute(text("UPDATE compliance_export SET manifest_sha256 = :h"),
                    {"h": hashlib.sha256(manifest_bytes).hexdigest()})
    session.commit()

    check = verify_bundle(bundle)
    check_registered(session, check)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "export.create")).one()
    assert check.problems == [f"manifest.json: its SHA-256 differs from the one audit entry {entry.id} chained "
                              f"for export {manifest['export_id']}"]
    refused = _cli("audit", "verify-bundle", str(bundle))
    assert refused.exit_code == 1 and "chained for export" in refused.output

    result = verify_audit_log(session)
    assert result.first_break is None and not result.ok
    assert [(d.table, d.row_id, d.entry_id) for d in result.disagreements] == [
        ("compliance_export", manifest["export_id"], entry.id)]
    cli = _cli("audit", "verify")
    assert cli.exit_code == 1 and "disagrees: compliance_export" in cli.output


def test_rewriting_the_chained_export_entry_too_is_caught(session, bundle):
    """The forger also edits the entry's recorded hash and recomputes its own hash: the next
    entry no longer links to it."""
    export = session.exec(select(ExportRecord)).one()
    audit.record(session, "cli", "vehicle.update", "vehicle", 1)
    session.commit()
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "export.create")).one()
    entry.after = entry.after | {"manifest_sha256": "0" * 64}
    entry.hash = audit.entry_digest(entry)
    session.add(entry)
    export.manifest_sha256 = "0" * 64
    session.add(export)
    session.commit()
    check = verify_bundle(bundle)
    check.manifest_sha256 = "0" * 64  # as if the manifest had been rewritten to that hash
    check_registered(session, check)
    assert check.problems == [f"manifest.json: audit entry {entry.id} was rewritten (the next entry does not "
                              "link to it)"]


def test_the_manifest_carries_a_signed_checkpoint_that_verify_accepts(session, bundle):
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    key = get_settings().audit_checkpoint_signing_key()
    carried = cp.Checkpoint.from_signed(manifest["audit_checkpoint"], key)
    head = session.get(AuditChainHead, audit.HEAD_ID)
    assert (carried.entries, head.entry_count) == (2, 3)  # the chain as it stood before export.create
    assert _cli("audit", "verify", "--checkpoint", str(bundle / "manifest.json")).exit_code == 0
    second = session.exec(select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
    _delete_from(session, second)
    _rechain_from(session, second)
    truncated = _cli("audit", "verify", "--checkpoint", str(bundle / "manifest.json"))
    assert truncated.exit_code == 1 and "truncated" in truncated.output


def test_an_expense_import_whose_hash_was_edited_disagrees(session):
    _user(session)
    imported = ExpenseImport(kind=ExpenseKind.fuel, filename="fuel.csv", sha256="1" * 64, imported_by="cli")
    session.add(imported)
    session.flush()
    audit.record(session, "cli", "expense.import", "expense_import", imported.id, None, {"sha256": "1" * 64})
    session.commit()
    assert verify_audit_log(session).ok
    session.execute(text("UPDATE expense_import SET sha256 = :h"), {"h": "2" * 64})
    session.add(ExpenseImport(kind=ExpenseKind.fuel, filename="forged.csv", sha256="3" * 64, imported_by="cli"))
    session.commit()
    reasons = {d.row_id: d.reason for d in verify_audit_log(session).disagreements}
    assert reasons[imported.id].startswith("sha256 is 2222")
    assert reasons[imported.id + 1] == "no expense.import entry in the audit log records it"


def test_the_api_verification_checks_the_kept_checkpoint(client, world, session):
    _append(session, 3)
    settings = client.app.state.settings
    key = settings.audit_checkpoint_signing_key()
    head = session.get(AuditChainHead, audit.HEAD_ID)
    cp.write_checkpoint(cp.checkpoint_path(settings), audit.head_checkpoint(session), key)
    assert client.get("/api/v1/audit/verification", headers=world.auth("auditor")).json()["ok"] is True
    _delete_from(session, head.last_entry_id)
    _rechain_from(session, head.last_entry_id)
    answer = client.get("/api/v1/audit/verification", headers=world.auth("auditor")).json()
    assert answer["ok"] is False and answer["reason"].startswith("truncated: the log holds 2 entries")
    assert answer["checkpoint_entries"] == 3
