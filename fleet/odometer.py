"""The odometer rule: a car's reading only moves forward, and by no more than the car could
have driven since its last reading. Driver events and record updates apply the same rule;
an administrator corrects a wrong figure explicitly, with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from fleet import audit
from fleet.models import AuditEntry, Trip, User, Vehicle

#: Fastest average speed an official car can keep between two odometer readings, km/h.
MAX_PLAUSIBLE_SPEED_KMH = 150.0
#: Allowance on top of that for rounding and short hops, km.
ODOMETER_SLACK_KM = 30.0
#: How many of the car's latest trips are searched for a higher reading than the record's.
RECENT_TRIPS = 5
#: Audit-log action of an administrator's correction.
CORRECTION_ACTION = "vehicle.odometer_correction"


class OdometerRejected(ValueError):
    """A reading the rule refuses; the message names ``odometer_km`` and the rule."""


@dataclass(frozen=True)
class Reading:
    """An odometer reading, km, and when it was taken (timezone-aware)."""

    km: float
    at: datetime


def last_correction_at(session: Session, vehicle: Vehicle) -> datetime | None:
    """When an administrator last corrected the car's odometer, if ever."""
    return session.exec(
        select(AuditEntry.at).where(AuditEntry.object_type == "vehicle", AuditEntry.object_id == str(vehicle.id),
                                    AuditEntry.action == CORRECTION_ACTION)
        .order_by(col(AuditEntry.id).desc()).limit(1)
    ).first()


def last_reading(session: Session, vehicle: Vehicle) -> Reading:
    """The car's highest known reading: its record's, or a higher one from its latest trips
    (readings taken before the last correction no longer count)."""
    best = Reading(vehicle.odometer_km, vehicle.updated_at)
    corrected_at = last_correction_at(session, vehicle)
    trips = session.exec(select(Trip).where(Trip.vehicle_id == vehicle.id)
                         .order_by(col(Trip.started_at).desc()).limit(RECENT_TRIPS)).all()
    for trip in trips:
        for km, at in ((trip.start_odometer_km, trip.started_at), (trip.end_odometer_km, trip.ended_at)):
            if km is not None and at is not None and km >= best.km and (corrected_at is None or at > corrected_at):
                best = Reading(km, at)
    return best


def check_reading(reading_km: float, last: Reading, now: datetime, plate: str) -> None:
    """Raise ``OdometerRejected`` for a reading (km) below ``last`` or further above it than
    ``MAX_PLAUSIBLE_SPEED_KMH`` for the hours since, plus ``ODOMETER_SLACK_KM``."""
    if reading_km < last.km:
        raise OdometerRejected(f"odometer_km: {reading_km:,.0f} km is below the last reading of {plate}, "
                               f"{last.km:,.0f} km; check the figure on the dashboard")
    hours = max((now - last.at).total_seconds() / 3600.0, 0.0)
    possible_km = MAX_PLAUSIBLE_SPEED_KMH * hours + ODOMETER_SLACK_KM
    if reading_km - last.km > possible_km:
        raise OdometerRejected(
            f"odometer_km: {reading_km:,.0f} km is {reading_km - last.km:,.0f} km above the last reading of "
            f"{plate} ({last.km:,.0f} km, {hours:.1f} h ago); at most {possible_km:,.0f} km is possible")


def check_new_reading(session: Session, vehicle: Vehicle, reading_km: float, now: datetime) -> None:
    """Apply the rule to a new reading (km) of ``vehicle`` taken at ``now``."""
    check_reading(reading_km, last_reading(session, vehicle), now, vehicle.plate)


def correct_reading(session: Session, vehicle: Vehicle, reading_km: float, reason: str, actor: User,
                    now: datetime) -> None:
    """Set the car's odometer to ``reading_km`` although the rule may refuse it (a typing
    error, a replaced instrument cluster), and audit the change with ``reason``; readings
    taken before it no longer count. The caller commits."""
    before = audit.snapshot(vehicle)
    vehicle.odometer_km = reading_km
    vehicle.updated_at = now
    session.add(vehicle)
    session.flush()
    audit.record(session, actor, CORRECTION_ACTION, "vehicle", vehicle.id, before,
                 (audit.snapshot(vehicle) or {}) | {"reason": reason})
