"""Tiny hand-built tracks and rule inputs for the pure rule tests (no database, no broker).

Places are given in metres north and east of ``ORIGIN`` (near the Lianyungang depot); times
in minutes after 00:00 Shanghai time on ``DAY`` (a Wednesday, a working day), so that a
test reads as the few fixes it is about.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from shapely.geometry import box

from fleet.geo import M_PER_DEG_LAT, m_per_deg_lon
from telematics.motion import Motion, Track, split_motion
from telematics.rules.context import DayTable, Orders, Place, Thresholds, VehicleContext

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 2)
ORIGIN = (34.6, 119.2)
TH = Thresholds()


def at(north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` north and ``east_m`` east of ``ORIGIN``, (lat, lon) degrees."""
    return ORIGIN[0] + north_m / M_PER_DEG_LAT, ORIGIN[1] + east_m / m_per_deg_lon(ORIGIN[0])


def clock(minute: float, day: date = DAY) -> float:
    """``minute`` minutes after local midnight of ``day``, epoch s."""
    return datetime.combine(day, time(0), SHANGHAI).timestamp() + minute * 60


def square(north_m: float, east_m: float, half_m: float):  # type: ignore[no-untyped-def]
    """A square zone of side ``2 * half_m`` centred ``north_m``/``east_m`` from the origin."""
    lat, lon = at(north_m, east_m)
    dlat, dlon = half_m / M_PER_DEG_LAT, half_m / m_per_deg_lon(ORIGIN[0])
    return box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


class Fixes:
    """A track built fix by fix: each fix is (minute, north_m, east_m), plus speed, ignition
    and tamper alarms."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, float, float, bool, bool]] = []

    def fix(self, minute: float, north_m: float, east_m: float, speed_kmh: float = 0.0,
            ignition: bool = False, power_cut: bool = False) -> Fixes:
        lat, lon = at(north_m, east_m)
        self.rows.append((clock(minute), lat, lon, speed_kmh, ignition, power_cut))
        return self

    def stand(self, first_min: float, last_min: float, north_m: float = 0.0, east_m: float = 0.0,
              every_min: float = 1.0) -> Fixes:
        """Parked (ignition off) at one place, a fix every ``every_min`` from ``first_min`` to
        ``last_min``."""
        for minute in np.arange(first_min, last_min + every_min / 2, every_min):
            self.fix(float(minute), north_m, east_m)
        return self

    def drive(self, first_min: float, last_min: float, to: tuple[float, float],
              speed_kmh: float = 40.0, every_s: float = 60.0) -> Fixes:
        """Driving in a straight line from the last fix (or the origin) to ``to`` (north_m,
        east_m), the first fix ``every_s`` after ``first_min``, the last at ``last_min``."""
        t0, t1 = clock(first_min), clock(last_min)
        lat0, lon0 = self.rows[-1][1:3] if self.rows else ORIGIN
        lat1, lon1 = at(*to)
        steps = max(int((t1 - t0) // every_s), 1)
        for i in range(1, steps + 1):
            w = i / steps
            self.rows.append((t0 + (t1 - t0) * w, lat0 + (lat1 - lat0) * w, lon0 + (lon1 - lon0) * w,
                              speed_kmh, True, False))
        return self

    def track(self) -> Track:
        t, lat, lon, speed, ignition, power_cut = (np.array(c) for c in zip(*self.rows, strict=True))
        return Track(np.arange(1, len(t) + 1, dtype=np.int64), t.astype(float), lat.astype(float),
                     lon.astype(float), speed.astype(float), ignition.astype(bool), power_cut.astype(bool))

    def split(self) -> tuple[Track, Motion]:
        track = self.track()
        return track, split_motion(track, TH.stop_radius_m, TH.stop_min_duration_s)


def days(first: date = DAY - timedelta(days=1), count: int = 3, rest: tuple[date, ...] = ()) -> DayTable:
    """``count`` local days from ``first``, working except ``rest``, all officially scheduled."""
    dates = [first + timedelta(days=i) for i in range(count)]
    midnights = [datetime.combine(d, time(0), SHANGHAI).timestamp() for d in [*dates, dates[-1] + timedelta(days=1)]]
    return DayTable(np.array(midnights), [d.isoformat() for d in dates],
                    np.array([d not in rest for d in dates]), np.ones(count, bool), [None] * count)


def orders(*spans: tuple[float, float, tuple[float, float], tuple[float, float]], use: bool = True,
           round_trip: bool = False) -> Orders:
    """Orders from (pickup minute, drop-off minute, origin, destination), places as
    (north_m, east_m)."""
    origin = [at(*s[2]) for s in spans]
    destination = [at(*s[3]) for s in spans]
    n = len(spans)
    return Orders(np.arange(1, n + 1, dtype=np.int64), np.array([clock(s[0]) for s in spans]),
                  np.array([clock(s[1]) for s in spans]), np.full(n, use), np.ones(n, bool),
                  np.array([o[0] for o in origin]), np.array([o[1] for o in origin]),
                  np.array([d[0] for d in destination]), np.array([d[1] for d in destination]),
                  np.full(n, round_trip))


def context(**fields) -> VehicleContext:  # type: ignore[no-untyped-def]
    """A vehicle's rule inputs: the three days around ``DAY`` unless given."""
    fields.setdefault("days", days())
    return VehicleContext(vehicle_id=1, **fields)


#: The designated parking site: a 100 m square around the origin.
SITE = Place(1, "车队停车场", square(0, 0, 50))
