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
    dropped_fixes: int
    last_dropped_at: datetime | None


class DeviceState(SQLModel, table=True):
    """One row per terminal id; written by `fleet ingest` from the status and gps topics.

    ``online`` is the terminal's retained status (its MQTT last will says offline);
    ``last_position_at`` the event time of its newest stored fix (UTC); ``power_cut`` and
    ``antenna_cut`` the alarm flags of that newest fix; ``dropped_fixes`` counts its valid
    fixes the ingest dropped (GPS jumps, and points refused as no position), the newest at
    ``last_dropped_at`` (arrival time, UTC).
    """

    __tablename__ = "device_state"
    device_id: str = Field(primary_key=True, max_length=40)
    vehicle_id: int | None = Field(None, foreign_key="vehicle.id", index=True)
    online: bool | None = None
    status_at: datetime | None = time_field(None)
    last_position_at: datetime | None = time_field(None)
    power_cut: bool = False
    antenna_cut: bool = False
    dropped_fixes: int = Field(0, ge=0, sa_column_kwargs={"server_default": "0"})
    last_dropped_at: datetime | None = time_field(None)


class IngestDirtyWindow(SQLModel, table=True):
    """Stored positions whose trips, stops and alerts are not yet re-evaluated: one row per
    vehicle per stored batch, the event-time span it touched (``start_at``/``end_at``, UTC).

    Written by `fleet ingest` in the same transaction as the positions (so a restart loses
    none). The evaluator reads a vehicle's rows merged into one window, evaluates it and
    deletes the rows it read (``id`` up to the newest it saw); rows added meanwhile stay for
    the next round, so a window never grows beyond what arrived since its last evaluation.
    ``marked_at`` is when the row was written (UTC): evaluation goes oldest first. Ids are
    never reused (SQLite AUTOINCREMENT), so a row written after a read always has a higher id.
    """

    __tablename__ = "ingest_dirty"
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    vehicle_id: int = Field(foreign_key="vehicle.id", index=True)
    start_at: datetime = time_field()
    end_at: datetime = time_field()
    marked_at: datetime = time_field(index=True)
