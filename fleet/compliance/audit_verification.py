"""Verify the whole audit log in the database: every link of the SHA-256 chain, and that the
chain ends at the entry the chain head names (so removing the newest entries is caught too)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from fleet.audit import GENESIS_HASH, HEAD_ID, ChainBreak, verify_chain
from fleet.models import AuditEntry
from fleet.models.compliance import AuditChainHead

#: Entries fetched from the database per round trip while verifying.
BATCH_ROWS = 2000


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of one verification: ``first_break`` is None when the log is intact."""

    entries_checked: int
    last_entry_id: int
    last_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries_checked": self.entries_checked,
            "last_entry_id": self.last_entry_id,
            "last_hash": self.last_hash,
            "first_broken_entry_id": self.first_break.entry_id if self.first_break else None,
            "reason": self.first_break.reason if self.first_break else None,
        }


class _Counter:
    """Passes entries through while remembering how many went by and the last one."""

    def __init__(self, entries: Iterator[AuditEntry]) -> None:
        self._entries = entries
        self.count = 0
        self.last_id = 0
        self.last_hash = GENESIS_HASH

    def __iter__(self) -> Iterator[AuditEntry]:
        for entry in self._entries:
            self.count += 1
            yield entry
            self.last_id, self.last_hash = entry.id or 0, entry.hash


def verify_audit_log(session: Session) -> AuditVerification:
    """Check every entry in id order (streamed), then the chain's end against its head row."""
    stream = session.exec(
        select(AuditEntry).order_by(col(AuditEntry.id)).execution_options(yield_per=BATCH_ROWS)
    )
    counter = _Counter(iter(stream))
    broken = verify_chain(counter)
    stream.close()
    if broken is None:
        broken = _check_head(session, counter.last_id, counter.last_hash)
    return AuditVerification(counter.count, counter.last_id, counter.last_hash, broken)


def _check_head(session: Session, last_id: int, last_hash: str) -> ChainBreak | None:
    head = session.get(AuditChainHead, HEAD_ID)
    if head is None:
        if last_id == 0:
            return None
        return ChainBreak(last_id, "the chain head record is missing")
    if head.last_entry_id == last_id and head.last_hash == last_hash:
        return None
    if head.last_entry_id > last_id:
        return ChainBreak(
            head.last_entry_id,
            f"the newest entries are missing: the log ends at id {last_id} but its head names id "
            f"{head.last_entry_id}",
        )
    return ChainBreak(last_id, f"the log's end does not match its head (head names id {head.last_entry_id})")
