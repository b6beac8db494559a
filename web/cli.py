"""`fleet serve`: run the web application (and the embedded MQTT broker when no external
broker is configured). `fleet demo` comes from :mod:`simulations.live`."""

from __future__ import annotations

import typer
import uvicorn

from fleet.broker import EmbeddedBroker
from fleet.cli import BindHost, BindPort
from fleet.db import upgrade
from fleet.settings import get_settings


def _serve(host: str | None, port: int | None) -> None:
    settings = get_settings()
    upgrade(settings.resolved_database_url)
    broker = None
    if settings.uses_embedded_broker:
        broker = EmbeddedBroker("127.0.0.1", settings.mqtt.embedded_port)
        broker.start()
    try:
        uvicorn.run(
            "web.app:create_app",
            factory=True,
            host=host or settings.web.host,
            port=port or settings.web.port,
            log_config=None,
            proxy_headers=True,
        )
    finally:
        if broker is not None:
            broker.stop()


def register(app: typer.Typer) -> None:
    """Add `serve` to the `fleet` command."""

    @app.command("serve")
    def serve(
        host: BindHost = None,
        port: BindPort = None,
    ) -> None:
        """Upgrade the database and serve the API, docs and pages.

        With no FLEET_MQTT_URL an embedded MQTT broker starts on 127.0.0.1
        (FLEET_MQTT_EMBEDDED_PORT, default 1884).
        """
        _serve(host, port)
