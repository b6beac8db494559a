"""The live city behind ``fleet demo``: today at real pace on the demo's own platform.

``fleet serve`` (the console at http://127.0.0.1:8000) and ``fleet ingest`` run as separate
processes on the same settings as the demo (data folder, database, broker); the embedded
broker runs in this process on FLEET_EMBEDDED_MQTT_PORT when no FLEET_MQTT_URL is set. The
day's requests from now on are filed, planned and accepted, then every car reports every 10 s
while some drivers misbehave. Ctrl-C (or SIGTERM) stops everything.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import structlog

from fleet.settings import Settings
from simulations.platform import PlatformConfig, running_platform
from simulations.runner import run_scenario
from simulations.scenario import live_scenario

log = structlog.get_logger(__name__)


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_live(settings: Settings, port: int, host: str | None = None, requests: int = 200) -> None:
    """Serve the seeded platform on ``host:port`` and play today until interrupted."""
    signal.signal(signal.SIGTERM, _interrupt)
    config = PlatformConfig(Path(settings.data_dir).resolve(), database_url=settings.database_url,
                            mqtt_url=settings.mqtt_url, port=port,
                            embedded_mqtt_port=settings.embedded_mqtt_port, log_level=settings.log_level,
                            extra_env={"FLEET_HOST": host} if host else {})
    stop = threading.Event()
    try:
        with running_platform(config) as platform:
            scenario = live_scenario(datetime.now(UTC), requests=requests)
            log.info("demo_console", url=platform.base_url, day=scenario.day.isoformat())
            run_scenario(platform, scenario, progress=True, seeded=True, stop=stop)
            log.info("demo_day_played", note="serving until Ctrl-C")
            stop.wait()
    except KeyboardInterrupt:
        stop.set()
