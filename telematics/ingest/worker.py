"""The ``fleet ingest`` worker: a paho-mqtt client with a persistent session and manual
acknowledgements, feeding micro-batches to the pipeline, and the alert evaluator in a child
process.

Threads: paho's network thread only queues each message; the worker thread decodes, batches
(FLEET_INGEST_BATCH_SIZE positions or FLEET_INGEST_BATCH_MAX_DELAY_S, whichever comes first),
stores, publishes, and only then acknowledges the batch's messages. A message not yet
acknowledged when the worker, the broker or the database goes away is delivered again (the
broker keeps the session); storing it twice is a no-op.

Several workers share the load through ``$share/<FLEET_MQTT_SHARE_GROUP>/...``. Per-vehicle
order does not depend on which worker gets which message: positions are stored by event time,
each batch merges its vehicles' windows into the stored dirty windows, and the evaluators
(one per worker, a PostgreSQL advisory lock per vehicle) re-evaluate them from what is stored.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import structlog
from prometheus_client import start_http_server
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from fleet import topics
from fleet.broker import BrokerClient, broker_client
from fleet.models.common import utcnow
from fleet.settings import Settings
from telematics.ingest import metrics
from telematics.ingest.evaluator import EvaluatorCounters, evaluator_main
from telematics.ingest.pipeline import BatchOutcome, Decoded, Inbound, IngestPipeline
from telematics.ingest.processes import Child, StopFlag
from telematics.ingest.storage import dirty_backlog

log = structlog.get_logger(__name__)

#: How long the worker thread waits for a first message before checking for a stop, seconds.
IDLE_POLL_S = 0.5
#: How often the worker checks its evaluator process and refreshes the evaluation metrics, seconds.
EVALUATOR_CHECK_S = 1.0
#: How often the worker measures the evaluation backlog for /metrics, seconds (the count runs
#: over the whole dirty log, on the worker's own time).
BACKLOG_CHECK_S = 5.0
#: Share of FLEET_INGEST_SHUTDOWN_S a helper worker takes for its own shutdown, so that it is
#: done before the first worker stops waiting for it.
HELPER_SHUTDOWN_SHARE = 0.8


@dataclass(frozen=True)
class _Received:
    session: int
    topic: str
    payload: bytes
    mid: int
    qos: int


class IngestWorker:
    """Subscribes to every vehicle's gps and status topics and stores what arrives.

    The first worker (``helper`` False) also runs the evaluator process and the
    FLEET_INGEST_PROCESSES - 1 helper workers, each a process with its own MQTT session
    (client id ``<FLEET_INGEST_CLIENT_ID>-<n>``) and metrics port (FLEET_INGEST_METRICS_PORT + n).
    """

    def __init__(self, settings: Settings, engine: Engine, helper: bool = False) -> None:
        if settings.ingest.processes > 1 and not settings.mqtt.share_group:
            raise ValueError(
                "FLEET_INGEST_PROCESSES: more than one worker process needs FLEET_MQTT_SHARE_GROUP "
                "(else every worker receives every message)"
            )
        self.settings = settings
        self.engine = engine
        self.helper = helper
        self.pipeline = IngestPipeline(engine, settings)
        self.evaluator: Child | None = None
        self.counters: EvaluatorCounters | None = None
        self.helpers: list[Child] = []
        self._counted = (0, 0)
        self._checked_at = 0.0
        self._backlog_at = 0.0
        self._inbox: queue.SimpleQueue[_Received] = queue.SimpleQueue()
        self._in_batch = 0  # messages taken from the inbox and not yet acknowledged
        metrics.PENDING.set_function(lambda: self._inbox.qsize() + self._in_batch)
        self._session = 0  # counts connections: acks for an older connection are not sent
        self._connected = threading.Event()
        self.v5 = settings.mqtt_v5
        self.client = self._make_client()
        #: Publishes live positions and dead letters: the receiving client where it signs
        #: (MQTT 5) or the broker carries no signatures (embedded), else a signing one.
        self.events = self.client if self.v5 or settings.uses_embedded_broker else broker_client(
            settings, "ingest", client_id=f"{settings.ingest.client_id}-events")
        receive_maximum = settings.ingest.receive_maximum if self.v5 else 20
        self._max_messages = max(1, receive_maximum // 2)

    def _make_client(self) -> BrokerClient:
        """The receiving client: QoS 1 with manual acknowledgements on a persistent session
        (3.1.1: clean_session off; 5: session expiry and receive maximum), no bound on the
        messages paho keeps while the broker is away, reconnects every 1-30 s."""
        settings = self.settings
        group = settings.mqtt.share_group
        client = broker_client(
            settings, "ingest", v5=self.v5, client_id=settings.ingest.client_id, persistent=True,
            session_expiry_s=settings.ingest.session_expiry_s,
            receive_maximum=settings.ingest.receive_maximum if self.v5 else None, manual_ack=True,
            on_message=self._on_message, on_connect=self._on_connect, on_disconnect=self._connected.clear,
        )
        client.subscribe(topics.shared(topics.GPS_WILDCARD, group), 1)
        client.subscribe(topics.shared(topics.STATUS_WILDCARD, group), 1)
        return client

    # -- broker callbacks (network thread) -------------------------------------------------
    def _on_connect(self, session_present: bool) -> None:
        self._session += 1
        self._connected.set()
        log.info("mqtt_connected", session_present=session_present, mqtt5=self.v5,
                 share_group=self.settings.mqtt.share_group or None)

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(_Received(self._session, message.topic, message.payload, message.mid, message.qos))

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (retrying in the background until the broker answers)."""
        self.client.start()
        if self.events is not self.client:
            self.events.start()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def run(self, stop: StopFlag) -> None:
        """Store batches until ``stop`` is set, then shut down within FLEET_INGEST_SHUTDOWN_S
        (see :meth:`shut_down`)."""
        if self.settings.ingest.metrics_port:
            start_http_server(self.settings.ingest.metrics_port, addr=self.settings.web.host)
        if not self.helper:
            self._start_evaluator()
            self.helpers = [_helper(self.settings, n) for n in range(1, self.settings.ingest.processes)]
            for child in self.helpers:
                child.start()
        self.start()
        try:
            while not stop.is_set():
                batch = self._collect(stop)
                if batch:
                    self._handle(batch, stop)
                if not stop.is_set():  # a child that died of the same SIGTERM stays dead
                    self._check_children()
        finally:
            self.shut_down(stop)

    def shut_down(self, stop: StopFlag) -> None:
        """Bounded by FLEET_INGEST_SHUTDOWN_S from now: tell the children to stop, store and
        acknowledge what was already received (for at most half the time), disconnect (what
        is still unacknowledged stays with the broker, which delivers it again), then wait for
        the children until the time is up and kill those still running (their dirty windows
        stay in the database)."""
        started = time.monotonic()
        budget_s = self.settings.ingest.shutdown_s
        children = [*self.helpers, *([self.evaluator] if self.evaluator else [])]
        for child in children:
            child.request_stop()
        flush_until = started + budget_s / 2
        while time.monotonic() < flush_until and not self._inbox.empty():
            batch = self._collect(stop)
            if batch:
                self._handle(batch, stop)
        left = self._inbox.qsize()
        self.client.close()
        if self.events is not self.client:
            self.events.close()
        for child in children:
            child.join(max(0.0, started + budget_s - time.monotonic()))
        log.info("ingest_stopped", seconds=round(time.monotonic() - started, 2), left_with_broker=left)

    def _start_evaluator(self) -> None:
        self.counters = EvaluatorCounters(Child.shared_counter(), Child.shared_counter())
        self.evaluator = Child("fleet-evaluator", evaluator_main, self.settings, self.counters)
        self._counted = (0, 0)
        self.evaluator.start()

    def _check_children(self) -> None:
        """At most every EVALUATOR_CHECK_S: restart a dead child and carry the evaluator's
        counts into the metrics; every BACKLOG_CHECK_S, measure the evaluation backlog."""
        now = time.monotonic()
        if now - self._checked_at < EVALUATOR_CHECK_S or self.evaluator is None or self.counters is None:
            return
        self._checked_at = now
        vehicles, alerts = self.counters.vehicles.value, self.counters.alerts.value
        metrics.VEHICLES_EVALUATED.inc(vehicles - self._counted[0])
        metrics.ALERTS_PUBLISHED.inc(alerts - self._counted[1])
        self._counted = (vehicles, alerts)
        if not self.evaluator.alive():
            log.error("evaluator_died", exitcode=self.evaluator.process.exitcode)
            self._start_evaluator()
        for n, child in enumerate(self.helpers, start=1):
            if not child.alive():
                log.error("ingest_helper_died", helper=n, exitcode=child.process.exitcode)
                self.helpers[n - 1] = _helper(self.settings, n)
                self.helpers[n - 1].start()
        if now - self._backlog_at < BACKLOG_CHECK_S:
            return
        self._backlog_at = now
        try:
            with Session(self.engine) as session:
                pending, oldest = dirty_backlog(session)
        except SQLAlchemyError:
            return  # the batch path reports database outages
        metrics.EVALUATION_PENDING.set(pending)
        metrics.EVALUATION_WAIT.set(0 if oldest is None else (utcnow() - oldest).total_seconds())

    def _collect(self, stop: StopFlag) -> list[tuple[_Received, Decoded]]:
        try:
            first = self._inbox.get(timeout=IDLE_POLL_S)
        except queue.Empty:
            return []
        now = utcnow()  # one arrival time per batch for the future-time check
        self._in_batch = 1
        batch = [(first, self.pipeline.decode(Inbound(first.topic, first.payload), now=now))]
        fixes = len(batch[0][1].fixes)
        deadline = time.monotonic() + self.settings.ingest.batch_max_delay_s
        while fixes < self.settings.ingest.batch_size and len(batch) < self._max_messages:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or stop.is_set():
                    break
                try:
                    item = self._inbox.get(timeout=min(remaining, IDLE_POLL_S))
                except queue.Empty:
                    continue
            decoded = self.pipeline.decode(Inbound(item.topic, item.payload), now=now)
            fixes += len(decoded.fixes)
            batch.append((item, decoded))
            self._in_batch += 1
        return batch

    def _handle(self, batch: list[tuple[_Received, Decoded]], stop: StopFlag) -> None:
        try:
            outcome = self.pipeline.store_with_retry([d for _, d in batch], stop)
        except SQLAlchemyError:
            # Stopped during a database outage: the broker delivers the batch again.
            log.warning("batch_left_unacknowledged", messages=len(batch))
            return
        self._publish(outcome)
        session = self._session
        for item, _ in batch:
            if item.qos and item.session == session:
                self.client.ack(item.mid, item.qos)
        self._in_batch = 0
        log.debug("batch_stored", messages=len(batch), stored=outcome.stored, duplicates=outcome.duplicates)

    def _publish(self, outcome: BatchOutcome) -> None:
        for publication in outcome.publications:
            self.events.publish(publication.topic, publication.payload, qos=publication.qos)


def _helper(settings: Settings, n: int) -> Child:
    """Helper worker ``n`` (1, 2, ...): its own session and metrics port."""
    port = settings.ingest.metrics_port + n if settings.ingest.metrics_port else 0
    ingest = settings.ingest.model_copy(update={"client_id": f"{settings.ingest.client_id}-{n}",
                                                "metrics_port": port,
                                                "shutdown_s": settings.ingest.shutdown_s * HELPER_SHUTDOWN_SHARE})
    own = settings.model_copy(update={"ingest": ingest})
    return Child(f"fleet-ingest-{n}", helper_main, own)


def helper_main(stop: StopFlag, settings: Settings) -> None:
    """A helper worker process (see ``processes.Child``): stores batches until ``stop``."""
    from fleet.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    try:
        IngestWorker(settings, engine, helper=True).run(stop)
    finally:
        engine.dispose()
