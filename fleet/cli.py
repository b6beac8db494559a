"""The ``fleet`` command: one entry point with sub-commands.

Packages that ``fleet`` must not import (``web``, ``dispatch``...) contribute their
sub-commands through the ``fleet.commands`` entry-point group: each entry is a function
``register(app: typer.Typer) -> None``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fleet.db import configured_session
from fleet.logs import configure_logging
from fleet.settings import get_settings

if TYPE_CHECKING:
    pass

#: ``--host`` and ``--port`` of the commands that serve the platform (``serve``, ``demo``).
BindHost = Annotated[str | None, typer.Option(help="Address to bind (default FLEET_WEB_HOST, 127.0.0.1).")]
BindPort = Annotated[int | None, typer.Option(help="Port to bind (default FLEET_WEB_PORT, 8000).")]

app = typer.Typer(
    name="fleet",
    help="Official-vehicle fleet and dispatch platform. Run `fleet COMMAND --help` for details.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
db_app = typer.Typer(help="Database schema: create or upgrade it.", no_args_is_help=True)
app.add_typer(db_app, name="db")
schema_app = typer.Typer(help="Print the JSON Schemas of the files the platform reads.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
users_app = typer.Typer(help="Manage logins.", no_args_is_help=True)
app.add_typer(users_app, name="users")
settings_app = typer.Typer(help="The FLEET_* settings.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")


@app.callback()
def _root() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("heads", help="Target Alembic revision; default the newest of every branch."),
) -> None:
    """Create the database or bring it to the newest schema (FLEET_DATABASE_URL)."""
    from fleet.db import upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at {_redact(url)} is at revision {revision}")


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(help="Fleet document (JSON); `-` reads standard input.", allow_dash=True),
    ],
    actor: Annotated[
        str | None,
        typer.Option(help="Username to record in the audit log as the importer; default `cli`."),
    ] = None,
) -> None:
    """Load a whole fleet from one JSON document, all or nothing.

    The document holds organisations, depots, parking sites, zones, lessors, users, drivers
    and vehicles. Every problem is printed with its path in the document (e.g. `vehicles[12].plate`) and
    nothing is written. `fleet schema import` prints the format; `fleet export-fleet` writes it.
    """
    from sqlmodel import select

    from fleet.fleet_document import FleetImportError, import_fleet
    from fleet.models import User

    data = _read_json(file)
    with configured_session() as session:
        user = session.exec(select(User).where(User.username == actor)).first() if actor else "cli"
        if user is None:
            _fail(f"unknown user {actor!r} for --actor")
        try:
            counts = import_fleet(session, data, actor=user)
        except FleetImportError as exc:
            for error in exc.errors:
                typer.echo(str(error), err=True)
            _fail(f"{len(exc.errors)} error(s); nothing was imported")
    typer.echo("imported: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


@app.command("export-fleet")
def export_fleet_command(
    file: Annotated[
        Path,
        typer.Argument(help="Where to write the fleet document; `-` (default) is standard output.", allow_dash=True),
    ] = Path("-"),
) -> None:
    """Write the whole fleet as a fleet document, the format `fleet import` reads.

    Users are written with their password hashes, never passwords: keep the file safe.
    """
    from fleet.fleet_document import export_fleet

    with configured_session() as session:
        text = json.dumps(export_fleet(session).as_json(), ensure_ascii=False, indent=2)
    if str(file) == "-":
        typer.echo(text)
    else:
        file.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"fleet written to {file}", err=True)


@schema_app.command("import")
def schema_import() -> None:
    """Print the JSON Schema of the fleet document that `fleet import` reads."""
    from fleet.fleet_document import FleetDocument

    typer.echo(json.dumps(FleetDocument.model_json_schema(), ensure_ascii=False, indent=2))


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name: letters, digits and _ . @ - (3 to 64).")],
    role: Annotated[
        str,
        typer.Option(help="One of admin, dispatcher, driver, requester, approver, auditor."),
    ],
    org: Annotated[str, typer.Option(help="Code of the organisation whose subtree the user works in.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts) "
            "instead of asking for it twice.",
        ),
    ] = False,
    full_name: Annotated[str, typer.Option(help="Name shown in the console.")] = "",
) -> None:
    """Create a login in an existing organisation (recorded in the audit log).

    The password is asked for twice without echo, or read from standard input with
    `--password-stdin`; it is never given on the command line, where other users of the
    machine could read it. It must be hard to guess (zxcvbn strength 3 of 4; administrators
    strength 4 and at least 12 characters).
    """
    from sqlmodel import select

    from fleet import audit
    from fleet.fleet_document import FleetImportError, import_fleet
    from fleet.models import User

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    record = {"username": username, "role": role, "org": org, "password": password, "full_name": full_name}
    with configured_session() as session:
        try:
            import_fleet(session, {"users": [record]}, actor="cli")
        except FleetImportError as exc:
            for error in exc.errors:
                path, _, reason = str(error).partition(": ")
                typer.echo(f"{path.removeprefix('users[0].')}: {reason}", err=True)
            _fail("the user was not created")
        user = session.exec(select(User).where(User.username == username)).one()
        audit.record(session, "cli", "user.create", "user", user.id, after=audit.snapshot(user) | {"org": org})
    typer.echo(f"user {username!r} ({role}) created in organisation {org}")


@app.command("seed")
def seed_command(
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same fleet.")] = 2021,
) -> None:
    """Fill an empty database with a synthetic Lianyungang fleet and demo logins.

    A prefecture-level city: organisation tree, ~600 cars, drivers, depots, parking sites,
    forbidden venues, 3 lessors and one demo login per role.

    Refuses a database that already has organisations. The demo passwords are printed and
    public: use the seeded logins for demonstrations only.
    """
    from rich.console import Console
    from rich.table import Table

    from fleet.seed import AlreadySeeded, seed_database

    try:
        summary = seed_database(get_settings().resolved_database_url, seed=seed, progress=True)
    except AlreadySeeded as exc:
        _fail(str(exc))
    console = Console()
    console.print("seeded in {seconds} s: ".format(**summary) + ", ".join(f"{n} {k}" for k, n in summary["counts"].items()))
    table = Table(title="Demo logins (public passwords: demonstrations only)")
    for column in ("username", "password", "role", "org"):
        table.add_column(column)
    for login in summary["logins"]:
        table.add_row(*(login[column] for column in ("username", "password", "role", "org")))
    console.print(table)


@settings_app.command("table")
def settings_table() -> None:
    """Print the configuration table of README: every FLEET_* variable by feature group, with its
    default and meaning (Markdown)."""
    from fleet.settings import configuration_table

    typer.echo(configuration_table(), nl=False)


def _read_json(file: Path) -> Any:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        _fail(f"{file} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _load_plugins() -> None:
    for entry in entry_points(group="fleet.commands"):
        try:
            register = entry.load()
        except ModuleNotFoundError as exc:
            if exc.name and entry.module.startswith(exc.name):
                continue  # that feature's package is not part of this installation
            raise
        register(app)


def main() -> None:
    """Console-script entry point."""
    _load_plugins()
    app()
