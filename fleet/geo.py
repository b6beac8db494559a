"""Geometry helpers: GeoJSON validation and distances, in WGS-84 degrees and metres.

Distances are great circles on the mean Earth sphere: within a city they differ from the
ellipsoidal geodesic by well under 0.5 %, and one vectorised formula serves single points
and whole tracks alike.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape
from shapely.validation import explain_validity

POLYGON_TYPES = ("Polygon", "MultiPolygon")
#: Mean Earth radius (IUGG R1), metres: the sphere of every distance here.
EARTH_RADIUS_M = 6_371_008.8
#: Metres per degree of latitude on that sphere (about 111,195 m); a degree of longitude is
#: this times the cosine of the latitude.
M_PER_DEG_LAT = EARTH_RADIUS_M * math.pi / 180


def validate_polygon_geojson(geometry: dict[str, Any]) -> dict[str, Any]:
    """Check that ``geometry`` is a valid GeoJSON Polygon/MultiPolygon in WGS-84 bounds.

    Returns the geometry unchanged; raises ``ValueError`` naming the rule that failed.
    """
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES:
        raise ValueError("geometry: must be a GeoJSON Polygon or MultiPolygon object")
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise ValueError(f"geometry: malformed coordinates ({exc})") from exc
    if geom.is_empty:
        raise ValueError("geometry: polygon is empty")
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise ValueError("geometry: coordinates must be [lon, lat] within WGS-84 bounds")
    if not geom.is_valid:
        raise ValueError(f"geometry: invalid polygon ({explain_validity(geom)})")
    return geometry


@overload
def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float: ...
@overload
def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]: ...
def haversine_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> float | NDArray[np.float64]:
    """Great-circle distance between paired points (degrees), metres.

    Takes floats or numpy arrays (element-wise, broadcast); floats give a float.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.subtract(lon2, lon1))
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def m_per_deg_lon(lat: float) -> float:
    """Metres per degree of longitude at latitude ``lat`` (degrees)."""
    return M_PER_DEG_LAT * math.cos(math.radians(lat))


#: The distance between two points, metres: the same function under its general name.
distance_m = haversine_m
