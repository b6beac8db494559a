"""``fleet alerts``: list compliance alerts; ``fleet calendar load``: load a year's official
holiday schedule (the override of the library's China calendar)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import col, select

from fleet.cli_input import aware_time, file_argument
from fleet.db import configured_session
from fleet.models import Alert, AlertPublic, Vehicle
from fleet.settings import get_settings
from fleet.working_calendar import CalendarError, load_official_schedule
from telematics.rules.findings import ALERT_KINDS

calendar_app = typer.Typer(
    help="Working calendar: load the State Council's holiday schedule of a year.", no_args_is_help=True
)




def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _aware(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return aware_time(name, value)
    except ValueError as exc:
        _fail(str(exc))


def alerts_command(
    kind: Annotated[str | None, typer.Option(
        help=f"Only this kind: {', '.join(ALERT_KINDS)}.", show_default=False)] = None,
    vehicle: Annotated[str | None, typer.Option(
        help="Only this vehicle, by plate (苏G12345) or id.", show_default=False)] = None,
    since: Annotated[str | None, typer.Option(
        help="Alerts starting at or after this time (ISO-8601 with offset).", show_default=False)] = None,
    until: Annotated[str | None, typer.Option(
        help="Alerts starting before this time (ISO-8601 with offset).", show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of alerts (AlertPublic).")] = False,
) -> None:
    """List compliance alerts (private use, improper parking, device faults, speeding),
    newest first. Times print in the display time zone; --json prints UTC."""
    if kind is not None and kind not in ALERT_KINDS:
        _fail(f"--kind: unknown kind {kind!r}; one of {', '.join(ALERT_KINDS)}")
    start, end = _aware("--since", since), _aware("--until", until)
    with configured_session() as session:
        statement = select(Alert, Vehicle.plate).join(Vehicle, col(Vehicle.id) == col(Alert.vehicle_id))
        if vehicle is not None:
            match = col(Vehicle.plate) == vehicle
            if vehicle.isdigit():
                match = match | (col(Vehicle.id) == int(vehicle))
            statement = statement.where(match)
        if kind is not None:
            statement = statement.where(Alert.kind == kind)
        if start is not None:
            statement = statement.where(col(Alert.started_at) >= start)
        if end is not None:
            statement = statement.where(col(Alert.started_at) < end)
        rows = session.exec(statement.order_by(col(Alert.started_at).desc(), col(Alert.id)).limit(limit)).all()
        if as_json:
            payload = [AlertPublic.model_validate(alert).model_dump(mode="json") for alert, _ in rows]
            typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        tz = get_settings().tz
        table = Table(title=f"{len(rows)} alerts")
        for column in ("id", "kind", "plate", "started", "ended", "severity", "state"):
            table.add_column(column, no_wrap=True)
        for alert, plate in rows:
            table.add_row(str(alert.id), alert.kind, plate,
                          alert.started_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                          alert.ended_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if alert.ended_at else "",
                          alert.severity.value, alert.state.value)
        Console(width=max(Console().width, 130)).print(table)  # the kind column stays whole


@calendar_app.command("load")
def calendar_load(
    file: Annotated[Path, file_argument(
        "SCHEDULE.json",
        '{"year": 2027, "source": "国办发明电〔2026〕x号", "rest_days": [{"date": "2027-02-11", '
        '"name": "春节"}], "working_days": [{"date": "2027-02-14", "name": "调休上班"}]}')],
) -> None:
    """Load (or replace) a year's official holiday schedule: its rest days and make-up working
    days override the holidays library for that whole year, and the year's
    "no official schedule" warning goes away."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    except json.JSONDecodeError as exc:
        _fail(f"{file} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}")
    if not isinstance(document, dict):
        _fail(f"{file}: must hold one JSON object")
    try:
        with configured_session() as session:
            year = load_official_schedule(session, document, actor="cli")
    except CalendarError as exc:
        _fail(str(exc))
    typer.echo(f"official schedule for {year} loaded from {file}")


def register(app: typer.Typer) -> None:
    """Add ``fleet alerts`` and ``fleet calendar`` to the ``fleet`` command."""
    app.command("alerts")(alerts_command)
    app.add_typer(calendar_app, name="calendar")
