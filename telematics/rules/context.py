"""Everything the rules need besides the fixes: thresholds, orders, places and the calendar,
as plain data (numpy arrays and shapely geometries) built by the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Any

import numpy as np
from pydantic import ConfigDict
from shapely.geometry.base import BaseGeometry

from fleet.settings import MotionThresholds, RuleThresholds, Settings
from telematics.motion.intervals import merge_intervals


def _time_of_day_s(name: str) -> property:
    """The local time of day ``name``, read as seconds after local midnight."""

    def seconds(self: RuleThresholds) -> float:
        t: time = getattr(self, name)
        return t.hour * 3600.0 + t.minute * 60.0 + t.second

    return property(seconds, doc=f"``{name}`` in seconds after local midnight.")


class Thresholds(MotionThresholds, RuleThresholds):
    """Rule thresholds: the settings groups ``motion`` and ``rules`` (the same names, units and
    defaults), read-only. Durations in seconds, distances in metres; the local times of day are
    also given in seconds after local midnight."""

    model_config = ConfigDict(frozen=True)

    work_start_s = _time_of_day_s("work_start")
    work_end_s = _time_of_day_s("work_end")
    night_start_s = _time_of_day_s("night_start")
    night_end_s = _time_of_day_s("night_end")

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        """The thresholds ``settings.motion`` and ``settings.rules`` hold, field by field
        (already validated there)."""
        groups = (settings.motion, settings.rules)
        return cls.model_construct(**{name: getattr(group, name) for group in groups
                                      for name in type(group).model_fields})

    def as_evidence(self, *names: str) -> dict[str, float]:
        """The named thresholds, for an alert's ``thresholds`` field."""
        return {name: getattr(self, name) for name in names}

    @property
    def context_s(self) -> float:
        """Fixes this far around a window are needed to judge it (longest run threshold)."""
        return max(self.stop_min_duration_s, self.speeding_min_s, self.out_of_area_min_s,
                   self.route_deviation_min_s, self.private_use_min_s) + 1.0


@dataclass(frozen=True)
class Orders:
    """A vehicle's orders (a trip request with its assignment), one entry per assignment.

    ``use`` marks requests assigned, in progress or completed (they cover the trip itself);
    ``hours`` marks requests approved or later (they cover movement outside working time).
    """

    request_id: np.ndarray  # int64
    start_s: np.ndarray  # planned pickup, epoch s
    end_s: np.ndarray  # planned drop-off, epoch s
    use: np.ndarray  # bool
    hours: np.ndarray  # bool
    origin_lat: np.ndarray
    origin_lon: np.ndarray
    destination_lat: np.ndarray
    destination_lon: np.ndarray
    round_trip: np.ndarray  # bool: the car waits and brings the party back
    #: When the ride itself began (the car seen at the pickup) and ended (seen at the
    #: destination), epoch s; None: the planned pickup and drop-off.
    ride_start_s: np.ndarray | None = None
    ride_end_s: np.ndarray | None = None

    @classmethod
    def none(cls) -> Orders:
        z, b, i = np.zeros(0), np.zeros(0, bool), np.zeros(0, np.int64)
        return cls(i, z, z, b, b, z, z, z, z, b)

    @property
    def ride_from_s(self) -> np.ndarray:
        """When each order's ride began: seen at the pickup, else the planned pickup, epoch s."""
        return self.start_s if self.ride_start_s is None else self.ride_start_s

    @property
    def ride_to_s(self) -> np.ndarray:
        """When each order's ride ended: seen at the destination, else the planned drop-off, epoch s."""
        return self.end_s if self.ride_end_s is None else self.ride_end_s

    def __len__(self) -> int:
        return len(self.request_id)

    def windows(self, mask: np.ndarray, before_s: float, after_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Merged [pickup - before, drop-off + after] of the orders in ``mask``."""
        return merge_intervals(self.start_s[mask] - before_s, self.end_s[mask] + after_s)


@dataclass(frozen=True)
class DayTable:
    """Consecutive local days covering the fixes: UTC instant of each local midnight (plus the
    one after the last day), whether the day is a working day, and whether an official
    schedule backs that answer (otherwise ``warnings[i]`` says why not)."""

    midnight_s: np.ndarray  # float64, len days + 1
    dates: list[str]  # ISO dates, len days
    working: np.ndarray  # bool, len days
    official: np.ndarray  # bool, len days
    warnings: list[str | None]

    def day_index(self, t_s: np.ndarray) -> np.ndarray:
        """Index of the local day of each instant (clipped to the table)."""
        return np.clip(np.searchsorted(self.midnight_s, t_s, side="right") - 1, 0, len(self.working) - 1)

    def calendar_evidence(self, start_s: float, end_s: float) -> dict[str, Any]:
        """The calendar answers used for [start, end], with any missing-schedule warning."""
        first, last = self.day_index(np.array([start_s, end_s]))
        days = range(int(first), int(last) + 1)
        evidence: dict[str, Any] = {
            "days": {self.dates[d]: "working" if self.working[d] else "rest" for d in days}
        }
        warnings = sorted({w for d in days if (w := self.warnings[d])})
        if warnings:
            evidence["warning"] = "; ".join(warnings)
        return evidence


@dataclass(frozen=True)
class Place:
    """A zone: id, name and geometry in WGS-84 degrees (lon, lat)."""

    id: int
    name: str
    geometry: BaseGeometry
    limit_kmh: float | None = None


@dataclass(frozen=True)
class VehicleContext:
    """One vehicle's rule inputs besides its fixes."""

    vehicle_id: int
    days: DayTable
    orders: Orders = field(default_factory=Orders.none)
    site: Place | None = None
    allowed_area: BaseGeometry | None = None
    forbidden_zones: tuple[Place, ...] = ()
    speed_zones: tuple[Place, ...] = ()
    #: A leased car's hire windows, (start, end) epoch s, start inclusive, end exclusive: it is
    #: judged only inside them; None for a pool car (judged throughout).
    hired: tuple[tuple[float, float], ...] | None = None
