"""Runs every rule on one vehicle and merges what they find."""

from __future__ import annotations

from dataclasses import replace

from telematics.motion import Motion, Track
from telematics.rules.context import Thresholds, VehicleContext
from telematics.rules.device import offline
from telematics.rules.findings import Finding
from telematics.rules.parking import forbidden_zone, off_site_overnight
from telematics.rules.private_use import (
    no_order,
    off_hours,
    out_of_area,
    route_deviation,
)
from telematics.rules.service import as_served
from telematics.rules.speeding import speeding

RULES = (no_order, off_hours, out_of_area, route_deviation, off_site_overnight, forbidden_zone,
         offline, speeding)


def judged(finding: Finding, ctx: VehicleContext) -> bool:
    """Whether the finding starts where the vehicle is judged: anywhere for a pool car, inside
    one of its hire windows for a leased car."""
    return ctx.hired is None or any(start <= finding.start_s < end for start, end in ctx.hired)


def evaluate(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """All findings for one vehicle, one per kind and start time (findings of one kind that
    start together are merged), leaving out what falls outside a leased car's hire windows.
    Orders are judged as the track shows them served (``telematics.rules.service``)."""
    ctx = replace(ctx, orders=as_served(track, motion, ctx.orders, ctx.site, th))
    merged: dict[tuple[str, float], Finding] = {}
    for rule in RULES:
        for finding in rule(track, motion, ctx, th):
            if not judged(finding, ctx):
                continue
            key = (finding.kind, finding.start_s)
            if key in merged:
                kept = merged[key]
                kept.end_s = max(kept.end_s, finding.end_s)
                kept.extra.append(finding.evidence)
                if finding.severity == "critical":
                    kept.severity = "critical"
            else:
                merged[key] = finding
    for finding in merged.values():
        if finding.extra:
            finding.evidence = {**finding.evidence, "also": finding.extra}
    return sorted(merged.values(), key=lambda f: (f.start_s, f.kind))
