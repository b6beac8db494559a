"""Run a scenario against the real platform and collect what the report needs.

Steps: load the fleet (``fleet seed``, or a trimmed seed document through ``fleet import``),
start ``fleet serve`` and ``fleet ingest``, read the city over HTTP, file the day's requests
(create, submit, approve), plan and accept the day (``POST /api/v1/dispatch/plans``), drive
every car's timeline and plant misbehaviour, then play simulated time at ``scenario.speed``
publishing each terminal's messages over MQTT while listening to the platform's events
(positions for the ingest lag, alerts for the detection delay). At the end it waits for the
ingest worker to drain and reads the alerts back over HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import structlog
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from fleet import topics
from fleet.broker import BrokerClient, parse_broker_url
from fleet.geo import haversine_m
from fleet.seed import build_seed_document
from simulations.agents import (
    Faults,
    Job,
    Served,
    Terminal,
    Timeline,
    drive_jobs,
    encode,
)
from simulations.city import City, Roads
from simulations.day_record import DayRecord
from simulations.demand import RequestSpec, generate_demand
from simulations.demo_driver import give_demo_driver_trips
from simulations.demo_roles import confirm_rest_day_alerts, file_requester_examples
from simulations.misbehaviour import Calendar, Incident, Planter, holiday_fixes_window
from simulations.platform import Api, Platform, PlatformError
from simulations.scenario import Scenario, is_rest_day, latest_rest_day

log = structlog.get_logger(__name__)

ADMIN = ("admin", "admin-demo-2021")
DISPATCHER = ("dispatcher", "dispatcher-demo-2021")
APPROVER = ("approver", "approver-demo-2021")
#: How long no platform event may arrive before the drain after the day ends, seconds.
DRAIN_QUIET_S = 10.0
#: Longest wait after the day for the ingest worker to store and evaluate everything, seconds
#: (alerts read before evaluation is done would count as misses).
DRAIN_LIMIT_S = 900.0
LATE_BATCH_FIXES = 500


@dataclass
class RunData:
    """Everything observed in a run (the report's input)."""

    scenario: Scenario
    requests: dict[int, RequestSpec] = field(default_factory=dict)  # platform request id -> spec
    plan: dict[str, Any] | None = None
    figures: dict[str, Any] | None = None
    served: list[Served] = field(default_factory=list)
    cars: dict[int, dict[str, Any]] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    alert_seen_s: dict[int, float] = field(default_factory=dict)  # alert id -> simulated time first seen
    lags_s: list[float] = field(default_factory=list)
    lag_at_s: list[float] = field(default_factory=list)  # simulated time of each lag sample
    #: (simulated time, messages the simulation had published that the broker had not yet
    #: acknowledged): the simulation's own outbound queue, which its lag figures include.
    outbound: list[tuple[float, int]] = field(default_factory=list)
    messages: int = 0
    fixes: int = 0
    rejected: int = 0
    #: well-formed fixes the jump filter set aside (held, dropped or moved out of a track)
    set_aside: int = 0
    wall_s: float = 0.0
    caught_up_s: float = 0.0  # after the day, until the platform had stored and evaluated everything
    drain_s: float = 0.0  # caught_up_s and the quiet spell that confirms it
    notes: list[str] = field(default_factory=list)


def small_fleet_document(seed: int, cars: int) -> dict[str, Any]:
    """The seed's fleet cut to ``cars`` pool cars (two thirds at the city's service centre,
    the rest at 东海县's), with a driver for each; everything else (organisations, places,
    lessors, logins) kept."""
    document, _ = build_seed_document(seed)
    city_depot = "320700-A01"
    county_depot = "320722-A01"
    quota = {city_depot: cars - cars // 3, county_depot: cars // 3}
    kept: list[dict[str, Any]] = []
    for vehicle in document["vehicles"]:
        owner = vehicle["org"]
        if vehicle.get("ownership") == "leased" or vehicle["status"] != "available" or quota.get(owner, 0) <= 0:
            continue
        quota[owner] -= 1
        kept.append(vehicle)
    per_depot: dict[str, int] = {}
    for vehicle in kept:
        per_depot[vehicle["home_depot"]] = per_depot.get(vehicle["home_depot"], 0) + 1
    drivers = []
    for driver in document["drivers"]:
        if per_depot.get(driver["home_depot"], 0) > 0 or driver.get("user"):
            per_depot[driver["home_depot"]] = per_depot.get(driver["home_depot"], 0) - 1
            drivers.append(driver)
    return document | {"vehicles": kept, "drivers": drivers}


def load_fleet(platform: Platform, scenario: Scenario) -> None:
    """Seed the platform's (empty) database for the scenario through the CLI."""
    if scenario.cars is None:
        platform.cli("seed", "--seed", str(scenario.seed))
        return
    path = platform.config.data_dir / "fleet-document.json"
    path.write_text(json.dumps(small_fleet_document(scenario.seed, scenario.cars), ensure_ascii=False))
    platform.cli("import", str(path))


def read_city(api: Api) -> City:
    return City.from_api(api.all("/organisations"), api.all("/depots"), api.all("/parking-sites"),
                         api.all("/zones"), api.all("/vehicles"))


def file_requests(api: Api, approver: Api, specs: list[RequestSpec],
                  record: DayRecord | None = None) -> dict[int, RequestSpec]:
    """Create and submit each request as the administrator and approve it as the approver
    (nobody approves a request they filed); platform id -> spec. Requests the live day's
    ``record`` holds were filed by an earlier run and are not filed again."""
    filed: dict[int, RequestSpec] = {}
    for spec in specs:
        if record is not None and spec.key in record.requests:
            filed[record.requests[spec.key]] = spec
            continue
        answer = api.post("/trip-requests", spec.as_api())
        if answer.status_code != 201:
            raise PlatformError(f"filing request {spec.key}: {answer.status_code} {answer.text[:300]}")
        request_id = answer.json()["id"]
        for mover, step in ((api, "submitted"), (approver, "approved")):
            moved = mover.post(f"/trip-requests/{request_id}/transitions", {"to": step})
            if moved.status_code != 200:
                raise PlatformError(f"request {spec.key} to {step}: {moved.status_code} {moved.text[:300]}")
        filed[request_id] = spec
        if record is not None:
            record.filed(spec.key, request_id)
    return filed


def plan_day(api: Api, scenario: Scenario, data: RunData, record: DayRecord | None = None) -> list[dict[str, Any]]:
    """Plan and accept the day with the dispatch API; the accepted plan's assignments. A plan
    the live day's ``record`` holds was accepted by an earlier run: it is read, not made again."""
    if record is not None and record.plan_id is not None:
        accepted = api.all("/dispatch/plans", service_date=scenario.day.isoformat(), status="accepted")
        plan_id = max((p["id"] for p in accepted), default=record.plan_id)  # re-planned in the console since?
        data.plan = api.get(f"/dispatch/plans/{plan_id}").raise_for_status().json()
        return data.plan["assignments"]
    answer = api.post("/dispatch/plans", {"service_date": scenario.day.isoformat(),
                                          "time_limit_s": scenario.plan_time_limit_s})
    if answer.status_code == 404:
        data.notes.append("dispatch API absent (POST /api/v1/dispatch/plans answered 404): no trips driven")
        return []
    if answer.status_code != 201:
        raise PlatformError(f"planning {scenario.day}: {answer.status_code} {answer.text[:500]}")
    plan = answer.json()
    accepted = api.post(f"/dispatch/plans/{plan['id']}/accept", {})
    if accepted.status_code != 200:
        raise PlatformError(f"accepting plan {plan['id']}: {accepted.status_code} {accepted.text[:500]}")
    data.plan = accepted.json()
    if record is not None:
        record.planned(plan["id"])
    figures = api.get("/dispatch/figures", service_date=scenario.day.isoformat())
    if figures.status_code == 200:
        data.figures = figures.json()
    return data.plan["assignments"]


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def build_timelines(city: City, scenario: Scenario, assignments: list[dict[str, Any]],
                    requests: dict[int, RequestSpec], rng: np.random.Generator,
                    data: RunData) -> dict[int, Timeline]:
    """Every car's timeline: its accepted pool jobs, then the planted misbehaviour."""
    roads = Roads(scenario.seed)
    cars = [c for c in city.cars.values() if c.status != "retired"]
    timelines = {c.id: Timeline(c) for c in cars}
    jobs: dict[int, list[Job]] = {}
    for a in assignments:
        spec = requests.get(a["request_id"])
        if a["kind"] != "pool" or spec is None or a.get("vehicle_id") not in timelines:
            continue
        jobs.setdefault(a["vehicle_id"], []).append(Job(
            a["id"], spec.key, spec.origin, spec.destination, _epoch(a["planned_pickup"]),
            _epoch(a["planned_dropoff"]), spec.pickup_earliest.timestamp(), spec.pickup_latest.timestamp()))
    wanted = scenario.misbehaviour
    detours: dict[int, dict[str, float]] = {}
    speeding: dict[int, dict[str, float]] = {}
    long_jobs = sorted(((vid, j) for vid, js in jobs.items() for j in js),
                       key=lambda item: -haversine_m(*item[1].origin, *item[1].destination))
    used: set[int] = set()
    for vid, job in long_jobs:
        straight = haversine_m(*job.origin, *job.destination)
        if vid in used:
            continue
        if len(speeding) < wanted.get("speeding", 0) and straight >= 15_000:
            speeding[vid] = {job.request_key: 135.0}
            used.add(vid)
        elif len(detours) < wanted.get("detour", 0) and straight >= 8_000:
            side = 5_000.0 if city.inside(*job.destination) else -5_000.0
            detours[vid] = {job.request_key: side}
            used.add(vid)
    for vid, car_jobs in jobs.items():
        served = drive_jobs(timelines[vid], car_jobs, rng, roads, detours=detours.get(vid),
                            speeding=speeding.get(vid))
        data.served += served
        for s in served:
            if s.job.request_key in detours.get(vid, {}):
                data.incidents.append(Planter.detour_incident(timelines[vid], s))
            if s.job.request_key in speeding.get(vid, {}):
                incident = Planter.speeding_incident(timelines[vid], s)
                if incident:
                    data.incidents.append(incident)
    _plant(city, scenario, timelines, jobs, roads, rng, data)
    return timelines


def _plant(city: City, scenario: Scenario, timelines: dict[int, Timeline], jobs: dict[int, list[Job]],
           roads: Roads, rng: np.random.Generator, data: RunData) -> None:
    start, end = scenario.window
    midnight = scenario.local_midnight.timestamp()
    calendar = Calendar(midnight, working=not is_rest_day(scenario.day))
    planter = Planter(city, roads, calendar, (start.timestamp(), end.timestamp()), rng)
    idle = [vid for vid in timelines if vid not in jobs and city.cars[vid].ownership == "pool"]
    idle += [vid for vid in timelines if vid in jobs]
    order = list(rng.permutation(len(idle)))
    candidates = [idle[i] for i in order if idle[i] not in jobs] + [idle[i] for i in order if idle[i] in jobs]
    taken: set[int] = {i.vehicle_id for i in data.incidents}
    rest_day = latest_rest_day(scenario.day)
    rest_midnight = datetime.combine(rest_day, datetime.min.time(), tzinfo=scenario.local_midnight.tzinfo).timestamp()
    for behaviour, count in scenario.misbehaviour.items():
        if behaviour in ("detour", "speeding"):
            continue
        planted = 0
        for vid in candidates:
            if planted >= count:
                break
            if vid in taken:
                continue
            tl = timelines[vid]
            if behaviour == "night_at_home":
                found = planter.night_at_home(tl)
            elif behaviour == "holiday_use":
                one = planter.holiday_use(tl, rest_midnight)
                found = [one] if one else []
            elif behaviour in ("forbidden_venue", "unplugged"):
                found = getattr(planter, behaviour)(tl)
            else:
                one = getattr(planter, behaviour)(tl)
                found = [one] if one else []
            if found:
                data.incidents += found
                taken.add(vid)
                planted += 1
        if planted < count:
            data.notes.append(f"{behaviour}: planted {planted} of {count} (no car had room for more)")
    if scenario.opening_incident_s is not None:  # live: play begins about now; planted last, so
        # that a restarted day (which has none) plants everything else as before
        _plant_opening(planter, [timelines[v] for v in candidates if v not in taken and v not in jobs],
                       max(start.timestamp(), time.time()) + scenario.opening_incident_s, data)
    late = [i for i in data.incidents if i.observable_s > end.timestamp()]
    if late:
        data.notes.append(f"{len(late)} planted incident(s) not observable before the run ends, left out of the truth")
    data.incidents = [i for i in data.incidents if i.observable_s <= end.timestamp()]


def _plant_opening(planter: Planter, idle: list[Timeline], depart_s: float, data: RunData) -> None:
    """The live run's opening private drive, on the first idle car with room for it."""
    for tl in idle:
        found = planter.opening_drive(tl, depart_s)
        if found:
            data.incidents.append(found)
            return
    data.notes.append("opening_drive: no idle car had room for it")


class EventListener:
    """Subscribes to the platform's position, alert and rejection events."""

    def __init__(self, mqtt_url: str, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.sent: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        self.lags: list[tuple[float, float]] = []
        self.alert_seen: dict[int, float] = {}
        self.rejected = 0
        self.set_aside = 0
        self.last_event_wall = time.monotonic()
        self.client = BrokerClient(parse_broker_url(mqtt_url), name="simulation-listener", on_message=self._on_message)
        for topic in (topics.EVENTS_POSITIONS, topics.EVENTS_ALERTS, topics.INGEST_REJECTED):
            self.client.subscribe(topic, 0)
        self.client.start()
        self.client.wait_connected(10)

    def expect(self, device_id: str, newest_s: float) -> None:
        with self.lock:
            self.sent[(device_id, int(round(newest_s)))] = time.monotonic()

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        self.last_event_wall = now
        try:
            body = json.loads(message.payload)
        except ValueError:
            return
        if message.topic == topics.EVENTS_POSITIONS:
            with self.lock:
                for item in body if isinstance(body, list) else [body]:
                    key = (item.get("device_id"), int(round(_epoch(item["ts"]))))
                    sent = self.sent.pop(key, None)
                    if sent is not None:
                        self.lags.append((self.clock(), now - sent))
        elif message.topic == topics.EVENTS_ALERTS:
            alert_id = body.get("id")
            if isinstance(alert_id, int):
                self.alert_seen.setdefault(alert_id, self.clock())
        elif str(body.get("reason", "")).startswith(topics.TRACK_FILTER_REASON):
            self.set_aside += 1
        else:
            self.rejected += 1

    def forget_older_than(self, wall_s: float) -> None:
        cutoff = time.monotonic() - wall_s
        with self.lock:
            self.sent = {k: v for k, v in self.sent.items() if v >= cutoff}

    def close(self) -> None:
        self.client.close()


#: Most messages the simulation's publisher leaves unacknowledged before it waits (below the
#: 65,535 MQTT message ids).
MAX_UNACKNOWLEDGED = 50_000
#: Most messages on their way to the broker at once (paho's in-flight window; beyond it,
#: messages wait in the publisher for an acknowledgement to free a slot).
MAX_IN_FLIGHT = 20_000
#: How long the publisher waits at the end for the broker's acknowledgements, seconds.
CLOSE_WAIT_S = 120.0


class Publisher:
    """Publishes terminals' messages on their gps topics (QoS 1) from one client."""

    def __init__(self, mqtt_url: str) -> None:
        self.client = BrokerClient(parse_broker_url(mqtt_url), name="simulation-publisher", max_inflight=MAX_IN_FLIGHT)
        self.client.start()
        self.client.wait_connected(10)

    def publish(self, device_id: str, payload: bytes) -> None:
        """Publish, waiting while too many messages are unacknowledged: paho numbers them with
        16-bit message ids and silently refuses a new message whose id is still queued."""
        while self.unacknowledged >= MAX_UNACKNOWLEDGED:
            time.sleep(0.01)
        info = self.client.publish(topics.gps_topic(device_id), payload, qos=1)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):  # NO_CONN: queued, sent on reconnect
            raise RuntimeError(f"publish to {device_id}: {mqtt.error_string(info.rc)}")

    @property
    def unacknowledged(self) -> int:
        """Messages published and not yet acknowledged by the broker."""
        return self.client.unacknowledged

    def close(self) -> int:
        """Wait (up to CLOSE_WAIT_S) for the broker to acknowledge everything, disconnect, and
        return how many messages it had not acknowledged."""
        deadline = time.monotonic() + CLOSE_WAIT_S
        while self.unacknowledged and time.monotonic() < deadline:
            time.sleep(0.1)
        left = self.unacknowledged
        self.client.close()
        return left


def play(platform: Platform, scenario: Scenario, timelines: dict[int, Timeline], data: RunData,
         faults: Faults, rng: np.random.Generator, progress: bool = True,
         stop: threading.Event | None = None, from_s: float | None = None, late_batches: bool = True) -> None:
    """Play simulated time: every ``upload_interval_s`` each terminal uploads what it has.
    ``from_s`` (epoch s) starts play there instead: a live day plays from the moment its
    requests are planned, a restarted one from where the earlier run left it, and then without
    the rest day's ``late_batches`` (the earlier run sent them)."""
    start, end = scenario.window
    t0, t1 = start.timestamp(), end.timestamp()
    if from_s is not None:
        t0 = min(t1, max(t0, from_s))
    wall0 = time.monotonic()
    listener = EventListener(platform.mqtt_url, lambda: t0 + (time.monotonic() - wall0) * scenario.speed)
    publisher = Publisher(platform.mqtt_url)
    terminals = [Terminal(tl, scenario.fix_interval_s, faults, np.random.default_rng(rng.integers(2**63)))
                 for tl in timelines.values()]
    _blind_areas(timelines, scenario, rng, faults)
    stop = stop or threading.Event()
    try:
        if late_batches:
            _late_holiday_batches(data, timelines, scenario, publisher, listener)
        step = scenario.upload_interval_s
        total_steps = int(np.ceil((t1 - t0) / step))
        columns = [TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn()]
        with Progress(*columns, disable=not progress, refresh_per_second=4) as bar:
            task = bar.add_task("simulated day", total=total_steps, status="")
            previous = t0
            for index in range(1, total_steps + 1):
                if stop.is_set():
                    break
                now_sim = min(t1, t0 + index * step)
                wait = wall0 + (now_sim - t0) / scenario.speed - time.monotonic()
                if wait > 0:
                    stop.wait(wait)
                for terminal in terminals:
                    for message in terminal.messages(previous, now_sim):
                        payload, newest = encode(message)
                        listener.expect(terminal.timeline.car.device_id, newest)
                        publisher.publish(terminal.timeline.car.device_id, payload)
                        data.messages += 1
                        data.fixes += len(message)
                previous = now_sim
                data.outbound.append((now_sim, publisher.unacknowledged))
                if index % 50 == 0:
                    listener.forget_older_than(120)
                lags = [lag for _, lag in listener.lags[-2000:]]
                local = datetime.fromtimestamp(now_sim, scenario.local_midnight.tzinfo).strftime("%m-%d %H:%M")
                status = f"{local} | {data.fixes:,} fixes | {publisher.unacknowledged:,} unacknowledged"
                if lags:
                    status += f" | lag p95 {np.percentile(lags, 95):.2f} s"
                bar.update(task, advance=1, status=status)
        unacknowledged = publisher.close()
        if unacknowledged:
            data.notes.append(f"{unacknowledged} messages were still unacknowledged by the broker "
                              f"{CLOSE_WAIT_S:.0f} s after the day and were not delivered")
        data.wall_s = time.monotonic() - wall0
        drain0 = time.monotonic()
        idle_checks = 0
        while time.monotonic() - drain0 < DRAIN_LIMIT_S:
            pending = platform.ingest_metric("fleet_ingest_pending_messages")
            dirty = platform.ingest_metric("fleet_ingest_evaluation_pending_vehicles")
            quiet = time.monotonic() - listener.last_event_wall
            done = (pending is None or pending <= 0) and (dirty is None or dirty <= 0)
            if done and not idle_checks:
                data.caught_up_s = time.monotonic() - drain0
            idle_checks = idle_checks + 1 if done else 0
            if idle_checks >= 3 and quiet > DRAIN_QUIET_S:
                break
            time.sleep(1)
        else:
            data.notes.append(f"the platform had not caught up {DRAIN_LIMIT_S:.0f} s after the day: {pending} "
                              f"messages unacknowledged, {dirty} vehicles awaiting evaluation (their alerts "
                              "may be missing from the detection figures)")
        data.drain_s = time.monotonic() - drain0
    finally:
        listener.close()
    data.lags_s = [lag for _, lag in listener.lags]
    data.lag_at_s = [at for at, _ in listener.lags]
    data.alert_seen_s = dict(listener.alert_seen)
    data.rejected = listener.rejected
    data.set_aside = listener.set_aside


def _blind_areas(timelines: dict[int, Timeline], scenario: Scenario, rng: np.random.Generator, faults: Faults) -> None:
    """Give a share of the moving cars one 5-20 minute blind area during a drive."""
    start, end = scenario.window
    for tl in timelines.values():
        legs = [g for g in tl.legs if g.end_s - g.start_s > 600 and start.timestamp() <= g.start_s < end.timestamp()]
        if legs and rng.random() < faults.blind_area_share * 4:
            leg = legs[int(rng.integers(len(legs)))]
            a = leg.start_s + 60
            tl.blind.append((a, a + min(float(rng.uniform(300, 1200)), leg.end_s - a)))


def _late_holiday_batches(data: RunData, timelines: dict[int, Timeline], scenario: Scenario,
                          publisher: Publisher, listener: EventListener) -> None:
    """Terminals of cars used on the rest day upload that day's track late, at the start."""
    for incident in data.incidents:
        if incident.behaviour != "holiday_use":
            continue
        tl = timelines[incident.vehicle_id]
        a, b = holiday_fixes_window(incident)
        t = np.arange(a, b, scenario.fix_interval_s)
        terminal = Terminal(tl, scenario.fix_interval_s, Faults(), np.random.default_rng(incident.vehicle_id))
        fixes = terminal._fixes(t)
        for i in range(0, len(fixes), LATE_BATCH_FIXES):
            payload, newest = encode(fixes[i:i + LATE_BATCH_FIXES])
            publisher.publish(tl.car.device_id, payload)
            data.messages += 1
            data.fixes += len(fixes[i:i + LATE_BATCH_FIXES])


def collect_alerts(api: Api, scenario: Scenario) -> list[dict[str, Any]]:
    start, end = scenario.window
    return api.all("/alerts", since=(start - timedelta(days=9)).astimezone(UTC).isoformat(),
                   until=(end + timedelta(hours=2)).astimezone(UTC).isoformat())


def run_scenario(platform: Platform, scenario: Scenario, progress: bool = True, faults: Faults | None = None,
                 seeded: bool = False, stop: threading.Event | None = None,
                 record: DayRecord | None = None) -> RunData:
    """Load the fleet (unless ``seeded``), start the platform's processes and play the scenario.
    With a live day's ``record``, what an earlier run of the same day filed and planned is
    reused and play carries on from now."""
    data = RunData(scenario)
    rng = np.random.default_rng(scenario.seed)
    if not seeded:
        load_fleet(platform, scenario)
    missing = platform.start_services()
    for name in missing:
        data.notes.append(f"fleet {name} did not start: {platform.tail(name, 500)}")
    admin = Api(platform.base_url, *ADMIN)
    dispatcher = Api(platform.base_url, *DISPATCHER)
    approver = Api(platform.base_url, *APPROVER)
    try:
        city = read_city(admin)
        data.cars = {c.id: {"plate": c.plate, "energy": c.energy, "ownership": c.ownership} for c in city.cars.values()}
        start, end = scenario.window
        specs = generate_demand(city, scenario.requests, (start, end), scenario.local_midnight, rng,
                                soon=scenario.soon_requests)
        data.requests = file_requests(admin, approver, specs, record)
        if seeded:  # the demo: its requester and approver have requests of their own
            data.requests |= file_requester_examples(platform.base_url, approver, city, start, record)
        planned_before = record is not None and record.plan_id is not None
        try:
            assignments = plan_day(dispatcher, scenario, data, record)
        except PlatformError as exc:  # e.g. the day was already planned by an earlier demo run
            data.notes.append(f"planning failed, cars stay parked: {exc}")
            assignments = []
        if seeded and not planned_before:  # the demo: its driver login drives one car's trips today
            try:
                give_demo_driver_trips(admin, dispatcher, platform.base_url, assignments,
                                       {c.id: c.vehicle_class for c in city.cars.values()})
            except PlatformError as exc:
                data.notes.append(f"the demo driver got no trips: {exc}")
        cars = {vid: c for vid, c in city.cars.items() if c.status != "retired"}
        if scenario.cars is not None:
            cars = dict(list(cars.items())[: scenario.cars])
        city.cars = cars
        timelines = build_timelines(city, scenario, assignments, data.requests, rng, data)
        stop = stop or threading.Event()
        if seeded:  # the demo: its auditor finds the rest day's private use confirmed
            confirm_rest_day_alerts(platform.base_url, DISPATCHER, data.incidents, stop)
        play(platform, scenario, timelines, data, faults or Faults(), rng, progress, stop,
             from_s=time.time() if record is not None else None,  # a live day plays from now
             late_batches=record is None or not record.resumed)
        data.alerts = collect_alerts(admin, scenario)
    finally:
        admin.close()
        dispatcher.close()
        approver.close()
    return data


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str))

