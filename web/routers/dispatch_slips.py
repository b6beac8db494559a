"""The dispatch slip (派车单) of an assignment: its facts as JSON and as a printable PDF.

Administrators, dispatchers and auditors read the slips of the agencies in their subtree; the
requesting agency's staff (requesters, approvers) read their agency's; a driver reads the
slips of the assignments given to their own driver record, whichever agency asked. Any other
assignment answers 404, as if it did not exist. The print page is ``/slip/{assignment_id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from sqlmodel import Session

from fleet.compliance.dispatch_slip import DispatchSlip, gather_slip
from fleet.compliance.dispatch_slip_pdf import render_slip_pdf
from fleet.compliance.evidence_font import EvidenceFontError
from fleet.compliance.evidence_labels import Language
from fleet.models import Role
from web.crud import ObjectId
from web.deps import CurrentPrincipal, Principal, SessionDep, require_roles
from web.routers.assignments import _load as load_assignment

router = APIRouter(prefix="/assignments", tags=["dispatch slips"])
readers = Depends(require_roles(Role.admin, Role.dispatcher, Role.auditor, Role.requester, Role.approver,
                                Role.driver))


def _slip(session: Session, principal: Principal, assignment_id: int) -> DispatchSlip:
    """The slip of an assignment the caller may read (as ``GET /assignments/{id}``: a
    driver's own, else one in the caller's subtree); 404 otherwise."""
    return gather_slip(session, load_assignment(session, principal, assignment_id))


@router.get("/{object_id}/slip", dependencies=[readers])
def get_slip(object_id: ObjectId, session: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """The slip's facts: request, route, planned and actual times (null until driven), the
    driver's odometer readings (km), the GPS trip and its track, car, driver, approver,
    dispatcher and cost (CNY). Times are UTC ISO-8601; stored values (car class, energy,
    state) are their codes, for the page to name."""
    return _slip(session, principal, object_id).as_json()


@router.get("/{object_id}/slip.pdf", dependencies=[readers], response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def get_slip_pdf(
    object_id: ObjectId, request: Request, session: SessionDep, principal: CurrentPrincipal,
    language: Annotated[Language, Query(description="Language of the PDF: zh (Chinese) or en.")] = Language.zh,
) -> Response:
    """The slip as a one-page A4 PDF; 503 naming the font package when a Chinese slip finds
    no CJK font on the server."""
    slip = _slip(session, principal, object_id)
    user = principal.user
    try:
        data = render_slip_pdf(slip, request.app.state.settings.tz, user.full_name or user.username, language)
    except EvidenceFontError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from None
    filename = f"dispatch-slip-{slip.assignment_id}-{language.value}.pdf"
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})
