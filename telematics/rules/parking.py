"""Improper parking (违规停放): overnight away from the designated site, and stops inside
forbidden venues."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree

from telematics.motion import LocalFrame, Motion, Track
from telematics.motion.intervals import covered_s
from telematics.rules.context import Place, Thresholds, VehicleContext
from telematics.rules.findings import (
    FORBIDDEN_ZONE,
    OFF_SITE_OVERNIGHT,
    Finding,
    position_range,
    rounded,
)


def at_site(lat: np.ndarray, lon: np.ndarray, site: Place | None, tolerance_m: float) -> np.ndarray:
    """Whether each point lies within ``tolerance_m`` of the designated parking site."""
    if site is None:
        return np.zeros(len(lat), dtype=bool)
    frame = LocalFrame.around(np.asarray(lat))
    site_xy = shapely.transform(site.geometry, lambda c: np.column_stack(frame.xy(c[:, 1], c[:, 0])))
    x, y = frame.xy(lat, lon)
    return shapely.distance(shapely.points(x, y), site_xy) <= tolerance_m


def night_intervals(ctx: VehicleContext, th: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """The nights around the day table's days (``night_start`` to the next ``night_end``),
    sorted and disjoint, epoch s."""
    midnight = ctx.days.midnight_s
    if th.night_end_s > th.night_start_s:  # a "night" inside one day
        return midnight[:-1] + th.night_start_s, midnight[:-1] + th.night_end_s
    before = midnight[0] - 86400.0  # the night that began the day before the table
    starts = np.concatenate(([before], midnight[:-1])) + th.night_start_s
    return starts, midnight + th.night_end_s


def off_site_overnight(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """A stop that overlaps the night by at least ``overnight_min_s`` away from the vehicle's
    designated parking site (all stops count as away when it has none)."""
    if motion.stop_count == 0:
        return []
    first, last = motion.stop_first, motion.stop_last
    ns, ne = night_intervals(ctx, th)
    night_s = covered_s(track.t_s[first], track.t_s[last], ns, ne)
    away = ~at_site(motion.stop_lat, motion.stop_lon, ctx.site, th.site_tolerance_m)
    hit = np.flatnonzero((night_s >= th.overnight_min_s) & away)
    names = ("night_start_s", "night_end_s", "overnight_min_s", "site_tolerance_m")
    site = {"id": ctx.site.id, "name": ctx.site.name} if ctx.site else None
    return [
        Finding(OFF_SITE_OVERNIGHT, float(track.t_s[first[k]]), float(track.t_s[last[k]]),
                rounded(motion.stop_lat[k], 6), rounded(motion.stop_lon[k], 6), "warning",
                {**position_range(track, first[k], last[k]), "night_s": rounded(night_s[k]),
                 "designated_site": site}, th.as_evidence(*names), stop_index=int(k))
        for k in hit
    ]


def forbidden_zone(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """A stop of at least ``forbidden_stop_min_s`` whose centre lies inside a forbidden venue
    zone, at any hour; a shorter stop, or one beside the zone, is no violation."""
    if motion.stop_count == 0 or not ctx.forbidden_zones:
        return []
    first, last = motion.stop_first, motion.stop_last
    duration = track.t_s[last] - track.t_s[first]
    long_enough = np.flatnonzero(duration >= th.forbidden_stop_min_s)
    if len(long_enough) == 0:
        return []
    tree = STRtree([z.geometry for z in ctx.forbidden_zones])
    points = shapely.points(motion.stop_lon[long_enough], motion.stop_lat[long_enough])
    stop_at, zone_at = tree.query(points, predicate="intersects")
    names = ("forbidden_stop_min_s", "stop_radius_m")
    findings: dict[int, Finding] = {}
    for s, z in zip(long_enough[stop_at], zone_at, strict=True):  # over matched stops only
        zone = ctx.forbidden_zones[z]
        if s in findings:
            findings[s].evidence["zones"].append({"id": zone.id, "name": zone.name})
            continue
        findings[s] = Finding(
            FORBIDDEN_ZONE, float(track.t_s[first[s]]), float(track.t_s[last[s]]),
            rounded(motion.stop_lat[s], 6), rounded(motion.stop_lon[s], 6), "critical",
            {**position_range(track, first[s], last[s]), "duration_s": rounded(duration[s]),
             "zones": [{"id": zone.id, "name": zone.name}]}, th.as_evidence(*names),
            stop_index=int(s))
    return [findings[s] for s in sorted(findings)]
