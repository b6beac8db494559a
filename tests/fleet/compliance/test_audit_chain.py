"""The audit log's SHA-256 chain: any edit, deletion or reordering is found and the first
broken entry named; concurrent writers never fork the chain."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet import audit
from fleet.compliance.audit_verification import verify_audit_log
from fleet.models import AuditEntry


def _fill(session: Session, count: int = 6) -> list[int]:
    ids = []
    for n in range(count):
        entry = audit.record(session, "cli", "vehicle.update", "vehicle", n, {"odometer_km": n}, {"odometer_km": n + 1})
        ids.append(entry.id)
    session.commit()
    return ids


def test_intact_chain_verifies(session):
    ids = _fill(session)
    result = verify_audit_log(session)
    assert result.ok and result.entries_checked == len(ids) and result.last_entry_id == ids[-1]


@pytest.mark.parametrize("position", [0, 2, 5])
def test_edit_of_any_entry_is_named(session, position):
    ids = _fill(session)
    session.execute(text("UPDATE audit_entry SET action = 'vehicle.delete' WHERE id = :id"), {"id": ids[position]})
    session.commit()
    result = verify_audit_log(session)
    assert not result.ok and result.first_break.entry_id == ids[position]
    assert "edited" in result.first_break.reason


def test_edit_with_recomputed_hash_breaks_the_next_link(session):
    ids = _fill(session)
    entry = session.get(AuditEntry, ids[2])
    entry.after = {"odometer_km": 999}
    entry.hash = audit.entry_digest(entry)
    session.add(entry)
    session.commit()
    assert verify_audit_log(session).first_break.entry_id == ids[3]


@pytest.mark.parametrize("position", [0, 3])
def test_deletion_is_named_at_the_entry_after_it(session, position):
    ids = _fill(session)
    session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[position]})
    session.commit()
    result = verify_audit_log(session)
    assert result.first_break.entry_id == ids[position + 1]
    assert "link broken" in result.first_break.reason


def test_deleting_the_newest_entries_is_detected(session):
    ids = _fill(session)
    session.execute(text("DELETE FROM audit_entry WHERE id >= :id"), {"id": ids[-2]})
    session.commit()
    result = verify_audit_log(session)
    assert not result.ok and result.first_break.entry_id == ids[-1]
    assert "missing" in result.first_break.reason


def test_reordering_is_detected(session):
    """Two entries swap places (their ids are exchanged): the first moved one is named."""
    ids = _fill(session)
    swap = "UPDATE audit_entry SET id = :new WHERE id = :old"
    session.execute(text(swap), {"new": 10_000, "old": ids[1]})
    session.execute(text(swap), {"new": ids[1], "old": ids[2]})
    session.execute(text(swap), {"new": ids[2], "old": 10_000})
    session.commit()
    result = verify_audit_log(session)
    assert not result.ok and result.first_break.entry_id == ids[1]


def test_cli_verify_names_the_broken_entry(session):
    from fleet.cli import _load_plugins, app

    ids = _fill(session, 3)
    _load_plugins()
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "3 entries" in ok.output
    session.execute(text("UPDATE audit_entry SET actor = 'mallory' WHERE id = :id"), {"id": ids[1]})
    session.commit()
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"broken at entry {ids[1]}" in broken.output


def test_concurrent_writers_keep_one_chain(engine):
    """Writers in parallel transactions (row lock on PostgreSQL, write lock on SQLite)."""
    writers, per_writer = 6, 8
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for k in range(per_writer):
                with Session(engine) as s:
                    audit.record(s, f"writer{n}", "test.append", "test", k)
                    s.commit()
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with Session(engine) as s:
        result = verify_audit_log(s)
        prev = s.exec(select(AuditEntry.prev_hash)).all()
    assert result.ok, result.first_break
    assert result.entries_checked == writers * per_writer
    assert len(set(prev)) == len(prev)
