"""Phone locations republished as fixes: a driver's phone shares its location over the live
socket, and the platform publishes it (QoS 1, signed) on the gps topic of the car of the
driver's trip, marked ``"source": "phone"``; the ingest pipeline takes it from there like
any terminal's fix."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet import topics
from fleet.broker import BrokerClient
from fleet.models import Assignment, RequestState, TripRequest, Vehicle, utcnow
from fleet.settings import Settings

#: A phone may send its location at most once per this many seconds.
PHONE_INTERVAL_S = 1.0
#: Horizontal accuracy (metres) that stands for an HDOP of 1 in the published fix.
METRES_PER_HDOP = 5.0


class PhoneLocation(BaseModel):
    """A location a driver's phone shares over the socket (WGS-84 degrees)."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    speed_kmh: float = Field(0, ge=0, le=300)
    heading_deg: float = Field(0, ge=0, le=360)
    accuracy_m: float | None = Field(None, ge=0, le=100_000)
    ts: AwareDatetime | None = Field(None, description="Fix time; default now.")


class PhoneFixRefused(ValueError):
    """The location cannot be published; the message says why, naming the field."""


def parse_location(message: dict[str, Any]) -> PhoneLocation:
    """The location inside a ``{"type": "location", ...}`` message; PhoneFixRefused naming
    the first bad field otherwise."""
    try:
        return PhoneLocation.model_validate({k: v for k, v in message.items() if k != "type"})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PhoneFixRefused(f"{where}: {first['msg']}") from None


def drivers_current_car(engine: Engine, settings: Settings, driver_id: int) -> tuple[str, str] | None:
    """The (device id, plate) of the car of the driver's trip under way, or else of their
    next assigned trip today (display time zone)."""
    tz = settings.tz
    today = datetime.now(tz).date()
    day_start = datetime.combine(today, dtime(0), tz)
    with Session(engine) as session:
        rows = session.exec(
            select(Vehicle.gps_device_id, Vehicle.plate, TripRequest.state)
            .join(Assignment, col(Assignment.vehicle_id) == Vehicle.id)
            .join(TripRequest, col(TripRequest.id) == Assignment.request_id)
            .where(Assignment.driver_id == driver_id)
            .where(col(TripRequest.state).in_([RequestState.in_progress, RequestState.assigned]))
            .where(col(Assignment.planned_pickup) >= day_start)
            .where(col(Assignment.planned_pickup) < day_start + timedelta(days=1))
            .where(col(Vehicle.gps_device_id).is_not(None))
            .order_by(col(Assignment.planned_pickup))
        ).all()
    rows = sorted(rows, key=lambda r: r[2] != RequestState.in_progress)
    return (rows[0][0], rows[0][1]) if rows else None


def publish_phone_fix(client: BrokerClient, device_id: str, fix: PhoneLocation) -> dict[str, Any]:
    """Publish ``fix`` as a gps message of ``device_id`` (QoS 1); returns the payload."""
    payload: dict[str, Any] = {
        "device_id": device_id,
        "ts": (fix.ts or utcnow()).isoformat(),
        "lat": fix.lat,
        "lon": fix.lon,
        "speed_kmh": fix.speed_kmh,
        "heading_deg": fix.heading_deg,
        "ignition": True,
        "source": "phone",
    }
    if fix.accuracy_m is not None:
        payload["hdop"] = round(fix.accuracy_m / METRES_PER_HDOP, 1)
    client.publish_json(topics.gps_topic(device_id), payload, qos=1)
    return payload
