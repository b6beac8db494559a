"""Prometheus counters of the ingest worker (served by ``fleet ingest`` on
FLEET_INGEST_METRICS_PORT; the web app's /metrics shows them too when both run in one
process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("fleet_ingest_messages_total", "MQTT messages taken in", ["kind"])
GPS_MESSAGES = MESSAGES.labels("gps")
STATUS_MESSAGES = MESSAGES.labels("status")
POSITIONS_STORED = Counter("fleet_ingest_positions_stored_total", "New positions written")
POSITIONS_DROPPED = Counter(
    "fleet_ingest_positions_dropped_total",
    "Valid fixes not written: duplicate (same device and time) or jump (GPS jump)",
    ["reason"],
)
POSITIONS_HELD = Counter(
    "fleet_ingest_positions_held_total",
    "Fixes held out of the track until agreeing fixes confirm them (GPS jump filter)",
)
POSITIONS_MARKED = Counter(
    "fleet_ingest_positions_marked_total",
    "Stored fixes outvoted by agreeing later fixes and moved out of the track",
)
REJECTED = Counter(
    "fleet_ingest_rejected_total",
    "Messages or points refused and sent to fleet/v1/ingest/rejected",
    ["reason"],
)
BATCHES = Counter("fleet_ingest_batches_total", "Micro-batches committed")
BATCH_SECONDS = Histogram(
    "fleet_ingest_batch_seconds", "Time to store and evaluate one micro-batch, seconds"
)
DB_RETRIES = Counter("fleet_ingest_db_retries_total", "Database retries during an outage")
ALERTS_PUBLISHED = Counter("fleet_ingest_alerts_published_total", "New or changed alerts published")
VEHICLES_EVALUATED = Counter(
    "fleet_ingest_vehicles_evaluated_total", "Dirty vehicle windows re-evaluated (trips, stops, alerts)"
)
EVALUATION_PENDING = Gauge(
    "fleet_ingest_evaluation_pending_vehicles", "Vehicles with stored positions awaiting evaluation"
)
EVALUATION_WAIT = Gauge(
    "fleet_ingest_evaluation_wait_seconds", "How long the longest waiting dirty window has waited, seconds"
)
PENDING = Gauge("fleet_ingest_pending_messages", "Messages received and not yet acknowledged")
