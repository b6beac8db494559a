"""What an approver needs to decide on a submitted trip request: who filed it for which
agency, who rides, and the warnings the platform sees in it.

Warnings are worked out here, on the server, so the approvals page and API clients see the
same ones. Each has a stable ``code`` (the page says it in Chinese or English, keys
``aw.<code>`` in ``web/static/js/i18n.js``), an English ``message`` and the figures
(``params``) a translated sentence needs:

* ``pickup_past``: the pickup window has already ended.
* ``off_hours``: on a working day, part of the trip (pickup window to the latest drop-off or
  the return) lies outside office hours (settings ``FLEET_RULES_WORK_START``/``_END``,
  display time zone).
* ``rest_day``: part of the trip falls on a rest day (weekend or statutory holiday, after
  make-up working days) of the platform's working calendar (:mod:`fleet.working_calendar`:
  official schedules loaded by administrators, else the ``holidays`` China calendar); a
  holiday is named in both languages.
* ``calendar_unofficial``: the calendar has no official schedule for that year, so the
  working days follow the library's rules.
* ``outside_allowed_area`` / ``leaves_county``: the origin or destination lies outside an
  allowed area (zones of kind ``allowed_area``) of the agency's organisation or one of its
  parents; ``leaves_county`` when that organisation is a county (district). An organisation
  with no allowed area gives no warning: the platform has no other boundary data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import holidays
import shapely
from pydantic import BaseModel, Field
from shapely.geometry import shape
from sqlmodel import Session, col, select

from fleet.compliance.working_time import WorkingHours
from fleet.models import (
    Organisation,
    OrgLevel,
    TripRequest,
    TripRequestPublic,
    User,
    Zone,
    ZoneKind,
    utcnow,
)
from fleet.models.telemetry import CalendarDay
from fleet.settings import Settings
from fleet.working_calendar import WorkingCalendar


class ApprovalWarning(BaseModel):
    """Something the approver should weigh before deciding (see the module for the codes)."""

    code: str = Field(description="Stable code: pickup_past, off_hours, rest_day, calendar_unofficial, "
                                  "outside_allowed_area or leaves_county.")
    message: str = Field(description="The warning in English.")
    params: dict[str, Any] = Field(default_factory=dict,
                                   description="Figures of the warning: times in ISO 8601, dates YYYY-MM-DD, names.")


class ApprovalItem(TripRequestPublic):
    """A submitted request as the approver sees it."""

    requester_name: str = Field(description="The filer's full name, else their username.")
    rider_name: str | None = Field(description="The official who rides, when not the filer.")
    agency_name: str
    warnings: list[ApprovalWarning]


@lru_cache(maxsize=32)
def _holiday_names(year: int, language: str) -> dict[date, str]:
    """Names of the ``holidays`` China calendar's days of ``year`` in ``language``."""
    try:
        return dict(holidays.country_holidays("CN", years=year, language=language))
    except (NotImplementedError, ValueError, KeyError, OverflowError):
        return {}


def _person(user: User | None) -> str | None:
    return None if user is None else (user.full_name or user.username)


@dataclass
class ApprovalContext:
    """What the warnings need, loaded once per list: office hours and the calendar, the
    allowed areas by organisation, names of loaded official holidays, and the time now."""

    hours: WorkingHours
    areas_by_org: dict[int, Any]
    area_names_by_org: dict[int, str]
    official_names: dict[date, str]
    now: datetime = field(default_factory=utcnow)
    _orgs: dict[int, Organisation | None] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, settings: Settings) -> ApprovalContext:
        calendar = WorkingCalendar.from_session(session)
        hours = WorkingHours(calendar, settings.rules.work_start, settings.rules.work_end, settings.tz)
        shapes: dict[int, list[Any]] = {}
        names: dict[int, list[str]] = {}
        for zone in session.exec(select(Zone).where(Zone.kind == ZoneKind.allowed_area)).all():
            shapes.setdefault(zone.org_id, []).append(shape(zone.geometry))
            names.setdefault(zone.org_id, []).append(zone.name)
        official = {d.day: d.name for d in session.exec(select(CalendarDay)).all() if d.name}
        return cls(hours, {org: shapely.union_all(s) for org, s in shapes.items()},
                   {org: "、".join(n) for org, n in names.items()}, official)

    def org(self, session: Session, org_id: int) -> Organisation | None:
        if org_id not in self._orgs:
            self._orgs[org_id] = session.get(Organisation, org_id)
        return self._orgs[org_id]

    def warnings(self, session: Session, request: TripRequest) -> list[ApprovalWarning]:
        """Every warning of ``request``, in the order: time, calendar, place."""
        return [*self._time_warnings(request), *self._place_warnings(session, request)]

    def _time_warnings(self, request: TripRequest) -> list[ApprovalWarning]:
        found: list[ApprovalWarning] = []
        if request.pickup_latest < self.now:
            found.append(ApprovalWarning(
                code="pickup_past",
                message=f"the pickup window ended at {request.pickup_latest.isoformat()}, in the past",
                params={"pickup_latest": request.pickup_latest.isoformat()}))
        tz = self.hours.tz
        start = request.pickup_earliest.astimezone(tz)
        ends = [request.pickup_latest, request.dropoff_latest, request.return_at]
        end = max(e for e in ends if e is not None).astimezone(tz)
        day, unofficial_years = start.date(), set()
        while day <= end.date():
            answer = self.hours.calendar.answer(day)
            if answer.warning and day.year not in unofficial_years:
                unofficial_years.add(day.year)
                found.append(ApprovalWarning(code="calendar_unofficial", message=answer.warning,
                                             params={"year": day.year}))
            if not answer.working:
                found.append(self._rest_day(day, answer.official))
            else:
                from_local = max(start, datetime.combine(day, datetime.min.time(), tz))
                to_local = min(end, datetime.combine(day + timedelta(days=1), datetime.min.time(), tz))
                opens, closes = (datetime.combine(day, t, tz) for t in (self.hours.start, self.hours.end))
                if from_local < opens or to_local > closes:
                    found.append(ApprovalWarning(
                        code="off_hours",
                        message=(f"the trip runs outside working time ({self.hours.start:%H:%M}-"
                                 f"{self.hours.end:%H:%M}) on {day.isoformat()}"),
                        params={"day": day.isoformat(), "work_start": f"{self.hours.start:%H:%M}",
                                "work_end": f"{self.hours.end:%H:%M}", "from": from_local.isoformat(),
                                "to": to_local.isoformat()}))
            day += timedelta(days=1)
        return found

    def _rest_day(self, day: date, official: bool) -> ApprovalWarning:
        """A rest-day warning naming the holiday when the calendar knows one."""
        loaded = self.official_names.get(day) if official else None
        zh = loaded or _holiday_names(day.year, "zh_CN").get(day)
        en = loaded or _holiday_names(day.year, "en_US").get(day)
        what = f"a statutory holiday ({en})" if en else "a rest day"
        return ApprovalWarning(code="rest_day", message=f"{day.isoformat()} is {what} by the working calendar",
                               params={"day": day.isoformat(), "holiday_zh": zh, "holiday_en": en,
                                       "weekend": day.weekday() >= 5})

    def _place_warnings(self, session: Session, request: TripRequest) -> list[ApprovalWarning]:
        agency = self.org(session, request.agency_id)
        chain = [int(p) for p in (agency.path if agency else "").strip("/").split("/") if p]
        found: list[ApprovalWarning] = []
        for org_id in chain:
            area = self.areas_by_org.get(org_id)
            org = self.org(session, org_id)
            if area is None or org is None:
                continue
            county = org.level == OrgLevel.county
            for point, lat, lon, address in (
                    ("origin", request.origin_lat, request.origin_lon, request.origin_address),
                    ("destination", request.destination_lat, request.destination_lon, request.destination_address)):
                if shapely.intersects_xy(area, lon, lat):
                    continue
                found.append(ApprovalWarning(
                    code="leaves_county" if county else "outside_allowed_area",
                    message=(f"the {point} ({address or f'{lat:.5f}, {lon:.5f}'}) lies outside "
                             f"{'the county' if county else 'the allowed area'} {self.area_names_by_org[org_id]} "
                             f"of {org.name}"),
                    params={"point": point, "address": address, "area": self.area_names_by_org[org_id],
                            "org": org.name}))
        return found


def approval_items(session: Session, settings: Settings, requests: list[TripRequest]) -> list[ApprovalItem]:
    """``requests`` with their filer, rider and agency named and their warnings."""
    context = ApprovalContext.load(session, settings)
    user_ids = {r.requester_id for r in requests} | {r.rider_id for r in requests if r.rider_id}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids))).all()} if user_ids else {}
    items = []
    for request in requests:
        agency = context.org(session, request.agency_id)
        items.append(ApprovalItem.model_validate(
            request.model_dump() | {
                "requester_name": _person(users.get(request.requester_id)) or str(request.requester_id),
                "rider_name": _person(users.get(request.rider_id)) if request.rider_id else None,
                "agency_name": agency.name if agency else str(request.agency_id),
                "warnings": context.warnings(session, request)}))
    return items
