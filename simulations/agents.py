"""Car agents: each car's day as a timeline of drives and stands, the GPS fixes its terminal
takes every ``fix_interval_s``, and the messages it uploads, with realistic faults.

A timeline is a sorted list of :class:`Leg` (a drive along a road path between two instants);
between legs the car stands where the last leg ended (ignition off after five minutes). The
terminal samples the timeline at its fix instants and uploads what it has every
``upload_interval_s`` (a JSON array on ``fleet/v1/vehicles/{device_id}/gps``). Faults:

* jitter: Gaussian position noise (``jitter_m``, 1 sigma) on every fix;
* gaps: single fixes lost (``gap_share``);
* tunnels: on inter-town drives, 1-3 minutes with no fix at all;
* blind areas: 5-20 minutes of fixes kept in the terminal and uploaded late in one batch when
  coverage returns;
* out of order: a message's fixes shuffled, or a message held back behind the next one;
* duplicates: a message sent twice;
* an unplugged terminal (misbehaviour): silent for a while, its last fix flagged ``power_cut``.

Times are epoch seconds (UTC), distances metres, speeds km/h.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from fleet.geo import haversine_m
from simulations.city import Car, Path, Roads, offset

#: The dispatch service's default travel model: straight line x 1.3 at 40 km/h.
PLAN_DETOUR_FACTOR = 1.3
PLAN_SPEED_KMH = 40.0
BOARDING_S = 300.0
ALIGHTING_S = 120.0
#: A car standing longer than this switches its engine off, seconds.
ENGINE_OFF_AFTER_S = 300.0


def planned_travel_s(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Travel time the dispatch model expects between two points, seconds."""
    return haversine_m(*a, *b) * PLAN_DETOUR_FACTOR / (PLAN_SPEED_KMH / 3.6)


@dataclass(frozen=True)
class Leg:
    """A drive along ``path`` from ``start_s`` to ``end_s`` (epoch s)."""

    start_s: float
    end_s: float
    path: Path

    @property
    def speed_kmh(self) -> float:
        return self.path.length_m / max(1.0, self.end_s - self.start_s) * 3.6


@dataclass(frozen=True)
class Faults:
    """Fault rates of the terminals (shares are per fix or per message)."""

    jitter_m: float = 4.0
    gap_share: float = 0.005
    tunnel_share: float = 0.3  # of inter-town legs
    blind_area_share: float = 0.05  # of cars, once a day while driving
    shuffle_share: float = 0.02
    hold_back_share: float = 0.01
    duplicate_share: float = 0.01


@dataclass
class Timeline:
    """A car's day: legs, silent spans of its terminal, alarm instants and blind areas."""

    car: Car
    legs: list[Leg] = field(default_factory=list)
    silent: list[tuple[float, float]] = field(default_factory=list)
    alarms: set[float] = field(default_factory=set)
    blind: list[tuple[float, float]] = field(default_factory=list)
    starts_at: tuple[float, float] | None = None  # where the car stands before its first leg

    def add(self, leg: Leg) -> None:
        self.legs.append(leg)
        self.legs.sort(key=lambda g: g.start_s)

    def busy(self, start_s: float, end_s: float) -> bool:
        """Whether any leg overlaps [start_s, end_s]."""
        return any(g.start_s < end_s and g.end_s > start_s for g in self.legs)

    def where(self, t_s: float) -> tuple[float, float]:
        """Where the car stands (or drives) at ``t_s``."""
        lat, lon, *_ = self.sample(np.array([t_s]))
        return float(lat[0]), float(lon[0])

    def sample(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude, speed (km/h), heading and ignition at each instant."""
        n = len(t_s)
        start = self.starts_at or self.car.home
        lat, lon = np.full(n, start[0]), np.full(n, start[1])
        speed, heading, ignition = np.zeros(n), np.zeros(n), np.zeros(n, bool)
        if not self.legs:
            return lat, lon, speed, heading, ignition
        starts = np.array([g.start_s for g in self.legs])
        ends = np.array([g.end_s for g in self.legs])
        k = np.searchsorted(starts, t_s, side="right") - 1
        for j in np.unique(k):  # over the legs touched, not over fixes
            mask = k == j
            if j < 0:
                continue
            leg = self.legs[j]
            t = t_s[mask]
            driving = t <= leg.end_s
            frac = np.clip((t - leg.start_s) / max(1.0, leg.end_s - leg.start_s), 0, 1)
            la, lo, hd = leg.path.at(frac * leg.path.length_m)
            lat[mask], lon[mask], heading[mask] = la, lo, hd
            speed[mask] = np.where(driving, leg.speed_kmh, 0.0)
            next_start = starts[j + 1] if j + 1 < len(starts) else np.inf
            standing_s = next_start - ends[j]
            ignition[mask] = driving | (standing_s <= ENGINE_OFF_AFTER_S)
        return lat, lon, speed, heading, ignition


class Terminal:
    """A car's GPS terminal: samples its timeline and builds the messages it uploads."""

    def __init__(self, timeline: Timeline, fix_interval_s: float, faults: Faults, rng: np.random.Generator) -> None:
        self.timeline = timeline
        self.fix_interval_s = fix_interval_s
        self.faults = faults
        self.rng = rng
        self.phase_s = float(rng.uniform(0, fix_interval_s))
        self.seq = 0
        self._held: list[dict] | None = None
        self._buffer: list[dict] = []
        self._tunnels = self._plan_tunnels()

    def _plan_tunnels(self) -> list[tuple[float, float]]:
        spans = []
        for leg in self.timeline.legs:
            if leg.path.length_m > 12_000 and self.rng.random() < self.faults.tunnel_share:
                a = float(self.rng.uniform(leg.start_s + 120, max(leg.start_s + 121, leg.end_s - 300)))
                spans.append((a, a + float(self.rng.uniform(60, 180))))
        return spans

    def fix_times(self, t0_s: float, t1_s: float) -> np.ndarray:
        """The terminal's fix instants in (t0_s, t1_s]."""
        first = np.floor((t0_s - self.phase_s) / self.fix_interval_s) + 1
        last = np.floor((t1_s - self.phase_s) / self.fix_interval_s)
        if last < first:
            return np.zeros(0)
        return self.phase_s + np.arange(first, last + 1) * self.fix_interval_s

    def messages(self, t0_s: float, t1_s: float) -> list[list[dict]]:
        """The messages uploaded at the end of (t0_s, t1_s]: usually one array of fixes, more
        with a late blind-area batch, a duplicate or a held-back message, none when silent."""
        t = self.fix_times(t0_s, t1_s)
        out: list[list[dict]] = []
        if len(t):
            keep = np.ones(len(t), bool)
            for a, b in self.timeline.silent + self._tunnels:
                keep &= ~((t >= a) & (t < b))
            keep &= self.rng.random(len(t)) >= self.faults.gap_share
            t = t[keep]
        fixes = self._fixes(t) if len(t) else []
        in_blind = [any(a <= f["_t"] < b for a, b in self.timeline.blind) for f in fixes]
        self._buffer += [f for f, blind in zip(fixes, in_blind, strict=True) if blind]
        live = [f for f, blind in zip(fixes, in_blind, strict=True) if not blind]
        if self._buffer and not any(a <= t1_s < b for a, b in self.timeline.blind):
            out.append(self._buffer)  # coverage is back: the late batch goes first
            self._buffer = []
        if live:
            if self.rng.random() < self.faults.shuffle_share:
                live = [live[i] for i in self.rng.permutation(len(live))]
            out.append(live)
        if self._held is not None:
            out.append(self._held)
            self._held = None
        if out and self.rng.random() < self.faults.hold_back_share:
            self._held = out.pop()
        if out and self.rng.random() < self.faults.duplicate_share:
            out.append(out[-1])
        return out

    def _fixes(self, t: np.ndarray) -> list[dict]:
        lat, lon, speed, heading, ignition = self.timeline.sample(t)
        sigma = self.faults.jitter_m
        lat = lat + self.rng.normal(0, sigma, len(t)) / 110_950.0
        lon = lon + self.rng.normal(0, sigma, len(t)) / 91_600.0
        speed = np.where(speed > 0, np.maximum(speed * self.rng.uniform(0.92, 1.08, len(t)), 5.0), 0.0)
        device = self.timeline.car.device_id
        fixes = []
        for i, ts in enumerate(t):
            self.seq += 1
            fix = {"device_id": device, "ts": datetime.fromtimestamp(float(ts), UTC).isoformat(),
                   "lat": round(float(lat[i]), 6), "lon": round(float(lon[i]), 6),
                   "speed_kmh": round(float(speed[i]), 1), "heading_deg": round(float(heading[i]), 1),
                   "ignition": bool(ignition[i]), "seq": self.seq, "_t": float(ts)}
            if any(abs(float(ts) - a) < self.fix_interval_s / 2 for a in self.timeline.alarms):
                fix["alarm"] = {"power_cut": True}
            fixes.append(fix)
        return fixes


def encode(message: list[dict]) -> tuple[bytes, float]:
    """The wire bytes of a message (one object, or an array), and its newest fix time."""
    clean = [{k: v for k, v in f.items() if k != "_t"} for f in message]
    newest = max(f["_t"] for f in message)
    body = clean[0] if len(clean) == 1 else clean
    return json.dumps(body, separators=(",", ":")).encode(), newest


@dataclass(frozen=True)
class Job:
    """An accepted pool assignment as the car's driver sees it (epoch s, lat/lon)."""

    assignment_id: int
    request_key: str
    origin: tuple[float, float]
    destination: tuple[float, float]
    planned_pickup_s: float
    planned_dropoff_s: float
    pickup_earliest_s: float
    pickup_latest_s: float


@dataclass(frozen=True)
class Served:
    """How a job went: when the car reached the pickup, when the ride ran, the distance
    driven loaded and empty (metres), and the span driven too fast when planted."""

    job: Job
    arrived_s: float
    ride_start_s: float
    ride_end_s: float
    loaded_m: float
    empty_m: float
    fast_span: tuple[float, float] | None = None


def _detour_path(road: Roads, a: tuple[float, float], b: tuple[float, float], side_m: float) -> Path:
    """A ride from ``a`` to ``b`` that swings ``side_m`` to the side a fifth of the way along."""
    dn = (b[0] - a[0]) * 110_950.0
    de = (b[1] - a[1]) * 91_600.0
    norm = max(1.0, float(np.hypot(dn, de)))
    base = (a[0] + (b[0] - a[0]) * 0.2, a[1] + (b[1] - a[1]) * 0.2)
    side = offset(*base, -de / norm * side_m, dn / norm * side_m)
    return road.via([a, side, b])


def _fast_legs(path: Path, start_s: float, duration_s: float, fast_kmh: float,
               fast_s: float) -> tuple[list[Leg], tuple[float, float]]:
    """The ride split in three: normal, ``fast_s`` at ``fast_kmh`` a few minutes in, normal;
    same total duration."""
    fast_m = min(fast_kmh / 3.6 * fast_s, path.length_m * 0.6)
    rest_s = max(60.0, duration_s - fast_s)
    lead_s = min(rest_s / 2, 420.0)
    a_m = (path.length_m - fast_m) * lead_s / rest_s
    t1 = start_s + lead_s
    t2 = t1 + fast_s
    pieces = [(0.0, a_m, start_s, t1), (a_m, a_m + fast_m, t1, t2),
              (a_m + fast_m, path.length_m, t2, start_s + fast_s + rest_s)]
    legs = []
    for d0, d1, s0, s1 in pieces:
        inner = path.cum_m[(path.cum_m > d0) & (path.cum_m < d1)]
        lat, lon, _ = path.at(np.concatenate(([d0], inner, [d1])))
        legs.append(Leg(s0, s1, Path.through(list(zip(lat, lon, strict=True)))))
    return legs, (t1, t2)


def drive_jobs(timeline: Timeline, jobs: list[Job], rng: np.random.Generator, road: Roads,
               back_home_after_s: float = 2700.0, detours: dict[str, float] | None = None,
               speeding: dict[str, float] | None = None) -> list[Served]:
    """Add the legs that serve ``jobs`` in order: approach (arriving on plan, or late in
    traffic), board, ride, alight; then on to the next pickup, or home to the parking site when
    the car would have more than ``back_home_after_s`` there before setting off again (else it
    waits near the drop-off). ``detours`` (request key -> side
    offset, m) and ``speeding`` (request key -> km/h) plant misbehaviour on a ride. Returns
    what happened per job."""
    detours, speeding = detours or {}, speeding or {}
    served: list[Served] = []
    here, free_s = timeline.car.home, -np.inf
    jobs = sorted(jobs, key=lambda j: j.planned_pickup_s)
    for index, job in enumerate(jobs):
        approach = road(here, job.origin)
        travel_s = planned_travel_s(here, job.origin)
        planted = job.request_key in detours or job.request_key in speeding
        late = not planted and rng.random() < 0.08
        delay_s = float(rng.uniform(5, 15) * 60) if late else float(rng.uniform(-180, 0))
        arrive = job.planned_pickup_s + delay_s
        depart = max(free_s, arrive - travel_s)
        arrive = depart + travel_s
        empty_m = 0.0
        if approach.length_m > 30:
            timeline.add(Leg(depart, arrive, approach))
            empty_m += approach.length_m
        ride_start = max(arrive, job.pickup_earliest_s) + BOARDING_S
        ride = road(job.origin, job.destination)
        ride_s = max(60.0, (job.planned_dropoff_s - job.planned_pickup_s - BOARDING_S) * float(rng.uniform(0.92, 1.05)))
        fast_span = None
        if job.request_key in detours:
            normal_m = ride.length_m
            ride = _detour_path(road, job.origin, job.destination, detours[job.request_key])
            ride_s *= ride.length_m / normal_m
        if job.request_key in speeding:
            legs, fast_span = _fast_legs(ride, ride_start, ride_s, speeding[job.request_key], 180.0)
            for leg in legs:
                timeline.add(leg)
        else:
            timeline.add(Leg(ride_start, ride_start + ride_s, ride))
        free_s = ride_start + ride_s + ALIGHTING_S
        here = job.destination
        following = jobs[index + 1].planned_pickup_s if index + 1 < len(jobs) else np.inf
        home_s = planned_travel_s(here, timeline.car.home)
        again_s = planned_travel_s(timeline.car.home, jobs[index + 1].origin) if index + 1 < len(jobs) else 0.0
        if following - free_s - home_s - again_s > back_home_after_s:  # time to spend at the site
            home = road(here, timeline.car.home)
            timeline.add(Leg(free_s, free_s + home_s, home))
            empty_m += home.length_m
            here, free_s = timeline.car.home, free_s + home_s
        served.append(Served(job, arrive, ride_start, ride_start + ride_s, ride.length_m, empty_m, fast_span))
    return served
