"""Verify the whole audit log in the database: every link of the SHA-256 chain; that the
chain ends at the entry its head names and holds as many entries as the head counts; that an
empty chain belongs to an empty database; that a signed checkpoint kept outside the database
is still in the chain (not truncated, not rewound); and that every table whose hashes the
chain records (export manifests, imported expense files) still agrees with it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from fleet.audit import GENESIS_HASH, HEAD_ID, ChainBreak, entry_digest, verify_chain
from fleet.compliance.audit_checkpoint import Checkpoint
from fleet.models import AuditEntry, Trip, User, Vehicle
from fleet.models.compliance import AuditChainHead, ExpenseImport, ExportRecord

#: Entries fetched from the database per round trip while verifying.
BATCH_ROWS = 2000


@dataclass(frozen=True)
class RecordedHash:
    """An action whose entry's ``after`` holds hashes that a table keeps too (same names)."""

    action: str
    model: type[SQLModel]
    fields: tuple[str, ...]

    @property
    def table(self) -> str:
        return str(self.model.__tablename__)


RECORDED_HASHES = (
    RecordedHash("export.create", ExportRecord, ("manifest_sha256", "archive_sha256")),
    RecordedHash("expense.import", ExpenseImport, ("sha256",)),
)


@dataclass(frozen=True)
class Disagreement:
    """A table row whose hash differs from the one the chain recorded (or that has no entry,
    or whose entry has no row)."""

    table: str
    row_id: int
    entry_id: int | None
    reason: str

    def as_json(self) -> dict[str, object]:
        return {"table": self.table, "row_id": self.row_id, "entry_id": self.entry_id, "reason": self.reason}


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of one verification: intact when there is neither a break in the chain
    nor a table that disagrees with it."""

    entries_checked: int
    last_entry_id: int
    last_hash: str
    first_break: ChainBreak | None
    disagreements: list[Disagreement] = field(default_factory=list)
    checkpoint: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None and not self.disagreements

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "last_entry_id": self.last_entry_id,
            "last_hash": self.last_hash,
            "first_broken_entry_id": self.first_break.entry_id if self.first_break else None,
            "reason": self.first_break.reason if self.first_break else None,
            "disagreements": [d.as_json() for d in self.disagreements],
            "checkpoint_entries": self.checkpoint.entries if self.checkpoint else None,
        }


class _Reader:
    """Passes entries through while counting them, remembering the last one, the entry at the
    checkpoint's position and the hashes that tables must agree with."""

    def __init__(self, entries: Iterator[AuditEntry], checkpoint: Checkpoint | None) -> None:
        self._entries = entries
        self._checkpoint = checkpoint
        self.count = 0
        self.last_id = 0
        self.last_hash = GENESIS_HASH
        self.at_checkpoint: tuple[int, str] | None = None
        self._recorded = {spec.action: spec for spec in RECORDED_HASHES}
        #: action -> row id -> (entry id, the hashes the entry recorded)
        self.expected: dict[str, dict[int, tuple[int, dict[str, Any]]]] = {a: {} for a in self._recorded}

    def __iter__(self) -> Iterator[AuditEntry]:
        for entry in self._entries:
            self.count += 1
            yield entry
            self.last_id, self.last_hash = entry.id or 0, entry.hash
            if self._checkpoint is not None and self.count == self._checkpoint.entries:
                self.at_checkpoint = (self.last_id, entry.hash)
            spec = self._recorded.get(entry.action)
            if spec is not None and entry.object_id.isdigit():
                after = entry.after or {}
                self.expected[spec.action][int(entry.object_id)] = (self.last_id, {f: after.get(f) for f in spec.fields})


def verify_audit_log(session: Session, checkpoint: Checkpoint | None = None) -> AuditVerification:
    """Check every entry in id order (streamed), then the chain's end against its head row,
    against ``checkpoint`` when given, and the hash-holding tables against the chain."""
    stream = session.exec(
        select(AuditEntry).order_by(col(AuditEntry.id)).execution_options(yield_per=BATCH_ROWS)
    )
    reader = _Reader(iter(stream), checkpoint)
    broken = verify_chain(reader)
    stream.close()
    if broken is None and checkpoint is not None:
        broken = _check_checkpoint(reader, checkpoint)
    if broken is None:
        broken = _check_head(session, reader.count, reader.last_id, reader.last_hash)
    if broken is None and reader.count == 0:
        broken = _check_empty(session)
    disagreements = _check_tables(session, reader.expected) if broken is None else []
    return AuditVerification(reader.count, reader.last_id, reader.last_hash, broken, disagreements, checkpoint)


def _check_checkpoint(reader: _Reader, checkpoint: Checkpoint) -> ChainBreak | None:
    signed = f"the checkpoint of {checkpoint.at.isoformat()} signed entry #{checkpoint.entries}"
    if checkpoint.entries == 0:
        return None
    if reader.count < checkpoint.entries:
        return ChainBreak(reader.last_id, f"truncated: the log holds {reader.count} entries but {signed} "
                                          f"(id {checkpoint.entry_id})")
    if reader.at_checkpoint != (checkpoint.entry_id, checkpoint.hash):
        entry_id = reader.at_checkpoint[0] if reader.at_checkpoint else 0
        return ChainBreak(entry_id, f"rewound or rewritten: entry #{checkpoint.entries} is not the one {signed} "
                                    f"(id {checkpoint.entry_id}, hash {checkpoint.hash[:16]}…)")
    return None


def _check_head(session: Session, count: int, last_id: int, last_hash: str) -> ChainBreak | None:
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        if last_id == 0:
            return None
        return ChainBreak(last_id, "the chain head record is missing")
    if head.last_entry_id > last_id:
        return ChainBreak(
            head.last_entry_id,
            f"the newest entries are missing: the log ends at id {last_id} but its head names id "
            f"{head.last_entry_id}",
        )
    if head.last_entry_id != last_id or head.last_hash != last_hash:
        return ChainBreak(last_id, f"the log's end does not match its head (head names id {head.last_entry_id})")
    if head.entry_count != count:
        return ChainBreak(last_id, f"the log holds {count} entries but its head counts {head.entry_count}")
    return None


def _check_empty(session: Session) -> ChainBreak | None:
    """An empty chain is intact only on a database that holds nothing worth auditing."""
    for model, noun in ((User, "users"), (Vehicle, "vehicles"), (Trip, "trips")):
        if session.exec(select(model.id).limit(1)).first() is not None:
            return ChainBreak(0, f"the audit log is empty but the database holds {noun}: its entries were deleted")
    return None


def _check_tables(session: Session, expected: dict[str, dict[int, tuple[int, dict[str, Any]]]]) -> list[Disagreement]:
    found: list[Disagreement] = []
    for spec in RECORDED_HASHES:
        chained = dict(expected[spec.action])
        columns = [getattr(spec.model, name) for name in spec.fields]
        rows = session.exec(select(spec.model.id, *columns).order_by(spec.model.id)  # type: ignore[attr-defined]
                            .execution_options(yield_per=BATCH_ROWS))
        for row_id, *values in rows:
            entry = chained.pop(row_id, None)
            if entry is None:
                found.append(Disagreement(spec.table, row_id, None, f"no {spec.action} entry in the audit log records it"))
                continue
            entry_id, hashes = entry
            for name, value in zip(spec.fields, values, strict=True):
                if value != hashes[name]:
                    found.append(Disagreement(spec.table, row_id, entry_id,
                                              f"{name} is {str(value)[:16]}… but entry {entry_id} chained "
                                              f"{str(hashes[name])[:16]}…"))
        for row_id, (entry_id, _) in sorted(chained.items()):
            found.append(Disagreement(spec.table, row_id, entry_id,
                                      f"the row is missing, though entry {entry_id} ({spec.action}) recorded it"))
    return found


def chained_entry_problem(session: Session, entry: AuditEntry) -> str | None:
    """Why ``entry`` cannot be trusted as it stands (edited, or its successor no longer links to
    it), or None. A whole rewritten tail needs ``verify_audit_log`` with a checkpoint."""
    if entry_digest(entry) != entry.hash:
        return f"audit entry {entry.id} was edited (its content no longer matches its hash)"
    successor = session.exec(select(AuditEntry.prev_hash).where(col(AuditEntry.id) > entry.id)
                             .order_by(col(AuditEntry.id)).limit(1)).first()
    if successor is not None and successor != entry.hash:
        return f"audit entry {entry.id} was rewritten (the next entry does not link to it)"
    return None
