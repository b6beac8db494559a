"""What the rules need besides one vehicle's fixes and orders, loaded from the database and
the settings: thresholds, the working calendar, zones, the designated parking site and the
allowed area of each vehicle, and the hire windows in which a leased car is judged."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from fleet.models import HireWindow, Organisation, Ownership, ParkingSite, Vehicle, Zone, ZoneKind
from fleet.models.common import UTCDateTime, as_utc
from fleet.models.telemetry import SpeedZone
from fleet.settings import Settings, get_settings
from fleet.working_calendar import WorkingCalendar
from telematics.rules.context import DayTable, Place, Thresholds
from telematics.stored_history import ts


def designated_site(session: Session, vehicle: Vehicle) -> Place | None:
    """The vehicle's designated parking site as a rule zone, or None."""
    if vehicle.parking_site_id is None:
        return None
    site = session.get(ParkingSite, vehicle.parking_site_id)
    return Place(site.id, site.name, shape(site.geometry)) if site else None


_HIRES = (select(HireWindow.starts_at, HireWindow.ends_at)
          .where(HireWindow.vehicle_id == bindparam("vid"),
                 col(HireWindow.starts_at) <= bindparam("hi", type_=UTCDateTime()),
                 col(HireWindow.ends_at) > bindparam("lo", type_=UTCDateTime()))
          .order_by(col(HireWindow.starts_at)))


def hire_spans(session: Session, vehicle: Vehicle, lo_s: float,
               hi_s: float) -> tuple[tuple[float, float], ...] | None:
    """(start, end) epoch seconds of a leased car's hire windows overlapping [lo_s, hi_s], in
    which alone the rules judge it; None for a pool car, which is judged throughout."""
    if vehicle.ownership != Ownership.leased:
        return None
    rows = session.execute(_HIRES, {"vid": vehicle.id, "lo": ts(lo_s), "hi": ts(hi_s)}).all()
    return tuple((as_utc(start).timestamp(), as_utc(end).timestamp()) for start, end in rows)


def judged_at(session: Session, vehicle: Vehicle, at_s: float) -> bool:
    """Whether the rules judge the vehicle at ``at_s`` (epoch s): a pool car always, a leased
    car inside its hire windows."""
    spans = hire_spans(session, vehicle, at_s, at_s)
    return spans is None or any(start <= at_s < end for start, end in spans)


@dataclass
class RuleInputs:
    """What the rules need besides one vehicle's own data: thresholds, calendar and zones,
    loaded once and shared by every vehicle of a round (the evaluator loads them per round,
    so zone and calendar edits apply from the next round)."""

    thresholds: Thresholds
    tz: ZoneInfo
    calendar: WorkingCalendar
    forbidden: tuple[Place, ...]
    speed_zones: tuple[Place, ...]
    allowed_by_org: dict[int, list[Any]]
    _sites: dict[int, Place | None] = field(default_factory=dict)
    _areas: dict[int, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, settings: Settings | None = None) -> RuleInputs:
        settings = settings or get_settings()
        zones = session.exec(select(Zone)).all()
        forbidden = tuple(Place(z.id, z.name, shape(z.geometry)) for z in zones
                          if z.kind == ZoneKind.forbidden_venue)
        allowed: dict[int, list[Any]] = {}
        for z in zones:
            if z.kind == ZoneKind.allowed_area:
                allowed.setdefault(z.org_id, []).append(shape(z.geometry))
        speed = tuple(Place(z.id, z.name, shape(z.geometry), z.limit_kmh)
                      for z in session.exec(select(SpeedZone)).all())
        return cls(Thresholds.from_settings(settings), settings.tz, WorkingCalendar.from_session(session),
                   forbidden, speed, allowed)

    def site(self, session: Session, vehicle: Vehicle) -> Place | None:
        """The vehicle's designated parking site (cached by site)."""
        if vehicle.parking_site_id is None:
            return None
        if vehicle.parking_site_id not in self._sites:
            self._sites[vehicle.parking_site_id] = designated_site(session, vehicle)
        return self._sites[vehicle.parking_site_id]

    def allowed_area(self, session: Session, vehicle: Vehicle):  # type: ignore[no-untyped-def]
        """Union of the allowed areas of the vehicle's organisation and its ancestors (city
        boundary...), or None (cached by organisation)."""
        if vehicle.org_id not in self._areas:
            org = session.get(Organisation, vehicle.org_id)
            chain = [int(p) for p in (org.path if org else "").strip("/").split("/") if p]
            shapes = [g for org_id in chain for g in self.allowed_by_org.get(org_id, [])]
            self._areas[vehicle.org_id] = shapely.union_all(shapes) if shapes else None
        return self._areas[vehicle.org_id]

    def day_table(self, first_s: float, last_s: float) -> DayTable:
        """Local days from the day before ``first_s`` to the day after ``last_s``."""
        first = ts(first_s).astimezone(self.tz).date() - timedelta(days=1)
        last = ts(last_s).astimezone(self.tz).date() + timedelta(days=1)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        midnights = [datetime.combine(d, datetime.min.time(), self.tz).timestamp()
                     for d in [*days, last + timedelta(days=1)]]
        answers = [self.calendar.answer(d) for d in days]
        return DayTable(np.array(midnights), [d.isoformat() for d in days],
                        np.array([a.working for a in answers], dtype=bool),
                        np.array([a.official for a in answers], dtype=bool),
                        [a.warning for a in answers])
