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


class IngestDirtyWindow(SQLModel, table=True):
    """A vehicle's stored positions whose trips, stops and alerts are not yet re-evaluated.

    Written by `fleet ingest` in the same transaction as the positions (so a restart loses
    none), merged across batches (``start_at``/``end_at``: the earliest and latest event time
    touched, UTC), and deleted by the evaluator once the window is evaluated, unless
    ``generation`` (raised by every merge) shows that newer positions arrived meanwhile.
    ``marked_at`` is when the vehicle first became dirty (UTC): evaluation goes oldest first.
    """

    __tablename__ = "ingest_dirty"
    vehicle_id: int = Field(primary_key=True, foreign_key="vehicle.id")
    start_at: datetime = time_field()
    end_at: datetime = time_field()
    generation: int = 1
    marked_at: datetime = time_field(index=True)
