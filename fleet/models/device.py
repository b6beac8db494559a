"""GPS terminals as the ingest worker last heard them: online state and newest fix."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from fleet.models.common import time_field


class DeviceStatePublic(SQLModel):
    device_id: str
    vehicle_id: int | None
    online: bool | None
    status_at: datetime | None
    last_position_at: datetime | None
    power_cut: bool
    antenna_cut: bool


class DeviceState(SQLModel, table=True):
    """One row per terminal id; written by `fleet ingest` from the status and gps topics.

    ``online`` is the terminal's retained status (its MQTT last will says offline);
    ``last_position_at`` the event time of its newest stored fix (UTC); ``power_cut`` and
    ``antenna_cut`` the alarm flags of that newest fix.
    """

    __tablename__ = "device_state"
    device_id: str = Field(primary_key=True, max_length=40)
    vehicle_id: int | None = Field(None, foreign_key="vehicle.id", index=True)
    online: bool | None = None
    status_at: datetime | None = time_field(None)
    last_position_at: datetime | None = time_field(None)
    power_cut: bool = False
    antenna_cut: bool = False
