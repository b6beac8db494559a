"""The live city behind ``fleet demo``: today at real pace on the demo's own platform.

``fleet serve`` (the console at http://127.0.0.1:8000) and ``fleet ingest`` run as separate
processes on the same settings as the demo (data folder, database, broker); the embedded
broker runs in this process on FLEET_MQTT_EMBEDDED_PORT when no FLEET_MQTT_URL is set. The
day's requests from now on are filed, planned and accepted, then every car reports every 10 s
while some drivers misbehave. Whatever the hour, a dozen duty trips start within half an hour
and one private drive within two minutes. Restarted on the same day, it carries on with the
day it began (``simulations.day_record``) instead of filing it again. Ctrl-C (or SIGTERM) stops
everything.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import structlog
import typer

from fleet.cli import BindHost, BindPort
from fleet.db import upgrade
from fleet.settings import Settings, get_settings
from simulations.day_record import DayRecord
from simulations.platform import FLEET, PlatformConfig, running_platform
from simulations.runner import run_scenario
from simulations.scenario import live_scenario

log = structlog.get_logger(__name__)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_live(settings: Settings, port: int, host: str | None = None, requests: int = 200) -> None:
    """Serve the seeded platform on ``host:port`` and play today until interrupted."""
    signal.signal(signal.SIGTERM, _interrupt)
    config = PlatformConfig(Path(settings.data_dir).resolve(), database_url=settings.database_url,
                            mqtt_url=settings.mqtt.url, port=port,
                            embedded_mqtt_port=settings.mqtt.embedded_port, log_level=settings.log_level,
                            extra_env={"FLEET_WEB_HOST": host} if host else {})
    stop = threading.Event()
    try:
        with running_platform(config) as platform:
            record = DayRecord.open(config.data_dir, datetime.now(UTC), settings.tz)
            scenario = live_scenario(record.started_at, requests=requests)
            if record.resumed:  # the day's opening drive was driven by the run that began it
                scenario = replace(scenario, opening_incident_s=None)
            log.info("demo_console", url=platform.base_url, day=scenario.day.isoformat(), resumed=record.resumed)
            run_scenario(platform, scenario, progress=True, seeded=True, stop=stop, record=record)
            log.info("demo_day_played", note="serving until Ctrl-C")
            stop.wait()
    except KeyboardInterrupt:
        stop.set()


def register(app: typer.Typer) -> None:
    """Add `demo` to the `fleet` command (through the ``fleet.commands`` entry points)."""

    @app.command("demo")
    def demo(
        host: BindHost = None,
        port: BindPort = None,
        seed: int = typer.Option(2021, help="Random seed of the synthetic fleet."),
        live: bool = typer.Option(
            True, help="Run the live city (ingest worker and simulated cars); --no-live only serves."),
        requests: int = typer.Option(200, min=0, max=2000, help="Trip requests filed for the rest of today."),
    ) -> None:
        """Seed a synthetic Lianyungang fleet (once), serve it on embedded defaults and play
        a live city day in it.

        Open http://127.0.0.1:8000 and log in as one of the demo users printed below (e.g.
        dispatcher / dispatcher-demo-2021). `fleet serve` and `fleet ingest` run as separate
        processes; today's requests are filed, planned and accepted, then ~600 cars report
        their GPS every 10 s over MQTT and some drivers misbehave, so alerts come in live.
        Ctrl-C stops everything.
        """
        from fleet.seed import AlreadySeeded, seed_database

        settings = get_settings()
        upgrade(settings.resolved_database_url)
        try:
            summary = seed_database(settings.resolved_database_url, seed=seed, progress=True)
            typer.echo(f"seeded: {summary}")
        except AlreadySeeded:
            typer.echo("database already holds a fleet; serving it as it is")
        if not live:
            serve = [*FLEET, "serve", *(["--host", host] if host else []), *(["--port", str(port)] if port else [])]
            try:
                subprocess.run(serve, check=False)
            except KeyboardInterrupt:
                pass
            return
        console = f"http://{host or settings.web.host}:{port or settings.web.port}"
        typer.echo(f"console: {console}  (dispatcher / dispatcher-demo-2021; API docs at {console}/docs)")
        run_live(settings, port or settings.web.port, host, requests)
