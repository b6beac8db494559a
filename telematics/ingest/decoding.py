"""Raw MQTT messages -> validated fixes, or rejections that say which field broke which rule.

Pure functions: no database, no broker. One bad point in an array never drops the good points
beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from fleet import topics
from telematics.ingest.payload import PositionPayload, StatusPayload

#: Longest raw text kept in a rejection (the rest is cut), characters.
MAX_REJECTED_TEXT = 2000


@dataclass(frozen=True)
class Rejection:
    """A refused message or point: ``kind`` is a short metric label, ``reason`` the sentence."""

    topic: str
    kind: str
    reason: str
    payload: Any

    def as_json(self) -> bytes:
        """The dead-letter message published on ``fleet/v1/ingest/rejected``."""
        body = {"topic": self.topic, "reason": self.reason, "payload": self.payload}
        return json.dumps(body, ensure_ascii=False, default=str).encode()


@dataclass(frozen=True)
class DecodedGps:
    fixes: list[PositionPayload]
    rejections: list[Rejection]


def device_in_topic(topic: str) -> str | None:
    """The device id of ``fleet/v1/vehicles/{device_id}/<kind>``, else None."""
    parts = topic.split("/")
    if len(parts) == 5 and "/".join(parts[:3]) == topics.PREFIX + "/vehicles" and parts[3]:
        return parts[3]
    return None


def _raw_text(raw: bytes) -> str:
    return raw[:MAX_REJECTED_TEXT].decode("utf-8", errors="replace")


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        field = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"{field}: {error['msg']}")
    return "; ".join(parts)


def parse_json(topic: str, raw: bytes) -> tuple[Any, Rejection | None]:
    """The decoded JSON document, or a rejection for text that is not JSON."""
    try:
        return json.loads(raw), None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = f"payload: not valid UTF-8 JSON ({exc})" if not isinstance(exc, RecursionError) else (
            "payload: JSON nested too deeply"
        )
        return None, Rejection(topic, "malformed_json", reason, _raw_text(raw))


_ONE = TypeAdapter(PositionPayload)
_MANY = TypeAdapter(list[PositionPayload])


def _accept_whole(
    raw: bytes, check_topic: bool, topic_device: str | None, latest: datetime
) -> list[PositionPayload] | None:
    """Every fix of a message in one pydantic-core pass (JSON parsing included) when all of
    them are acceptable, else None: the message is then examined point by point to say what
    is wrong where."""
    try:
        fixes = _MANY.validate_json(raw) if raw.lstrip()[:1] == b"[" else [_ONE.validate_json(raw)]
    except ValidationError:
        return None
    for fix in fixes:
        if (check_topic and fix.device_id != topic_device) or fix.ts > latest or not fix.valid or _null_island(fix):
            return None
    return fixes or None


def _null_island(fix: PositionPayload) -> bool:
    """True for (0, 0): what terminals without a fix report, never a car's position."""
    return fix.lat == 0 and fix.lon == 0


def decode_gps(
    topic: str,
    raw: bytes,
    now: datetime,
    future_tolerance_s: float,
    check_topic: bool = True,
) -> DecodedGps:
    """Validate a gps message (one object or an array) point by point.

    ``check_topic`` is False for topic-free replays; otherwise each point's ``device_id`` must
    equal the id in ``topic``. Fixes dated more than ``future_tolerance_s`` seconds after
    ``now``, fixes flagged ``valid: false`` and fixes at (0, 0) are refused.
    """
    topic_device = device_in_topic(topic) if check_topic else None
    latest = now + timedelta(seconds=future_tolerance_s)
    accepted = _accept_whole(raw, check_topic, topic_device, latest)
    if accepted is not None:
        return DecodedGps(accepted, [])
    document, rejection = parse_json(topic, raw)
    if rejection is not None:
        return DecodedGps([], [rejection])
    items = document if isinstance(document, list) else [document]
    if not items:
        return DecodedGps([], [Rejection(topic, "invalid_field", "payload: empty array", [])])
    fixes: list[PositionPayload] = []
    rejections: list[Rejection] = []
    for index, item in enumerate(items):
        where = f"[{index}]." if isinstance(document, list) else ""
        if not isinstance(item, dict):
            reason = f"{where.rstrip('.') or 'payload'}: must be a JSON object"
            rejections.append(Rejection(topic, "invalid_field", reason, item))
            continue
        try:
            fix = PositionPayload.model_validate(item)
        except ValidationError as exc:
            reason = where + _first_errors(exc) if where else _first_errors(exc)
            rejections.append(Rejection(topic, "invalid_field", reason, item))
            continue
        if check_topic and fix.device_id != topic_device:
            reason = f"{where}device_id: {fix.device_id!r} does not match the topic's {topic_device!r}"
            rejections.append(Rejection(topic, "device_mismatch", reason, item))
        elif fix.ts > latest:
            reason = f"{where}ts: more than {future_tolerance_s:g} s in the future ({fix.ts.isoformat()})"
            rejections.append(Rejection(topic, "future_ts", reason, item))
        elif not fix.valid:
            rejections.append(Rejection(topic, "no_fix", f"{where}valid: the terminal has no GPS fix", item))
        elif _null_island(fix):
            reason = f"{where}lat, lon: (0, 0) is what a terminal without a fix reports, not a position"
            rejections.append(Rejection(topic, "null_island", reason, item))
        else:
            fixes.append(fix)
    return DecodedGps(fixes, rejections)


def decode_status(topic: str, raw: bytes) -> StatusPayload | Rejection:
    """A status message: ``online``/``offline`` as bare text or ``{"state": ..., "ts": ...}``."""
    text = raw.strip()
    if text in (b"online", b"offline"):
        return StatusPayload(state=text.decode())
    document, rejection = parse_json(topic, raw)
    if rejection is not None:
        return rejection
    if isinstance(document, str):
        document = {"state": document}
    try:
        return StatusPayload.model_validate(document)
    except ValidationError as exc:
        return Rejection(topic, "invalid_field", _first_errors(exc), document)
