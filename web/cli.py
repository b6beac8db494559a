"""`fleet serve` and `fleet demo`: run the web application (and the embedded MQTT broker
when no external broker is configured)."""

from __future__ import annotations

import typer
import uvicorn

from fleet.broker import EmbeddedBroker
from fleet.db import upgrade
from fleet.settings import get_settings


def _serve(host: str | None, port: int | None) -> None:
    settings = get_settings()
    upgrade(settings.resolved_database_url)
    broker = None
    if settings.uses_embedded_broker:
        broker = EmbeddedBroker("127.0.0.1", settings.embedded_mqtt_port)
        broker.start()
    try:
        uvicorn.run(
            "web.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            log_config=None,
            proxy_headers=True,
        )
    finally:
        if broker is not None:
            broker.stop()


def register(app: typer.Typer) -> None:
    """Add `serve` and `demo` to the `fleet` command."""

    @app.command("serve")
    def serve(
        host: str = typer.Option(None, help="Address to bind (default FLEET_HOST, 127.0.0.1)."),
        port: int = typer.Option(None, help="Port to bind (default FLEET_PORT, 8000)."),
    ) -> None:
        """Upgrade the database and serve the API, docs and pages.

        With no FLEET_MQTT_URL an embedded MQTT broker starts on 127.0.0.1
        (FLEET_EMBEDDED_MQTT_PORT, default 1884).
        """
        _serve(host, port)

    @app.command("demo")
    def demo(
        host: str = typer.Option(None, help="Address to bind (default 127.0.0.1)."),
        port: int = typer.Option(None, help="Port to bind (default 8000)."),
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
            _serve(host, port)
            return
        from simulations.live import run_live

        console = f"http://{host or settings.host}:{port or settings.port}"
        typer.echo(f"console: {console}  (dispatcher / dispatcher-demo-2021; API docs at {console}/docs)")
        run_live(settings, port or settings.port, host, requests)
