"""Speeding: above the speed zone's limit (the lowest of overlapping zones) or the default
limit, for at least ``speeding_min_s``."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree

from telematics.motion import Motion
from telematics.rules.context import Thresholds, VehicleContext
from telematics.rules.findings import SPEEDING, Finding, position_range, rounded
from telematics.rules.intervals import runs
from telematics.rules.track import Track

#: At this multiple of the limit a speeding alert is critical.
CRITICAL_FACTOR = 1.5


def speed_limits_kmh(track: Track, ctx: VehicleContext, default_kmh: float) -> np.ndarray:
    """The limit in force at each fix, km/h."""
    limit = np.full(len(track), default_kmh)
    if ctx.speed_zones and len(track):
        tree = STRtree([z.geometry for z in ctx.speed_zones])
        fast = np.flatnonzero(track.speed_kmh > min(z.limit_kmh for z in ctx.speed_zones))
        point_at, zone_at = tree.query(shapely.points(track.lon[fast], track.lat[fast]),
                                       predicate="intersects")
        zone_limit = np.array([z.limit_kmh for z in ctx.speed_zones])
        np.minimum.at(limit, fast[point_at], zone_limit[zone_at])
    return limit


def speeding(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """Runs of fixes above the limit lasting at least ``speeding_min_s``."""
    if len(track) == 0:
        return []
    limit = speed_limits_kmh(track, ctx, th.speed_limit_kmh)
    over = track.speed_kmh > limit
    run_first, run_last = runs(over)
    duration = track.t_s[run_last] - track.t_s[run_first]
    hit = duration >= th.speeding_min_s
    names = ("speed_limit_kmh", "speeding_min_s")
    findings = []
    for f, la, d in zip(run_first[hit], run_last[hit], duration[hit], strict=True):
        top = float(track.speed_kmh[f:la + 1].max())
        lim = float(limit[f:la + 1].min())
        findings.append(Finding(
            SPEEDING, float(track.t_s[f]), float(track.t_s[la]), float(track.lat[f]),
            float(track.lon[f]), "critical" if top >= CRITICAL_FACTOR * lim else "warning",
            {**position_range(track, f, la), "max_speed_kmh": rounded(top, 1),
             "limit_kmh": rounded(lim, 1), "duration_s": rounded(d)}, th.as_evidence(*names)))
    return findings
