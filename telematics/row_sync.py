"""Stores what re-evaluating a window computed: one vehicle's trips, stops and alerts rows.

Stored rows are matched by identity (vehicle + start, and kind for alerts) and updated in
place, so ids stay stable and an alert's review state survives; rows that no longer hold are
deleted (alerts only while open). Nothing is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlmodel import Session

from fleet.alert_incidents import link_incidents
from fleet.models import Alert, AlertSeverity, AlertState, Trip
from fleet.models.common import as_utc
from fleet.models.telemetry import Stop
from telematics.rules.findings import DEVICE_OFFLINE, RULE_VERSION, Finding
from telematics.stored_history import StoredHistory, ts
from telematics.window import Judged, Window


class RowSync:
    """Writes one vehicle's computed trips, stops and alerts over the stored ones."""

    def __init__(self, session: Session, vehicle_id: int) -> None:
        self.session = session
        self.vid = vehicle_id

    def store(self, judged: Judged, history: StoredHistory) -> list[Alert]:
        """Replace the stored trips, stops and alerts overlapping the judged window; returns
        the alerts that are new or changed. Everything stored is read before the first write,
        so the write phase (which holds SQLite's single write lock) is short."""
        window = judged.window
        trips = history.trips(window.start, window.end)
        stops = history.stops(window.start, window.end)
        alerts = history.alerts(window.start, window.end)
        trip_ids = self._sync(Trip, {t.started_at: t for t in trips}, _wanted_trips(judged))
        stop_ids = self._sync(Stop, {s.started_at: s for s in stops}, _wanted_stops(judged))
        newest_s = float(judged.track.t_s[-1]) if len(judged.track) else None
        return self.store_alerts(window, judged.findings, trip_ids, stop_ids, newest_s, alerts)

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

    def store_alerts(self, window: Window, findings: list[Finding], trip_ids: dict[int, int],
                     stop_ids: dict[int, int], newest_s: float | None, alerts: list[Alert]) -> list[Alert]:
        """Update, add and delete the ``alerts`` stored in ``window`` after ``findings``
        (trip and stop indices mapped to row ids by ``trip_ids``/``stop_ids``); an open
        silence raised by the sweep (``telematics.silence``) stays while no fix after its
        start is stored (``newest_s``). Returns the alerts that are new or changed."""
        stored = {(a.kind, a.started_at): a for a in alerts}
        changed: list[Alert] = []
        seen: set[tuple[str, datetime]] = set()
        for finding in findings:
            if not window.overlaps(finding.start_s, finding.end_s):
                continue
            evidence = dict(finding.evidence)
            if finding.trip_index is not None and finding.trip_index in trip_ids:
                evidence["trip_id"] = trip_ids[finding.trip_index]
            if finding.stop_index is not None and finding.stop_index in stop_ids:
                evidence["stop_id"] = stop_ids[finding.stop_index]
            key = (finding.kind, ts(finding.start_s))
            seen.add(key)
            fields = {
                "ended_at": ts(finding.end_s),
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
        kept = [a for a in changed if a.id is None]
        for key, alert in stored.items():
            still_silent = (alert.kind == DEVICE_OFFLINE and alert.ended_at is None
                            and (newest_s is None or as_utc(alert.started_at).timestamp() >= newest_s))
            if key not in seen and alert.state == AlertState.open and not still_silent:
                self.session.delete(alert)
            else:
                kept.append(alert)
        self.session.flush()
        listed = {id(a) for a in changed}
        relinked = [a for a in link_incidents(kept) if id(a) not in listed]
        if relinked:
            self.session.add_all(relinked)
            self.session.flush()
        return changed + relinked


def _wanted(judged: Judged, first: np.ndarray, last: np.ndarray,
            figures: Callable[[int, int, int], dict[str, Any]]) -> dict[datetime, tuple[int, dict[str, Any]]]:
    """Row fields (``figures(k, first fix, last fix)`` and the span) of every computed item k
    spanning fixes ``first[k]`` to ``last[k]`` that overlaps the window, by start."""
    track = judged.track
    wanted: dict[datetime, tuple[int, dict[str, Any]]] = {}
    for k in range(len(first)):  # over trips or stops, not fixes
        f, la = int(first[k]), int(last[k])
        s, e = float(track.t_s[f]), float(track.t_s[la])
        if judged.window.overlaps(s, e):
            wanted[ts(s)] = (k, {"ended_at": ts(e), **figures(k, f, la),
                                 "first_position_id": int(track.position_id[f]),
                                 "last_position_id": int(track.position_id[la])})
    return wanted


def _wanted_trips(judged: Judged) -> dict[datetime, tuple[int, dict[str, Any]]]:
    """Row fields of every computed trip overlapping the window, by start."""
    m = judged.motion
    return _wanted(judged, m.trip_first, m.trip_last, lambda k, f, la: {
        "distance_km": round(float(m.trip_distance_m[k]) / 1000, 3)})


def _wanted_stops(judged: Judged) -> dict[datetime, tuple[int, dict[str, Any]]]:
    """Row fields of every computed stop overlapping the window, by start."""
    m, t = judged.motion, judged.track.t_s
    return _wanted(judged, m.stop_first, m.stop_last, lambda k, f, la: {
        "duration_s": round(float(t[la]) - float(t[f]), 3), "lat": round(float(m.stop_lat[k]), 6),
        "lon": round(float(m.stop_lon[k]), 6), "position_count": la - f + 1})
