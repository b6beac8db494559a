"""Re-evaluation service: for each vehicle and UTC window touched by new fixes, recompute its
trips, stops and alerts from the stored positions and replace what is stored, so that the
result never depends on the order in which the fixes arrived.

Three steps: the rule inputs (``telematics.rule_inputs``), closing the window over the
vehicle's stored history (``telematics.window``, pure), and writing the rows
(``telematics.row_sync``). Fixes that only lengthen the vehicle's newest stop take a shorter
path, judged from that stop's stored summary (``telematics.rules.ongoing_stop``).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import structlog
from sqlmodel import Session

from fleet.models import Alert, Vehicle
from fleet.models.common import as_utc
from telematics.motion import split_motion
from telematics.rule_inputs import RuleInputs, hire_spans
from telematics.row_sync import RowSync
from telematics.rules.context import VehicleContext
from telematics.rules.engine import evaluate
from telematics.rules.findings import DEVICE_OFFLINE
from telematics.rules.ongoing_stop import STOP_KINDS, only_extends_stop, summary_findings
from telematics.stored_history import StoredHistory, ts
from telematics.window import Window, close_window

log = structlog.get_logger(__name__)

#: How far past a window's end an ongoing stop's tail is read, seconds (everything stored).
TAIL_REACH_S = 30 * 86400.0


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
        self.rows = RowSync(session, vehicle.id)

    def context(self, start: float, end: float, days_from: float | None = None) -> VehicleContext:
        """What the rules need to judge the fixes loaded from ``start`` to ``end``; the day
        table reaches back to ``days_from`` when given (a stop that began earlier)."""
        th = self.th
        return VehicleContext(
            vehicle_id=self.vid,
            days=self.shared.day_table(min(start, days_from if days_from is not None else start), end),
            orders=self.history.orders(start - th.order_grace_after_s - th.order_overrun_max_s,
                                       end + th.order_grace_before_s),
            site=self.site,
            allowed_area=self.allowed,
            forbidden_zones=self.shared.forbidden,
            speed_zones=self.shared.speed_zones,
            hired=hire_spans(self.session, self.vehicle, start, end),
        )

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
        tail = self.history.track(cut_s, end + TAIL_REACH_S)
        # The dwells that begin before the cut must end on an old fix, clear of the new ones,
        # so that what stands before the cut cannot change.
        previous = self.history.neighbours(cut_s, before=True)
        if previous and not np.any((tail.t_s >= previous[0] + th.stop_min_duration_s) & (tail.t_s < start)):
            return None
        motion = split_motion(tail, th.stop_radius_m, th.stop_min_duration_s)
        ctx = self.context(cut_s, float(tail.t_s[-1]), days_from=stop_start_s)
        findings = evaluate(tail, motion, ctx, th)
        if not only_extends_stop(tail, motion, findings):
            return None
        last_s = float(tail.t_s[-1])
        window = Window(float(tail.t_s[0]), last_s + th.context_s)
        alerts = self.history.alerts(window.start, window.end)
        if not all((a.kind in STOP_KINDS and as_utc(a.started_at).timestamp() == stop_start_s)
                   or (a.kind == DEVICE_OFFLINE and a.evidence.get("reason") == "silent") for a in alerts):
            return None
        count, lat_sum, lon_sum = self.history.fix_sums(stop_start_s, last_s)
        last_id = int(tail.position_id[-1])
        lat, lon = lat_sum / count, lon_sum / count
        findings = [f for f in findings if f.kind not in STOP_KINDS] + summary_findings(
            stop.first_position_id, last_id, stop_start_s, last_s, count, lat, lon, ctx, th)
        fields = {"ended_at": ts(last_s), "duration_s": round(last_s - stop_start_s, 3),
                  "lat": round(lat, 6), "lon": round(lon, 6), "position_count": count,
                  "last_position_id": last_id}
        for name, value in fields.items():
            if getattr(stop, name) != value:
                setattr(stop, name, value)
        self.session.add(stop)
        self.session.flush()
        return self.rows.store_alerts(window, findings, {}, {0: stop.id}, last_s, alerts)

    def reevaluate(self, start: float, end: float) -> list[Alert]:
        """Close the window around [start, end], judge it and store the result; returns the
        new or changed alerts."""
        judged = close_window(self.history, self.context, self.th, start, end, self.vid)
        return self.rows.store(judged, self.history)


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
        run = _VehicleRun(session, vehicle, shared)
        extended = run.extend_ongoing_stop(start.timestamp(), end.timestamp())
        changed += extended if extended is not None else run.reevaluate(start.timestamp(), end.timestamp())
    return changed
