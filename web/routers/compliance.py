"""Compliance: expense-record imports (admins and dispatchers), inspector exports (auditors
only, within their organisation's scope: build, list, download again, verify the kept copy),
the check of an uploaded bundle, the audit log (``web.routers.audit_log``) and its
verification status."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field, model_validator
from sqlmodel import col, or_, select

from fleet.compliance import export_query as q
from fleet.audit import GENESIS_HASH, ChainBreak
from fleet.compliance.audit_checkpoint import CheckpointError, kept_checkpoint
from fleet.compliance.audit_verification import AuditVerification, verify_audit_log
from fleet.compliance.evidence_font import EvidenceFontError
from fleet.compliance.evidence_labels import Language
from fleet.compliance.expense_import import ExpenseImportError, import_expenses
from fleet.compliance.export_bundle import FORMATS, MANIFEST, BundleCheck, build_bundle, check_registered, verify_bundle
from fleet.models import Role, Vehicle
from fleet.models.compliance import (
    ExpenseImport,
    ExpenseImportPublic,
    ExpenseKind,
    ExpenseRecord,
    ExpenseRecordPublic,
    ExportRecord,
    ExportRecordPublic,
)
from web.crud import ObjectId
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles
from web.pagination import Page, PageDep, paginate
from web.routers import audit_log

router = APIRouter(tags=["compliance"])
router.include_router(audit_log.router)
R = Role
importers = Depends(require_roles(R.admin, R.dispatcher))
expense_readers = Depends(require_roles(R.admin, R.dispatcher, R.auditor))
inspectors = Depends(require_roles(R.auditor))
audit_readers = Depends(require_roles(R.admin, R.auditor))
bundle_checkers = Depends(require_roles(R.admin, R.auditor))

MAX_CSV_CHARS = 5_000_000
Id = Annotated[int | None, Field(None, ge=1, le=2**31 - 1)]


class ExpenseImportRequest(BaseModel):
    """A CSV file's text; see `fleet expenses import --help` for the columns of each kind."""

    kind: ExpenseKind
    filename: str = Field("upload.csv", min_length=1, max_length=200)
    csv: str = Field(min_length=1, max_length=MAX_CSV_CHARS)


class FlaggedRecord(BaseModel):
    row: int
    plate: str
    alert_id: int | None
    findings: list[str]


class ExpenseImportResult(BaseModel):
    expense_import: ExpenseImportPublic
    flagged: list[FlaggedRecord]


@router.post("/expenses/imports", response_model=ExpenseImportResult, status_code=status.HTTP_201_CREATED,
             dependencies=[importers])
def import_expense_records(body: ExpenseImportRequest, session: SessionDep, principal: CurrentPrincipal) -> dict:
    """Import every row or none (422 lists each bad row), then cross-check the records; each
    flagged record raises an ``expense.mismatch`` alert on its car."""
    try:
        result = import_expenses(session, body.kind, body.csv, body.filename, principal.user,
                                 org_id=principal.user.org_id)
    except ExpenseImportError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=exc.errors) from None
    session.commit()
    session.refresh(result.expense_import)
    return {"expense_import": result.expense_import, "flagged": result.as_json()["flagged"]}


class ExpenseFilters(BaseModel):
    import_id: Id = None
    plate: str | None = Field(None, max_length=12)
    flagged: bool | None = Field(None, description="Only records that failed (true) or passed (false) the checks.")


@router.get("/expenses", response_model=Page[ExpenseRecordPublic], dependencies=[expense_readers])
def list_expense_records(session: SessionDep, principal: CurrentPrincipal, page: PageDep,
                         filters: Annotated[ExpenseFilters, Query()]) -> dict:
    """Imported expense records of cars in scope, or imported by the caller's subtree."""
    cars = select(Vehicle.id).where(principal.scope_filter(col(Vehicle.org_id)))
    imports = select(ExpenseImport.id).where(principal.scope_filter(col(ExpenseImport.org_id)))
    statement = select(ExpenseRecord).where(or_(col(ExpenseRecord.vehicle_id).in_(cars),
                                                 col(ExpenseRecord.import_id).in_(imports)))
    if filters.import_id is not None:
        statement = statement.where(ExpenseRecord.import_id == filters.import_id)
    if filters.plate is not None:
        statement = statement.where(ExpenseRecord.plate == filters.plate)
    if filters.flagged is not None:
        flagged = col(ExpenseRecord.alert_id).is_not(None) | (col(ExpenseRecord.vehicle_id).is_(None))
        statement = statement.where(flagged if filters.flagged else ~flagged)
    return paginate(session, statement, page, col(ExpenseRecord.id))


class ExportRequest(BaseModel):
    """The range (``since`` inclusive, ``until`` exclusive) and an organisation (an agency is
    one too) or a car; without either, the caller's whole organisation."""

    since: AwareDatetime
    until: AwareDatetime
    org_id: Id = None
    vehicle_id: Id = None
    formats: list[str] = Field(default_factory=lambda: list(FORMATS), min_length=1, max_length=4)
    language: Language = Field(Language.zh, description="Language of the PDF: zh (Chinese) or en.")

    @model_validator(mode="after")
    def _check(self) -> ExportRequest:
        if self.until <= self.since:
            raise ValueError("until: must be after since")
        unknown = sorted(set(self.formats) - set(FORMATS))
        if unknown:
            raise ValueError(f"formats: unknown {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
        for name in ("since", "until"):
            if not datetime(1970, 1, 2, tzinfo=UTC) <= getattr(self, name) <= datetime(
                    9999, 1, 1, tzinfo=UTC):
                raise ValueError(f"{name}: out of range")
        return self


@router.post("/exports", status_code=status.HTTP_201_CREATED, dependencies=[inspectors],
             response_class=FileResponse,
             responses={201: {"content": {"application/zip": {}}, "description": "The bundle as a zip archive."}})
def create_export(body: ExportRequest, request: Request, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """Build an export bundle for inspectors and download it as a zip (manifest with SHA-256
    of every file; `fleet audit verify-bundle` checks it). The platform keeps a copy and the
    export is recorded in the audit log. Headers ``X-Export-Id`` and ``X-Manifest-SHA256``."""
    try:
        scope = q.resolve_scope(session, q.ExportFilters(body.since, body.until, body.org_id, body.vehicle_id),
                                allowed_path=principal.org_path)
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=str(exc)) from None
    except q.ExportFilterError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    settings = request.app.state.settings
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    destination = Path(settings.data_dir) / "exports" / f"export-{stamp}-{uuid4().hex[:8]}.zip"
    try:
        built = build_bundle(session, scope, principal.user, destination, tuple(dict.fromkeys(body.formats)),
                             as_zip=True, tz=settings.tz, checkpoint_key=settings.audit_checkpoint_signing_key(),
                             language=body.language)
    except EvidenceFontError as exc:  # the server lacks a CJK font: nothing was recorded
        session.rollback()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    session.commit()
    headers = {"X-Export-Id": str(built.record.id), "X-Manifest-SHA256": built.record.manifest_sha256}
    return FileResponse(destination, status_code=status.HTTP_201_CREATED, media_type="application/zip",
                        filename=destination.name, headers=headers)


@router.get("/exports", response_model=Page[ExportRecordPublic], dependencies=[inspectors])
def list_exports(session: SessionDep, principal: CurrentPrincipal, page: PageDep) -> dict:
    """Exports of organisations in the caller's scope, newest first."""
    statement = select(ExportRecord).where(principal.scope_filter(col(ExportRecord.org_id)))
    return paginate(session, statement, page, col(ExportRecord.id).desc())


class FileCheckPublic(BaseModel):
    name: str
    status: str = Field(description="ok, changed, missing (listed, not in the bundle), added (not listed) or damaged.")
    sha256: str | None
    bytes: int | None


class BundleCheckPublic(BaseModel):
    """Whether a bundle still is what the platform exported: every file against the manifest,
    and the manifest (and archive) against the export's record and its audit entry."""

    ok: bool
    export_id: int | None = Field(description="The export the manifest names.")
    files_checked: int
    manifest_sha256: str | None
    archive_sha256: str | None
    problems: list[str] = Field(description="Every difference found, one sentence each.")
    files: list[FileCheckPublic]


def _export_in_scope(session: SessionDep, principal: Principal, export_id: int) -> ExportRecord:
    statement = select(ExportRecord).where(ExportRecord.id == export_id,
                                           principal.scope_filter(col(ExportRecord.org_id)))
    record = session.exec(statement).first()
    if record is None:
        raise not_found("export", export_id)
    return record


def _checked(session: SessionDep, principal: Principal, check: BundleCheck) -> dict:
    """``check`` compared with the platform's record of the export its manifest names, when
    that export lies in the caller's scope."""
    export_id = (check.manifest or {}).get("export_id")
    record = session.get(ExportRecord, export_id) if isinstance(export_id, int) else None
    if record is not None and not (principal.covers_all or principal.in_scope(session, record.org_id)):
        check.problems.append(f"{MANIFEST}: export {export_id} lies outside your organisation's scope; only its "
                              "files were checked against its manifest")
    else:
        check_registered(session, check)
    return check.as_json()


@router.get("/exports/{object_id}/verification", response_model=BundleCheckPublic, dependencies=[inspectors])
def verify_export(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> dict:
    """Check the copy the platform kept of an export as `fleet audit verify-bundle` does: each
    file against the manifest, the manifest and archive against the export's record and its
    audit entry."""
    record = _export_in_scope(session, principal, object_id)
    return _checked(session, principal, verify_bundle(Path(record.path)))


@router.get("/exports/{object_id}/bundle", dependencies=[inspectors], response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}, "description": "The kept zip archive."}})
def download_export(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> Any:
    """Download the copy the platform kept of an earlier export (404 when it is gone)."""
    record = _export_in_scope(session, principal, object_id)
    path = Path(record.path)
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"export {object_id}: the kept copy is gone")
    return FileResponse(path, media_type="application/zip", filename=path.name)


@router.post("/exports/verification", response_model=BundleCheckPublic, dependencies=[bundle_checkers],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
def verify_uploaded_bundle(
    session: SessionDep, principal: CurrentPrincipal,
    bundle: Annotated[bytes, Body(media_type="application/zip", description="The bundle's zip archive.")],
    filename: Annotated[str, Query(min_length=1, max_length=80, pattern=r"^\w[\w\-. ()]*$", description=(
        "The bundle's file name, for the messages: letters, digits, `_-. ()`, starting with a letter or digit."))]
        = "bundle.zip",
) -> dict:
    """Check an uploaded export bundle (the zip as the request body, at most
    FLEET_WEB_BODY_MAX_BYTES) as `fleet audit verify-bundle` does; nothing is stored."""
    with tempfile.TemporaryDirectory(prefix="fleet-bundle-") as folder:
        path = Path(folder) / filename
        path.write_bytes(bundle)
        return _checked(session, principal, verify_bundle(path))


class DisagreementPublic(BaseModel):
    table: str
    row_id: int
    entry_id: int | None
    reason: str


class AuditVerificationPublic(BaseModel):
    ok: bool
    entries_checked: int
    last_entry_id: int
    last_hash: str
    first_broken_entry_id: int | None
    reason: str | None
    disagreements: list[DisagreementPublic] = Field(
        description="Rows of hash-holding tables (exports, expense imports) that differ from the chain.")
    checkpoint_entries: int | None


@router.get("/audit/verification", response_model=AuditVerificationPublic, dependencies=[audit_readers])
def audit_verification(session: SessionDep, request: Request) -> dict:
    """Check the whole audit log's SHA-256 chain now (the first broken entry, if any, and an
    empty log on a database with users, vehicles or trips), that it still holds the signed
    checkpoint kept in the data folder (not truncated or rewound), and every export and
    expense import against the hash the chain recorded for it."""
    try:
        anchor = kept_checkpoint(request.app.state.settings)
    except CheckpointError as exc:
        untrusted = ChainBreak(0, f"the kept audit checkpoint cannot be trusted: {exc}")
        return AuditVerification(0, 0, GENESIS_HASH, untrusted).as_json()
    return verify_audit_log(session, anchor).as_json()
