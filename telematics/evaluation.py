"""Re-evaluation service: for each vehicle and UTC window touched by new fixes, recompute its
trips, stops and alerts from the stored positions and replace what is stored, so that the
result never depends on the order in which the fixes arrived.

The window is widened until it is closed: every stored or recomputed trip, stop or alert that
overlaps it lies inside it, and so does every order running in it. Fixes are loaded with
enough context around it (at least the longest rule duration, and two fixes beyond each edge)
for the motion split and the rules to judge its inside exactly as a run over the whole history
would.
Stored rows are matched by identity (vehicle + start, and kind for alerts) and updated in place,
so ids stay stable and an alert's review state survives; stale open alerts are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import structlog
from shapely.geometry import shape
from sqlmodel import Session, select

from fleet.models import (
    Alert,
    AlertSeverity,
    AlertState,
    Organisation,
    Ownership,
    ParkingSite,
    Trip,
    Vehicle,
    Zone,
    ZoneKind,
)
from fleet.models.common import as_utc
from fleet.models.operations import ALARM_ANTENNA_CUT, ALARM_POWER_CUT
from fleet.models.telemetry import SpeedZone, Stop
from fleet.settings import Settings, get_settings
from fleet.working_calendar import WorkingCalendar
from telematics.motion import Motion, split_motion
from telematics.rules.context import DayTable, Orders, Place, Thresholds, VehicleContext
from telematics.rules.engine import evaluate
from telematics.rules.findings import DEVICE_OFFLINE, RULE_VERSION, Finding
from telematics.rules.ongoing_stop import (
    STOP_KINDS,
    only_extends_stop,
    summary_findings,
)
from telematics.rules.track import Track
from telematics.stored_history import USE_STATES, StoredHistory

log = structlog.get_logger(__name__)

#: How far past a window's end an ongoing stop's tail is read, seconds (everything stored).
TAIL_REACH_S = 30 * 86400.0
#: Passes before a window that keeps growing is given up (logged); the margin doubles each pass.
MAX_WIDENINGS = 16


def thresholds_from(settings: Settings) -> Thresholds:
    """Rule thresholds from the ``FLEET_*`` settings, in seconds and metres."""

    def seconds(t: Any) -> float:
        return t.hour * 3600.0 + t.minute * 60.0 + t.second

    return Thresholds(
        stop_radius_m=settings.stop_radius_m,
        stop_min_duration_s=settings.stop_min_duration_s,
        order_grace_before_s=settings.order_grace_before_min * 60,
        order_grace_after_s=settings.order_grace_after_min * 60,
        order_match_radius_m=settings.order_match_radius_m,
        order_overrun_max_s=settings.order_overrun_max_min * 60,
        private_use_min_s=settings.private_use_min_s,
        work_start_s=seconds(settings.work_start),
        work_end_s=seconds(settings.work_end),
        out_of_area_min_s=settings.out_of_area_min_s,
        route_corridor_m=settings.route_corridor_m,
        route_deviation_min_s=settings.route_deviation_min_s,
        route_excess_share=settings.route_excess_share,
        route_excess_min_m=settings.route_excess_min_m,
        route_detour_factor=settings.route_detour_factor,
        night_start_s=seconds(settings.night_start),
        night_end_s=seconds(settings.night_end),
        overnight_min_s=settings.overnight_min_h * 3600,
        site_tolerance_m=settings.site_tolerance_m,
        forbidden_stop_min_s=settings.forbidden_stop_min_s,
        offline_after_s=settings.offline_after_min * 60,
        speed_limit_kmh=settings.speed_limit_kmh,
        speeding_min_s=settings.speeding_min_s,
    )


def _ts(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _geometry(geojson: dict[str, Any]):  # type: ignore[no-untyped-def]
    return shape(geojson)


def designated_site(session: Session, vehicle: Vehicle) -> Place | None:
    """The vehicle's designated parking site as a rule zone, or None."""
    if vehicle.parking_site_id is None:
        return None
    site = session.get(ParkingSite, vehicle.parking_site_id)
    return Place(site.id, site.name, _geometry(site.geometry)) if site else None


def judged_window(vehicle: Vehicle, tz: ZoneInfo) -> tuple[float | None, float | None]:
    """Epoch seconds from which and until which the rules judge the vehicle: a leased car's
    lease days (local midnights); (None, None) for a pool car."""
    if vehicle.ownership != Ownership.leased or vehicle.lease_start is None or vehicle.lease_end is None:
        return None, None

    def midnight(d: date) -> float:
        return datetime.combine(d, datetime.min.time(), tz).timestamp()

    return midnight(vehicle.lease_start), midnight(vehicle.lease_end + timedelta(days=1))


@dataclass
class RuleInputs:
    """What the rules need besides one vehicle's own data: thresholds, calendar and zones,
    loaded once and shared by every vehicle of a round (the evaluator loads them per round,
    so zone and calendar edits apply from the next round)."""

    thresholds: Thresholds
    tz: ZoneInfo
    calendar: WorkingCalendar
    forbidden: tuple[Place, ...]
    speed_zones: tuple[Place, ...]
    allowed_by_org: dict[int, list[Any]]
    _sites: dict[int, Place | None] = field(default_factory=dict)
    _areas: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, settings: Settings | None = None) -> RuleInputs:
        settings = settings or get_settings()
        zones = session.exec(select(Zone)).all()
        forbidden = tuple(Place(z.id, z.name, _geometry(z.geometry)) for z in zones
                          if z.kind == ZoneKind.forbidden_venue)
        allowed: dict[int, list[Any]] = {}
        for z in zones:
            if z.kind == ZoneKind.allowed_area:
                allowed.setdefault(z.org_id, []).append(_geometry(z.geometry))
        speed = tuple(Place(z.id, z.name, _geometry(z.geometry), z.limit_kmh)
                      for z in session.exec(select(SpeedZone)).all())
        return cls(thresholds_from(settings), settings.tz, WorkingCalendar.from_session(session),
                   forbidden, speed, allowed)

    def site(self, session: Session, vehicle: Vehicle) -> Place | None:
        """The vehicle's designated parking site (cached by site)."""
        if vehicle.parking_site_id is None:
            return None
        if vehicle.parking_site_id not in self._sites:
            self._sites[vehicle.parking_site_id] = designated_site(session, vehicle)
        return self._sites[vehicle.parking_site_id]

    def allowed_area(self, session: Session, vehicle: Vehicle):  # type: ignore[no-untyped-def]
        """Union of the allowed areas of the vehicle's organisation and its ancestors (city
        boundary...), or None (cached by organisation)."""
        if vehicle.org_id not in self._areas:
            org = session.get(Organisation, vehicle.org_id)
            chain = [int(p) for p in (org.path if org else "").strip("/").split("/") if p]
            shapes = [g for org_id in chain for g in self.allowed_by_org.get(org_id, [])]
            self._areas[vehicle.org_id] = shapely.union_all(shapes) if shapes else None
        return self._areas[vehicle.org_id]

    def day_table(self, first_s: float, last_s: float) -> DayTable:
        """Local days from the day before ``first_s`` to the day after ``last_s``."""
        first = _ts(first_s).astimezone(self.tz).date() - timedelta(days=1)
        last = _ts(last_s).astimezone(self.tz).date() + timedelta(days=1)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        midnights = [datetime.combine(d, datetime.min.time(), self.tz).timestamp()
                     for d in [*days, last + timedelta(days=1)]]
        answers = [self.calendar.answer(d) for d in days]
        return DayTable(np.array(midnights), [d.isoformat() for d in days],
                        np.array([a.working for a in answers], dtype=bool),
                        np.array([a.official for a in answers], dtype=bool),
                        [a.warning for a in answers])


@dataclass
class _Interval:
    start: float
    end: float

    def cover(self, start: float, end: float) -> bool:
        """Widen to include [start, end]; True when it grew."""
        grew = start < self.start or end > self.end
        self.start, self.end = min(self.start, start), max(self.end, end)
        return grew


def _overlaps(start: float, end: float, window: _Interval) -> bool:
    """An item overlaps the window if it starts inside it, or spans into it."""
    return start < window.end and (end > window.start or start >= window.start)


class _VehicleRun:
    """Re-evaluation of one vehicle."""

    def __init__(self, session: Session, vehicle: Vehicle, shared: RuleInputs) -> None:
        self.session = session
        self.vehicle = vehicle
        self.shared = shared
        self.th = shared.thresholds
        self.vid = vehicle.id
        self.site = shared.site(session, vehicle)
        self.allowed = shared.allowed_area(session, vehicle)
        self.history = StoredHistory(session, vehicle.id)

    # -- loading -----------------------------------------------------------------------
    def _neighbour_ts(self, at: float, before: bool, rank: int) -> float | None:
        """Event time of the ``rank``-th (1 or 2) stored fix strictly before (or after) ``at``."""
        times = self.history.neighbours(at, before)
        return times[rank - 1] if len(times) >= rank else None

    def _track(self, start: float, end: float) -> Track:
        rows = self.history.fixes(start, end)
        if not rows:
            return Track.empty()
        ids, t_s, lat, lon, speed, ignition, alarms = zip(*rows, strict=True)
        flags = np.array(alarms, dtype=np.int64)
        return Track(np.array(ids, dtype=np.int64), np.array(t_s, float), np.array(lat, float), np.array(lon, float),
                     np.array(speed, float), np.array(ignition, bool), (flags & ALARM_POWER_CUT) > 0,
                     (flags & ALARM_ANTENNA_CUT) > 0)

    def _orders(self, start: float, end: float) -> Orders:
        th = self.th
        rows = self.history.orders(start - th.order_grace_after_s - th.order_overrun_max_s,
                                   end + th.order_grace_before_s)
        if not rows:
            return Orders.none()
        return Orders(
            request_id=np.array([r.id for _, r in rows], dtype=np.int64),
            start_s=np.array([a.planned_pickup.timestamp() for a, _ in rows]),
            end_s=np.array([a.planned_dropoff.timestamp() for a, _ in rows]),
            use=np.array([r.state in USE_STATES for _, r in rows], dtype=bool),
            hours=np.ones(len(rows), dtype=bool),
            origin_lat=np.array([r.origin_lat for _, r in rows]),
            origin_lon=np.array([r.origin_lon for _, r in rows]),
            destination_lat=np.array([r.destination_lat for _, r in rows]),
            destination_lon=np.array([r.destination_lon for _, r in rows]),
            round_trip=np.array([r.wait_and_return for _, r in rows], dtype=bool),
        )

    def _context(self, start: float, end: float, days_from: float | None = None) -> VehicleContext:
        """What the rules need to judge the fixes loaded from ``start`` to ``end``; the day
        table reaches back to ``days_from`` when given (a stop that began earlier)."""
        judged_from, judged_until = judged_window(self.vehicle, self.shared.tz)
        return VehicleContext(
            vehicle_id=self.vid,
            days=self.shared.day_table(min(start, days_from if days_from is not None else start), end),
            orders=self._orders(start, end),
            site=self.site,
            allowed_area=self.allowed,
            forbidden_zones=self.shared.forbidden,
            speed_zones=self.shared.speed_zones,
            judged_from_s=judged_from,
            judged_until_s=judged_until,
        )

    # -- an ongoing stop ---------------------------------------------------------------
    def extend_ongoing_stop(self, start: float, end: float) -> list[Alert] | None:
        """Judge new fixes from ``start`` on that only lengthen the vehicle's newest stop from
        that stop's stored summary and the fixes of its last ``context_s`` (see
        ``telematics.rules.ongoing_stop``), and store the result; returns the new or changed
        alerts, or None when the fixes need the full re-evaluation."""
        th = self.th
        stop, trip_end_s = self.history.latest_stop()
        if stop is None:
            return None
        stop_start_s = as_utc(stop.started_at).timestamp()
        stop_end_s = as_utc(stop.ended_at).timestamp()
        if trip_end_s is not None and trip_end_s > stop_end_s:
            return None
        # The tail: every stored fix from ``context_s`` before the first new one (or the stop's
        # end), or from the stop's first fix, on; it includes fixes stored after ``end`` while
        # this round ran. The stop before the cut is unchanged and taken from its summary.
        if start <= stop_start_s:
            return None
        cut_s = max(min(start, stop_end_s) - th.context_s, stop_start_s)
        tail = self._track(cut_s, end + TAIL_REACH_S)
        # The dwells that begin before the cut must end on an old fix, clear of the new ones,
        # so that what stands before the cut cannot change.
        previous_s = self._neighbour_ts(cut_s, before=True, rank=1)
        if previous_s is not None and not np.any(
                (tail.t_s >= previous_s + th.stop_min_duration_s) & (tail.t_s < start)):
            return None
        motion = split_motion(tail, th.stop_radius_m, th.stop_min_duration_s)
        ctx = self._context(cut_s, float(tail.t_s[-1]), days_from=stop_start_s)
        findings = evaluate(tail, motion, ctx, th)
        if not only_extends_stop(tail, motion, findings):
            return None
        last_s = float(tail.t_s[-1])
        window = _Interval(float(tail.t_s[0]), last_s + th.context_s)
        alerts = self.history.alerts(window.start, window.end)
        if not all((a.kind in STOP_KINDS and as_utc(a.started_at).timestamp() == stop_start_s)
                   or (a.kind == DEVICE_OFFLINE and a.evidence.get("reason") == "silent") for a in alerts):
            return None
        count, lat_sum, lon_sum = self.history.fix_sums(stop_start_s, last_s)
        last_id = int(tail.position_id[-1])
        lat, lon = lat_sum / count, lon_sum / count
        findings = [f for f in findings if f.kind not in STOP_KINDS] + summary_findings(
            stop.first_position_id, last_id, stop_start_s, last_s, count, lat, lon, ctx, th)
        fields = {"ended_at": _ts(last_s), "duration_s": round(last_s - stop_start_s, 3),
                  "lat": round(lat, 6), "lon": round(lon, 6), "position_count": count,
                  "last_position_id": last_id}
        for name, value in fields.items():
            if getattr(stop, name) != value:
                setattr(stop, name, value)
        self.session.add(stop)
        self.session.flush()
        return self._store_alerts(window, findings, {}, {0: stop.id}, last_s, alerts)

    # -- widening ----------------------------------------------------------------------
    def _stored_extent(self, window: _Interval) -> bool:
        """Widen ``window`` over stored trips, stops, alerts and use orders overlapping it
        (one round trip to the database)."""
        grew = False
        for lo, hi in self.history.extents(window.start, window.end, self.th.order_overrun_max_s):
            grew |= window.cover(lo, hi)
        return grew

    def compute(self, start: float, end: float) -> tuple[_Interval, Track, Motion, list[Finding]]:
        """The closed window around [start, end] and everything computed for it."""
        th = self.th
        before = self._neighbour_ts(start, before=True, rank=1)
        after = self._neighbour_ts(end, before=False, rank=1)
        window = _Interval((before if before is not None else start) - th.stop_min_duration_s,
                           (after if after is not None else end) + th.stop_min_duration_s)
        for attempt in range(MAX_WIDENINGS):
            while self._stored_extent(window):
                pass
            lo2 = self._neighbour_ts(window.start, before=True, rank=2)
            hi2 = self._neighbour_ts(window.end, before=False, rank=2)
            # The margin doubles on each pass: an item running past the loaded fixes (a car
            # parked all night, seen in a window from the evening) is covered in a few passes.
            margin_s = th.context_s * 2 ** attempt
            load_start = min(window.start, lo2 if lo2 is not None else window.start) - margin_s
            load_end = max(window.end, hi2 if hi2 is not None else window.end) + margin_s
            track = self._track(load_start, load_end)
            motion = split_motion(track, th.stop_radius_m, th.stop_min_duration_s)
            findings = evaluate(track, motion, self._context(load_start, load_end), th)
            grew = False
            for s, e in _items(track, motion, findings):
                if _overlaps(s, e, window):
                    grew |= window.cover(s, e)
            if not grew:
                return window, track, motion, findings
        log.warning("reevaluation_window_not_closed", vehicle_id=self.vid,
                    start=_ts(window.start).isoformat(), end=_ts(window.end).isoformat())
        return window, track, motion, findings

    # -- storing -----------------------------------------------------------------------
    def store(self, window: _Interval, track: Track, motion: Motion,
              findings: list[Finding]) -> list[Alert]:
        """Replace the stored trips, stops and alerts overlapping ``window``; returns the
        alerts that are new or changed. Everything stored is read before the first write, so
        the write phase (which holds SQLite's single write lock) is short."""
        trips = self.history.trips(window.start, window.end)
        stops = self.history.stops(window.start, window.end)
        alerts = self.history.alerts(window.start, window.end)
        trip_ids = self._store_trips(window, track, motion, trips)
        stop_ids = self._store_stops(window, track, motion, stops)
        newest_s = float(track.t_s[-1]) if len(track) else None
        return self._store_alerts(window, findings, trip_ids, stop_ids, newest_s, alerts)

    def _store_trips(self, window: _Interval, track: Track, motion: Motion, trips: list[Trip]) -> dict[int, int]:
        stored = {t.started_at: t for t in trips}
        wanted: dict[datetime, tuple[int, dict[str, Any]]] = {}
        for k in range(motion.trip_count):  # over trips, not fixes
            f, la = int(motion.trip_first[k]), int(motion.trip_last[k])
            s, e = float(track.t_s[f]), float(track.t_s[la])
            if _overlaps(s, e, window):
                wanted[_ts(s)] = (k, {
                    "ended_at": _ts(e),
                    "distance_km": round(float(motion.trip_distance_m[k]) / 1000, 3),
                    "first_position_id": int(track.position_id[f]),
                    "last_position_id": int(track.position_id[la]),
                })
        return self._sync(Trip, stored, wanted)

    def _store_stops(self, window: _Interval, track: Track, motion: Motion, stops: list[Stop]) -> dict[int, int]:
        stored = {s.started_at: s for s in stops}
        wanted: dict[datetime, tuple[int, dict[str, Any]]] = {}
        for k in range(motion.stop_count):  # over stops, not fixes
            f, la = int(motion.stop_first[k]), int(motion.stop_last[k])
            s, e = float(track.t_s[f]), float(track.t_s[la])
            if _overlaps(s, e, window):
                wanted[_ts(s)] = (k, {
                    "ended_at": _ts(e),
                    "duration_s": round(e - s, 3),
                    "lat": round(float(motion.stop_lat[k]), 6),
                    "lon": round(float(motion.stop_lon[k]), 6),
                    "position_count": la - f + 1,
                    "first_position_id": int(track.position_id[f]),
                    "last_position_id": int(track.position_id[la]),
                })
        return self._sync(Stop, stored, wanted)

    def _sync(self, model, stored: dict[datetime, Any],  # type: ignore[no-untyped-def]
              wanted: dict[datetime, tuple[int, dict[str, Any]]]) -> dict[int, int]:
        """Update matching rows, insert missing ones, delete the rest; index -> row id."""
        for started_at, row in stored.items():
            if started_at not in wanted:
                self.session.delete(row)
        rows: dict[int, Any] = {}
        for started_at, (index, fields) in wanted.items():
            row = stored.get(started_at)
            if row is None:
                row = model(vehicle_id=self.vid, started_at=started_at, **fields)
            else:
                for name, value in fields.items():
                    if getattr(row, name) != value:
                        setattr(row, name, value)
            self.session.add(row)
            rows[index] = row
        self.session.flush()
        return {index: row.id for index, row in rows.items()}

    def _store_alerts(self, window: _Interval, findings: list[Finding], trip_ids: dict[int, int],
                      stop_ids: dict[int, int], newest_s: float | None, alerts: list[Alert]) -> list[Alert]:
        """Update, add and delete alerts; an open silence raised by the sweep
        (``telematics.silence``) stays while no fix after its start is stored."""
        stored = {(a.kind, a.started_at): a for a in alerts}
        changed: list[Alert] = []
        seen: set[tuple[str, datetime]] = set()
        for finding in findings:
            if not _overlaps(finding.start_s, finding.end_s, window):
                continue
            evidence = dict(finding.evidence)
            if finding.trip_index is not None and finding.trip_index in trip_ids:
                evidence["trip_id"] = trip_ids[finding.trip_index]
            if finding.stop_index is not None and finding.stop_index in stop_ids:
                evidence["stop_id"] = stop_ids[finding.stop_index]
            key = (finding.kind, _ts(finding.start_s))
            seen.add(key)
            fields = {
                "ended_at": _ts(finding.end_s),
                "lat": round(finding.lat, 6),
                "lon": round(finding.lon, 6),
                "severity": AlertSeverity(finding.severity),
                "evidence": evidence,
                "rule_version": RULE_VERSION,
                "thresholds": finding.thresholds,
            }
            alert = stored.get(key)
            if alert is None:
                alert = Alert(kind=finding.kind, vehicle_id=self.vid, started_at=key[1], **fields)
                self.session.add(alert)
                changed.append(alert)
                continue
            if any(getattr(alert, name) != value for name, value in fields.items()):
                for name, value in fields.items():
                    setattr(alert, name, value)
                self.session.add(alert)
                changed.append(alert)
        for key, alert in stored.items():
            still_silent = (alert.kind == DEVICE_OFFLINE and alert.ended_at is None
                            and (newest_s is None or as_utc(alert.started_at).timestamp() >= newest_s))
            if key not in seen and alert.state == AlertState.open and not still_silent:
                self.session.delete(alert)
        self.session.flush()
        return changed



def _items(track: Track, motion: Motion, findings: list[Finding]) -> list[tuple[float, float]]:
    """(start, end) of every computed trip, stop and finding."""
    t = track.t_s
    items = [(f.start_s, f.end_s) for f in findings]
    items += list(zip(t[motion.trip_first].tolist(), t[motion.trip_last].tolist(), strict=True))
    items += list(zip(t[motion.stop_first].tolist(), t[motion.stop_last].tolist(), strict=True))
    return items


def extend_ongoing_stop(session: Session, vehicle: Vehicle, start: datetime, end: datetime,
                        inputs: RuleInputs) -> list[Alert] | None:
    """When the vehicle's new fixes in [start, end] (aware) only lengthen its newest stop,
    judge and store them from that stop's summary without reloading it, without committing;
    returns the new or changed alerts, or None when they need :func:`reevaluate`'s full path."""
    return _VehicleRun(session, vehicle, inputs).extend_ongoing_stop(start.timestamp(), end.timestamp())


def reevaluate(session: Session, windows: dict[int, tuple[datetime, datetime]],
               inputs: RuleInputs | None = None) -> list[Alert]:
    """Recompute trips, stops and alerts of each vehicle id over its UTC window (widened to
    whole trips, stops, alerts and orders) idempotently, without committing; returns the
    alerts that are new or changed (to publish). Fixes that only lengthen an ongoing stop are
    judged from its summary (:func:`extend_ongoing_stop`). ``inputs`` (zones, calendar, thresholds) are
    loaded from the database and the settings when not given."""
    if not windows:
        return []
    shared = inputs or RuleInputs.load(session)
    changed: list[Alert] = []
    for vehicle_id in sorted(windows):
        start, end = windows[vehicle_id]
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError(f"windows[{vehicle_id}]: times must be timezone-aware (UTC)")
        if end < start:
            raise ValueError(f"windows[{vehicle_id}]: end before start")
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None:
            log.warning("reevaluate_unknown_vehicle", vehicle_id=vehicle_id)
            continue
        extended = extend_ongoing_stop(session, vehicle, start, end, shared)
        if extended is not None:
            changed += extended
            continue
        run = _VehicleRun(session, vehicle, shared)
        window, track, motion, findings = run.compute(start.timestamp(), end.timestamp())
        changed += run.store(window, track, motion, findings)
    return changed
