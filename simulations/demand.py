"""Trip demand of a simulated day: who asks for a car, when, from where to where.

Requests follow an hourly profile with a morning and an early-afternoon peak; agencies are drawn
by level (city agencies ask most); most trips stay in town (1.5-8 km), city agencies also go to
the county seats and townships (20-70 km) and come back with a paired return request 2-4 hours
later; a burst of group trips (8-18 passengers, minibus) at the morning peak is more than the
pool's few minibuses can carry, so the dispatcher must lease. Times are timezone-aware UTC,
distances metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from fleet.geo import haversine_m
from simulations.city import City

#: Relative demand per local hour 0..23: morning peak at 8-9, second peak at 14.
HOUR_WEIGHTS = np.array([0, 0, 0, 0, 0, 0, 0.2, 1.0, 3.0, 3.2, 2.4, 1.6, 0.6, 1.0, 2.6, 2.2, 1.6, 1.0,
                         0.4, 0.2, 0.1, 0, 0, 0], dtype=float)
LEVEL_WEIGHTS = {"city": 0.55, "county": 0.35, "township": 0.10}
PICKUP_WINDOW_MIN = 15
PURPOSES = ("会议", "调研", "检查", "公务接待", "执法检查", "送文件", "督导", "培训", "走访")
#: Duty trips a live day starts with, whatever the hour (night duty, emergencies).
SOON_PURPOSES = ("值班", "应急处置", "送文件", "夜间巡查")
#: Pickups of the trips a live day starts with fall this long after the window opens, minutes.
SOON_PICKUP_MIN = (5, 30)


@dataclass(frozen=True)
class RequestSpec:
    """One trip request the simulation files; ``key`` ties it to the ground truth."""

    key: str
    agency_id: int
    purpose: str
    passengers: int
    vehicle_class: str | None
    origin: tuple[float, float]
    destination: tuple[float, float]
    pickup_earliest: datetime
    kind: str  # local | county | county_return | group
    origin_address: str = "机关办公楼"
    destination_address: str = ""

    @property
    def pickup_latest(self) -> datetime:
        return self.pickup_earliest + timedelta(minutes=PICKUP_WINDOW_MIN)

    @property
    def straight_m(self) -> float:
        return haversine_m(*self.origin, *self.destination)

    def as_api(self) -> dict:
        """The body of ``POST /api/v1/trip-requests``."""
        return {
            "agency_id": self.agency_id, "purpose": self.purpose, "passengers": self.passengers,
            "vehicle_class": self.vehicle_class, "nev_required": False,
            "origin_lat": round(self.origin[0], 6), "origin_lon": round(self.origin[1], 6),
            "origin_address": self.origin_address, "destination_lat": round(self.destination[0], 6),
            "destination_lon": round(self.destination[1], 6),
            "destination_address": self.destination_address or self.kind,
            "pickup_earliest": self.pickup_earliest.isoformat(),
            "pickup_latest": self.pickup_latest.isoformat(), "priority": 1 if self.kind == "group" else 0,
        }


def generate_demand(city: City, count: int, window: tuple[datetime, datetime], local_midnight: datetime,
                    rng: np.random.Generator, group_share: float = 0.08, county_share: float = 0.2,
                    soon: int = 0) -> list[RequestSpec]:
    """About ``count`` requests (county trips bring a return each) with pickups inside
    ``window`` (UTC); ``local_midnight`` is the start of the local service day. The first
    ``soon`` of them are town trips picked up 5-30 minutes into the window whatever the hour
    (a live day that starts at night still has cars on the road at once)."""
    specs = _soon_trips(city, soon, window, rng)
    first = len(specs)
    offices = city.offices
    by_level: dict[str, list[int]] = {}
    for agency_id in offices:
        by_level.setdefault(city.level_of(agency_id), []).append(agency_id)
    levels = [lv for lv in LEVEL_WEIGHTS if by_level.get(lv)]
    weights = np.array([LEVEL_WEIGHTS[lv] for lv in levels])
    far_offices = [a for lv in ("county", "township") for a in by_level.get(lv, [])]
    slots = _pickup_slots(window, local_midnight)
    if not slots or not levels:
        return specs
    hours = np.array([h for h, _, _ in slots])
    p = HOUR_WEIGHTS[hours] * np.array([(b - a).total_seconds() for _, a, b in slots])
    if p.sum() == 0:
        p = np.ones(len(slots))
    p = p / p.sum()
    n_groups = int(round(count * group_share))
    peak = _peak_slot(slots)
    while len(specs) < count:
        index = len(specs)
        level = levels[int(rng.choice(len(levels), p=weights / weights.sum()))]
        agency = int(rng.choice(by_level[level]))
        origin = offices[agency]
        home = city.organisations[agency].name
        purpose = str(rng.choice(PURPOSES))
        if index - first < n_groups:  # the burst at the morning peak
            _, start, end = peak
            pickup = _time_in(start, end, rng, latest_before=window[1])
            destination = _local_destination(city, origin, rng, 3_000, 15_000)
            specs.append(RequestSpec(f"G{index}", agency, "集体" + purpose, int(rng.integers(8, 19)), "minibus",
                                     origin, destination, pickup, "group", home, _near_office(city, destination)))
            continue
        _, start, end = slots[int(rng.choice(len(slots), p=p))]
        pickup = _time_in(start, end, rng, latest_before=window[1])
        if level == "city" and far_offices and rng.random() < county_share:
            visited = int(rng.choice(far_offices))
            destination = _nudge_clear(city, offices[visited], rng)
            there = city.organisations[visited].name
            back = pickup + timedelta(hours=float(rng.uniform(2.0, 4.0)))
            specs.append(RequestSpec(f"C{index}", agency, purpose, int(rng.integers(1, 4)), None,
                                     origin, destination, pickup, "county", home, there))
            if back < window[1] - timedelta(minutes=PICKUP_WINDOW_MIN):
                specs.append(RequestSpec(f"C{index}R", agency, purpose + "返程", specs[-1].passengers, None,
                                         destination, origin, back, "county_return", there, home))
            continue
        destination = _local_destination(city, origin, rng, 1_500, 8_000)
        specs.append(RequestSpec(f"L{index}", agency, purpose, int(rng.integers(1, 5)), None,
                                 origin, destination, pickup, "local", home, _near_office(city, destination)))
    return specs


def _soon_trips(city: City, count: int, window: tuple[datetime, datetime],
                rng: np.random.Generator) -> list[RequestSpec]:
    """``count`` town trips of city agencies picked up early in the window (``SOON_PICKUP_MIN``)."""
    agencies = [a for a in city.offices if city.level_of(a) == "city"] or list(city.offices)
    lo, hi = SOON_PICKUP_MIN
    specs = []
    for index in range(count if agencies else 0):
        agency = int(rng.choice(agencies))
        origin = city.offices[agency]
        pickup = window[0] + timedelta(minutes=int(rng.integers(lo, hi + 1)))
        destination = _local_destination(city, origin, rng, 2_000, 7_000)
        specs.append(RequestSpec(f"S{index}", agency, str(rng.choice(SOON_PURPOSES)), int(rng.integers(1, 4)), None,
                                 origin, destination, pickup, "local", city.organisations[agency].name,
                                 _near_office(city, destination)))
    return specs


def _pickup_slots(window: tuple[datetime, datetime], local_midnight: datetime) -> list[tuple[int, datetime, datetime]]:
    """The local hours overlapping the window, each as (hour, start, end) clipped to it,
    leaving the last 20 minutes of the window free (a trip needs time to be driven)."""
    start, end = window[0], window[1] - timedelta(minutes=20)
    slots = []
    for hour in range(24):
        a = max(start, local_midnight + timedelta(hours=hour))
        b = min(end, local_midnight + timedelta(hours=hour + 1))
        if b > a:
            slots.append((hour, a, b))
    return slots


def _peak_slot(slots: list[tuple[int, datetime, datetime]]) -> tuple[int, datetime, datetime]:
    return max(slots, key=lambda s: (HOUR_WEIGHTS[s[0]], -s[0]))


def _time_in(start: datetime, end: datetime, rng: np.random.Generator, latest_before: datetime) -> datetime:
    seconds = float(rng.uniform(0, max(1.0, (end - start).total_seconds())))
    moment = start + timedelta(seconds=round(seconds / 60) * 60)
    return min(moment, latest_before - timedelta(minutes=20))


def _local_destination(city: City, origin: tuple[float, float], rng: np.random.Generator,
                       min_m: float, max_m: float) -> tuple[float, float]:
    """A point ``min_m``..``max_m`` from the origin, inside the city and clear of venues (the
    origin itself when none is found)."""
    return city.spot_near(origin, rng, min_m, max_m, tries=60) or origin


def _near_office(city: City, point: tuple[float, float]) -> str:
    """A place name for ``point`` (lat, lon degrees): near the closest agency office."""
    if not city.offices:
        return ""
    nearest = min(city.offices, key=lambda org_id: haversine_m(*point, *city.offices[org_id]))
    return f"{city.organisations[nearest].name}附近"


def _nudge_clear(city: City, point: tuple[float, float], rng: np.random.Generator) -> tuple[float, float]:
    if city.clear_of_venues(*point):
        return point
    return _local_destination(city, point, rng, 800, 2_500)
