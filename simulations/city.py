"""The synthetic city around Lianyungang as the simulation sees it, and its road approximation.

Everything with an id comes from the running platform (organisations, depots, parking sites,
zones, vehicles, read over HTTP), so the simulation drives exactly the fleet the platform holds
(``fleet seed`` or a fleet document loaded with ``fleet import``). What the platform does not
store is synthesised deterministically here: where each agency's office stands (near its
parent's vehicle depot) and a spot inside each car's designated parking site.

Roads: a path between two points is a polyline of straight segments through waypoints about
every 1.5 km, each pushed sideways by a smooth random offset (at most 250 m in town and 700 m
between towns). It stays well inside the 2 km route corridor the platform's rules allow, as real
roads between Lianyungang's county seats do; being smooth, it is only 1-5 % longer than the
straight line, so the cars take the time the dispatch model plans (straight line x 1.3 at
40 km/h) at a gentler speed. Distances are metres, angles degrees, WGS-84.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from fleet.geo import M_PER_DEG_LAT, haversine_m, m_per_deg_lon

#: Metres per degree of longitude at the city's latitude (34.6 N).
M_PER_DEG_LON = m_per_deg_lon(34.6)
#: Straight distance above which a path counts as an inter-town road, metres.
INTERCITY_M = 12_000.0
WAYPOINT_SPACING_M = 1_500.0


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` north and ``east_m`` east of (lat, lon), degrees."""
    return lat + north_m / M_PER_DEG_LAT, lon + east_m / M_PER_DEG_LON


def stable_rng(*key: Any) -> np.random.Generator:
    """A random generator seeded from ``key`` (stable across runs and processes)."""
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class Path:
    """A road path: WGS-84 vertices and the cumulative distance at each, metres."""

    lat: np.ndarray
    lon: np.ndarray
    cum_m: np.ndarray

    @property
    def length_m(self) -> float:
        return float(self.cum_m[-1])

    @classmethod
    def through(cls, points: list[tuple[float, float]]) -> Path:
        lat = np.array([p[0] for p in points])
        lon = np.array([p[1] for p in points])
        step = np.hypot(np.diff(lat) * M_PER_DEG_LAT, np.diff(lon) * M_PER_DEG_LON)
        return cls(lat, lon, np.concatenate(([0.0], np.cumsum(step))))

    def at(self, distance_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude and heading (degrees from north) at each distance along the path."""
        d = np.clip(distance_m, 0.0, self.length_m)
        lat = np.interp(d, self.cum_m, self.lat)
        lon = np.interp(d, self.cum_m, self.lon)
        seg = np.clip(np.searchsorted(self.cum_m, d, side="right") - 1, 0, len(self.lat) - 2)
        dn = (self.lat[seg + 1] - self.lat[seg]) * M_PER_DEG_LAT
        de = (self.lon[seg + 1] - self.lon[seg]) * M_PER_DEG_LON
        heading = np.degrees(np.arctan2(de, dn)) % 360.0
        return lat, lon, heading


def road_path(a: tuple[float, float], b: tuple[float, float], rng: np.random.Generator) -> Path:
    """A plausible road from ``a`` to ``b`` (lat, lon): straight segments through waypoints
    pushed sideways by a smooth offset that vanishes at both ends."""
    straight_m = haversine_m(*a, *b)
    if straight_m < 50:
        return Path.through([a, b])
    lateral_m = 700.0 if straight_m > INTERCITY_M else min(250.0, straight_m * 0.15)
    n = max(2, int(straight_m // WAYPOINT_SPACING_M) + 1)
    s = np.linspace(0.0, 1.0, n + 1)
    # a sum of two sine modes: smooth, zero at both ends, at most lateral_m
    amp = rng.uniform(-1, 1, size=2)
    side = (amp[0] * np.sin(np.pi * s) + 0.5 * amp[1] * np.sin(2 * np.pi * s)) / 1.5 * lateral_m
    dn = (b[0] - a[0]) * M_PER_DEG_LAT
    de = (b[1] - a[1]) * M_PER_DEG_LON
    norm = math.hypot(dn, de)
    perp_n, perp_e = -de / norm, dn / norm
    points = [offset(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, side_m * perp_n, side_m * perp_e)
              for t, side_m in zip(s, side, strict=True)]
    points[0], points[-1] = a, b
    return Path.through(points)


@dataclass(frozen=True)
class Organisation:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


@dataclass(frozen=True)
class Site:
    """A designated parking site: its id, polygon, and the depot it belongs to."""

    id: int
    name: str
    depot_id: int | None
    geometry: BaseGeometry


@dataclass(frozen=True)
class Venue:
    """A forbidden venue zone (KTV, club, scenic spot...)."""

    id: int
    name: str
    geometry: BaseGeometry

    @property
    def centre(self) -> tuple[float, float]:
        c = self.geometry.centroid
        return c.y, c.x


@dataclass(frozen=True)
class Car:
    """A vehicle with a GPS terminal, and where it parks (a spot inside its site)."""

    id: int
    plate: str
    device_id: str
    org_id: int
    vehicle_class: str
    seats: int
    energy: str
    ownership: str
    status: str
    depot_id: int | None
    site_id: int | None
    home: tuple[float, float]

    @property
    def is_nev(self) -> bool:
        return self.energy in ("bev", "phev")


@dataclass
class City:
    """The platform's fleet and places, plus synthesised office locations."""

    organisations: dict[int, Organisation]
    depots: dict[int, tuple[float, float]]
    sites: dict[int, Site]
    venues: list[Venue]
    allowed_area: BaseGeometry | None
    cars: dict[int, Car]
    offices: dict[int, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_api(cls, organisations: list[dict[str, Any]], depots: list[dict[str, Any]],
                 sites: list[dict[str, Any]], zones: list[dict[str, Any]],
                 vehicles: list[dict[str, Any]]) -> City:
        """Build the city from the platform's list endpoints (items as the API returns them)."""
        orgs = {o["id"]: Organisation(o["id"], o["code"], o["name"], o["level"], o.get("parent_id"))
                for o in organisations}
        depot_at = {d["id"]: (d["lat"], d["lon"]) for d in depots}
        site_rows = {s["id"]: Site(s["id"], s["name"], s.get("depot_id"), shape(s["geometry"])) for s in sites}
        venues = [Venue(z["id"], z["name"], shape(z["geometry"])) for z in zones if z["kind"] == "forbidden_venue"]
        areas = [shape(z["geometry"]) for z in zones if z["kind"] == "allowed_area"]
        allowed = shapely.union_all(areas) if areas else None
        cars: dict[int, Car] = {}
        for v in vehicles:
            if not v.get("gps_device_id"):
                continue
            site = site_rows.get(v.get("parking_site_id") or -1)
            depot = depot_at.get(v.get("home_depot_id") or -1)
            home = _spot_in(site.geometry, v["id"]) if site else depot
            if home is None:
                continue
            cars[v["id"]] = Car(v["id"], v["plate"], v["gps_device_id"], v["org_id"], v["vehicle_class"],
                                v["seats"], v["energy"], v["ownership"], v["status"], v.get("home_depot_id"),
                                v.get("parking_site_id"), home)
        city = cls(orgs, depot_at, site_rows, venues, allowed, cars)
        city.offices = city._place_offices(depots)
        return city

    def _place_offices(self, depots: list[dict[str, Any]]) -> dict[int, tuple[float, float]]:
        """Each agency's office: 0.3-4 km from the depot of its parent's vehicle pool (the
        city's or county's service centre, or the township's own depot)."""
        depot_of_org = {d["org_id"]: (d["lat"], d["lon"]) for d in depots}
        by_code = {o.code: o for o in self.organisations.values()}
        offices: dict[int, tuple[float, float]] = {}
        for org in self.organisations.values():
            if org.level != "agency" or org.parent_id is None:
                continue
            parent = self.organisations.get(org.parent_id)
            if parent is None:
                continue
            pool = by_code.get(f"{parent.code}-A01")
            anchor = depot_of_org.get(parent.id) or (depot_of_org.get(pool.id) if pool else None)
            if anchor is None:
                continue
            rng = stable_rng("office", org.code)
            distance, bearing = rng.uniform(300, 4_000), rng.uniform(0, 2 * math.pi)
            offices[org.id] = offset(*anchor, distance * math.cos(bearing), distance * math.sin(bearing))
        return offices

    def inside(self, lat: float, lon: float) -> bool:
        """Whether the point lies inside the allowed area (the city boundary)."""
        return self.allowed_area is None or bool(self.allowed_area.contains(Point(lon, lat)))

    def clear_of_venues(self, lat: float, lon: float, margin_m: float = 400.0) -> bool:
        """Whether the point keeps ``margin_m`` away from every forbidden venue."""
        return all(haversine_m(lat, lon, *v.centre) > margin_m + 300 for v in self.venues)

    def spot_near(self, centre: tuple[float, float], rng: np.random.Generator, min_m: float, max_m: float,
                  tries: int) -> tuple[float, float] | None:
        """A random point ``min_m``..``max_m`` from ``centre``, inside the city and clear of
        venues, or None when ``tries`` draws find none."""
        for _ in range(tries):
            distance, bearing = rng.uniform(min_m, max_m), rng.uniform(0, 2 * math.pi)
            point = offset(*centre, distance * math.cos(bearing), distance * math.sin(bearing))
            if self.inside(*point) and self.clear_of_venues(*point):
                return point
        return None

    def level_of(self, org_id: int) -> str:
        """``city``, ``county`` or ``township``: the level of the agency's parent."""
        org = self.organisations[org_id]
        parent = self.organisations.get(org.parent_id or -1)
        return parent.level if parent else org.level


def _spot_in(site: BaseGeometry, vehicle_id: int) -> tuple[float, float]:
    """A parking spot inside the site's middle half, stable for the vehicle."""
    rng = stable_rng("spot", vehicle_id)
    minx, miny, maxx, maxy = site.bounds
    x = minx + (maxx - minx) * rng.uniform(0.25, 0.75)
    y = miny + (maxy - miny) * rng.uniform(0.25, 0.75)
    return y, x


class Roads:
    """Road paths between points, the same path for the same pair within a run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, a: tuple[float, float], b: tuple[float, float]) -> Path:
        key = (self.seed, round(a[0], 5), round(a[1], 5), round(b[0], 5), round(b[1], 5))
        return road_path(a, b, stable_rng("road", *key))

    def via(self, points: list[tuple[float, float]]) -> Path:
        """A path through several points in order (each stretch a road path)."""
        lat: list[float] = []
        lon: list[float] = []
        for a, b in zip(points, points[1:], strict=False):
            part = self(a, b)
            start = 1 if lat else 0
            lat += list(part.lat[start:])
            lon += list(part.lon[start:])
        return Path.through(list(zip(lat, lon, strict=True)))
