"""A parked car's ongoing stop, extended by its newest fixes without reloading the stop.

A car parked all night sends thousands of fixes; judging each new minute by reloading the
whole stop costs time in proportion to how long it has stood. When the newest fixes only
lengthen the stop the car was already in, the stop is instead judged from its stored summary
(first fix, fix count and coordinate sums, which the database adds up) together with the
newest fixes: the result is what a run over the whole stop gives.

The tail is the stored fixes from a cut inside the stop to the newest one. It *only extends
the stop* when the motion split finds the whole tail standing, no fix carries a tamper alarm,
and the rules find nothing in it but the parking judgement of that one stop and silences
between its fixes. Anything else (the car moving off, speeding or leaving the area while
parked, an alarm) is judged by the full re-evaluation.
"""

from __future__ import annotations

import numpy as np

from telematics.motion import Motion, Track
from telematics.rules.context import Thresholds, VehicleContext
from telematics.rules.engine import judged
from telematics.rules.findings import (
    DEVICE_OFFLINE,
    FORBIDDEN_ZONE,
    OFF_SITE_OVERNIGHT,
    Finding,
)
from telematics.rules.parking import forbidden_zone, off_site_overnight

#: Kinds judged on the stop as a whole, recomputed from its summary.
STOP_KINDS = (OFF_SITE_OVERNIGHT, FORBIDDEN_ZONE)


def only_extends_stop(tail: Track, motion: Motion, findings: list[Finding]) -> bool:
    """Whether the tail (its motion split and findings) is one standing run that only
    lengthens the stop it starts in (see the module text)."""
    if len(tail) < 2 or not motion.in_stop.all() or motion.stop_count != 1:
        return False
    if tail.power_cut.any() or tail.antenna_cut.any():
        return False
    return all((f.kind in STOP_KINDS and f.stop_index == 0)
               or (f.kind == DEVICE_OFFLINE and f.evidence.get("reason") == "silent")
               for f in findings)


def summary_findings(first_position_id: int, last_position_id: int, start_s: float, end_s: float,
                     position_count: int, lat: float, lon: float, ctx: VehicleContext,
                     th: Thresholds) -> list[Finding]:
    """Parking findings of a whole stop from its summary: fixes ``first_position_id`` to
    ``last_position_id`` from ``start_s`` to ``end_s`` (epoch s), ``position_count`` of them,
    centred on ``lat``/``lon`` (degrees). Their stop index is 0."""
    track = Track(np.array([first_position_id, last_position_id], dtype=np.int64),
                  np.array([start_s, end_s]), np.array([lat, lat]), np.array([lon, lon]),
                  np.zeros(2), np.zeros(2, dtype=bool))
    zero, one = np.array([0]), np.array([1])
    motion = Motion(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), zero, one,
                    np.array([lat]), np.array([lon]), np.ones(2, dtype=bool))
    findings = [f for rule in (off_site_overnight, forbidden_zone) for f in rule(track, motion, ctx, th)
                if judged(f, ctx)]
    for finding in findings:
        finding.evidence["position_count"] = position_count
    return findings
