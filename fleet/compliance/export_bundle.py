"""Inspector export bundles: a folder (or zip) of CSV, XLSX, GeoJSON and PDF files with a
``manifest.json`` listing each file's SHA-256 and size, the filters, the rule versions and
thresholds in force, and when and by whom it was generated.

The export itself is recorded (an ``ExportRecord`` row and an audit entry holding the
manifest's SHA-256, and the archive's for a zip), so ``verify_bundle`` can tell whether any
file, the manifest itself or the archive changed since; ``check_registered`` compares the
manifest with both, so rewriting the row alone does not pass. The manifest carries a signed
checkpoint of the audit chain as it stood (``fleet audit verify --checkpoint manifest.json``
proves later that the chain was not truncated or rewound)."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

import fleet
from fleet import audit
from fleet.compliance import export_query as q
from fleet.compliance.audit_checkpoint import MANIFEST_KEY
from fleet.compliance.audit_verification import chained_entry_problem
from fleet.compliance.working_time import WorkingHours
from fleet.compliance.expense_rules import EXPENSE_RULE_VERSION, ExpenseThresholds
from fleet.compliance.evidence_facts import alert_evidence, load_zones
from fleet.compliance.evidence_labels import Labels, Language
from fleet.compliance.export_pdf import DocumentInfo, PdfSummary
from fleet.compliance.export_writers import (
    CsvTableWriter,
    GeoJsonTrackWriter,
    XlsxWorkbookWriter,
    iso_utc,
    safe_text,
)
from fleet.models import AuditEntry, User, utcnow
from fleet.models.compliance import ExportRecord
from fleet.settings import get_settings

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "fleet-compliance-export/2"
FORMATS = ("csv", "xlsx", "geojson", "pdf")
#: Positions drawn per violation map at most (the track is thinned evenly beyond).
MAP_MAX_POINTS = 600
#: Minutes of track shown before and after a violation.
MAP_MARGIN_MIN = 30
PDF_TOP_ROWS = 30
HASH_CHUNK = 1 << 20
#: What reading a damaged archive may raise.
ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError, ValueError)


@dataclass
class BuiltBundle:
    """What ``build_bundle`` wrote."""

    record: ExportRecord
    path: Path
    manifest: dict[str, Any]


def file_sha256(handle: IO[bytes]) -> tuple[str, int]:
    """SHA-256 hex digest and size in bytes of a binary stream, read in chunks."""
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _hash_path(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        return file_sha256(handle)


def build_bundle(
    session: Session,
    scope: q.ExportScope,
    actor: User | str,
    destination: Path,
    formats: tuple[str, ...] = FORMATS,
    as_zip: bool = False,
    tz: ZoneInfo | None = None,
    checkpoint_key: str | None = None,
    language: Language | str = Language.zh,
) -> BuiltBundle:
    """Write the bundle for ``scope`` to ``destination`` (a new folder, or a ``.zip`` file
    when ``as_zip``), record it and append an ``export.create`` audit entry, in the caller's
    transaction. The manifest's audit checkpoint is signed with ``checkpoint_key`` (default
    the configured FLEET_AUDIT_CHECKPOINT_KEY); the PDF is written in ``language`` (zh or en).
    Raises ``FileExistsError`` when ``destination`` exists, ``EvidenceFontError`` for a
    Chinese PDF without an installed CJK font."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise q.ExportFilterError(f"formats: choose from {', '.join(FORMATS)} (got {', '.join(unknown) or 'none'})")
    if destination.exists():
        raise FileExistsError(f"{destination} already exists")
    tz = tz or ZoneInfo("Asia/Shanghai")
    try:
        language = Language(language)
    except ValueError:
        raise q.ExportFilterError(f"language: choose zh or en (got {language!r})") from None
    checkpoint_key = checkpoint_key or get_settings().audit_checkpoint_signing_key()
    by = actor.username if isinstance(actor, User) else actor
    record = ExportRecord(created_by=by, user_id=actor.id if isinstance(actor, User) else None,
                          org_id=scope.org.id if scope.org else None, filters=scope.as_json(),
                          formats=list(formats), path=str(destination.resolve()))
    session.add(record)
    session.flush()
    destination.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".export-", dir=destination.parent)) if as_zip else destination
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files, rules = _write_files(session, scope, folder, formats, tz, actor, language)
        manifest = {
            "format": MANIFEST_FORMAT,
            "export_id": record.id,
            "generated_at": utcnow().isoformat(),
            "generated_by": {"username": by, "role": actor.role.value if isinstance(actor, User) else "cli"},
            "platform_version": fleet.__version__,
            "filters": scope.as_json(),
            "formats": list(formats),
            "rules": {
                "alerts": sorted(rules.values(), key=lambda r: (r["kind"], r["rule_version"])),
                "expense": {"rule_version": EXPENSE_RULE_VERSION, "thresholds": ExpenseThresholds().as_json()},
                "working_time": WorkingHours.from_session(session).as_json(),
            },
            MANIFEST_KEY: audit.head_checkpoint(session).signed(checkpoint_key),
            "files": files,
        }
        manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        (folder / MANIFEST).write_bytes(manifest_bytes)
        record.manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        record.file_count = len(files) + 1
        record.size_bytes = sum(f["bytes"] for f in files) + len(manifest_bytes)
        if as_zip:
            _zip(folder, destination)
            record.archive_sha256, record.size_bytes = _hash_path(destination)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        if as_zip:
            destination.unlink(missing_ok=True)
        raise
    finally:
        if as_zip:
            shutil.rmtree(folder, ignore_errors=True)
    session.add(record)
    session.flush()
    audit.record(session, actor, "export.create", "export", record.id, None, {
        "filters": record.filters, "formats": record.formats, "files": record.file_count,
        "manifest_sha256": record.manifest_sha256, "archive_sha256": record.archive_sha256,
    })
    return BuiltBundle(record, destination, manifest)


def _zip(folder: Path, destination: Path) -> None:
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, arcname=path.name)


def _write_files(session: Session, scope: q.ExportScope, folder: Path, formats: tuple[str, ...],
                 tz: ZoneInfo, actor: User | str, language: Language) -> tuple[list[dict[str, Any]], dict[tuple[str, str, str], dict[str, Any]]]:
    """Stream every table once into the chosen formats; returns the file list and the alert
    rule versions seen."""
    rules: dict[tuple[str, str, str], dict[str, Any]] = {}
    rows: dict[str, int] = {}
    totals: dict[str, Any] = {"alerts_by_state": Counter(), "alerts_by_kind": Counter()}
    book = XlsxWorkbookWriter(folder / "compliance.xlsx") if "xlsx" in formats else None
    tables = [q.trips(session, scope), q.alerts(session, scope, rules), q.alert_reviews(session, scope),
              q.usage_per_vehicle(session, scope), q.leased_spend(session, scope)]
    kept: dict[str, list[list[Any]]] = {"usage_per_vehicle": [], "leased_spend": []}
    for table in tables:
        writers: list[Any] = []
        if "csv" in formats:
            writers.append(CsvTableWriter(folder / f"{table.name}.csv", table.columns))
        if book is not None:
            writers.append(book.sheet(table.name, table.columns))
        count = 0
        for values in table.rows:
            for writer in writers:
                writer.write(values)
            count += 1
            _tally(table.name, values, totals, kept)
        for writer in writers:
            writer.close()
        rows[table.name] = count
    if book is not None:
        book.close()
    rows["positions"] = _write_positions(session, scope, folder, formats, tz)
    if "pdf" in formats:
        _write_pdf(session, scope, folder / "summary.pdf", tz, rows, totals, kept, actor, language)
    files = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        sha, size = _hash_path(path)
        entry: dict[str, Any] = {"path": path.name, "sha256": sha, "bytes": size}
        if path.suffix == ".csv":
            entry["rows"] = rows.get(path.stem, 0)
        files.append(entry)
    return files, rules


def _tally(name: str, values: list[Any], totals: dict[str, Any], kept: dict[str, list[list[Any]]]) -> None:
    """Keep the small figures the PDF summary shows (counts, and the bounded usage tables)."""
    if name == "trips":
        totals["trips"] = totals.get("trips", 0) + 1
        totals["km"] = totals.get("km", 0.0) + (values[13] or 0.0)
    elif name == "alerts":
        totals["alerts_by_state"][values[9]] += 1
        totals["alerts_by_kind"][values[1]] += 1
    elif name == "usage_per_vehicle":
        totals["off_hours_km"] = totals.get("off_hours_km", 0.0) + values[5]
        kept[name].append(values)
        kept[name] = sorted(kept[name], key=lambda v: -v[4])[:PDF_TOP_ROWS]
    elif name == "leased_spend":
        kept[name].append(values)
        kept[name] = sorted(kept[name], key=lambda v: -v[4])[:PDF_TOP_ROWS]


def _write_positions(session: Session, scope: q.ExportScope, folder: Path, formats: tuple[str, ...],
                     tz: ZoneInfo) -> int:
    """Raw positions to CSV and GeoJSON tracks in one streamed pass."""
    table = q.positions(session, scope)
    csv_writer = CsvTableWriter(folder / "positions.csv", table.columns) if "csv" in formats else None
    tracks = GeoJsonTrackWriter(folder / "tracks.geojson", tz) if "geojson" in formats else None
    count = 0
    if csv_writer is None and tracks is None:
        table.rows.close()  # type: ignore[attr-defined]
        return 0
    safe: dict[str, str] = {}  # plates and sources repeat: make each safe once
    for pid, vid, plate, ts, lat, lon, speed, heading, ignition, odometer, soc, source in table.rows:
        ts_iso = iso_utc(ts)
        if csv_writer is not None:
            csv_writer.write_prepared((
                pid, vid, safe.get(plate) or safe.setdefault(plate, safe_text(plate)), ts_iso, lat, lon, speed,
                heading, "true" if ignition else "false", odometer, soc,
                safe.get(source) or safe.setdefault(source, safe_text(source))))
        if tracks is not None:
            tracks.write(vid, plate, ts_iso, lat, lon)
        count += 1
    for writer in (csv_writer, tracks):
        if writer is not None:
            writer.close()
    return count


def _document_info(scope: q.ExportScope, tz: ZoneInfo, actor: User | str, labels: Labels) -> DocumentInfo:
    """Title (range of local days and the organisation), author (exporting user, platform)."""
    f = scope.filters
    first = f.since.astimezone(tz).date()
    last = (f.until - timedelta(microseconds=1)).astimezone(tz).date()
    where = scope.vehicle.plate if scope.vehicle else (scope.org.name if scope.org else labels.text("doc.whole_platform"))
    days = first.isoformat() if first == last else f"{first.isoformat()}–{last.isoformat()}"
    person = (actor.full_name or actor.username) if isinstance(actor, User) else actor
    return DocumentInfo(title=f"{labels.text('doc.title')} {days} {where}",
                        author=f"{person} · {labels.text('platform')}", subject=labels.text("doc.subject"))


def _write_pdf(session: Session, scope: q.ExportScope, path: Path, tz: ZoneInfo, rows: dict[str, int],
               totals: dict[str, Any], kept: dict[str, list[list[Any]]], actor: User | str,
               language: Language) -> None:
    L = Labels(language)
    info = _document_info(scope, tz, actor, L)
    pdf = PdfSummary(path, tz, info, language)
    f = scope.filters
    km = L.text("unit.km")

    def counted(group: str, counts: Counter) -> str:
        return L.joined([f"{L.value(group, k)} {v}" for k, v in sorted(counts.items())], strong=True) \
            or L.text("summary.none")

    pdf.summary(L.text("summary.title"), [
        (L.text("summary.org"), f"{scope.org.name} ({scope.org.code})" if scope.org else L.text("doc.whole_platform")),
        (L.text("summary.vehicle"), scope.vehicle.plate if scope.vehicle else L.text("summary.all_vehicles")),
        (L.text("summary.from"), f.since.astimezone(tz).strftime("%Y-%m-%d %H:%M")),
        (L.text("summary.until"), f.until.astimezone(tz).strftime("%Y-%m-%d %H:%M")),
        (L.text("summary.trips"), str(rows.get("trips", 0))),
        (L.text("summary.distance"), f"{totals.get('km', 0.0):.1f} {km}"),
        (L.text("summary.off_hours"), f"{totals.get('off_hours_km', 0.0):.1f} {km}"),
        (L.text("summary.positions"), str(rows.get("positions", 0))),
        (L.text("summary.by_state"), counted("state", totals["alerts_by_state"])),
        (L.text("summary.by_kind"), counted("kind", totals["alerts_by_kind"])),
        (L.text("summary.exported_by"), info.author),
        (L.text("summary.tz"), tz.key),
    ])
    pdf.table(L.text("lease.title", n=PDF_TOP_ROWS),
              [L.text(k) for k in ("lease.agency", "lease.code", "lease.trips", "lease.spend")],
              ([v[1], v[2], v[3], f"{v[4]:.2f}"] for v in kept["leased_spend"]))
    pdf.table(L.text("usage.title", n=PDF_TOP_ROWS),
              [L.text(k) for k in ("usage.plate", "usage.org", "usage.trips", "usage.km", "usage.off_hours_km")],
              ([v[1], v[2], v[3], f"{v[4]:.1f}", f"{v[5]:.1f}"] for v in kept["usage_per_vehicle"]))
    margin, zones = timedelta(minutes=MAP_MARGIN_MIN), load_zones(session)
    for alert in q.confirmed_alerts(session, scope):
        pdf.violation(alert_evidence(session, alert, tz, margin, MAP_MAX_POINTS, zones))
    pdf.close()


# ---------------------------------------------------------------- verification


class FileStatus(StrEnum):
    """What checking one file of a bundle found."""

    ok = "ok"
    changed = "changed"
    missing = "missing"
    added = "added"
    damaged = "damaged"


@dataclass(frozen=True)
class FileCheck:
    """One file of a bundle: its status, and the SHA-256 and size (bytes) read, when read."""

    name: str
    status: FileStatus
    sha256: str | None = None
    size_bytes: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.value, "sha256": self.sha256, "bytes": self.size_bytes}


@dataclass
class BundleCheck:
    """The outcome of checking a bundle; ``problems`` names every file that changed and
    ``files`` gives each file's status (the manifest's own first, once it was read)."""

    path: Path
    manifest: dict[str, Any] | None = None
    manifest_sha256: str | None = None
    archive_sha256: str | None = None
    files_checked: int = 0
    problems: list[str] = field(default_factory=list)
    files: list[FileCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "ok": self.ok, "export_id": (self.manifest or {}).get("export_id"),
                "files_checked": self.files_checked, "manifest_sha256": self.manifest_sha256,
                "archive_sha256": self.archive_sha256, "problems": self.problems,
                "files": [f.as_json() for f in self.files]}

    def mark_changed(self, name: str) -> None:
        """Record that file ``name``, read intact, no longer matches the platform's record."""
        self.files = [replace(f, status=FileStatus.changed) if f.name == name else f for f in self.files]


class _Folder:
    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir())

    def open(self, name: str) -> IO[bytes]:
        return (self.path / name).open("rb")


class _Zip:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def names(self) -> list[str]:
        return sorted(self.archive.namelist())

    def open(self, name: str) -> IO[bytes]:
        return self.archive.open(name)


def verify_bundle(path: Path) -> BundleCheck:
    """Check every file of a bundle folder or zip against its manifest (hash and size, none
    missing, none added). The manifest's own authenticity is checked by ``check_registered``."""
    check = BundleCheck(path)
    if not path.exists():
        check.problems.append(f"{path}: no such file or folder")
        return check
    if path.is_dir():
        _verify_members(_Folder(path), check)
        return check
    with path.open("rb") as handle:
        check.archive_sha256, _ = file_sha256(handle)
    try:
        with zipfile.ZipFile(path) as archive:
            _verify_members(_Zip(archive), check)
    except ARCHIVE_ERRORS as exc:
        check.problems.append(f"{path.name}: not a readable zip archive ({exc})")
    return check


def _verify_members(bundle: _Folder | _Zip, check: BundleCheck) -> None:
    names = bundle.names()
    if MANIFEST not in names:
        check.problems.append(f"{MANIFEST}: missing")
        return
    try:
        with bundle.open(MANIFEST) as handle:
            raw = handle.read()
        check.manifest_sha256 = hashlib.sha256(raw).hexdigest()
        manifest = json.loads(raw.decode("utf-8"))
        listed = {entry["path"]: entry for entry in manifest["files"]}
    except (KeyError, TypeError, *ARCHIVE_ERRORS) as exc:
        check.problems.append(f"{MANIFEST}: unreadable or altered ({exc})")
        return
    check.manifest = manifest
    check.files.append(FileCheck(MANIFEST, FileStatus.ok, check.manifest_sha256, len(raw)))
    for name in names:
        if name != MANIFEST and name not in listed:
            check.problems.append(f"{name}: not listed in the manifest (added)")
            check.files.append(FileCheck(name, FileStatus.added))
    for name, entry in listed.items():
        if name not in names:
            check.problems.append(f"{name}: missing (listed in the manifest)")
            check.files.append(FileCheck(name, FileStatus.missing))
            continue
        try:
            with bundle.open(name) as handle:
                sha, size = file_sha256(handle)
        except ARCHIVE_ERRORS as exc:
            check.problems.append(f"{name}: damaged in the archive ({exc})")
            check.files.append(FileCheck(name, FileStatus.damaged))
            continue
        check.files_checked += 1
        changed = sha != entry.get("sha256") or size != entry.get("bytes")
        check.files.append(FileCheck(name, FileStatus.changed if changed else FileStatus.ok, sha, size))
        if changed:
            check.problems.append(f"{name}: content changed (SHA-256 {sha[:12]}… , manifest says "
                                  f"{str(entry.get('sha256'))[:12]}…; {size} bytes, manifest says {entry.get('bytes')})")


def check_registered(session: Session, check: BundleCheck) -> None:
    """Compare the manifest (and archive) hashes with the platform's record of the export, so
    a manifest rewritten to match altered files is caught too."""
    if check.manifest is None:
        return
    export_id = check.manifest.get("export_id")
    record = session.get(ExportRecord, export_id) if isinstance(export_id, int) else None
    if record is None:
        check.problems.append(f"{MANIFEST}: export {export_id!r} is not recorded on this platform")
        return
    if record.manifest_sha256 != check.manifest_sha256:
        check.problems.append(f"{MANIFEST}: changed since export {export_id} was generated (its SHA-256 differs "
                              "from the one recorded)")
        check.mark_changed(MANIFEST)
    if check.archive_sha256 is not None and record.archive_sha256 not in (None, check.archive_sha256):
        check.problems.append(f"{check.path.name}: the archive changed since export {export_id} was generated")
    _check_chained(session, check, export_id)


def _check_chained(session: Session, check: BundleCheck, export_id: int) -> None:
    """Compare the manifest (and archive) hashes with the ``export.create`` audit entry, which
    an edit of the ``compliance_export`` row cannot change without breaking the chain."""
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "export.create")
                         .where(AuditEntry.object_type == "export")
                         .where(AuditEntry.object_id == str(export_id))).first()
    if entry is None:
        check.problems.append(f"{MANIFEST}: export {export_id} has no export.create entry in the audit log")
        return
    problem = chained_entry_problem(session, entry)
    if problem is not None:
        check.problems.append(f"{MANIFEST}: {problem}")
        return
    chained = entry.after or {}
    if chained.get("manifest_sha256") != check.manifest_sha256:
        check.problems.append(f"{MANIFEST}: its SHA-256 differs from the one audit entry {entry.id} chained for "
                              f"export {export_id}")
        check.mark_changed(MANIFEST)
    if check.archive_sha256 is not None and chained.get("archive_sha256") not in (None, check.archive_sha256):
        check.problems.append(f"{check.path.name}: the archive's SHA-256 differs from the one audit entry "
                              f"{entry.id} chained for export {export_id}")
