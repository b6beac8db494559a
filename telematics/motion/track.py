"""One vehicle's fixes as numpy arrays (the input of the motion split and the rules), and a
flat local frame in metres.

Times are epoch seconds (UTC, float64); coordinates WGS-84 degrees; speeds km/h. The arrays
are sorted by time with no two fixes at the same time (the ingest guarantees both).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fleet.geo import M_PER_DEG_LAT, haversine_m


@dataclass(frozen=True)
class Track:
    """One vehicle's fixes, oldest first."""

    position_id: np.ndarray  # int64
    t_s: np.ndarray  # float64, epoch seconds UTC
    lat: np.ndarray  # float64, degrees
    lon: np.ndarray  # float64, degrees
    speed_kmh: np.ndarray  # float64
    ignition: np.ndarray  # bool
    power_cut: np.ndarray = field(default=None)  # type: ignore[assignment]  # bool
    antenna_cut: np.ndarray = field(default=None)  # type: ignore[assignment]  # bool

    def __post_init__(self) -> None:
        n = len(self.t_s)
        for name in ("position_id", "lat", "lon", "speed_kmh", "ignition"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name}: length {len(getattr(self, name))} differs from t_s ({n})")
        for name in ("power_cut", "antenna_cut"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.zeros(n, dtype=bool))
        if n > 1 and not np.all(np.diff(self.t_s) > 0):
            raise ValueError("t_s: fixes must be sorted by time without duplicates")

    def __len__(self) -> int:
        return len(self.t_s)

    @classmethod
    def empty(cls) -> Track:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0),
                   np.zeros(0, bool))

    def step_m(self) -> np.ndarray:
        """Great-circle distance from each fix to the next (length n - 1), metres."""
        return haversine_m(self.lat[:-1], self.lon[:-1], self.lat[1:], self.lon[1:])


@dataclass(frozen=True)
class LocalFrame:
    """A flat frame in metres around a reference latitude (equirectangular); within a city
    (tens of km) its distances are within 0.1 % of the geodesic ones."""

    ref_lat: float

    @classmethod
    def around(cls, lat: np.ndarray) -> LocalFrame:
        """A frame whose reference latitude is the whole degree nearest the fixes' median,
        so that the same city always gets the same frame."""
        return cls(float(np.round(np.median(lat))) if len(lat) else 0.0)

    def xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Metres east and north of (ref_lat, 0)."""
        k = M_PER_DEG_LAT * np.cos(np.radians(self.ref_lat))
        return np.asarray(lon) * k, np.asarray(lat) * M_PER_DEG_LAT
