"""Building the planning instance of a service date from the database (hand-checked)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from dispatch_service_day import DAY, add_fleet, add_request, local

from dispatch.day_instance import (
    PlanInputError,
    build_instance,
    day_window_utc,
    shift_window_utc,
)
from fleet.models import Assignment, AssignmentKind
from tests.web.conftest import build_world


def test_shift_window_converts_local_wall_clock_to_utc():
    start, end = shift_window_utc(date(2026, 12, 3), time(8, 0), time(18, 0), ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 12, 3, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    assert start.utcoffset().total_seconds() == 0
    # an early shift starts on the previous UTC day
    start, _ = shift_window_utc(date(2026, 12, 3), time(7, 0), time(22, 0), ZoneInfo("Asia/Shanghai"))
    assert start == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)


def test_day_window_is_the_local_date():
    start, end = day_window_utc(date(2026, 12, 3), ZoneInfo("Asia/Shanghai"))
    assert (start, end) == (datetime(2026, 12, 2, 16, 0, tzinfo=UTC), datetime(2026, 12, 3, 16, 0, tzinfo=UTC))


def test_instance_of_a_day(session):
    w = build_world(session)
    add_fleet(session, w.ids)
    early = add_request(session, w.ids, local("07:30"))  # 2026-12-02 23:30 UTC: still the 3rd locally
    late = add_request(session, w.ids, local("23:50"))
    next_day = add_request(session, w.ids, local("00:30", date(2026, 12, 4)))
    draft = add_request(session, w.ids, local("10:00"), state="draft")
    cancelled = add_request(session, w.ids, local("10:00"), state="cancelled")
    later = add_request(session, w.ids, local("11:00"))

    day = build_instance(session, DAY, w.ids["city"])
    inst = day.instance
    assert sorted(day.requests) == sorted(f"R{i}" for i in (early, late, later))
    assert {f"R{i}" for i in (next_day, draft, cancelled)}.isdisjoint(day.requests)
    request = next(r for r in inst.requests if r.id == f"R{early}")
    assert request.pickup_earliest == datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    assert request.service_pickup_s == 300 and request.service_dropoff_s == 120

    # pool cars: the world's sedan and the two new cars; not the driverless or broken one
    vehicles = {v.id: v for v in inst.vehicles}
    assert set(vehicles) == {f"V{w.ids['vehicle']}", f"V{w.ids['bev']}", f"V{w.ids['mpv']}"}
    sedan = vehicles[f"V{w.ids['vehicle']}"]
    assert (sedan.shift_start, sedan.shift_end) == (datetime(2026, 12, 3, 0, 0, tzinfo=UTC),
                                                     datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    assert sedan.seats == 4  # five seats, one is the driver's
    assert (sedan.fixed_cost_cny, sedan.cost_per_km_cny, sedan.cost_per_hour_cny) == (90.0, 0.95, 28.0)
    assert sedan.range_km is None
    bev = vehicles[f"V{w.ids['bev']}"]
    assert (bev.range_km, bev.cost_per_km_cny) == (400, 0.35)
    assert bev.shift_start == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)  # 07:00 local
    assert vehicles[f"V{w.ids['mpv']}"].seats == 6
    assert day.pool[f"V{w.ids['vehicle']}"] == (w.ids["vehicle"], w.ids["driver"])

    # the lessor under contract, with its shift in UTC; not the expired one
    assert [lessor.id for lessor in inst.lessors] == [f"L{w.ids['lessor']}"]
    lessor = inst.lessors[0]
    assert (lessor.shift_start, lessor.shift_end) == (datetime(2026, 12, 2, 23, 0, tzinfo=UTC),
                                                       datetime(2026, 12, 3, 14, 0, tzinfo=UTC))
    tariff = lessor.tariffs[0]
    assert (tariff.base_cny, tariff.per_km_cny, tariff.per_hour_cny, tariff.max_vehicles, tariff.seats) == (
        200, 1.5, 30, 10, 4)
    assert inst.policy.reassign_penalty_cny == 200.0


def test_settings_drive_costs_and_penalty(session, monkeypatch):
    from fleet.settings import get_settings

    w = build_world(session)
    monkeypatch.setenv("FLEET_DISPATCH_POOL_FIXED_CNY", "55")
    monkeypatch.setenv("FLEET_DISPATCH_REASSIGN_PENALTY_CNY", "999")
    monkeypatch.setenv("FLEET_DISPATCH_WINTER_RANGE_FACTOR", "0.7")
    monkeypatch.setenv("FLEET_DISPATCH_POOL_PER_KM_CNY",
                       '{"petrol": 1.1, "diesel": 1, "hev": 0.8, "phev": 0.6, "bev": 0.3}')
    get_settings.cache_clear()
    day = build_instance(session, DAY, w.ids["city"])
    assert (day.instance.vehicles[0].fixed_cost_cny, day.instance.vehicles[0].cost_per_km_cny) == (55, 1.1)
    assert day.instance.policy.reassign_penalty_cny == 999
    assert day.instance.policy.winter_range_factor == 0.7


def test_per_km_setting_must_price_every_energy(monkeypatch):
    from pydantic import ValidationError

    from fleet.settings import Settings

    monkeypatch.setenv("FLEET_DISPATCH_POOL_PER_KM_CNY", '{"petrol": 1}')
    with pytest.raises(ValidationError, match="pool_per_km_cny"):
        Settings()


def test_confirmed_assignments_become_the_confirmed_mapping(session):
    w = build_world(session)
    add_fleet(session, w.ids)
    request_id = add_request(session, w.ids, local("09:00"), state="assigned")
    session.add(Assignment(request_id=request_id, kind=AssignmentKind.pool, vehicle_id=w.ids["mpv"],
                           driver_id=w.ids["driver"], planned_pickup=local("09:00"),
                           planned_dropoff=local("09:30"), org_id=w.ids["agency"], confirmed=True))
    session.commit()
    day = build_instance(session, DAY, w.ids["city"])
    assert day.instance.confirmed == {f"R{request_id}": f"V{w.ids['mpv']}"}
    # the confirmed pair stays together: the MPV keeps the world's driver
    assert day.pool[f"V{w.ids['mpv']}"] == (w.ids["mpv"], w.ids["driver"])


def test_unknown_org_and_absurd_dates_are_refused(session):
    w = build_world(session)
    with pytest.raises(PlanInputError, match="org_id"):
        build_instance(session, DAY, 99999)
    with pytest.raises(PlanInputError, match="service_date"):
        build_instance(session, date(9999, 12, 31), w.ids["city"])
