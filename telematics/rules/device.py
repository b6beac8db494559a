"""Device faults: a terminal silent for too long while not parked at its site, and tamper
alarms (power or antenna cut)."""

from __future__ import annotations

import numpy as np

from telematics.motion import Motion, Track
from telematics.motion.intervals import runs
from telematics.rules.context import Place, Thresholds, VehicleContext
from telematics.rules.findings import DEVICE_OFFLINE, Finding, position_range, rounded
from telematics.rules.parking import at_site


def offline(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """A silence longer than ``offline_after_s`` between two fixes, unless both lie at the
    designated parking site (a parked car's terminal may sleep); and every run of fixes with a
    power-cut or antenna-cut alarm (tamper suspicion, critical)."""
    findings: list[Finding] = []
    n = len(track)
    if n >= 2:
        gap = np.diff(track.t_s)
        long_gap = np.flatnonzero(gap > th.offline_after_s)
        if len(long_gap):
            ends = long_gap + 1
            home = at_site(track.lat[long_gap], track.lon[long_gap], ctx.site, th.site_tolerance_m) & \
                at_site(track.lat[ends], track.lon[ends], ctx.site, th.site_tolerance_m)
            names = ("offline_after_s", "site_tolerance_m")
            findings += [
                Finding(DEVICE_OFFLINE, float(track.t_s[i]), float(track.t_s[i + 1]),
                        float(track.lat[i]), float(track.lon[i]), "warning",
                        {**position_range(track, i, i + 1), "reason": "silent",
                         "silent_s": rounded(gap[i])}, th.as_evidence(*names))
                for i in long_gap[~home]
            ]
    tamper = track.power_cut | track.antenna_cut
    for f, la in zip(*runs(tamper), strict=True):  # over alarm runs, not over fixes
        flags = [name for name in ("power_cut", "antenna_cut")
                 if getattr(track, name)[f:la + 1].any()]
        findings.append(Finding(
            DEVICE_OFFLINE, float(track.t_s[f]), float(track.t_s[la]), float(track.lat[f]),
            float(track.lon[f]), "critical",
            {**position_range(track, f, la), "reason": "tamper", "alarms": flags}, {}))
    return findings


def still_silent(last_s: float, lat: float, lon: float, position_id: int, clock_s: float,
                 site: Place | None, th: Thresholds) -> Finding | None:
    """A terminal whose newest fix (at ``last_s``, epoch s) is more than ``offline_after_s``
    older than the fleet's clock ``clock_s`` while that fix lies away from the designated site:
    an open silence, starting at that fix (the same identity as the gap finding that
    ``offline`` makes once the terminal reports again, so that alert is then closed in place)."""
    silent_s = clock_s - last_s
    if silent_s <= th.offline_after_s or at_site(np.array([lat]), np.array([lon]), site, th.site_tolerance_m)[0]:
        return None
    return Finding(DEVICE_OFFLINE, last_s, last_s, lat, lon, "warning",
                   {"first_position_id": position_id, "last_position_id": position_id, "position_count": 1,
                    "reason": "silent", "ongoing": True, "silent_s_at_detection": rounded(silent_s)},
                   th.as_evidence("offline_after_s", "site_tolerance_m"))
