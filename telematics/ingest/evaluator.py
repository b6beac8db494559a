"""Alert evaluation off the storage fast path: coalesced dirty windows, evaluated per vehicle
at most once per round.

The ingest pipeline commits each batch's positions together with a row per vehicle saying
which event-time span the new points touched (``ingest_dirty``). The evaluator wakes every
FLEET_INGEST_EVALUATION_INTERVAL_S seconds, reads each vehicle's rows merged into one window
(the longest waiting first), re-evaluates it (``telematics.evaluation.reevaluate``, idempotent
over what is stored) a few vehicles per transaction (one on SQLite), deletes the rows it read
in the same transaction (rows a batch added meanwhile stay for the next round), and publishes
the new or changed alerts once that transaction is committed.

So a car reporting every 10 s is evaluated once per round however many messages it sent, the
stored trips, stops and alerts do not depend on the batching, nothing is lost on a restart
(the windows are in the database) and an alert is published at most one interval plus one
round after its last point was stored, while the CPU is not saturated: ``fleet ingest`` runs the
evaluator in a child process (its own MQTT connection) at a lower priority than the storing,
so that under overload evaluation falls behind (and coalesces more) instead of ingest;
``fleet replay`` runs it in line after the last batch. After each round the live evaluator
also sweeps for terminals that stay silent (``telematics.silence``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import structlog
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet import topics
from fleet.broker import BrokerClient, broker_client
from fleet.models.common import utcnow
from fleet.models.operations import AlertPublic
from fleet.settings import Settings
from telematics.evaluation import RuleInputs, reevaluate
from telematics.ingest.processes import StopFlag
from telematics.ingest.storage import DirtyWindow, clear_dirty, dirty_windows
from telematics.silence import SilenceSweep

log = structlog.get_logger(__name__)

#: PostgreSQL advisory lock class held per vehicle while it is evaluated, so that two workers'
#: evaluators never evaluate one vehicle at the same time.
EVALUATION_LOCK_KEY = 0x464C4545  # "FLEE"
#: Vehicles evaluated per transaction, by database: fewer commits save time, but SQLite's
#: single write lock, held from a transaction's first write to its commit, stalls the
#: ingest's commits meanwhile, so there each vehicle commits on its own.
VEHICLES_PER_TRANSACTION = {"sqlite": 1, "postgresql": 8}
#: Dirty windows read per round at most (the rest wait for the next round).
WINDOWS_PER_ROUND = 5000
#: Shortest wait before the evaluator process retries after a database error, seconds.
RETRY_S = 1.0

#: Receives the alerts of one committed transaction, as AlertPublic JSON objects.
AlertSink = Callable[[list[dict[str, Any]]], None]


@dataclass
class Round:
    """What one pass over the dirty windows did."""

    vehicles: int = 0
    deferred: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    #: Longest time a window waited from first marked to evaluated, seconds.
    max_wait_s: float = 0.0


class Evaluator:
    """Evaluates the dirty windows stored by the ingest pipeline (see the module text)."""

    def __init__(self, engine: Engine, settings: Settings, sink: AlertSink) -> None:
        self.engine = engine
        self.settings = settings
        self.sink = sink
        self.silence = SilenceSweep(settings)

    def run_round(self, stop: StopFlag | None = None) -> Round:
        """Evaluate every window dirty at the start of the round, once each (stopping early,
        between two transactions, when ``stop`` is set)."""
        started = time.perf_counter()
        outcome = Round()
        with Session(self.engine, expire_on_commit=False) as session:
            windows = dirty_windows(session, WINDOWS_PER_ROUND)
            inputs = RuleInputs.load(session, self.settings) if windows else None
            session.rollback()
            group = VEHICLES_PER_TRANSACTION.get(session.get_bind().dialect.name, 1)
            for first in range(0, len(windows), group):
                if stop is not None and stop.is_set():
                    break
                self._evaluate_group(session, windows[first: first + group], outcome, inputs)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def drain(self, max_rounds: int = 100) -> Round:
        """Run rounds until no window is left (or ``max_rounds``); returns the totals."""
        total = Round()
        for _ in range(max_rounds):
            outcome = self.run_round()
            total.vehicles += outcome.vehicles
            total.alerts += outcome.alerts
            total.seconds += outcome.seconds
            total.max_wait_s = max(total.max_wait_s, outcome.max_wait_s)
            if outcome.vehicles == 0 and outcome.deferred == 0:
                break
            total.deferred = outcome.deferred
        return total

    def sweep_silent(self, wall_now: datetime | None = None) -> list[dict[str, Any]]:
        """Raise ``device.offline`` for terminals that stay silent (``telematics.silence``),
        commit and publish; returns the published alerts."""
        with Session(self.engine, expire_on_commit=False) as session:
            alerts = self.silence.run(session, wall_now)
            session.commit()
        published = [AlertPublic.model_validate(a, from_attributes=True).model_dump(mode="json") for a in alerts]
        if published:
            self.sink(published)
        return published

    def _evaluate_group(self, session: Session, group: list[DirtyWindow], outcome: Round,
                        inputs: RuleInputs | None) -> None:
        postgres = session.get_bind().dialect.name == "postgresql"
        mine: list[DirtyWindow] = []
        for window in group:
            if postgres and not session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key, :vehicle)"),
                {"key": EVALUATION_LOCK_KEY, "vehicle": window.vehicle_id},
            ).scalar_one():
                outcome.deferred += 1  # another worker's evaluator has it
                continue
            mine.append(window)
        try:
            alerts = reevaluate(session, {w.vehicle_id: (w.start_at, w.end_at) for w in mine}, inputs)
            published = [
                AlertPublic.model_validate(alert, from_attributes=True).model_dump(mode="json")
                for alert in alerts
            ]
            outcome.deferred += sum(not clear_dirty(session, window) for window in mine)
            session.commit()
        except sa_exc.SQLAlchemyError:
            session.rollback()
            raise  # the windows stay dirty; the caller retries
        except Exception:
            session.rollback()
            # A rule failure must not stop ingest; the windows stay dirty and are tried again.
            log.exception("alert_evaluation_failed", vehicles=[w.vehicle_id for w in mine])
            return
        now = utcnow()
        outcome.vehicles += len(mine)
        outcome.max_wait_s = max([outcome.max_wait_s, *((now - w.marked_at).total_seconds() for w in mine)])
        if published:
            outcome.alerts += published
            self.sink(published)

    def run(self, stop: StopFlag, on_round: Callable[[Round], None] | None = None) -> None:
        """Run a round every FLEET_INGEST_EVALUATION_INTERVAL_S seconds (at once when the last
        round took longer) until ``stop`` is set; database errors are retried."""
        interval_s = self.settings.ingest.evaluation_interval_s
        while not stop.is_set():
            started = time.monotonic()
            try:
                outcome = self.run_round(stop)
                outcome.alerts += self.sweep_silent()
            except sa_exc.SQLAlchemyError as error:
                log.warning("evaluation_database_error", error=str(error).splitlines()[0])
                stop.wait(RETRY_S)
                continue
            if on_round is not None:
                on_round(outcome)
            if outcome.vehicles:
                log.debug("evaluation_round", vehicles=outcome.vehicles, alerts=len(outcome.alerts),
                          seconds=round(outcome.seconds, 3), max_wait_s=round(outcome.max_wait_s, 3))
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))


def _alert_publisher(settings: Settings) -> tuple[BrokerClient, AlertSink]:
    """A connecting client and a sink that publishes each alert (QoS 1, signed) on
    ``fleet/v1/events/alerts``; paho queues them while the broker is away."""
    client = broker_client(settings, "evaluator", client_id=f"{settings.ingest.client_id}-alerts")
    client.start()

    def sink(alerts: list[dict[str, Any]]) -> None:
        for alert in alerts:
            client.publish_json(topics.EVENTS_ALERTS, alert, qos=1)

    return client, sink


@dataclass
class EvaluatorCounters:
    """Figures the evaluator process shares with the worker (for its /metrics)."""

    vehicles: Synchronized
    alerts: Synchronized


#: Niceness of the evaluator process: storing positions goes first; evaluation takes the CPU
#: left over and catches up (the dirty windows coalesce meanwhile) when the load drops.
EVALUATOR_NICE = 10


def evaluator_main(stop: StopFlag, settings: Settings, counters: EvaluatorCounters) -> None:
    """The evaluator process (see ``processes.Child``): rounds until ``stop`` is set."""
    from fleet.db import make_engine

    os.nice(EVALUATOR_NICE)
    engine = make_engine(settings.resolved_database_url)
    client, sink = _alert_publisher(settings)

    def count(outcome: Round) -> None:
        with counters.vehicles.get_lock():
            counters.vehicles.value += outcome.vehicles
        with counters.alerts.get_lock():
            counters.alerts.value += len(outcome.alerts)

    try:
        Evaluator(engine, settings, sink).run(stop, on_round=count)
    finally:
        client.close()
        engine.dispose()
