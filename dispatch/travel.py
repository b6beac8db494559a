"""Travel distances (km) and durations (s) between points, behind one interface.

Two providers:

* :class:`HaversineTravel`, the default: great-circle distance x detour factor, duration =
  distance / speed, optionally with time-of-day speed factors. A plan is made with one
  duration matrix, so the default matrix uses the slowest factor of the day: every planned
  time is then reachable whatever the hour (``matrices_at`` gives one hour's matrix).
* :class:`OsrmTravel`, for production: the OSRM ``table`` service, queried in chunks.

Points are ``(lat, lon)`` pairs in WGS-84 degrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
import numpy as np

from dispatch.instance import Instance, SpeedFactor, TravelSpec
from fleet.geo import EARTH_RADIUS_M

EARTH_RADIUS_KM = EARTH_RADIUS_M / 1000
LatLon = tuple[float, float]


@dataclass(frozen=True)
class TravelMatrix:
    """Square matrices over a list of points: ``[i, j]`` is from point i to point j."""

    distance_km: np.ndarray
    duration_s: np.ndarray


class TravelProvider(Protocol):
    """Anything that gives distance and duration matrices for a list of points."""

    def matrices(self, points: Sequence[LatLon]) -> TravelMatrix: ...


def great_circle_km(points: Sequence[LatLon]) -> np.ndarray:
    """Haversine distances between all pairs of points on a sphere, km."""
    coords = np.radians(np.asarray(points, dtype=float).reshape(-1, 2))
    lat, lon = coords[:, 0:1], coords[:, 1:2]
    dlat = lat - lat.T
    dlon = lon - lon.T
    a = np.sin(dlat / 2) ** 2 + np.cos(lat) * np.cos(lat.T) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


class HaversineTravel:
    """Great circle x ``detour_factor``; duration = km / (``speed_kmh`` x hour's factor)."""

    def __init__(
        self,
        detour_factor: float = 1.3,
        speed_kmh: float = 40.0,
        speed_factors: Sequence[SpeedFactor] = (),
    ) -> None:
        self.detour_factor = detour_factor
        self.speed_kmh = speed_kmh
        self.speed_factors = list(speed_factors)

    def factor_at(self, hour: int) -> float:
        """Speed factor for a departure in local ``hour`` (0-23); 1 where none is set."""
        for rule in self.speed_factors:
            if rule.from_hour <= hour < rule.to_hour:
                return rule.factor
        return 1.0

    @property
    def planning_factor(self) -> float:
        """The slowest factor of the day, used for plans made with one matrix."""
        return min(self.factor_at(hour) for hour in range(24))

    def matrices_at(self, points: Sequence[LatLon], hour: int) -> TravelMatrix:
        """Matrices for departures in local ``hour``."""
        return self._matrices(points, self.factor_at(hour))

    def matrices(self, points: Sequence[LatLon]) -> TravelMatrix:
        return self._matrices(points, self.planning_factor)

    def _matrices(self, points: Sequence[LatLon], factor: float) -> TravelMatrix:
        distance_km = great_circle_km(points) * self.detour_factor
        duration_s = distance_km / (self.speed_kmh * factor) * 3600.0
        return TravelMatrix(distance_km=distance_km, duration_s=duration_s)


class OsrmError(RuntimeError):
    """OSRM answered with an error or an unreachable pair."""


class OsrmTravel:
    """The OSRM ``/table/v1/{profile}/`` service, asked in chunks of at most ``max_locations``.

    Each request carries one block of sources and one block of destinations, so a matrix of n
    points takes ``ceil(n / (max_locations / 2)) ** 2`` requests. OSRM returns durations in
    seconds and distances in metres; a ``null`` entry (no route) raises :class:`OsrmError`.
    """

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        max_locations: int = 100,
        client: httpx.Client | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        if max_locations < 2:
            raise ValueError("max_locations: must be at least 2")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.max_locations = max_locations
        self.client = client or httpx.Client(timeout=timeout_s)

    def matrices(self, points: Sequence[LatLon]) -> TravelMatrix:
        n = len(points)
        distance_km = np.zeros((n, n))
        duration_s = np.zeros((n, n))
        block = self.max_locations // 2
        for src0 in range(0, n, block):
            sources = list(range(src0, min(src0 + block, n)))
            for dst0 in range(0, n, block):
                destinations = list(range(dst0, min(dst0 + block, n)))
                durations, distances = self._table(points, sources, destinations)
                duration_s[np.ix_(sources, destinations)] = durations
                distance_km[np.ix_(sources, destinations)] = distances / 1000.0
        return TravelMatrix(distance_km=distance_km, duration_s=duration_s)

    def _table(
        self, points: Sequence[LatLon], sources: list[int], destinations: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        chosen = [points[i] for i in sources] + [points[j] for j in destinations]
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in chosen)
        k = len(sources)
        params = {
            "sources": ";".join(str(i) for i in range(k)),
            "destinations": ";".join(str(k + j) for j in range(len(destinations))),
            "annotations": "duration,distance",
        }
        url = f"{self.base_url}/table/v1/{self.profile}/{coords}"
        response = self.client.get(url, params=params)
        try:
            body = response.json()
        except ValueError:
            raise OsrmError(f"OSRM table: HTTP {response.status_code}, not JSON") from None
        if response.status_code != 200 or body.get("code") != "Ok":
            raise OsrmError(f"OSRM table: {body.get('code')}: {body.get('message', '')}")
        durations = body.get("durations")
        distances = body.get("distances")
        if durations is None or distances is None:
            raise OsrmError("OSRM table: answer lacks durations or distances")
        if any(v is None for row in durations + distances for v in row):
            raise OsrmError("OSRM table: some points cannot be reached from others")
        return np.asarray(durations, dtype=float), np.asarray(distances, dtype=float)


def provider_for(spec: TravelSpec) -> TravelProvider:
    """The provider an instance's ``travel`` section asks for."""
    if spec.model == "osrm":
        assert spec.osrm_url is not None  # checked by TravelSpec
        return OsrmTravel(spec.osrm_url, profile=spec.osrm_profile)
    return HaversineTravel(spec.detour_factor, spec.speed_kmh, spec.speed_factors)


def instance_points(instance: Instance) -> list[LatLon]:
    """The points of an instance in a fixed order.

    Origins of the requests, then their destinations, then the depots, then the lessors.
    """
    return (
        [(r.origin.lat, r.origin.lon) for r in instance.requests]
        + [(r.destination.lat, r.destination.lon) for r in instance.requests]
        + [(d.lat, d.lon) for d in instance.depots]
        + [(lessor.lat, lessor.lon) for lessor in instance.lessors]
    )


def instance_matrix(instance: Instance, provider: TravelProvider | None = None) -> TravelMatrix:
    """Travel matrices over :func:`instance_points`."""
    return (provider or provider_for(instance.travel)).matrices(instance_points(instance))
