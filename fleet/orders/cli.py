"""``fleet orders import FILE``: load past trip requests with their assignments."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

orders_app = typer.Typer(help="Past orders: trip requests with their assignments, loaded offline.",
                         no_args_is_help=True)


@orders_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(
        help="Orders document, JSON (.json) or YAML (.yaml, .yml); `-` reads YAML or JSON from standard input.",
        allow_dash=True)],
    actor: Annotated[str | None, typer.Option(
        help="Username to record in the audit log as the importer; default `cli`.")] = None,
) -> None:
    """Load past trip requests with their assignments from one document, all or nothing.

    Each order names its agency (organisation code), requester (username), purpose, places,
    pickup times (ISO 8601 with an offset), state (e.g. completed) and its assignment: kind
    pool (car by `vehicle_plate`, `driver` by name) or lease (`lessor` by name, the leased car
    by plate), planned pickup and drop-off, cost in CNY. Every problem is printed with its path
    in the document (e.g. `orders[3].assignment.vehicle_plate: no vehicle with plate 苏G12345`)
    and nothing is written. A confirmed lease assignment hires its car around the trip; the cars
    are marked for re-evaluation, and `fleet replay` then judges recorded GPS against the orders.
    """
    from sqlmodel import select

    from fleet.db import configured_session
    from fleet.fleet_document import FleetImportError
    from fleet.models import User
    from fleet.orders import import_orders, read_document

    try:
        data = read_document(None, sys.stdin.read()) if str(file) == "-" else read_document(file)
        with configured_session() as session:
            user = session.exec(select(User).where(User.username == actor)).first() if actor else "cli"
            if user is None:
                typer.echo(f"error: unknown user {actor!r} for --actor", err=True)
                raise typer.Exit(1)
            counts = import_orders(session, data, actor=user)
    except FleetImportError as exc:
        for error in exc.errors:
            typer.echo(str(error), err=True)
        typer.echo(f"error: {len(exc.errors)} error(s); nothing was imported", err=True)
        raise typer.Exit(1) from None
    typer.echo("imported: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()))


def register(app: typer.Typer) -> None:
    """Add `orders import` to the `fleet` command."""
    app.add_typer(orders_app, name="orders")
