"""The silence sweep: ``device.offline`` for a terminal that stays silent.

The gap rule (``telematics.rules.device.offline``) sees a silence only once the terminal
reports again; an unplugged terminal may never do so. The sweep, run by the evaluator after
each round, raises an open ``device.offline`` alert (``ended_at`` empty, evidence
``reason: silent, ongoing: true``) for every vehicle whose newest stored fix is more than
FLEET_RULES_OFFLINE_AFTER_S older than the fleet's clock while that fix lies away from the
designated parking site. When the terminal reports again, re-evaluation finds the gap with
the same identity (kind and start) and closes the alert in place, review state kept; when a
late upload fills the silence, the open alert is removed like any other that no longer holds.

The fleet's clock is the newest fix time stored for any terminal, capped at the wall clock:
time runs with the data, so a broker or platform outage (every terminal silent at once) or
an accelerated replay of a past day raises no alert for the silence it causes itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet.models import Alert, AlertSeverity, Position, Vehicle, VehicleStatus
from fleet.models.common import as_utc
from fleet.models.device import DeviceState
from fleet.settings import Settings
from telematics.rule_inputs import designated_site, judged_at
from telematics.rules.context import Thresholds
from telematics.rules.device import still_silent
from telematics.rules.findings import DEVICE_OFFLINE, RULE_VERSION

log = structlog.get_logger(__name__)


def fleet_clock(session: Session, wall_now: datetime) -> datetime | None:
    """The newest stored fix time of any terminal, capped at ``wall_now``; None before any fix."""
    newest = session.exec(select(func.max(DeviceState.last_position_at))).one()
    return None if newest is None else min(as_utc(newest), wall_now)


class SilenceSweep:
    """Finds silent terminals; remembers the silences it has judged harmless (newest fix at
    the site, or outside a leased car's hire windows), so each is looked at once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.thresholds = Thresholds.from_settings(settings)
        self._harmless: dict[int, datetime] = {}

    def run(self, session: Session, wall_now: datetime | None = None) -> list[Alert]:
        """Add an open ``device.offline`` alert for each newly silent terminal (flushed, not
        committed); returns the new alerts."""
        clock = fleet_clock(session, wall_now or datetime.now(UTC))
        if clock is None:
            return []
        cutoff = datetime.fromtimestamp(clock.timestamp() - self.thresholds.offline_after_s, UTC)
        silent = {vid: as_utc(last) for vid, last in session.exec(
            select(DeviceState.vehicle_id, DeviceState.last_position_at)
            .where(col(DeviceState.vehicle_id).is_not(None), col(DeviceState.last_position_at) < cutoff))}
        silent = {vid: last for vid, last in silent.items() if self._harmless.get(vid) != last}
        if not silent:
            return []
        raised = {(vid, as_utc(started)) for vid, started in session.exec(
            select(Alert.vehicle_id, Alert.started_at)
            .where(Alert.kind == DEVICE_OFFLINE, col(Alert.vehicle_id).in_(silent),
                   col(Alert.started_at) >= min(silent.values())))}
        alerts = []
        for vid, last in sorted(silent.items()):
            if (vid, last) not in raised:
                alert = self._judge(session, vid, last, clock)
                if alert is None:
                    self._harmless[vid] = last
                else:
                    alerts.append(alert)
        session.flush()
        return alerts

    def _judge(self, session: Session, vehicle_id: int, last: datetime, clock: datetime) -> Alert | None:
        vehicle = session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.status == VehicleStatus.retired:
            return None
        if not judged_at(session, vehicle, last.timestamp()):
            return None
        fix = session.exec(select(Position).where(Position.vehicle_id == vehicle_id, Position.ts == last)).first()
        if fix is None:
            return None
        finding = still_silent(last.timestamp(), fix.lat, fix.lon, int(fix.id), clock.timestamp(),
                               designated_site(session, vehicle), self.thresholds)
        if finding is None:
            return None
        alert = Alert(kind=DEVICE_OFFLINE, vehicle_id=vehicle_id, started_at=last, ended_at=None,
                      lat=round(finding.lat, 6), lon=round(finding.lon, 6),
                      severity=AlertSeverity(finding.severity), evidence=finding.evidence,
                      rule_version=RULE_VERSION, thresholds=finding.thresholds)
        session.add(alert)
        log.info("terminal_silent", vehicle_id=vehicle_id, since=last.isoformat())
        return alert
