"""What a rule reports: a finding, turned into an Alert row by the service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleet.alert_kinds import (  # noqa: F401  (the rules and their callers import the kinds from here)
    ALERT_KINDS,
    DEVICE_OFFLINE,
    FORBIDDEN_ZONE,
    NO_ORDER,
    OFF_HOURS,
    OFF_SITE_OVERNIGHT,
    OUT_OF_AREA,
    ROUTE_DEVIATION,
    SPEEDING,
)
from telematics.motion import Track

#: 2: orders judged as served (rules.service); 3: a ride's driven distance leaves out standing
#: jitter; 4: an excess distance must also reach route_excess_min_m, a ride begins at the last
#: visit to the pickup before the destination, and two dwells that only touch are two stops.
RULE_VERSION = "telematics-rules/4"


@dataclass
class Finding:
    """One alert's worth: times in epoch seconds (UTC), location in degrees."""

    kind: str
    start_s: float
    end_s: float
    lat: float
    lon: float
    severity: str
    evidence: dict[str, Any]
    thresholds: dict[str, float]
    trip_index: int | None = None
    stop_index: int | None = None
    extra: list[dict[str, Any]] = field(default_factory=list)


def position_range(track: Track, first: int, last: int) -> dict[str, int]:
    """Evidence naming the fixes from index ``first`` to ``last`` (inclusive)."""
    return {"first_position_id": int(track.position_id[first]),
            "last_position_id": int(track.position_id[last]),
            "position_count": int(last - first + 1)}


def rounded(value: float, digits: int = 3) -> float:
    """A figure for evidence, rounded so that recomputation gives the identical value."""
    return round(float(value), digits)
