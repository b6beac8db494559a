"""The append-only audit log: every state-changing action, chained by SHA-256.

Each entry's ``hash`` is the SHA-256 of its canonical JSON (actor, time, action, object,
before, after) together with the previous entry's hash, so an edit, deletion or reordering
breaks the chain at the first entry touched. The chain head row counts the entries; after
each commit that appended entries, a signed checkpoint of the head is kept outside the
database when one is due (``fleet.compliance.audit_checkpoint``), so a truncated or rewound
chain is caught later. Each entry also names the organisations its object belongs to
(``AuditEntryOrg``), so the log is listed by the object's scope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import Any

import structlog
from sqlalchemy import Table, event, update
from sqlalchemy import orm as sa_orm
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from fleet.compliance import audit_checkpoint
from fleet.models import AuditEntry, User, Vehicle, utcnow
from fleet.models.compliance import AuditChainHead, AuditEntryOrg
from fleet.settings import SettingsError, get_settings

log = structlog.get_logger(__name__)

GENESIS_HASH = "0" * 64
HEAD_ID = 1
#: Audit object types whose table is named differently.
TABLE_OF_TYPE = {"export": "compliance_export"}
#: Snapshot fields and columns that name an object's organisation.
ORG_FIELDS = ("org_id", "agency_id")
#: ``Session.info`` keys: entries were appended in this transaction; the head read at commit.
_APPENDED = "fleet.audit.appended"
_HEAD_AT_COMMIT = "fleet.audit.head_at_commit"


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
        update(head).where(head.c.id == HEAD_ID)
        .values(last_entry_id=entry.id, last_hash=entry.hash, entry_count=head.c.entry_count + 1)
    )
    for org_id in sorted(object_orgs(session, obj_type, obj_id, entry.before, entry.after)):
        session.add(AuditEntryOrg(entry_id=entry.id, org_id=org_id))
    session.flush()
    session.info[_APPENDED] = True
    return entry


def object_orgs(session: Session, obj_type: str, obj_id: Any, before: dict[str, Any] | None,
                after: dict[str, Any] | None) -> set[int]:
    """The organisations an audited object belongs to: those its snapshots name (before and
    after, so a car moved between counties counts for both), else those of its stored row
    (its own ``org_id`` or agency, or its car's organisation). Empty for objects of no
    organisation."""
    orgs = {snap[name] for snap in (before, after) if isinstance(snap, dict)
            for name in ORG_FIELDS if isinstance(snap.get(name), int)}
    if obj_type == "organisation" and str(obj_id).isdigit():
        orgs.add(int(obj_id))
    if orgs or not str(obj_id).isdigit():
        return orgs
    table = SQLModel.metadata.tables.get(TABLE_OF_TYPE.get(obj_type, obj_type))
    return _row_orgs(session, table, int(obj_id)) if table is not None else set()


def _row_orgs(session: Session, table: Table, row_id: int) -> set[int]:
    if "id" not in table.c:
        return set()
    for name in ORG_FIELDS:
        if name in table.c:
            found = session.execute(select(table.c[name]).where(table.c.id == row_id)).scalar_one_or_none()
            return {found} if found is not None else set()
    if "vehicle_id" in table.c:
        car = select(table.c.vehicle_id).where(table.c.id == row_id).scalar_subquery()
        found = session.execute(select(Vehicle.org_id).where(col(Vehicle.id) == car)).scalar_one_or_none()
        return {found} if found is not None else set()
    return set()


def head_checkpoint(session: Session) -> audit_checkpoint.Checkpoint:
    """A checkpoint (unsigned) of the chain head as this transaction sees it; the empty chain
    when there is no head row."""
    head = AuditChainHead.__table__
    row = session.execute(select(head.c.entry_count, head.c.last_entry_id, head.c.last_hash)
                          .where(head.c.id == HEAD_ID)).one_or_none()
    return audit_checkpoint.now_checkpoint(*(row or (0, 0, GENESIS_HASH)))


@event.listens_for(sa_orm.Session, "before_commit")
def _read_head_for_checkpoint(session: sa_orm.Session) -> None:
    """Read the chain head inside the committing transaction, when it appended entries."""
    if session.info.pop(_APPENDED, False):
        session.info[_HEAD_AT_COMMIT] = head_checkpoint(session)


@event.listens_for(sa_orm.Session, "after_commit")
def _keep_checkpoint(session: sa_orm.Session) -> None:
    """Once the entries are durable, keep a signed checkpoint of the head if one is due. The
    commit has happened: a failure to write is logged, not raised."""
    current = session.info.pop(_HEAD_AT_COMMIT, None)
    if current is None:
        return
    try:
        audit_checkpoint.keep_checkpoint(get_settings(), current)
    except (OSError, SettingsError) as exc:
        log.error("audit_checkpoint.not_written", error=str(exc), entries=current.entries)


@event.listens_for(sa_orm.Session, "after_rollback")
def _forget_appended(session: sa_orm.Session) -> None:
    session.info.pop(_APPENDED, None)
    session.info.pop(_HEAD_AT_COMMIT, None)


def _lock_chain_head(session: Session) -> None:
    """Take the append lock: update the head row, creating it first when it is missing."""
    head = AuditChainHead.__table__
    touch = update(head).where(head.c.id == HEAD_ID).values(updated_at=utcnow())
    if session.execute(touch).rowcount == 0:
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        session.execute(
            insert(head)
            .values(id=HEAD_ID, last_entry_id=0, last_hash=GENESIS_HASH, entry_count=0, updated_at=utcnow())
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
