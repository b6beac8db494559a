"""Private use of an official car (公车私用): trips without an order, outside working time,
outside the allowed area, or off the ordered route."""

from __future__ import annotations

import numpy as np
import shapely

from fleet.geo import haversine_m
from telematics.motion import LocalFrame, Motion, Track
from telematics.motion.intervals import merge_intervals, runs, uncovered_span
from telematics.rules.context import Orders, Thresholds, VehicleContext
from telematics.rules.findings import (
    NO_ORDER,
    OFF_HOURS,
    OUT_OF_AREA,
    ROUTE_DEVIATION,
    Finding,
    position_range,
    rounded,
)


def _significant_trips(motion: Motion, th: Thresholds) -> np.ndarray:
    """Indices of trips long enough to be movement (not a car repositioned in its yard)."""
    return np.flatnonzero(motion.trip_distance_m >= th.stop_radius_m)


def no_order(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """A trip (or part of one) outside every assigned, in-progress or completed order of the
    vehicle, widened by the grace windows, for at least ``private_use_min_s``."""
    trips = _significant_trips(motion, th)
    first, last = motion.trip_first[trips], motion.trip_last[trips]
    ws, we = ctx.orders.windows(ctx.orders.use, th.order_grace_before_s, th.order_grace_after_s)
    uncovered, _, _ = uncovered_span(track.t_s[first], track.t_s[last], ws, we)
    hit = uncovered >= th.private_use_min_s
    names = ("order_grace_before_s", "order_grace_after_s", "order_match_radius_m", "order_overrun_max_s",
             "private_use_min_s", "stop_radius_m")
    return [
        Finding(NO_ORDER, float(track.t_s[f]), float(track.t_s[la]), float(track.lat[f]),
                float(track.lon[f]), "warning",
                {**position_range(track, f, la), "uncovered_s": rounded(u),
                 "distance_km": rounded(motion.trip_distance_m[k] / 1000)},
                th.as_evidence(*names), trip_index=int(k))
        for k, f, la, u in zip(trips[hit], first[hit], last[hit], uncovered[hit], strict=True)
    ]


def working_time(ctx: VehicleContext, th: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """Working-time intervals (epoch s) of the working days in the day table."""
    days = ctx.days
    midnight = days.midnight_s[:-1][days.working]
    return midnight + th.work_start_s, midnight + th.work_end_s


def off_hours(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """Movement outside working time (China working calendar) not covered by an approved (or
    later) order, for at least ``private_use_min_s``; the alert spans the uncovered part."""
    trips = _significant_trips(motion, th)
    first, last = motion.trip_first[trips], motion.trip_last[trips]
    work_s, work_e = working_time(ctx, th)
    order_s, order_e = ctx.orders.windows(ctx.orders.hours, th.order_grace_before_s,
                                          th.order_grace_after_s)
    ws, we = merge_intervals(np.concatenate((work_s, order_s)), np.concatenate((work_e, order_e)))
    uncovered, span_first, span_last = uncovered_span(track.t_s[first], track.t_s[last], ws, we)
    hit = uncovered >= th.private_use_min_s
    names = ("work_start_s", "work_end_s", "order_grace_before_s", "order_grace_after_s",
             "order_match_radius_m", "order_overrun_max_s", "private_use_min_s")
    return [
        Finding(OFF_HOURS, float(a), float(b), float(track.lat[f]), float(track.lon[f]), "warning",
                {**position_range(track, f, la), "uncovered_s": rounded(u),
                 "calendar": ctx.days.calendar_evidence(float(a), float(b))},
                th.as_evidence(*names), trip_index=int(k))
        for k, f, la, u, a, b in zip(trips[hit], first[hit], last[hit], uncovered[hit],
                                     span_first[hit], span_last[hit], strict=True)
    ]


def out_of_area(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """Fixes outside the allowed area (city boundary or the vehicle's own zone) for at least
    ``out_of_area_min_s``, except while an order whose destination lies outside is running."""
    if ctx.allowed_area is None or len(track) == 0:
        return []
    outside = ~shapely.intersects_xy(ctx.allowed_area, track.lon, track.lat)
    run_first, run_last = runs(outside)
    if len(run_first) == 0:
        return []
    orders = ctx.orders
    away = orders.use & ~shapely.intersects_xy(ctx.allowed_area, orders.destination_lon,
                                               orders.destination_lat)
    ws, we = orders.windows(away, th.order_grace_before_s, th.order_grace_after_s)
    uncovered, _, _ = uncovered_span(track.t_s[run_first], track.t_s[run_last], ws, we)
    hit = uncovered >= th.out_of_area_min_s
    names = ("out_of_area_min_s", "order_grace_before_s", "order_grace_after_s", "order_match_radius_m",
             "order_overrun_max_s")
    return [
        Finding(OUT_OF_AREA, float(track.t_s[f]), float(track.t_s[la]), float(track.lat[f]),
                float(track.lon[f]), "warning",
                {**position_range(track, f, la), "uncovered_s": rounded(u)},
                th.as_evidence(*names))
        for f, la, u in zip(run_first[hit], run_last[hit], uncovered[hit], strict=True)
    ]


def _distance_to_route_m(x: np.ndarray, y: np.ndarray, rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Distance from each point to the polyline (rx, ry), metres (vectorised over points)."""
    best = np.full(len(x), np.inf)
    for i in range(len(rx) - 1):  # over the route's legs (a few), not over fixes
        ax, ay, bx, by = rx[i], ry[i], rx[i + 1], ry[i + 1]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        u = np.clip(((x - ax) * dx + (y - ay) * dy) / length2, 0, 1) if length2 > 0 else np.zeros(len(x))
        best = np.minimum(best, np.hypot(x - (ax + u * dx), y - (ay + u * dy)))
    return best


def _ride_route(orders: Orders, k: int) -> tuple[list[float], list[float]]:
    """The places order ``k``'s ride passes, in order: its origin, the pickups and drop-offs of
    the orders sharing the car that fall inside its ride (a shared ride, 合乘), its destination."""
    start, end = orders.ride_from_s[k], orders.ride_to_s[k]
    stops: list[tuple[float, float, float]] = []
    for j in np.flatnonzero(orders.use):
        if j == k:
            continue
        if start < orders.ride_from_s[j] < end:
            stops.append((float(orders.ride_from_s[j]), orders.origin_lat[j], orders.origin_lon[j]))
        if start < orders.ride_to_s[j] < end:
            stops.append((float(orders.ride_to_s[j]), orders.destination_lat[j], orders.destination_lon[j]))
    stops.sort()
    return ([orders.origin_lat[k], *(lat for _, lat, _ in stops), orders.destination_lat[k]],
            [orders.origin_lon[k], *(lon for _, _, lon in stops), orders.destination_lon[k]])


def route_deviation(track: Track, motion: Motion, ctx: VehicleContext, th: Thresholds) -> list[Finding]:
    """During an order's ride (from the pickup to the drop-off, as served): straying beyond the corridor around the
    route (straight legs origin -> the stops of orders sharing the car during the ride -> destination, and back
    for a round trip) for at least
    ``route_deviation_min_s``, or driving more than ``route_excess_share`` and at least
    ``route_excess_min_m`` above the planned distance (straight-line route length x
    ``route_detour_factor``); the distance driven leaves out the jitter of fixes inside a stop."""
    findings: list[Finding] = []
    orders = ctx.orders
    frame = LocalFrame.around(track.lat)
    names = ("route_corridor_m", "route_deviation_min_s", "route_excess_share", "route_excess_min_m", "route_detour_factor",
             "order_match_radius_m", "order_overrun_max_s")
    # Driven distance counts steps in motion only: GPS jitter while the car stands (waiting
    # at the destination of a round trip) adds distance that nobody drove.
    standing = motion.in_stop[:-1] & motion.in_stop[1:]
    steps = np.concatenate((np.where(standing, 0.0, track.step_m()), [0.0])) if len(track) else np.zeros(0)
    for k in np.flatnonzero(orders.use):  # over the vehicle's orders, not over fixes
        lo = int(np.searchsorted(track.t_s, orders.ride_from_s[k], side="left"))
        hi = int(np.searchsorted(track.t_s, orders.ride_to_s[k], side="right")) - 1
        if hi - lo < 1:
            continue
        route_lat, route_lon = _ride_route(orders, k)
        if orders.round_trip[k]:
            route_lat.append(orders.origin_lat[k])
            route_lon.append(orders.origin_lon[k])
        rx, ry = frame.xy(np.array(route_lat), np.array(route_lon))
        x, y = frame.xy(track.lat[lo:hi + 1], track.lon[lo:hi + 1])
        away = _distance_to_route_m(x, y, rx, ry) > th.route_corridor_m
        run_first, run_last = runs(away)
        for f, la in zip(run_first + lo, run_last + lo, strict=True):
            if track.t_s[la] - track.t_s[f] >= th.route_deviation_min_s:
                findings.append(Finding(
                    ROUTE_DEVIATION, float(track.t_s[f]), float(track.t_s[la]), float(track.lat[f]),
                    float(track.lon[f]), "warning",
                    {**position_range(track, f, la), "request_id": int(orders.request_id[k]),
                     "reason": "outside_corridor"}, th.as_evidence(*names)))
        legs = haversine_m(np.array(route_lat[:-1]), np.array(route_lon[:-1]),
                           np.array(route_lat[1:]), np.array(route_lon[1:]))
        planned_m = float(legs.sum()) * th.route_detour_factor
        driven_m = float(steps[lo:hi].sum())
        excess_m = driven_m - planned_m
        if planned_m > 0 and excess_m > planned_m * th.route_excess_share and excess_m >= th.route_excess_min_m:
            findings.append(Finding(
                ROUTE_DEVIATION, float(track.t_s[lo]), float(track.t_s[hi]), float(track.lat[lo]),
                float(track.lon[lo]), "warning",
                {**position_range(track, lo, hi), "request_id": int(orders.request_id[k]),
                 "reason": "excess_distance", "driven_km": rounded(driven_m / 1000),
                 "planned_km": rounded(planned_m / 1000)}, th.as_evidence(*names)))
    return findings
