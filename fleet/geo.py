"""Geometry helpers: GeoJSON validation and distances, in WGS-84 degrees and metres."""

from __future__ import annotations

from typing import Any

from pyproj import Geod
from shapely.geometry import shape
from shapely.validation import explain_validity

WGS84 = Geod(ellps="WGS84")
POLYGON_TYPES = ("Polygon", "MultiPolygon")


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


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance between two WGS-84 points on the ellipsoid, metres."""
    return float(WGS84.inv(lon1, lat1, lon2, lat2)[2])
