"""Device id -> vehicle, cached and refreshed (Vehicle.gps_device_id)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from fleet.models.vehicle import Vehicle

#: Least time between two refreshes caused by unknown devices, seconds.
MISS_REFRESH_S = 5.0


@dataclass(frozen=True)
class DeviceOwner:
    vehicle_id: int
    plate: str


class DeviceDirectory:
    """The vehicles that carry a GPS terminal, reloaded every ``refresh_s`` seconds and early
    (at most every 5 s) when an unknown device reports."""

    def __init__(self, engine: Engine, refresh_s: float) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._owners: dict[str, DeviceOwner] = {}
        self._loaded_at = -float("inf")

    def owner(self, device_id: str) -> DeviceOwner | None:
        """The vehicle carrying ``device_id``, or None when no vehicle does."""
        now = time.monotonic()
        if now - self._loaded_at >= self._refresh_s:
            self.reload()
        found = self._owners.get(device_id)
        if found is None and now - self._loaded_at >= MISS_REFRESH_S:
            self.reload()
            found = self._owners.get(device_id)
        return found

    def reload(self) -> None:
        query = select(Vehicle.gps_device_id, Vehicle.id, Vehicle.plate).where(
            Vehicle.gps_device_id.is_not(None)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        self._owners = {device: DeviceOwner(vehicle_id, plate) for device, vehicle_id, plate in rows}
        self._loaded_at = time.monotonic()
