"""One micro-batch through the storage fast path: decode -> resolve devices -> clean
(event-time order, duplicates, jumps confirmed by agreeing fixes, jitter) -> bulk insert, with
each vehicle's touched window merged into its dirty window in the same transaction -> what to
publish. The MQTT worker and ``fleet replay`` both run it; ``evaluator`` turns the dirty
windows into trips, stops and alerts off this path.

Fixes the jump filter cannot judge yet are held in ``position_suspect`` (not stored) until
later fixes confirm or outvote them; dropped jumps and outvoted stored fixes are kept there
too, published on the rejected topic with the reason and counted per terminal
(``device_state.dropped_fixes``).

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
from fleet.models.telemetry import SuspectState
from fleet.settings import Settings
from telematics.ingest import metrics
from telematics.ingest.cleaning import CleaningRules, Context, FixBatch, clean, empty_batch
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
    count_dropped,
    fix_json,
    held_fixes,
    insert_positions,
    mark_dirty,
    mark_positions,
    recent_fixes,
    release_held,
    set_aside,
    upsert_device_fixes,
    upsert_device_status,
)

log = structlog.get_logger(__name__)

FIRST_RETRY_S = 0.1
#: Refusal kinds that name a real terminal's fix (counted as dropped fixes of its car).
DROPPED_KINDS = frozenset({"invalid_field", "future_ts", "no_fix", "null_island"})


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
    """What a batch did: fixes ``stored``, ``duplicates``, ``jumps`` dropped, fixes ``held``
    for confirmation and stored fixes ``marked``; ``rejections`` are refused messages and
    points, ``set_aside`` the dead letters of jumps and marked fixes."""

    stored: int = 0
    duplicates: int = 0
    jumps: int = 0
    held: int = 0
    marked: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    set_aside: list[Rejection] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)


@dataclass
class _Known:
    """The cleaning context of one vehicle: its newest stored fixes (oldest first, at most
    ``confirm_fixes``) and the position rows held for confirmation."""

    stored: list[StoredFix]
    held: list[dict[str, Any]]


@dataclass
class _Prepared:
    rows: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    windows: dict[int, tuple[datetime, datetime]]
    owners: dict[int, tuple[str, str]]
    duplicates: int
    rejections: list[Rejection]
    held: list[dict[str, Any]]
    jumps: list[dict[str, Any]]
    settled: list[tuple[int, datetime]]
    marked: list[tuple[int, datetime]]


def is_transient(error: BaseException) -> bool:
    """True for database errors that a retry can cure (lost connection, locked or
    read-only file, pool exhausted)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


class IngestPipeline:
    """Stateful across batches: device map, cleaning context per vehicle (newest stored
    fixes, held fixes) and the time of each vehicle's last live-position publication."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.devices = DeviceDirectory(engine, settings.ingest.device_cache_s)
        self.rules = CleaningRules(
            jump_speed_kmh=settings.gps.jump_speed_kmh,
            jitter_radius_m=settings.gps.jitter_radius_m,
            jitter_speed_kmh=settings.gps.jitter_speed_kmh,
            confirm_fixes=settings.gps.jump_confirm_fixes,
        )
        self._known: dict[int, _Known] = {}
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
            message.topic, message.payload, now, self.settings.ingest.future_tolerance_s, check_topic
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
                delay_s = min(delay_s * 2, self.settings.ingest.retry_max_s)

    def store(self, batch: Sequence[Decoded]) -> BatchOutcome:
        """Store one batch in one transaction: positions, device states and the dirty windows
        of the vehicles that got new positions; raises database errors for the caller to
        retry."""
        started = time.perf_counter()
        with Session(self.engine, expire_on_commit=False) as session:
            prepared = self._prepare(session, batch)
            now = utcnow()
            devices = {vehicle_id: device_id for vehicle_id, (device_id, _) in prepared.owners.items()}
            marked = mark_positions(session, prepared.marked, devices, self._reason("marked"), now)
            inserted = insert_positions(session, prepared.rows)
            release_held(session, prepared.settled)
            set_aside(session, prepared.held, SuspectState.held, self._reason("held"), now)
            set_aside(session, prepared.jumps, SuspectState.jump, self._reason("jump"), now)
            upsert_device_fixes(session, prepared.devices)
            upsert_device_status(session, prepared.statuses)
            count_dropped(session, self._dropped(prepared, now))
            mark_dirty(session, _touched(prepared.windows, inserted, marked), now)
            session.commit()
        self._remember(prepared, marked)
        set_aside_letters = [self._letter(row, "jump") for row in prepared.jumps]
        set_aside_letters += [self._letter(row, "marked") for row in marked]
        outcome = BatchOutcome(
            stored=len(inserted),
            duplicates=prepared.duplicates + len(prepared.rows) - len(inserted),
            jumps=len(prepared.jumps),
            held=len(prepared.held),
            marked=len(marked),
            rejections=prepared.rejections,
            set_aside=set_aside_letters,
        )
        if prepared.jumps or marked:
            log.info("gps_jumps_set_aside", jumps=len(prepared.jumps), marked=len(marked),
                     vehicles=sorted({row["vehicle_id"] for row in [*prepared.jumps, *marked]}))
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
        known = self._context(session, sorted(set(vehicle_ids)))
        return self._clean(fixes, np.array(vehicle_ids, dtype=np.int64), known, owners, statuses, rejections)

    def _clean(
        self,
        fixes: list[PositionPayload],
        vehicle: np.ndarray,
        known: dict[int, _Known],
        owners: dict[int, tuple[str, str]],
        statuses: list[dict[str, Any]],
        rejections: list[Rejection],
    ) -> _Prepared:
        """Clean the batch's fixes against ``known`` and sort the outcome into position rows
        to insert, fixes to hold, jumps, held fixes settled and stored fixes to mark."""
        batch = FixBatch(
            vehicle_id=vehicle,
            ts_s=np.array([f.ts.timestamp() for f in fixes], dtype=np.float64),
            lat=np.array([f.lat for f in fixes], dtype=np.float64),
            lon=np.array([f.lon for f in fixes], dtype=np.float64),
            speed_kmh=np.array([f.speed_kmh for f in fixes], dtype=np.float64),
        )
        stored_keys = [(v, fix) for v, k in known.items() for fix in k.stored]
        held_rows = [row for k in known.values() for row in k.held]
        context = Context(
            stored=_track([v for v, _ in stored_keys], [fix for _, fix in stored_keys]),
            held=_track([row["vehicle_id"] for row in held_rows],
                        [(row["ts"].timestamp(), row["lat"], row["lon"], row["speed_kmh"]) for row in held_rows]),
        )
        cleaned = clean(batch, context, self.rules)
        received_at = utcnow()
        lat, lon = cleaned.lat.tolist(), cleaned.lon.tolist()
        new_rows = [
            _position_row(fix, int(vehicle[i]), lat[i], lon[i], received_at) for i, fix in enumerate(fixes)
        ]
        rows = [new_rows[i] for i in cleaned.order.tolist()]
        for i in np.flatnonzero(cleaned.released).tolist():
            rows.append({**held_rows[i], "lat": float(cleaned.released_lat[i]), "lon": float(cleaned.released_lon[i])})
        rows.sort(key=lambda row: (row["vehicle_id"], row["ts"]))
        windows: dict[int, tuple[datetime, datetime]] = {}
        devices: dict[str, dict[str, Any]] = {}
        for row in rows:
            # Rows are in event-time order per vehicle: the last one is the newest.
            first = windows.get(row["vehicle_id"], (row["ts"], row["ts"]))[0]
            windows[row["vehicle_id"]] = (first, row["ts"])
            devices[row["device_id"]] = {
                "device_id": row["device_id"], "vehicle_id": row["vehicle_id"], "last_position_at": row["ts"],
                "power_cut": bool(row["alarms"] & ALARM_POWER_CUT), "antenna_cut": bool(row["alarms"] & ALARM_ANTENNA_CUT),
            }
        settled = cleaned.released | cleaned.held_jump | cleaned.held_duplicate
        return _Prepared(
            rows=rows, devices=list(devices.values()), statuses=statuses, windows=windows, owners=owners,
            duplicates=int(cleaned.duplicate.sum()), rejections=rejections,
            held=[new_rows[i] for i in np.flatnonzero(cleaned.held).tolist()],
            jumps=[new_rows[i] for i in np.flatnonzero(cleaned.jump).tolist()]
            + [held_rows[i] for i in np.flatnonzero(cleaned.held_jump).tolist()],
            settled=[(held_rows[i]["vehicle_id"], held_rows[i]["ts"]) for i in np.flatnonzero(settled).tolist()],
            marked=[(stored_keys[i][0], datetime.fromtimestamp(stored_keys[i][1][0], UTC))
                    for i in np.flatnonzero(cleaned.marked).tolist()],
        )

    def _context(self, session: Session, vehicle_ids: list[int]) -> dict[int, _Known]:
        missing = [v for v in vehicle_ids if v not in self._known]
        if missing:
            stored = recent_fixes(session, missing, self.rules.confirm_fixes)
            held = held_fixes(session, missing)
            for vehicle_id in missing:
                self._known[vehicle_id] = _Known(stored.get(vehicle_id, []), held.get(vehicle_id, []))
        return {v: self._known[v] for v in vehicle_ids}

    def _remember(self, prepared: _Prepared, marked: list[dict[str, Any]]) -> None:
        """Carry the batch's outcome into the vehicles' cleaning context (after commit)."""
        gone = {(row["vehicle_id"], row["ts"].timestamp()) for row in marked}
        settled = {(v, ts.timestamp()) for v, ts in prepared.settled}
        added: dict[int, list[StoredFix]] = {}
        for row in prepared.rows:
            fix = (row["ts"].timestamp(), row["lat"], row["lon"], row["speed_kmh"])
            added.setdefault(row["vehicle_id"], []).append(fix)
        held: dict[int, list[dict[str, Any]]] = {}
        for row in prepared.held:
            held.setdefault(row["vehicle_id"], []).append(row)
        for vehicle_id in {*added, *held, *(v for v, _ in gone), *(v for v, _ in settled)}:
            known = self._known.setdefault(vehicle_id, _Known([], []))
            stored = {fix[0]: fix for fix in known.stored if (vehicle_id, fix[0]) not in gone}
            stored.update((fix[0], fix) for fix in added.get(vehicle_id, []))
            known.stored = [stored[t] for t in sorted(stored)][-self.rules.confirm_fixes:]
            known.held = [row for row in known.held if (vehicle_id, row["ts"].timestamp()) not in settled]
            known.held += held.get(vehicle_id, [])

    def _reason(self, kind: str) -> str:
        """The reason recorded for a fix set aside as ``kind`` (held, jump or marked)."""
        limit = f"{self.rules.jump_speed_kmh:g} km/h"
        return {
            "held": f"{topics.TRACK_FILTER_REASON}faster than {limit} from the car's track; held until "
                    f"{self.rules.confirm_fixes} agreeing fixes confirm it",
            "jump": f"{topics.TRACK_FILTER_REASON}GPS jump, faster than {limit} from the confirmed track around it; dropped",
            "marked": f"{topics.TRACK_FILTER_REASON}stored fix outvoted by {self.rules.confirm_fixes} agreeing fixes faster "
                      f"than {limit} from it; moved out of the track",
        }[kind]

    def _letter(self, row: dict[str, Any], kind: str) -> Rejection:
        """The dead letter of a fix dropped or marked by the jump filter."""
        return Rejection(topics.gps_topic(row["device_id"]), kind, self._reason(kind), fix_json(row))

    def _dropped(self, prepared: _Prepared, now: datetime) -> list[dict[str, Any]]:
        """Per terminal, its fixes dropped in this batch: jumps, and refused points of a known
        terminal (the one in the topic; in a topic-free replay the one the point names)."""
        counts: dict[str, list[Any]] = {}
        for row in prepared.jumps:
            counts.setdefault(row["device_id"], [row["vehicle_id"], 0])[1] += 1
        for rejection in prepared.rejections:
            if rejection.kind not in DROPPED_KINDS:
                continue
            payload = rejection.payload
            device_id = device_in_topic(rejection.topic) or (payload.get("device_id") if isinstance(payload, dict) else None)
            owner = self.devices.owner(device_id) if isinstance(device_id, str) else None
            if owner is not None:
                counts.setdefault(device_id, [owner.vehicle_id, 0])[1] += 1
        return [{"device_id": d, "vehicle_id": v, "dropped": n, "at": now} for d, (v, n) in counts.items()]

    # -- output ----------------------------------------------------------------------------
    def _publications(
        self, prepared: _Prepared, inserted: set[tuple[int, datetime]], outcome: BatchOutcome
    ) -> list[Publication]:
        out = [Publication(topics.INGEST_REJECTED, r.as_json(), 1) for r in [*outcome.rejections, *outcome.set_aside]]
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
        interval = self.settings.ingest.positions_interval_s
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
        metrics.POSITIONS_MARKED.inc(outcome.marked)
        metrics.POSITIONS_HELD.inc(outcome.held)
        for rejection in outcome.rejections:
            metrics.REJECTED.labels(rejection.kind).inc()


def _touched(
    windows: dict[int, tuple[datetime, datetime]], inserted: set[tuple[int, datetime]], marked: list[dict[str, Any]]
) -> dict[int, tuple[datetime, datetime]]:
    """The windows of the vehicles that got at least one new position (a fully redelivered
    batch changes nothing and needs no evaluation), widened to the stored fixes moved out of
    their track."""
    vehicles = {vehicle_id for vehicle_id, _ in inserted}
    touched = {vehicle_id: window for vehicle_id, window in windows.items() if vehicle_id in vehicles}
    for row in marked:
        start, end = touched.get(row["vehicle_id"], (row["ts"], row["ts"]))
        touched[row["vehicle_id"]] = (min(start, row["ts"]), max(end, row["ts"]))
    return touched


def _track(vehicle_ids: list[int], fixes: list[StoredFix]) -> FixBatch:
    """A track of ``fixes`` ((epoch seconds, lat, lon, speed_kmh)) of ``vehicle_ids``."""
    if not fixes:
        return empty_batch()
    ts, lat, lon, speed = (np.array(column, dtype=np.float64) for column in zip(*fixes, strict=True))
    return FixBatch(np.array(vehicle_ids, dtype=np.int64), ts, lat, lon, speed)


def _position_row(
    fix: PositionPayload, vehicle_id: int, lat: float, lon: float, received_at: datetime
) -> dict[str, Any]:
    """The position row of ``fix`` (with its terminal id) at the cleaned ``lat``/``lon``."""
    alarm = fix.alarm
    alarms = ALARM_POWER_CUT * bool(alarm and alarm.power_cut) + ALARM_ANTENNA_CUT * bool(alarm and alarm.antenna_cut)
    return {
        "device_id": fix.device_id, "vehicle_id": vehicle_id, "ts": fix.ts, "lat": lat, "lon": lon,
        "speed_kmh": fix.speed_kmh, "heading_deg": fix.heading_deg, "ignition": fix.ignition,
        "odometer_km": fix.odometer_km, "soc_pct": fix.soc_pct, "source": fix.source,
        "alarms": alarms, "received_at": received_at,
    }
