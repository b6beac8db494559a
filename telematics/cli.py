"""Telematics commands: ``fleet ingest``, ``fleet replay FILE.jsonl`` and
``fleet schema position``."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from fleet.settings import get_settings


def ingest_command() -> None:
    """Run the MQTT ingest worker until Ctrl-C or SIGTERM.

    Subscribes (QoS 1, persistent session FLEET_INGEST_CLIENT_ID) to
    fleet/v1/vehicles/+/gps and /status, through $share/FLEET_MQTT_SHARE_GROUP when set;
    stores positions in micro-batches (FLEET_INGEST_PROCESSES worker processes), publishes
    live positions to fleet/v1/events/positions and refused input to fleet/v1/ingest/rejected.
    An evaluator process re-evaluates trips, stops and alerts of the vehicles with new
    positions every FLEET_INGEST_EVALUATION_INTERVAL_S seconds and publishes new or changed
    alerts to fleet/v1/events/alerts. Prometheus metrics on FLEET_INGEST_METRICS_PORT (/metrics).
    """
    from fleet.broker import EmbeddedBroker
    from fleet.db import make_engine, upgrade
    from telematics.ingest.worker import IngestWorker

    settings = get_settings()
    url = settings.resolved_database_url
    upgrade(url)
    broker = None
    if settings.uses_embedded_broker:
        broker = EmbeddedBroker("127.0.0.1", settings.mqtt.embedded_port)
        broker.start()
    engine = make_engine(url)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        IngestWorker(settings, engine).run(stop)
    finally:
        engine.dispose()
        if broker is not None:
            broker.stop()


def replay_command(
    file: Annotated[
        Path,
        typer.Argument(help="JSON Lines file: one gps payload (object or array) per line; `-` reads standard input.", allow_dash=True),
    ],
) -> None:
    """Feed recorded points through the ingest pipeline without a broker.

    Each line is what a terminal would publish (its device_id is trusted in place of a
    topic). Positions are stored, then every vehicle with new positions is re-evaluated; a JSON summary with the new or changed
    alerts goes to standard output, one line per refused point to standard error. Exit code 1
    when any point was refused. The rules judge the points against the orders in the database,
    past ones too (`fleet orders import`), and a leased car only inside its hire windows.
    """
    from fleet.db import make_engine, upgrade
    from telematics.ingest.pipeline import IngestPipeline
    from telematics.ingest.replay import replay

    settings = get_settings()
    url = settings.resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        if str(file) == "-":
            summary = replay(IngestPipeline(engine, settings), sys.stdin, "stdin")
        else:
            try:
                with file.open(encoding="utf-8") as lines:
                    summary = replay(IngestPipeline(engine, settings), lines, file.name)
            except OSError as exc:
                typer.echo(f"error: cannot read {file}: {exc.strerror}", err=True)
                raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    for rejection in summary.rejections:
        typer.echo(f"{rejection.topic}: {rejection.reason}", err=True)
    typer.echo(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
    if summary.rejections:
        raise typer.Exit(1)


def schema_position_command() -> None:
    """Print the JSON Schema of a GPS message (fleet/v1/vehicles/{device_id}/gps)."""
    from telematics.ingest.payload import schema_text

    typer.echo(schema_text())


def register(app: typer.Typer) -> None:
    """Add `ingest`, `replay` and `schema position` to the `fleet` command."""
    app.command("ingest")(ingest_command)
    app.command("replay")(replay_command)
    for group in app.registered_groups:
        if group.name == "schema" and group.typer_instance is not None:
            group.typer_instance.command("position")(schema_position_command)
            break
