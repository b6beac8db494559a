"""A dispatch day on top of the web test world (tests/web/conftest.py).

The world has a city depot at 34.60 N 119.20 E, the petrol sedan 苏G12345 with driver 张师傅
(08:00-18:00 local) and the lessor 港城租车 at 34.59 N 119.22 E (sedan tariff: 200 CNY base,
1.5 CNY/km, 30 CNY/h, 10 cars, 07:00-22:00). :func:`add_fleet` adds a BEV sedan (range 400 km,
driver 07:00-17:00) and a petrol MPV (7 seats, driver 09:00-19:00), plus a car without a driver,
a car in maintenance, an inactive driver and an expired lessor, which planning must ignore.
Service dates are local (Asia/Shanghai, +08:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from dispatch.check import check_plan
from dispatch.day_instance import build_instance
from dispatch.plan import Plan
from fleet.models import LessorTariff, Vehicle
from fleet.models.dispatch_plan import DispatchPlan
from tests.builders import driver, lessor, trip_request, vehicle

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 12, 3)


def local(hhmm: str, day: date = DAY) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def add_fleet(session: Session, ids: dict[str, int]) -> None:
    """Two more usable pool cars with drivers, and things planning must leave out."""
    depot = ids["depot"]
    city = ids["city"]

    def car(plate: str, vin: str, **extra: Any) -> Vehicle:
        defaults: dict[str, Any] = {"purchase_date": date(2022, 1, 1), "home_depot_id": depot}
        return vehicle(session, plate, vin, city, **(defaults | extra))

    bev = car("苏GD10001", "LSVAA4180E2000011", energy="bev", emission_standard=None, battery_range_km=400)
    mpv = car("苏G20002", "LSVAA4180E2000012", vehicle_class="mpv", seats=7)
    idle = car("苏G20003", "LSVAA4180E2000013", home_depot_id=None)
    broken = car("苏G20004", "LSVAA4180E2000014", status="maintenance")
    driver(session, "李师傅", city, phone="13800000001", shift_start=time(7, 0), shift_end=time(17, 0), home_depot_id=depot)
    driver(session, "王师傅", city, phone="13800000002", shift_start=time(9, 0), shift_end=time(19, 0), home_depot_id=depot)
    driver(session, "赵师傅", city, phone="13800000003", shift_start=time(6, 0), shift_end=time(23, 0), home_depot_id=depot,
           active=False)
    expired = lessor(session, "旧租车", city, contract_start=date(2025, 1, 1), contract_end=date(2026, 12, 2),
                     lat=34.6, lon=119.2)
    session.add(LessorTariff(lessor_id=expired.id, vehicle_class="sedan", seats=5, energy="petrol",
                             base_cny=1, per_km_cny=0.1, per_hour_cny=1, max_vehicles=5))
    ids.update(bev=bev.id, mpv=mpv.id, idle_car=idle.id, broken_car=broken.id, expired_lessor=expired.id)
    session.commit()


def add_request(
    session: Session, ids: dict[str, int], earliest: datetime, *, north_deg: float = 0.05,
    east_deg: float = 0.0, window_min: int = 30, state: str = "approved", passengers: int = 2,
    **extra: Any,
) -> int:
    """An approved request of the world's agency from the depot's neighbourhood."""
    request = trip_request(
        session, ids["agency"], ids["user_requester"], earliest.astimezone(UTC),
        (34.60 + north_deg, 119.20 + east_deg), window=timedelta(minutes=window_min), passengers=passengers,
        state=state, **extra)
    session.commit()
    return request.id


def add_day(session: Session, ids: dict[str, int], n: int = 12) -> list[int]:
    """``n`` approved requests spread over the day, some far enough to need a second car."""
    request_ids = []
    for k in range(n):
        start = local("08:00") + timedelta(minutes=45 * k)
        request_ids.append(add_request(session, ids, start, north_deg=0.02 + 0.03 * (k % 4),
                                       east_deg=0.02 * (k % 3)))
    return request_ids


def check_stored_plan(session: Session, plan_id: int) -> None:
    """Re-verify a stored plan with the independent checker against the day it planned."""
    row = session.get(DispatchPlan, plan_id)
    assert row is not None
    session.refresh(row)
    day = build_instance(session, row.service_date, row.org_id)
    plan = Plan.model_validate(row.plan["plan"])
    assert check_plan(day.instance, plan) == []
