"""One micro-batch through the storage fast path: decode -> resolve devices -> clean
(event-time order, duplicates, jumps, jitter) -> bulk insert, with each vehicle's touched
window merged into its dirty window in the same transaction -> what to publish. The MQTT
worker and ``fleet replay`` both run it; ``evaluator`` turns the dirty windows into trips,
stops and alerts off this path.

A batch is retried as a whole while the database is unavailable: every write is idempotent
(positions skip stored (vehicle, ts) keys; a dirty window only grows), so a retry or a
redelivered message never doubles anything.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet import topics
from fleet.models.common import utcnow
from fleet.models.operations import ALARM_ANTENNA_CUT, ALARM_POWER_CUT
from fleet.settings import Settings
from telematics.ingest import metrics
from telematics.ingest.cleaning import CleaningRules, Track, clean
from telematics.ingest.decoding import (
    Rejection,
    decode_gps,
    decode_status,
    device_in_topic,
)
from telematics.ingest.devices import DeviceDirectory
from telematics.ingest.payload import PositionPayload, StatusPayload
from telematics.ingest.processes import StopFlag
from telematics.ingest.storage import (
    StoredFix,
    insert_positions,
    mark_dirty,
    newest_fixes,
    upsert_device_fixes,
    upsert_device_status,
)

log = structlog.get_logger(__name__)

FIRST_RETRY_S = 0.1


@dataclass(frozen=True)
class Inbound:
    """A message as received: its topic and raw payload bytes."""

    topic: str
    payload: bytes


@dataclass(frozen=True)
class Publication:
    topic: str
    payload: bytes
    qos: int


@dataclass
class Decoded:
    """What one message (on ``topic``) held: valid fixes, status reports and refusals."""

    topic: str = ""
    fixes: list[PositionPayload] = field(default_factory=list)
    statuses: list[tuple[str, StatusPayload, datetime]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    jumps: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)


@dataclass
class _Prepared:
    rows: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    windows: dict[int, tuple[datetime, datetime]]
    newest: dict[int, StoredFix]
    owners: dict[int, tuple[str, str]]
    duplicates: int
    jumps: int
    rejections: list[Rejection]


def is_transient(error: BaseException) -> bool:
    """True for database errors that a retry can cure (lost connection, locked or
    read-only file, pool exhausted)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


class IngestPipeline:
    """Stateful across batches: device map, newest stored fix per vehicle (cleaning context)
    and the time of each vehicle's last live-position publication."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.devices = DeviceDirectory(engine, settings.ingest_device_cache_s)
        self.rules = CleaningRules(
            jump_speed_kmh=settings.gps_jump_speed_kmh,
            jitter_radius_m=settings.gps_jitter_radius_m,
            jitter_speed_kmh=settings.gps_jitter_speed_kmh,
        )
        self._newest: dict[int, StoredFix | None] = {}
        self._published_at: dict[int, float] = {}

    # -- decoding (pure) -------------------------------------------------------------------
    def decode(self, message: Inbound, check_topic: bool = True, now: datetime | None = None) -> Decoded:
        """Validate one message; gps and status topics (or topic-free replay lines). ``now``
        (default the current time) is the arrival time the future-time check uses."""
        now = now or utcnow()
        if message.topic.endswith("/status"):
            metrics.STATUS_MESSAGES.inc()
            status = decode_status(message.topic, message.payload)
            if isinstance(status, Rejection):
                return Decoded(rejections=[status])
            return Decoded(statuses=[(message.topic, status, now)])
        metrics.GPS_MESSAGES.inc()
        result = decode_gps(
            message.topic, message.payload, now, self.settings.ingest_future_tolerance_s, check_topic
        )
        return Decoded(message.topic, result.fixes, rejections=result.rejections)

    # -- storing ---------------------------------------------------------------------------
    def store_with_retry(
        self, batch: Sequence[Decoded], stop: StopFlag | None = None
    ) -> BatchOutcome:
        """Store a batch, retrying with exponential back-off while the database is down.

        Returns early only when ``stop`` is set during an outage (raising the last error): the
        caller then leaves the messages unacknowledged for the broker to deliver again.
        """
        delay_s = FIRST_RETRY_S
        failed_hard = False
        while True:
            try:
                return self.store(batch)
            except sa_exc.SQLAlchemyError as error:
                if not is_transient(error):
                    if failed_hard:
                        log.error("ingest_batch_refused", error=str(error).splitlines()[0])
                        return self._refuse(batch, f"storage: {type(error).__name__}")
                    failed_hard = True
                    self.devices.reload()
                    continue
                metrics.DB_RETRIES.inc()
                log.warning("database_unavailable", retry_in_s=round(delay_s, 2), error=str(error).splitlines()[0])
                if stop is not None and stop.wait(delay_s):
                    raise
                if stop is None:
                    time.sleep(delay_s)
                delay_s = min(delay_s * 2, self.settings.ingest_retry_max_s)

    def store(self, batch: Sequence[Decoded]) -> BatchOutcome:
        """Store one batch in one transaction: positions, device states and the dirty windows
        of the vehicles that got new positions; raises database errors for the caller to
        retry."""
        started = time.perf_counter()
        with Session(self.engine, expire_on_commit=False) as session:
            prepared = self._prepare(session, batch)
            inserted = insert_positions(session, prepared.rows)
            upsert_device_fixes(session, prepared.devices)
            upsert_device_status(session, prepared.statuses)
            mark_dirty(session, _touched(prepared.windows, inserted), utcnow())
            session.commit()
        self._remember(prepared.newest)
        outcome = BatchOutcome(
            stored=len(inserted),
            duplicates=prepared.duplicates + len(prepared.rows) - len(inserted),
            jumps=prepared.jumps,
            rejections=prepared.rejections,
        )
        outcome.publications = self._publications(prepared, inserted, outcome)
        self._count(outcome)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        return outcome

    def _prepare(self, session: Session, batch: Sequence[Decoded]) -> _Prepared:
        rejections = [r for decoded in batch for r in decoded.rejections]
        fixes: list[PositionPayload] = []
        owners: dict[int, tuple[str, str]] = {}
        vehicle_ids: list[int] = []
        for decoded in batch:
            for fix in decoded.fixes:
                owner = self.devices.owner(fix.device_id)
                if owner is None:
                    reason = f"device_id: unknown device {fix.device_id!r} (no vehicle carries it)"
                    rejections.append(Rejection(decoded.topic, "unknown_device", reason, fix.model_dump(mode="json")))
                    continue
                fixes.append(fix)
                vehicle_ids.append(owner.vehicle_id)
                owners[owner.vehicle_id] = (fix.device_id, owner.plate)
        statuses = []
        for topic, status, received_at in (s for decoded in batch for s in decoded.statuses):
            device_id = device_in_topic(topic) or ""
            owner = self.devices.owner(device_id)
            if owner is None:
                reason = f"device_id: unknown device {device_id!r} (no vehicle carries it)"
                rejections.append(Rejection(topic, "unknown_device", reason, status.model_dump(mode="json")))
                continue
            statuses.append({
                "device_id": device_id, "vehicle_id": owner.vehicle_id,
                "online": status.state == "online", "status_at": status.ts or received_at,
                "power_cut": False, "antenna_cut": False,
            })
        context = self._context(session, sorted(set(vehicle_ids)))
        return self._clean(fixes, np.array(vehicle_ids, dtype=np.int64), context, owners, statuses, rejections)

    def _clean(
        self,
        fixes: list[PositionPayload],
        vehicle: np.ndarray,
        context: dict[int, StoredFix],
        owners: dict[int, tuple[str, str]],
        statuses: list[dict[str, Any]],
        rejections: list[Rejection],
    ) -> _Prepared:
        batch = Track(
            vehicle_id=vehicle,
            ts_s=np.array([f.ts.timestamp() for f in fixes], dtype=np.float64),
            lat=np.array([f.lat for f in fixes], dtype=np.float64),
            lon=np.array([f.lon for f in fixes], dtype=np.float64),
            speed_kmh=np.array([f.speed_kmh for f in fixes], dtype=np.float64),
        )
        stored = Track(
            vehicle_id=np.array(list(context), dtype=np.int64),
            ts_s=np.array([c[0] for c in context.values()], dtype=np.float64),
            lat=np.array([c[1] for c in context.values()], dtype=np.float64),
            lon=np.array([c[2] for c in context.values()], dtype=np.float64),
            speed_kmh=np.array([c[3] for c in context.values()], dtype=np.float64),
        )
        cleaned = clean(batch, stored, self.rules)
        received_at = utcnow()
        rows: list[dict[str, Any]] = []
        windows: dict[int, tuple[datetime, datetime]] = {}
        newest: dict[int, StoredFix] = {}
        devices: dict[str, dict[str, Any]] = {}
        lat, lon = cleaned.lat.tolist(), cleaned.lon.tolist()
        for i in cleaned.order.tolist():
            fix, vehicle_id = fixes[i], int(vehicle[i])
            alarm = fix.alarm
            power_cut, antenna_cut = bool(alarm and alarm.power_cut), bool(alarm and alarm.antenna_cut)
            rows.append({
                "vehicle_id": vehicle_id, "ts": fix.ts, "lat": lat[i], "lon": lon[i],
                "speed_kmh": fix.speed_kmh, "heading_deg": fix.heading_deg, "ignition": fix.ignition,
                "odometer_km": fix.odometer_km, "soc_pct": fix.soc_pct, "source": fix.source,
                "alarms": ALARM_POWER_CUT * power_cut + ALARM_ANTENNA_CUT * antenna_cut, "received_at": received_at,
            })
            # Rows come in event-time order per vehicle: the last one is the newest.
            first = windows.get(vehicle_id, (fix.ts, fix.ts))[0]
            windows[vehicle_id] = (first, fix.ts)
            newest[vehicle_id] = (fix.ts.timestamp(), lat[i], lon[i], fix.speed_kmh)
            devices[fix.device_id] = {
                "device_id": fix.device_id, "vehicle_id": vehicle_id, "last_position_at": fix.ts,
                "power_cut": power_cut, "antenna_cut": antenna_cut,
            }
        return _Prepared(
            rows=rows, devices=list(devices.values()), statuses=statuses, windows=windows,
            newest=newest, owners=owners, duplicates=int(cleaned.duplicate.sum()),
            jumps=int(cleaned.jump.sum()), rejections=rejections,
        )

    def _context(self, session: Session, vehicle_ids: list[int]) -> dict[int, StoredFix]:
        missing = [v for v in vehicle_ids if v not in self._newest]
        if missing:
            found = newest_fixes(session, missing)
            for vehicle_id in missing:
                self._newest[vehicle_id] = found.get(vehicle_id)
        return {v: fix for v in vehicle_ids if (fix := self._newest[v]) is not None}

    def _remember(self, newest: dict[int, StoredFix]) -> None:
        for vehicle_id, fix in newest.items():
            known = self._newest.get(vehicle_id)
            if known is None or fix[0] > known[0]:
                self._newest[vehicle_id] = fix

    # -- output ----------------------------------------------------------------------------
    def _publications(
        self, prepared: _Prepared, inserted: set[tuple[int, datetime]], outcome: BatchOutcome
    ) -> list[Publication]:
        out = [Publication(topics.INGEST_REJECTED, r.as_json(), 1) for r in outcome.rejections]
        live = self._live_positions(prepared, inserted)
        if live:
            out.append(Publication(topics.EVENTS_POSITIONS, json.dumps(live, ensure_ascii=False).encode(), 0))
        return out

    def _live_positions(
        self, prepared: _Prepared, inserted: set[tuple[int, datetime]]
    ) -> list[dict[str, Any]]:
        """The newest new position of each vehicle not published within the interval."""
        latest: dict[int, dict[str, Any]] = {}
        for row in prepared.rows:
            if (row["vehicle_id"], row["ts"]) in inserted:
                latest[row["vehicle_id"]] = row
        now = time.monotonic()
        interval = self.settings.ingest_positions_interval_s
        live = []
        for vehicle_id, row in latest.items():
            if now - self._published_at.get(vehicle_id, -float("inf")) < interval:
                continue
            self._published_at[vehicle_id] = now
            device_id, plate = prepared.owners[vehicle_id]
            live.append({
                "vehicle_id": vehicle_id, "device_id": device_id, "plate": plate,
                "ts": row["ts"].astimezone(UTC).isoformat(), "lat": row["lat"], "lon": row["lon"],
                "speed_kmh": row["speed_kmh"], "heading_deg": row["heading_deg"],
                "ignition": row["ignition"], "source": row["source"],
            })
        return live

    def _refuse(self, batch: Sequence[Decoded], reason: str) -> BatchOutcome:
        rejections = [r for decoded in batch for r in decoded.rejections]
        rejections += [
            Rejection(decoded.topic, "storage_error", reason, fix.model_dump(mode="json"))
            for decoded in batch for fix in decoded.fixes
        ]
        outcome = BatchOutcome(rejections=rejections)
        outcome.publications = [Publication(topics.INGEST_REJECTED, r.as_json(), 1) for r in rejections]
        self._count(outcome)
        return outcome

    @staticmethod
    def _count(outcome: BatchOutcome) -> None:
        metrics.BATCHES.inc()
        metrics.POSITIONS_STORED.inc(outcome.stored)
        metrics.POSITIONS_DROPPED.labels("duplicate").inc(outcome.duplicates)
        metrics.POSITIONS_DROPPED.labels("jump").inc(outcome.jumps)
        for rejection in outcome.rejections:
            metrics.REJECTED.labels(rejection.kind).inc()


def _touched(
    windows: dict[int, tuple[datetime, datetime]], inserted: set[tuple[int, datetime]]
) -> dict[int, tuple[datetime, datetime]]:
    """The windows of the vehicles that got at least one new position (a fully redelivered
    batch changes nothing and needs no evaluation)."""
    vehicles = {vehicle_id for vehicle_id, _ in inserted}
    return {vehicle_id: window for vehicle_id, window in windows.items() if vehicle_id in vehicles}
