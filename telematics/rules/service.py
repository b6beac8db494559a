"""Orders as the car actually served them.

A car that runs late on an earlier trip reaches its next pickup, and the destination, after
the planned times; judging its ride by the plan alone would call the late part of an official
trip private use. So each order is matched to the track: when the car is seen within
``order_match_radius_m`` of the pickup between the planned pickup (less the grace before) and
the planned drop-off, the ride began there; the order then runs until the car is first seen
within that radius of the destination (back at the pickup, for a wait-and-return trip),
at most ``order_overrun_max_s`` past the planned drop-off. An order the track never shows
served keeps its planned span.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from telematics.rules.context import Orders, Thresholds
from telematics.rules.track import Track, haversine_m


def _first_near(track: Track, lo: int, hi: int, lat: float, lon: float, radius_m: float) -> int | None:
    """Index of the first fix in [lo, hi) within ``radius_m`` of (lat, lon), else None."""
    if hi <= lo:
        return None
    near = haversine_m(track.lat[lo:hi], track.lon[lo:hi], np.full(hi - lo, lat), np.full(hi - lo, lon)) <= radius_m
    hit = np.flatnonzero(near)
    return lo + int(hit[0]) if len(hit) else None


def as_served(track: Track, orders: Orders, th: Thresholds) -> Orders:
    """``orders`` with each drop-off moved to the observed arrival when later than planned,
    and ``ride_start_s`` set to the observed pickup (see the module text)."""
    if len(orders) == 0 or len(track) == 0:
        return orders
    t = track.t_s
    end_s = orders.end_s.copy()
    ride_start_s = orders.start_s.copy()
    radius = th.order_match_radius_m
    for k in range(len(orders)):  # over the vehicle's orders, not over fixes
        lo, hi = np.searchsorted(t, [orders.start_s[k] - th.order_grace_before_s, orders.end_s[k]], side="right")
        pickup = _first_near(track, int(lo), int(hi), orders.origin_lat[k], orders.origin_lon[k], radius)
        if pickup is None:
            continue
        ride_start_s[k] = max(orders.start_s[k], t[pickup])
        limit = int(np.searchsorted(t, orders.end_s[k] + th.order_overrun_max_s, side="right"))
        arrival = _first_near(track, pickup, limit, orders.destination_lat[k], orders.destination_lon[k], radius)
        if arrival is not None and orders.round_trip[k]:
            arrival = _first_near(track, arrival, limit, orders.origin_lat[k], orders.origin_lon[k], radius)
        if arrival is not None:
            end_s[k] = max(end_s[k], t[arrival])
    return replace(orders, end_s=end_s, ride_start_s=ride_start_s)
