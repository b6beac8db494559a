"""The wire format of a GPS terminal's report (one JSON object, or a JSON array of them).

Times are event times: ``ts`` is when the fix was taken, as ISO-8601 with an offset or as
epoch seconds (a number, or a string of one); it is kept in UTC. Angles are WGS-84 degrees.
Every other field is strict: numbers must be JSON numbers (``"34.6"`` and ``true`` are no
latitude) and flags JSON booleans (``"yes"`` and ``1`` are no ignition state).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

#: Earliest event time accepted; anything before is a device without a clock fix.
EARLIEST_TS = datetime(2000, 1, 1, tzinfo=UTC)
DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,39}$"


def _epoch_seconds(value: Any) -> Any:
    """Numbers are epoch seconds (never milliseconds); strings go to ISO-8601 parsing."""
    if isinstance(value, bool):
        raise ValueError("must be an ISO-8601 time with offset or epoch seconds, not a boolean")  # noqa: TRY004 (pydantic reports ValueError)
    if isinstance(value, int | float):
        if not math.isfinite(value) or not 946_684_800 <= value <= 4_102_444_800:
            raise ValueError("epoch seconds must lie between 2000-01-01 and 2100-01-01")
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        if "-" in value or ":" in value:
            return value  # ISO-8601, parsed by pydantic (an offset is required)
        try:
            seconds = float(value)
        except ValueError:
            return value  # pydantic names what is wrong with it
        return _epoch_seconds(seconds)
    return value


def _to_utc(value: datetime) -> datetime:
    value = value.astimezone(UTC)
    if value < EARLIEST_TS:
        raise ValueError("must not be before 2000-01-01 (no clock fix)")
    return value


EventTime = Annotated[AwareDatetime, BeforeValidator(_epoch_seconds), AfterValidator(_to_utc)]


class AlarmFlags(BaseModel):
    """Tamper alarms a terminal raises."""

    model_config = ConfigDict(extra="ignore")

    power_cut: bool = Field(False, strict=True, description="External power was cut.")
    antenna_cut: bool = Field(False, strict=True, description="The GPS antenna was disconnected.")


class PositionPayload(BaseModel):
    """One GPS fix as a terminal publishes it on ``fleet/v1/vehicles/{device_id}/gps``."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, title="Position")

    device_id: str = Field(
        pattern=DEVICE_ID_PATTERN, description="Terminal id; must equal the id in the topic."
    )
    ts: EventTime = Field(
        description="Event time of the fix: ISO-8601 with offset, or epoch seconds (UTC)."
    )
    lat: float = Field(ge=-90, le=90, strict=True, description="Latitude, WGS-84 degrees.")
    lon: float = Field(ge=-180, le=180, strict=True, description="Longitude, WGS-84 degrees.")
    speed_kmh: float = Field(ge=0, le=400, strict=True, description="Reported ground speed, km/h.")
    heading_deg: float = Field(ge=0, le=360, strict=True, description="Course over ground, degrees from north.")
    ignition: bool = Field(strict=True, description="Ignition (or ready state of an NEV) on.")
    odometer_km: float | None = Field(None, ge=0, le=2_000_000, strict=True, description="Odometer, km.")
    soc_pct: float | None = Field(None, ge=0, le=100, strict=True, description="Battery state of charge, %.")
    alt_m: float | None = Field(None, ge=-500, le=9000, strict=True, description="Altitude, metres.")
    sats: int | None = Field(None, ge=0, le=64, strict=True, description="Satellites used in the fix.")
    hdop: float | None = Field(None, ge=0, le=100, strict=True, description="Horizontal dilution of precision.")
    valid: bool = Field(True, strict=True, description="False when the terminal has no GPS fix.")
    seq: int | None = Field(None, ge=0, strict=True, description="Terminal's message sequence number.")
    alarm: AlarmFlags | None = Field(None, description="Tamper alarm flags.")
    source: Literal["gps", "phone"] = Field(
        "gps", description="`phone` for a driver's phone standing in for a silent terminal."
    )


class StatusPayload(BaseModel):
    """A terminal's retained online/offline status (also its MQTT last will)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, title="DeviceStatus")

    state: Literal["online", "offline"] = Field(description="Whether the terminal is connected.")
    ts: EventTime | None = Field(None, description="When the state changed; default arrival time.")


def position_json_schema() -> dict[str, Any]:
    """JSON Schema of a gps message: one position object or a non-empty array of them."""
    item = PositionPayload.model_json_schema()
    defs = item.pop("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "fleet/v1/vehicles/{device_id}/gps message",
        "description": "One position object, or a JSON array of them (a blind-area batch may "
        "hold hours of fixes). `ts` more than FLEET_INGEST_FUTURE_TOLERANCE_S in the future "
        "is refused.",
        "oneOf": [{"$ref": "#/$defs/Position"}, {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Position"}}],
        "$defs": {**defs, "Position": item},
    }


def schema_text() -> str:
    """The position JSON Schema, indented, for ``fleet schema position``."""
    return json.dumps(position_json_schema(), ensure_ascii=False, indent=2)
