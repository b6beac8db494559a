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
from dispatch.plan import Plan
from dispatch.day_instance import build_instance
from fleet.models import Driver, Lessor, LessorTariff, TripRequest, Vehicle
from fleet.models.dispatch_plan import DispatchPlan

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
        base = {"plate": plate, "vin": vin, "org_id": city, "vehicle_class": "sedan", "seats": 5,
                "energy": "petrol", "emission_standard": "china6", "purchase_date": date(2022, 1, 1),
                "purchase_price_cny": 150000, "home_depot_id": depot}
        return Vehicle(**(base | extra))

    bev = car("苏GD10001", "LSVAA4180E2000011", energy="bev", emission_standard=None, battery_range_km=400)
    mpv = car("苏G20002", "LSVAA4180E2000012", vehicle_class="mpv", seats=7)
    idle = car("苏G20003", "LSVAA4180E2000013", home_depot_id=None)
    broken = car("苏G20004", "LSVAA4180E2000014", status="maintenance")
    session.add_all([bev, mpv, idle, broken])
    session.flush()

    def driver(name: str, phone: str, start: time, end: time, **extra: Any) -> Driver:
        return Driver(name=name, org_id=city, licence_class="B1", phone=phone, shift_start=start,
                      shift_end=end, home_depot_id=depot, **extra)

    session.add_all([
        driver("李师傅", "13800000001", time(7, 0), time(17, 0)),
        driver("王师傅", "13800000002", time(9, 0), time(19, 0)),
        driver("赵师傅", "13800000003", time(6, 0), time(23, 0), active=False),
    ])
    expired = Lessor(name="旧租车", org_id=city, contract_start=date(2025, 1, 1),
                     contract_end=date(2026, 12, 2), lat=34.6, lon=119.2)
    session.add(expired)
    session.flush()
    session.add(LessorTariff(lessor_id=expired.id, vehicle_class="sedan", seats=5, energy="petrol",
                             base_cny=1, per_km_cny=0.1, per_hour_cny=1, max_vehicles=5))
    ids.update(bev=bev.id, mpv=mpv.id, idle_car=idle.id, broken_car=broken.id, expired_lessor=expired.id)
    session.commit()


def add_request(
    session: Session, ids: dict[str, int], earliest: datetime, *, north_deg: float = 0.05,
    east_deg: float = 0.0, window_min: int = 30, state: str = "approved", **extra: Any,
) -> int:
    """An approved request of the world's agency from the depot's neighbourhood."""
    request = TripRequest(
        agency_id=ids["agency"], requester_id=ids["user_requester"], purpose="公务", passengers=2,
        origin_lat=34.60, origin_lon=119.20, destination_lat=34.60 + north_deg,
        destination_lon=119.20 + east_deg, pickup_earliest=earliest.astimezone(UTC),
        pickup_latest=(earliest + timedelta(minutes=window_min)).astimezone(UTC),
        state=state, **extra)
    session.add(request)
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
