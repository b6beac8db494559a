"""The ``fleet`` command: one entry point with sub-commands.

Packages that ``fleet`` must not import (``web``, ``dispatch``...) contribute their
sub-commands through the ``fleet.commands`` entry-point group: each entry is a function
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from fleet.logs import configure_logging
from fleet.settings import get_settings

app = typer.Typer(
    name="fleet",
    help="Official-vehicle fleet and dispatch platform. Run `fleet COMMAND --help` for details.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema: create or upgrade it.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.callback()
def _root() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("head", help="Target Alembic revision; default the newest."),
) -> None:
    """Create the database or bring it to the newest schema (FLEET_DATABASE_URL)."""
    from fleet.db import upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at {_redact(url)} is at revision {revision}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _load_plugins() -> None:
    for entry in entry_points(group="fleet.commands"):
        try:
            register = entry.load()
        except ImportError:  # a package not installed in this environment
            continue
        register(app)


def main() -> None:
    """Console-script entry point."""
    _load_plugins()
    app()
