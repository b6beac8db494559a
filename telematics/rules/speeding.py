"""Speeding: above the speed zone's limit (the lowest of overlapping zones) or the default
limit, for at least ``speeding_min_s``."""

from __future__ import annotations

import numpy as np
import shapely

from telematics.motion import Motion, Track
from telematics.motion.intervals import runs
from telematics.rules.context import Thresholds, VehicleContext
from telematics.rules.findings import SPEEDING, Finding, position_range, rounded

#: At this multiple of the limit a speeding alert is critical.
CRITICAL_FACTOR = 1.5


def speed_limits_kmh(track: Track, ctx: VehicleContext, default_kmh: float) -> np.ndarray:
    """The limit in force at each fix, km/h (the lowest of the zones it lies in)."""
    limit = np.full(len(track), default_kmh)
    if not ctx.speed_zones or len(track) == 0:
        return limit
    fast = np.flatnonzero(track.speed_kmh > min(z.limit_kmh for z in ctx.speed_zones))
    lon, lat = track.lon[fast], track.lat[fast]
    for zone in ctx.speed_zones:  # over zones (tens), each vectorised over the fixes
        x0, y0, x1, y1 = zone.geometry.bounds
        near = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        inside = near[shapely.contains_xy(zone.geometry, lon[near], lat[near])]
        np.minimum.at(limit, fast[inside], zone.limit_kmh)
    return limit


def speeding(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """Runs of fixes above the limit lasting at least ``speeding_min_s``."""
    if len(track) == 0:
        return []
    limit = speed_limits_kmh(track, ctx, th.speed_limit_kmh)
    run_first, run_last = runs(track.speed_kmh > limit)
    duration = track.t_s[run_last] - track.t_s[run_first]
    hit = duration >= th.speeding_min_s
    first, last, duration = run_first[hit], run_last[hit], duration[hit]
    if len(first) == 0:
        return []
    bounds = np.ravel(np.column_stack((first, last + 1)))
    top = np.maximum.reduceat(np.append(track.speed_kmh, 0.0), bounds)[::2]
    lowest = np.minimum.reduceat(np.append(limit, np.inf), bounds)[::2]
    critical = top >= CRITICAL_FACTOR * lowest
    thresholds = th.as_evidence("speed_limit_kmh", "speeding_min_s")
    return [
        Finding(SPEEDING, float(track.t_s[f]), float(track.t_s[la]), float(track.lat[f]),
                float(track.lon[f]), "critical" if c else "warning",
                {**position_range(track, f, la), "max_speed_kmh": rounded(v, 1),
                 "limit_kmh": rounded(lim, 1), "duration_s": rounded(d)}, dict(thresholds))
        for f, la, d, v, lim, c in zip(first, last, duration, top, lowest, critical, strict=True)
    ]
