"""The append-only audit log: every state-changing action, chained by SHA-256.

Each entry's ``hash`` is the SHA-256 of its canonical JSON (actor, time, action, object,
before, after) together with the previous entry's hash, so an edit, deletion or reordering
breaks the chain at the first entry touched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from fleet.models import AuditEntry, User, utcnow
from fleet.models.compliance import AuditChainHead

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj: SQLModel | None, exclude: Iterable[str] = ("password_hash",)) -> dict[str, Any] | None:
    """A JSON-ready copy of a model's fields for the audit record (secrets left out)."""
    if obj is None:
        return None
    return _jsonable(obj.model_dump(exclude=set(exclude)))


def entry_digest(entry: AuditEntry) -> str:
    """The SHA-256 hex digest that ``entry.hash`` must equal."""
    body = {
        "prev_hash": entry.prev_hash,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record(
    session: Session,
    actor: User | str,
    action: str,
    obj_type: str,
    obj_id: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain in the caller's transaction.

    The chain head row is locked first (a row lock on PostgreSQL, the database write lock on
    SQLite), so concurrent writers append one after the other and never chain onto the same
    previous entry; the lock is held until the caller commits or rolls back."""
    _lock_chain_head(session)
    last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor.id if isinstance(actor, User) else None,
        actor=actor.username if isinstance(actor, User) else actor,
        action=action,
        object_type=obj_type,
        object_id=str(obj_id),
        before=_jsonable(before),
        after=_jsonable(after),
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    entry.hash = entry_digest(entry)
    session.add(entry)
    session.flush()
    head = AuditChainHead.__table__
    session.execute(
        update(head).where(head.c.id == HEAD_ID).values(last_entry_id=entry.id, last_hash=entry.hash)
    )
    return entry


def _lock_chain_head(session: Session) -> None:
    """Take the append lock: update the head row, creating it first when it is missing."""
    head = AuditChainHead.__table__
    touch = update(head).where(head.c.id == HEAD_ID).values(updated_at=utcnow())
    if session.execute(touch).rowcount == 0:
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(head)
            .values(id=HEAD_ID, last_entry_id=0, last_hash=GENESIS_HASH, updated_at=utcnow())
            .on_conflict_do_nothing(index_elements=["id"])
        )
        session.execute(touch)


@dataclass(frozen=True)
class ChainBreak:
    """Where the audit chain first fails, and why."""

    entry_id: int
    reason: str


def verify_chain(entries: Iterable[AuditEntry]) -> ChainBreak | None:
    """Check entries in id order; ``None`` when the chain is intact."""
    prev_hash = GENESIS_HASH
    prev_id = 0
    for entry in entries:
        if entry.id is None or entry.id <= prev_id:
            return ChainBreak(entry.id or 0, "entries out of order")
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.id, "previous-hash link broken (an entry before it was removed, reordered or edited)")
        if entry_digest(entry) != entry.hash:
            return ChainBreak(entry.id, "content does not match its hash (edited)")
        prev_hash, prev_id = entry.hash, entry.id
    return None
