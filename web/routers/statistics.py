"""The statistics report (统计报表) of an organisation subtree over a range of local days, as
JSON for the page and as CSV or XLSX downloads of the same figures (:mod:`fleet.statistics`
says what each figure counts).

Administrators, dispatchers and auditors read the report of their own organisation's subtree or
of an organisation within it; an organisation outside it is 404, like one that does not exist.
"""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from sqlmodel import Session

from fleet.compliance.export_writers import XlsxWorkbookWriter, cell, safe_text
from fleet.models import Organisation, Role, utcnow
from fleet.statistics import RangeError, Statistics, report_range, report_tables, statistics
from fleet.working_calendar import WorkingCalendar
from web.deps import CurrentPrincipal, Principal, SessionDep, not_found, require_roles

router = APIRouter(tags=["statistics"])
readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.auditor))
#: The range asked for when none is given: the 30 days up to today.
DEFAULT_DAYS = 30

Since = Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31),
                                     description="First local day (Asia/Shanghai); default 29 days before until.")]
Until = Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31),
                                     description="Last local day, inclusive; default today.")]
OrgId = Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                    description="Organisation whose subtree is reported; default your own.")]


def _report(request: Request, session: Session, principal: Principal, since: date | None, until: date | None,
            org_id: int | None) -> Statistics:
    settings = request.app.state.settings
    until = until or datetime.now(settings.tz).date()
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    org_id = principal.user.org_id if org_id is None else org_id
    org = session.get(Organisation, org_id)
    if org is None or not principal.in_scope(session, org_id):
        raise not_found("organisation", org_id)
    try:
        span = report_range(since, until, settings.tz, WorkingCalendar.from_session(session),
                            settings.rules.work_start, settings.rules.work_end)
    except RangeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(exc)) from None
    return statistics(session, org, span, utcnow())


def _filename(report: Statistics, suffix: str) -> str:
    return f"statistics-{report.org_id}-{report.since.isoformat()}-{report.until.isoformat()}.{suffix}"


@router.get("/statistics", response_model=Statistics, dependencies=[readers])
def get_statistics(request: Request, session: SessionDep, principal: CurrentPrincipal,
                   since: Since = None, until: Until = None, org_id: OrgId = None) -> Statistics:
    """Trips planned and completed, km, cost pool vs lease (CNY), NEV km share, utilisation
    per car (hours in trips / working hours of the range), punctuality and waits, and alerts by
    kind and disposition, for the local days ``since`` .. ``until`` (inclusive, at most 366)."""
    return _report(request, session, principal, since, until, org_id)


@router.get("/statistics.csv", dependencies=[readers], response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "The report's tables in one CSV file."}})
def get_statistics_csv(request: Request, session: SessionDep, principal: CurrentPrincipal,
                       since: Since = None, until: Until = None, org_id: OrgId = None) -> Response:
    """The report as CSV (UTF-8 with byte-order mark): each table (summary, days, cars,
    alerts) under a row with its name, followed by an empty row."""
    report = _report(request, session, principal, since, until, org_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for name, (columns, rows) in report_tables(report).items():
        writer.writerow([name])
        writer.writerow([safe_text(c) for c in columns])
        writer.writerows([cell(v) for v in row] for row in rows)
        writer.writerow([])
    return Response(("\ufeff" + buffer.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'})


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/statistics.xlsx", dependencies=[readers], response_class=Response,
            responses={200: {"content": {XLSX_TYPE: {}}, "description": "The report's tables, one sheet each."}})
def get_statistics_xlsx(request: Request, session: SessionDep, principal: CurrentPrincipal,
                        since: Since = None, until: Until = None, org_id: OrgId = None) -> Response:
    """The report as an XLSX workbook: one sheet per table (summary, days, cars, alerts)."""
    report = _report(request, session, principal, since, until, org_id)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "statistics.xlsx"
        book = XlsxWorkbookWriter(path)
        for name, (columns, rows) in report_tables(report).items():
            sheet = book.sheet(name, columns)
            for row in rows:
                sheet.write(row)
        book.close()
        content = path.read_bytes()
    return Response(content, media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{_filename(report, "xlsx")}"'})
