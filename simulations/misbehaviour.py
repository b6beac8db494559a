"""Drivers who sometimes misbehave, planted into car timelines and kept as ground truth.

Each incident names the alert kinds the platform's rules should raise for it (an off-hours
joyride is both ``private_use.no_order`` and ``private_use.off_hours``), its span in event
time, and ``observable_s``, the event time by which the rules can tell (the start plus the
rule's minimum duration); detection delay is measured from there. Times are epoch seconds
(UTC), distances metres.

Planted behaviours:

* ``night_trip``: a drive from the parking site and back outside working time;
* ``holiday_use``: a day out on the latest rest day before the scenario (statutory holiday or
  weekend), which the terminal uploads late, as one blind-area batch, when the run starts;
* ``forbidden_venue``: a stop of 15-30 minutes inside a forbidden venue (KTV, club, scenic spot);
* ``night_at_home``: the car spends the night at the driver's home and comes in the morning;
* ``detour``: a ride that swings 5 km off its route (route corridor is 2 km);
* ``speeding``: three minutes at about 135 km/h on an inter-town ride;
* ``unplugged``: the terminal is unplugged at the site (power-cut alarm), the car leaves
  silently and reappears away from the site 40-60 minutes later;
* ``out_of_area``: a drive beyond the city boundary and back;
* ``opening_drive``: a short private drive right at the start of a live run (an alert within
  minutes of ``fleet demo``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from shapely.geometry import Point
from shapely.ops import nearest_points

from fleet.alert_kinds import (DEVICE_OFFLINE, FORBIDDEN_ZONE, NO_ORDER, OFF_HOURS, OFF_SITE_OVERNIGHT,
                               OUT_OF_AREA, ROUTE_DEVIATION, SPEEDING)
from fleet.geo import haversine_m
from simulations.agents import Leg, Served, Timeline
from simulations.city import City, Roads, offset

#: Margin kept free of orders around a planted private trip (the rules' grace is 30 min).
ORDER_MARGIN_S = 40 * 60
PRIVATE_SPEED_KMH = 45.0
#: A private drive at least this long is private use by the rules (their 2-minute minimum of
#: movement, plus the stretches within the stop radius at both ends), seconds.
MIN_PRIVATE_DRIVE_S = 200.0
#: A shorter drive, down to this, may or may not reach the minimum: an alert for it is right,
#: its absence is no miss (the incident is optional), seconds.
MAYBE_PRIVATE_DRIVE_S = 100.0


@dataclass(frozen=True)
class Incident:
    """One planted misbehaviour: the ground truth the report scores alerts against."""

    behaviour: str
    vehicle_id: int
    plate: str
    kinds: tuple[str, ...]
    start_s: float
    end_s: float
    observable_s: float
    note: str = ""
    #: An alert for it counts as right, but the rules need not raise one (a borderline case).
    optional: bool = False

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Calendar:
    """The scenario's local day: UTC epoch of its midnight, working hours (s after midnight),
    and whether it is a working day."""

    midnight_s: float
    work_start_s: float = 8 * 3600.0
    work_end_s: float = 18 * 3600.0
    working: bool = True

    def working_span(self) -> tuple[float, float]:
        if not self.working:
            return (self.midnight_s, self.midnight_s)
        return self.midnight_s + self.work_start_s, self.midnight_s + self.work_end_s

    def off_hours(self, start_s: float, end_s: float) -> bool:
        a, b = self.working_span()
        return end_s <= a or start_s >= b


def _private_drive(tl: Timeline, roads: Roads, a: tuple[float, float], b: tuple[float, float],
                   depart_s: float, speed_kmh: float = PRIVATE_SPEED_KMH) -> float:
    path = roads(a, b)
    arrive = depart_s + path.length_m / (speed_kmh / 3.6)
    tl.add(Leg(depart_s, arrive, path))
    return arrive


def _round_trip(tl: Timeline, roads: Roads, target: tuple[float, float], depart_s: float,
                stay_s: float) -> tuple[float, float, float]:
    """Home -> target, stay, -> home; returns (arrival at target, departure back, home again)."""
    home = tl.car.home
    arrive = _private_drive(tl, roads, home, target, depart_s)
    leave = arrive + stay_s
    back = _private_drive(tl, roads, target, home, leave)
    return arrive, leave, back


def _round_trip_s(home: tuple[float, float], target: tuple[float, float], stay_s: float) -> float:
    return 2 * haversine_m(*home, *target) * 1.15 / (PRIVATE_SPEED_KMH / 3.6) + stay_s


def _free_start(tl: Timeline, lo: float, hi: float, need_s: float, rng: np.random.Generator) -> float | None:
    """A departure in [lo, hi - need_s] with ``ORDER_MARGIN_S`` clear of the car's legs."""
    if hi - lo < need_s:
        return None
    for _ in range(12):
        t = float(rng.uniform(lo, hi - need_s))
        if not tl.busy(t - ORDER_MARGIN_S, t + need_s + ORDER_MARGIN_S):
            return t
    return None


class Planter:
    """Plants misbehaviour into timelines over the run's event-time window."""

    def __init__(self, city: City, roads: Roads, calendar: Calendar, window: tuple[float, float],
                 rng: np.random.Generator) -> None:
        self.city, self.roads, self.cal, self.rng = city, roads, calendar, rng
        self.t0, self.t1 = window

    def night_trip(self, tl: Timeline) -> Incident | None:
        target = self.city.spot_near(tl.car.home, self.rng, 2_500, 6_000, tries=40)
        if target is None:
            return None
        need = _round_trip_s(tl.car.home, target, 900)
        a, b = self.cal.working_span()
        spans = [(self.t0, min(self.t1, a) - 600), (max(self.t0, b) + 600, self.t1)]
        spans = [(lo, hi) for lo, hi in spans if hi - lo >= need]
        if not spans:
            return None
        lo, hi = spans[int(self.rng.integers(len(spans)))]
        depart = _free_start(tl, lo, hi, need, self.rng)
        if depart is None:
            return None
        _, _, back = _round_trip(tl, self.roads, target, depart, 900)
        return Incident("night_trip", tl.car.id, tl.car.plate, (NO_ORDER, OFF_HOURS), depart, back,
                        depart + 120, "drive outside working time, no order")

    def opening_drive(self, tl: Timeline, depart_s: float) -> Incident | None:
        """A private drive of an idle car departing at ``depart_s`` (epoch s): 2-4 km out, ten
        minutes there and back; off hours too when the calendar says so."""
        target = self.city.spot_near(tl.car.home, self.rng, 2_000, 4_000, tries=40)
        if target is None or tl.busy(depart_s - ORDER_MARGIN_S, depart_s + ORDER_MARGIN_S
                                     + _round_trip_s(tl.car.home, target, 600)):
            return None
        _, _, back = _round_trip(tl, self.roads, target, depart_s, 600)
        off_hours = self.cal.off_hours(depart_s, back)
        return Incident("opening_drive", tl.car.id, tl.car.plate, (NO_ORDER, OFF_HOURS) if off_hours else (NO_ORDER,),
                        depart_s, back, depart_s + 120, "private drive at the start of the run, no order")

    def forbidden_venue(self, tl: Timeline) -> list[Incident]:
        venues = sorted(self.city.venues, key=lambda v: haversine_m(*tl.car.home, *v.centre))
        if not venues or haversine_m(*tl.car.home, *venues[0].centre) > 9_000:
            return []
        venue = venues[0]
        stay = float(self.rng.uniform(15, 25) * 60)
        need = _round_trip_s(tl.car.home, venue.centre, stay)
        a, b = self.cal.working_span()
        depart = _free_start(tl, max(self.t0, a), min(self.t1, b), need, self.rng)
        if depart is None:
            return []
        arrive, leave, back = _round_trip(tl, self.roads, venue.centre, depart, stay)
        stop = Incident("forbidden_venue", tl.car.id, tl.car.plate, (FORBIDDEN_ZONE,), arrive, leave,
                        arrive + 600, f"{stay / 60:.0f} min at {venue.name}")
        return [stop, *self._drive_incident("forbidden_venue", tl, depart, arrive, back)]

    def _drive_incident(self, behaviour: str, tl: Timeline, depart: float, arrive: float, back: float
                        ) -> list[Incident]:
        """The private drives of an outing, when long enough for the rules (optional when
        borderline)."""
        drive_s = arrive - depart
        if drive_s < MAYBE_PRIVATE_DRIVE_S:
            return []
        kinds = (NO_ORDER, OFF_HOURS) if self.cal.off_hours(depart, back) else (NO_ORDER,)
        return [Incident(behaviour, tl.car.id, tl.car.plate, kinds, depart, back, depart + min(drive_s, MIN_PRIVATE_DRIVE_S),
                         "private drive, no order", optional=drive_s < MIN_PRIVATE_DRIVE_S)]

    def out_of_area(self, tl: Timeline) -> Incident | None:
        area = self.city.allowed_area
        if area is None:
            return None
        home = Point(tl.car.home[1], tl.car.home[0])
        edge = nearest_points(area.exterior if hasattr(area, "exterior") else area.boundary, home)[0]
        edge_ll = (edge.y, edge.x)
        if haversine_m(*tl.car.home, *edge_ll) > 20_000:
            return None
        dn, de = (edge_ll[0] - tl.car.home[0]) * 110_950.0, (edge_ll[1] - tl.car.home[1]) * 91_600.0
        norm = max(1.0, math.hypot(dn, de))
        target = offset(*edge_ll, dn / norm * 4_000, de / norm * 4_000)
        if self.city.inside(*target):
            return None
        stay = 1200.0
        need = _round_trip_s(tl.car.home, target, stay)
        a, b = self.cal.working_span()
        depart = _free_start(tl, max(self.t0, a), min(self.t1, b), need, self.rng)
        if depart is None:
            return None
        arrive, leave, back = _round_trip(tl, self.roads, target, depart, stay)
        crossing = depart + (arrive - depart) * 0.8
        return Incident("out_of_area", tl.car.id, tl.car.plate, (NO_ORDER, OUT_OF_AREA), depart, back,
                        crossing + 120, "beyond the city boundary without an order")

    def unplugged(self, tl: Timeline) -> list[Incident]:
        target = self.city.spot_near(tl.car.home, self.rng, 3_000, 7_000, tries=40)
        if target is None:
            return []
        silent_s = float(self.rng.uniform(35, 50) * 60)
        need = silent_s + 900
        depart = _free_start(tl, self.t0 + 300, self.t1, need, self.rng)
        if depart is None:
            return []
        unplug = depart - 30
        arrive = _private_drive(tl, self.roads, tl.car.home, target, depart)
        replug = max(arrive + 60, unplug + silent_s)
        back = _private_drive(tl, self.roads, target, tl.car.home, replug + 120)
        tl.alarms.add(unplug)
        tl.silent.append((unplug + 1, replug))
        tamper = Incident("unplugged", tl.car.id, tl.car.plate, (DEVICE_OFFLINE,), unplug, replug, unplug + 1,
                          f"terminal silent {silent_s / 60:.0f} min, power cut")
        return [tamper, *self._drive_incident("unplugged", tl, replug + 120, back, back)]

    def night_at_home(self, tl: Timeline) -> list[Incident]:
        """Parked at the driver's home from the start of the run until a morning drive in."""
        first_leg = min((g.start_s for g in tl.legs), default=self.t1)
        a, _ = self.cal.working_span()
        if self.t0 > self.cal.midnight_s + 2 * 3600:
            return []
        home_of_driver = self.city.spot_near(tl.car.home, self.rng, 3_000, 8_000, tries=40)
        if home_of_driver is None:
            return []
        drive_s = haversine_m(*home_of_driver, *tl.car.home) * 1.15 / (PRIVATE_SPEED_KMH / 3.6)
        depart = min(a - drive_s - float(self.rng.uniform(10, 40) * 60), first_leg - ORDER_MARGIN_S - drive_s)
        if depart < self.cal.midnight_s + 6 * 3600 - 1800 or depart < self.t0 + 4 * 3600:
            return []
        tl.starts_at = home_of_driver
        arrive = _private_drive(tl, self.roads, home_of_driver, tl.car.home, depart)
        night = Incident("night_at_home", tl.car.id, tl.car.plate, (OFF_SITE_OVERNIGHT,), self.t0, depart,
                         self.t0 + 4 * 3600, "overnight at the driver's home")
        kinds = (NO_ORDER, OFF_HOURS) if self.cal.off_hours(depart, arrive) else (NO_ORDER,)
        drive = Incident("night_at_home", tl.car.id, tl.car.plate, kinds, depart, arrive, depart + 120,
                         "morning drive in from home, no order")
        return [night, drive]

    def holiday_use(self, tl: Timeline, rest_day_midnight_s: float) -> Incident | None:
        """A day out on a rest day before the run; returns the incident (legs added)."""
        target = self.city.spot_near(tl.car.home, self.rng, 8_000, 20_000, tries=40)
        if target is None:
            return None
        depart = rest_day_midnight_s + float(self.rng.uniform(9.5, 11.0) * 3600)
        stay = float(self.rng.uniform(1.5, 3.0) * 3600)
        _, _, back = _round_trip(tl, self.roads, target, depart, stay)
        return Incident("holiday_use", tl.car.id, tl.car.plate, (NO_ORDER, OFF_HOURS), depart, back,
                        self.t0, "day out on a rest day, uploaded late when the run starts")

    @staticmethod
    def detour_incident(tl: Timeline, served: Served) -> Incident:
        return Incident("detour", tl.car.id, tl.car.plate, (ROUTE_DEVIATION,), served.ride_start_s,
                        served.ride_end_s, served.ride_start_s + 900, f"request {served.job.request_key}")

    @staticmethod
    def speeding_incident(tl: Timeline, served: Served) -> Incident | None:
        if served.fast_span is None:
            return None
        a, b = served.fast_span
        return Incident("speeding", tl.car.id, tl.car.plate, (SPEEDING,), a, b, a + 30,
                        f"about 135 km/h on request {served.job.request_key}")


def holiday_fixes_window(incident: Incident) -> tuple[float, float]:
    """Event-time span the late holiday batch covers: from an hour before to an hour after."""
    return incident.start_s - 3600, incident.end_s + 3600

