"""`fleet audit ...` and `fleet expenses ...`: verify the audit log and export bundles, write
inspector exports, import expense records."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from fleet.cli_input import aware_time
from fleet.db import configured_session
from fleet.settings import get_settings

if TYPE_CHECKING:
    from sqlmodel import Session

audit_app = typer.Typer(help="Audit log and inspector exports: verify, export, verify a bundle.",
                        no_args_is_help=True)
expenses_app = typer.Typer(help="Fuel-card, charging and repair records: import and cross-check.",
                           no_args_is_help=True)




def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _actor(session: Session, username: str | None):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from fleet.models import User

    if username is None:
        return "cli"
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        _fail(f"--actor: unknown user {username!r}")
    return user


@audit_app.command("verify")
def verify(
    checkpoint: Annotated[Path | None, typer.Option(
        help="A signed checkpoint file, or an export bundle's manifest.json (which carries one); default "
             "the checkpoint the platform keeps in the data folder, when there is one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check every audit entry's SHA-256 link, in order, and the chain's end.

    Any edited, deleted or reordered entry breaks the chain, and so does an empty log on a
    database with users, vehicles or trips. With a checkpoint, the chain must still hold the
    entry it signed at its position: a truncated or rewound chain is caught even when its head
    was rewritten to match. Exports and expense imports must agree with the hashes the chain
    recorded for them. The first broken entry and every disagreeing row are named, and the
    command exits with status 1.
    """
    from fleet.compliance.audit_checkpoint import CheckpointError, checkpoint_path, kept_checkpoint, read_checkpoint
    from fleet.compliance.audit_verification import verify_audit_log

    settings = get_settings()
    if checkpoint is not None and not checkpoint.is_file():
        _fail(f"--checkpoint: no such file {checkpoint}", 2)
    source = checkpoint or checkpoint_path(settings)
    try:
        key = settings.audit_checkpoint_signing_key()
        anchor = kept_checkpoint(settings) if checkpoint is None else read_checkpoint(checkpoint, key)
    except CheckpointError as exc:
        _fail(f"checkpoint {source} cannot be trusted: {exc}")
    with configured_session() as session:
        result = verify_audit_log(session, anchor)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    elif result.ok:
        anchored = (f"; checkpoint {source} (entry #{anchor.entries} of {anchor.at.isoformat()}) still in the chain"
                    if anchor else "")
        typer.echo(f"audit log intact: {result.entries_checked} entries, newest id {result.last_entry_id}, "
                   f"head {result.last_hash[:16]}…{anchored}")
    if not result.ok:
        for disagreement in result.disagreements:
            typer.echo(f"disagrees: {disagreement.table} {disagreement.row_id}: {disagreement.reason}", err=True)
        if result.first_break is not None:
            _fail(f"audit log broken at entry {result.first_break.entry_id}: {result.first_break.reason} "
                  f"({result.entries_checked} entries read)")
        _fail(f"{len(result.disagreements)} row(s) disagree with the audit log")


@audit_app.command("checkpoint")
def checkpoint_command(
    out: Annotated[Path | None, typer.Argument(help="File to write; default print the checkpoint.")] = None,
) -> None:
    """Sign a checkpoint of the audit chain as it stands now (entries, newest entry's id and
    hash, time) with FLEET_AUDIT_CHECKPOINT_KEY. Keep it away from the database: `fleet audit
    verify --checkpoint FILE` proves later that the chain was not truncated or rewound."""
    from fleet.audit import head_checkpoint
    from fleet.compliance.audit_checkpoint import write_checkpoint

    with configured_session() as session:
        current = head_checkpoint(session)
    key = get_settings().audit_checkpoint_signing_key()
    if out is None:
        typer.echo(json.dumps(current.signed(key), indent=2, sort_keys=True))
        return
    write_checkpoint(out, current, key)
    typer.echo(f"checkpoint of {current.entries} entries (newest id {current.entry_id}) written to {out}")


@audit_app.command("verify-bundle")
def verify_bundle_command(
    path: Annotated[Path, typer.Argument(help="Bundle folder or .zip written by `fleet audit export`.")],
    offline: Annotated[bool, typer.Option(
        help="Check the files against the manifest only, without the platform's record of the export "
             "(a rewritten manifest then goes unnoticed).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check an export bundle: each file's SHA-256 and size against the manifest, no file
    missing or added, and the manifest (and zip) against the platform's record of the export.
    Names every file that changed; exits with status 1 when anything did."""
    from fleet.compliance.export_bundle import check_registered, verify_bundle

    check = verify_bundle(path)
    if not offline:
        with configured_session() as session:
            check_registered(session, check)
    if as_json:
        typer.echo(json.dumps(check.as_json(), ensure_ascii=False))
    elif check.ok:
        note = " (offline: manifest not checked against the platform)" if offline else ""
        typer.echo(f"bundle intact: {check.files_checked} files match the manifest of export "
                   f"{check.manifest.get('export_id') if check.manifest else '?'}{note}")
    if not check.ok:
        for problem in check.problems:
            typer.echo(f"changed: {problem}", err=True)
        _fail(f"{len(check.problems)} problem(s) in {path}")


def _parse_bound(value: str, field: str, end: bool) -> datetime:
    """A day (YYYY-MM-DD, local display time zone, ``end`` counts the whole day) or an
    ISO-8601 time with offset."""
    tz = get_settings().tz
    try:
        day = date.fromisoformat(value)
    except ValueError:
        try:
            return aware_time(f"--{field}", value, accepted="a day (YYYY-MM-DD) or an ISO-8601 time")
        except ValueError as exc:
            _fail(str(exc))
    start = datetime.combine(day, time(0), tz)
    return start + timedelta(days=1) if end else start


@audit_app.command("export")
def export(
    destination: Annotated[Path, typer.Argument(help="New folder for the bundle (or .zip file with --zip).")],
    since: Annotated[str, typer.Option(help="First day (YYYY-MM-DD, local) or ISO time with offset.")],
    until: Annotated[str, typer.Option(help="Last day included (YYYY-MM-DD, local) or ISO end time (excluded).")],
    org: Annotated[str | None, typer.Option(help="Code of an organisation or agency; default the whole platform.")] = None,
    plate: Annotated[str | None, typer.Option(help="Only this car (plate).")] = None,
    formats: Annotated[str, typer.Option("--formats", help="Comma-separated: csv, xlsx, geojson, pdf.")]
    = "csv,xlsx,geojson,pdf",
    as_zip: Annotated[bool, typer.Option("--zip", help="Write one .zip archive instead of a folder.")] = False,
    actor: Annotated[str | None, typer.Option(help="Username recorded as the generator; default `cli`.")] = None,
    language: Annotated[str, typer.Option(help="Language of the PDF: zh (Chinese, the default) or en.")] = "zh",
) -> None:
    """Write an inspector export bundle: trips with dispatch-slip fields, alerts with their
    dispositions and evidence, review steps, usage summaries, raw positions, GeoJSON tracks,
    an XLSX workbook and a PDF (in --language) with an evidence page and map for each
    confirmed violation, plus a manifest of SHA-256 hashes. The export is recorded in the
    audit log."""
    from sqlmodel import select

    from fleet.compliance import export_query as q
    from fleet.compliance.evidence_font import EvidenceFontError
    from fleet.compliance.export_bundle import build_bundle
    from fleet.models import Organisation, Vehicle

    start, end = _parse_bound(since, "since", False), _parse_bound(until, "until", True)
    chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
    if language not in ("zh", "en"):
        _fail(f"--language: choose zh or en (got {language!r})")
    with configured_session() as session:
        org_id = vehicle_id = None
        if org is not None:
            found = session.exec(select(Organisation).where(Organisation.code == org)).first()
            if found is None:
                _fail(f"--org: no organisation with code {org!r}")
            org_id = found.id
        if plate is not None:
            car = session.exec(select(Vehicle).where(Vehicle.plate == plate)).first()
            if car is None:
                _fail(f"--plate: no car with plate {plate!r}")
            vehicle_id = car.id
        try:
            scope = q.resolve_scope(session, q.ExportFilters(start, end, org_id, vehicle_id))
            built = build_bundle(session, scope, _actor(session, actor), destination, chosen, as_zip,
                                 get_settings().tz, language=language)
        except (q.ExportFilterError, FileExistsError, EvidenceFontError) as exc:
            _fail(str(exc))
        export_id, manifest_sha256 = built.record.id, built.record.manifest_sha256
    counts = ", ".join(f"{f['path']} {f.get('rows', '')}".strip() for f in built.manifest["files"])
    typer.echo(f"export {export_id} written to {destination}: {counts}")
    typer.echo(f"manifest SHA-256 {manifest_sha256}")


@expenses_app.command("import")
def import_expenses_command(
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8) of expense records.")],
    kind: Annotated[str, typer.Option(help="fuel, charging or repair.")],
    actor: Annotated[str | None, typer.Option(help="Username recorded as the importer; default `cli`.")] = None,
) -> None:
    """Import fuel-card, charging or repair records (all rows or none) and cross-check them:
    plates not in the fleet, purchases while the car's GPS was more than 5 km from the
    station, volumes beyond the tank or the distance driven since the previous fill, repairs
    of retired cars. Each flagged record raises an `expense.mismatch` alert.

    Columns: fuel `plate, occurred_at, station, station_lat, station_lon, litres, amount_cny`
    (optional `odometer_km, card_no`); charging the same with `kwh`; repair `plate,
    occurred_at, workshop, amount_cny, description` (optional `odometer_km`). Times without an
    offset are read in FLEET_DISPLAY_TIMEZONE.
    """
    from fleet.compliance.expense_import import ExpenseImportError, import_expenses
    from fleet.models.compliance import ExpenseKind

    try:
        expense_kind = ExpenseKind(kind)
    except ValueError:
        _fail(f"--kind: choose fuel, charging or repair (got {kind!r})", 2)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {file} as UTF-8 text: {exc}", 2)
    with configured_session() as session:
        try:
            result = import_expenses(session, expense_kind, text, file.name, _actor(session, actor))
        except ExpenseImportError as exc:
            for error in exc.errors:
                typer.echo(error, err=True)
            _fail(str(exc))
        summary = result.as_json()
    typer.echo(f"imported {summary['rows']} {kind} records (import {summary['import_id']}); "
               f"{len(summary['flagged'])} flagged")
    for flagged in summary["flagged"]:
        typer.echo(f"  row {flagged['row']} {flagged['plate']}: {', '.join(flagged['findings'])}"
                   + (f" -> alert {flagged['alert_id']}" if flagged["alert_id"] else " (no fleet car: no alert)"))


def register(app: typer.Typer) -> None:
    """Add `fleet audit ...` and `fleet expenses ...` to the `fleet` command."""
    app.add_typer(audit_app, name="audit")
    app.add_typer(expenses_app, name="expenses")
