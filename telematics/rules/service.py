"""Orders as the car actually served them.

A car that runs late on an earlier trip reaches its next pickup, and the destination, after
the planned times; and a car sent to a county drives there empty and back empty. Judging
its movement by the planned ride alone would call the late part of an official trip, and
those empty legs, private use. So each order is matched to the track:

* the ride: when the car is seen within ``order_match_radius_m`` of the pickup between the
  planned pickup (less the grace before) and the planned drop-off, it reached the pickup;
  the ride ends when the car is first seen after that within that radius of the destination
  (back at the pickup, for a wait-and-return trip), at most ``order_overrun_max_s`` past the
  planned drop-off, and the order runs until then or the planned drop-off, whichever is later
  (a car that arrives early and drives on is judged on its ride, not on what it did next).
  The ride begins at the car's last visit to the pickup before it reaches the destination: a
  car running late that passes the pickup on its previous ride picks up on its way back;
* the empty leg there: the drive that reaches the pickup, when it set off from the
  designated parking site or from another order's destination;
* the empty leg back: the first drive after the drop-off, when it ends at the designated
  parking site and sets off within the grace after the drop-off.

Each leg is at most ``order_overrun_max_s`` long. An order the track never shows served
keeps its planned span.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fleet.geo import haversine_m
from telematics.motion import Motion, Track
from telematics.rules.context import Orders, Place, Thresholds
from telematics.rules.parking import at_site


def _near(track: Track, lo: int, hi: int, lat: float, lon: float, radius_m: float) -> np.ndarray:
    """Whether each fix in [lo, hi) lies within ``radius_m`` of (lat, lon)."""
    if hi <= lo:
        return np.zeros(0, dtype=bool)
    return haversine_m(track.lat[lo:hi], track.lon[lo:hi], np.full(hi - lo, lat), np.full(hi - lo, lon)) <= radius_m


def _first_near(track: Track, lo: int, hi: int, lat: float, lon: float, radius_m: float) -> int | None:
    """Index of the first fix in [lo, hi) within ``radius_m`` of (lat, lon), else None."""
    hit = np.flatnonzero(_near(track, lo, hi, lat, lon, radius_m))
    return lo + int(hit[0]) if len(hit) else None


def _last_visit(track: Track, lo: int, hi: int, lat: float, lon: float, radius_m: float) -> int:
    """First fix of the last run of fixes within ``radius_m`` of (lat, lon) in [lo, hi);
    fix ``lo`` must be one of them."""
    near = _near(track, lo, hi, lat, lon, radius_m)
    away = np.flatnonzero(~near[:int(np.flatnonzero(near)[-1]) + 1])
    return lo + (int(away[-1]) + 1 if len(away) else 0)


class _Legs:
    """The track's drives and the places an empty leg may start from or end at."""

    def __init__(self, track: Track, motion: Motion, orders: Orders, site: Place | None, th: Thresholds) -> None:
        self.track, self.motion, self.orders, self.site, self.th = track, motion, orders, site, th

    def _stop_before(self, first: int) -> tuple[float, float] | None:
        """Where the car stood (the stop's centre) before the drive starting at fix ``first``."""
        m = self.motion
        j = int(np.searchsorted(m.stop_last, first, side="right")) - 1  # a stop may end on the drive's first fix
        return (float(m.stop_lat[j]), float(m.stop_lon[j])) if j >= 0 else None

    def _stop_after(self, last: int) -> tuple[float, float] | None:
        """Where the car stood (the stop's centre) after the drive ending at fix ``last``."""
        m = self.motion
        j = int(np.searchsorted(m.stop_first, last, side="left"))  # a stop may begin on the drive's last fix
        return (float(m.stop_lat[j]), float(m.stop_lon[j])) if j < m.stop_count else None

    def _at_site(self, place: tuple[float, float] | None) -> bool:
        return place is not None and bool(
            at_site(np.array([place[0]]), np.array([place[1]]), self.site, self.th.site_tolerance_m)[0])

    def _at_other_destination(self, place: tuple[float, float] | None, k: int) -> bool:
        if place is None:
            return False
        o = self.orders
        others = np.arange(len(o)) != k
        d = haversine_m(o.destination_lat[others], o.destination_lon[others],
                        np.full(int(others.sum()), place[0]), np.full(int(others.sum()), place[1]))
        return bool((d <= self.th.order_match_radius_m).any())

    def departure(self, pickup: int, k: int) -> float | None:
        """When the drive reaching fix ``pickup`` set off, if from the site or another
        order's destination (where the car stood before it) and not too long before."""
        m, t = self.motion, self.track.t_s
        j = int(np.searchsorted(m.trip_first, pickup, side="right")) - 1
        if j < 0 or m.trip_last[j] < pickup or m.trip_first[j] == pickup:
            return None
        first = int(m.trip_first[j])
        if t[pickup] - t[first] > self.th.order_overrun_max_s:
            return None
        stood = self._stop_before(first)
        return float(t[first]) if self._at_site(stood) or self._at_other_destination(stood, k) else None

    def return_to_site(self, arrival: int) -> float | None:
        """When the car, having reached the destination at fix ``arrival``, got back to the
        site: by the drive under way, or by the next drive if it set off within the grace after
        the arrival; not when that drive was too long."""
        m, t, th = self.motion, self.track.t_s, self.th
        j = int(np.searchsorted(m.trip_last, arrival, side="left"))  # the drive under way, or the next
        for candidate in (j, j + 1):
            if candidate >= m.trip_count:
                return None
            first, last = int(m.trip_first[candidate]), int(m.trip_last[candidate])
            if t[max(first, arrival)] - t[arrival] > th.order_grace_after_s:
                return None
            if self._at_site(self._stop_after(last)):
                return float(t[last]) if t[last] - t[max(first, arrival)] <= th.order_overrun_max_s else None
        return None


def as_served(track: Track, motion: Motion, orders: Orders, site: Place | None, th: Thresholds) -> Orders:
    """``orders`` with each span stretched over what the track shows of its service, and
    ``ride_start_s``/``ride_end_s`` set to the observed pickup and arrival (see the module
    text)."""
    if len(orders) == 0 or len(track) == 0:
        return orders
    t = track.t_s
    start_s, end_s = orders.start_s.copy(), orders.end_s.copy()
    ride_start_s, ride_end_s = orders.start_s.copy(), orders.end_s.copy()
    radius = th.order_match_radius_m
    legs = _Legs(track, motion, orders, site, th)
    for k in range(len(orders)):  # over the vehicle's orders, not over fixes
        lo, hi = np.searchsorted(t, [orders.start_s[k] - th.order_grace_before_s, orders.end_s[k]], side="right")
        pickup = _first_near(track, int(lo), int(hi), orders.origin_lat[k], orders.origin_lon[k], radius)
        if pickup is None:
            continue
        limit = int(np.searchsorted(t, orders.end_s[k] + th.order_overrun_max_s, side="right"))
        arrival = _first_near(track, pickup, limit, orders.destination_lat[k], orders.destination_lon[k], radius)
        if arrival is not None:
            pickup = _last_visit(track, pickup, arrival, orders.origin_lat[k], orders.origin_lon[k], radius)
        ride_start_s[k] = max(orders.start_s[k], t[pickup])
        set_off = legs.departure(pickup, k)
        if set_off is not None:
            start_s[k] = min(start_s[k], set_off)
        if arrival is not None and orders.round_trip[k]:
            arrival = _first_near(track, arrival, limit, orders.origin_lat[k], orders.origin_lon[k], radius)
        if arrival is None:
            continue
        ride_end_s[k] = t[arrival]
        end_s[k] = max(end_s[k], t[arrival])
        home = legs.return_to_site(arrival)
        if home is not None:
            end_s[k] = max(end_s[k], home)
    return replace(orders, start_s=start_s, end_s=end_s, ride_start_s=ride_start_s, ride_end_s=ride_end_s)
