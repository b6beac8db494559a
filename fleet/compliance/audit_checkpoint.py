"""Signed checkpoints of the audit chain, kept outside the database.

A checkpoint names the chain's length (entries), its newest entry's id and hash, and when it
was taken, signed with HMAC-SHA256 under ``FLEET_AUDIT_CHECKPOINT_KEY``. The platform writes
the newest one to ``<data folder>/audit-checkpoint.json`` after every
``FLEET_AUDIT_CHECKPOINT_EVERY_ENTRIES`` entries or at the first entry once
``FLEET_AUDIT_CHECKPOINT_INTERVAL_S`` has passed, and every export bundle's manifest carries
one. Anyone holding a copy can later prove the chain was neither truncated nor rewound since:
its entry number ``entries`` must still be the entry it names (``fleet audit verify
--checkpoint FILE``). Someone who can edit the database but not the copies cannot forge one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from fleet.models.common import utcnow
from fleet.settings import Settings

log = structlog.get_logger(__name__)

CHECKPOINT_FORMAT = "fleet-audit-checkpoint/1"
CHECKPOINT_FILE = "audit-checkpoint.json"
#: The key under which an export manifest carries its checkpoint.
MANIFEST_KEY = "audit_checkpoint"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read, or whose signature does not hold."""


def key_id(key: str) -> str:
    """A short public name of a signing key (first 16 hex digits of a SHA-256 over it), so a
    checkpoint signed with another key is told apart from a forged one."""
    return hashlib.sha256(f"{CHECKPOINT_FORMAT}:{key}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """The chain as it stood: ``entries`` entries, the newest ``entry_id`` with ``hash``."""

    entries: int
    entry_id: int
    hash: str
    at: datetime

    def _body(self) -> dict[str, Any]:
        return {"format": CHECKPOINT_FORMAT, "entries": self.entries, "entry_id": self.entry_id,
                "hash": self.hash, "at": self.at.isoformat()}

    def signed(self, key: str) -> dict[str, Any]:
        """The checkpoint as JSON with its key id and HMAC-SHA256 signature."""
        body = self._body() | {"key_id": key_id(key)}
        return body | {"signature": _signature(body, key)}

    @classmethod
    def from_signed(cls, data: Any, key: str) -> Checkpoint:
        """Read a signed checkpoint; raises ``CheckpointError`` naming the field at fault, or
        when the signature does not hold under ``key``."""
        if not isinstance(data, dict):
            raise CheckpointError("checkpoint: expected a JSON object")
        if data.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"format: expected {CHECKPOINT_FORMAT!r}, got {data.get('format')!r}")
        for name in ("entries", "entry_id"):
            if not isinstance(data.get(name), int) or isinstance(data.get(name), bool) or data[name] < 0:
                raise CheckpointError(f"{name}: must be a whole number of at least 0")
        for name in ("hash", "signature", "key_id", "at"):
            if not isinstance(data.get(name), str):
                raise CheckpointError(f"{name}: must be a string")
        try:
            at = datetime.fromisoformat(data["at"])
        except ValueError:
            raise CheckpointError("at: must be an ISO-8601 time") from None
        if at.tzinfo is None:
            raise CheckpointError("at: must carry a UTC offset")
        if data["key_id"] != key_id(key):
            raise CheckpointError(f"key_id: signed with another key ({data['key_id']}); this platform's "
                                  f"FLEET_AUDIT_CHECKPOINT_KEY is {key_id(key)}")
        body = {k: v for k, v in data.items() if k != "signature"}
        if not hmac.compare_digest(_signature(body, key), data["signature"]):
            raise CheckpointError("signature: does not match the checkpoint's content (altered or forged)")
        return cls(data["entries"], data["entry_id"], data["hash"], at)


def _signature(body: dict[str, Any], key: str) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def read_checkpoint(path: Path, key: str) -> Checkpoint:
    """The checkpoint in ``path``: a checkpoint file, or an export bundle's manifest that
    carries one. Raises ``CheckpointError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable JSON file ({exc})") from None
    if isinstance(data, dict) and MANIFEST_KEY in data:
        data = data[MANIFEST_KEY]
    return Checkpoint.from_signed(data, key)


def checkpoint_path(settings: Settings) -> Path:
    """Where the platform keeps its newest checkpoint."""
    return settings.data_dir / CHECKPOINT_FILE


def kept_checkpoint(settings: Settings) -> Checkpoint | None:
    """The checkpoint the platform keeps in the data folder, or None when there is none yet.
    Raises ``CheckpointError`` when it is there but cannot be trusted."""
    path = checkpoint_path(settings)
    return read_checkpoint(path, settings.audit_checkpoint_signing_key()) if path.is_file() else None


def is_due(last: Checkpoint | None, current: Checkpoint, settings: Settings) -> bool:
    """True when ``current`` should be written: no checkpoint yet, or enough entries or
    time since ``last``."""
    if last is None:
        return True
    return (current.entries - last.entries >= settings.audit.checkpoint_every_entries
            or current.at - last.at >= timedelta(seconds=settings.audit.checkpoint_interval_s))


def keep_checkpoint(settings: Settings, current: Checkpoint) -> bool:
    """Write ``current`` to the data folder when one is due; returns whether it was written.

    A kept checkpoint of a longer chain is never replaced by a shorter one: that chain was
    truncated or rewound, and the file is the evidence (a warning is logged)."""
    path = checkpoint_path(settings)
    try:
        last = kept_checkpoint(settings)
    except CheckpointError as exc:
        log.warning("audit_checkpoint.unreadable", path=str(path), error=str(exc))
        last = None
    if last is not None and last.entries > current.entries:
        log.warning("audit_checkpoint.chain_shorter", path=str(path), kept_entries=last.entries,
                    chain_entries=current.entries)
        return False
    if not is_due(last, current, settings):
        return False
    write_checkpoint(path, current, settings.audit_checkpoint_signing_key())
    return True


def write_checkpoint(path: Path, checkpoint: Checkpoint, key: str) -> None:
    """Replace ``path`` with the signed ``checkpoint`` in one step (no half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(checkpoint.signed(key), indent=2, sort_keys=True) + "\n"
    handle, temporary = tempfile.mkstemp(prefix=".audit-checkpoint-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    log.info("audit_checkpoint.written", path=str(path), entries=checkpoint.entries, entry_id=checkpoint.entry_id)


def now_checkpoint(entries: int, entry_id: int, entry_hash: str) -> Checkpoint:
    """A checkpoint of the chain as it stands now."""
    return Checkpoint(entries, entry_id, entry_hash, utcnow())
