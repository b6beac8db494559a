"""Parking, device and speeding rules on hand-built traces stored and re-evaluated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rule_traces import (
    BESIDE_VENUE,
    DEPOT,
    TOWN,
    VENUE,
    Trace,
    add_order,
    add_speed_zone,
    alerts,
    build_world,
    feed,
    local,
)
from sqlmodel import Session, select

from fleet.models import Position
from fleet.models.operations import ALARM_POWER_CUT
from fleet.models.telemetry import Stop
from telematics.evaluation import reevaluate

WORKDAY = date(2026, 12, 1)


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    return build_world(session)


def overnight_at(place: tuple[float, float]) -> Trace:
    trace = Trace().park(DEPOT, local(WORKDAY, 20, 30), 10).drive(place, 15)
    return trace.then_park(10 * 60 + 30, every_s=600).drive(DEPOT, 15).then_park(10)


def test_overnight_stop_away_from_the_site(session, world) -> None:
    feed(session, world.ids["car"], overnight_at(TOWN).fixes)
    found = alerts(session, world.ids["car"], "parking.off_site_overnight")
    assert len(found) == 1
    assert found[0].evidence["night_s"] >= 4 * 3600 and found[0].evidence["stop_id"]
    assert found[0].evidence["designated_site"]["id"] == world.ids["site"]


def test_overnight_at_the_designated_site_is_no_violation(session, world) -> None:
    trace = Trace().park(TOWN, local(WORKDAY, 20, 30), 10).drive(DEPOT, 15).then_park(11 * 60, every_s=600)
    trace.drive(TOWN, 15).then_park(10)
    feed(session, world.ids["car"], trace.fixes)
    assert alerts(session, world.ids["car"], "parking.off_site_overnight") == []


def venue_visit(place: tuple[float, float], minutes: float) -> Trace:
    trace = Trace().park(DEPOT, local(WORKDAY, 12), 10).drive(place, 10)
    return trace.then_park(minutes, every_s=30).drive(DEPOT, 10).then_park(10)


def test_stop_in_a_forbidden_venue(session, world) -> None:
    feed(session, world.ids["car"], venue_visit(VENUE, 15).fixes)
    found = alerts(session, world.ids["car"], "parking.forbidden_zone")
    assert len(found) == 1 and found[0].severity == "critical"
    assert found[0].evidence["zones"][0]["name"] == "某会所" and found[0].evidence["duration_s"] >= 600


@pytest.mark.parametrize(("place", "minutes"), [(VENUE, 5), (BESIDE_VENUE, 30)])
def test_short_stop_in_or_any_stop_beside_a_venue_is_no_violation(session, world, place, minutes) -> None:
    feed(session, world.ids["car"], venue_visit(place, minutes).fixes)
    assert alerts(session, world.ids["car"], "parking.forbidden_zone") == []


def silent_at(place: tuple[float, float], silent_min: float) -> Trace:
    trace = Trace().park(DEPOT, local(WORKDAY, 9), 10).drive(place, 15)
    trace.park(place, trace.end + timedelta(minutes=1), 5, ignition=True)
    return trace.park(place, trace.end + timedelta(minutes=silent_min), 5, ignition=True)


def test_silence_away_from_the_site_is_device_offline(session, world) -> None:
    feed(session, world.ids["car"], silent_at(TOWN, 45).fixes)
    found = alerts(session, world.ids["car"], "device.offline")
    assert len(found) == 1 and found[0].evidence["reason"] == "silent"
    assert found[0].evidence["silent_s"] == 45 * 60


def test_silence_parked_at_the_site_is_no_fault(session, world) -> None:
    feed(session, world.ids["car"], silent_at(DEPOT, 120).fixes)
    assert alerts(session, world.ids["car"], "device.offline") == []


def test_power_cut_alarm_is_tamper_suspicion(session: Session, world) -> None:
    trace = Trace().park(DEPOT, local(WORKDAY, 9), 10).drive(TOWN, 15)
    trace.fixes[-1]["alarms"] = ALARM_POWER_CUT
    feed(session, world.ids["car"], trace.fixes)
    found = [a for a in alerts(session, world.ids["car"], "device.offline") if a.evidence["reason"] == "tamper"]
    assert len(found) == 1 and found[0].severity == "critical" and found[0].evidence["alarms"] == ["power_cut"]


def test_tamper_evidence_outlives_the_terminal_reporting_again(session: Session, world) -> None:
    """Unplugged at the site (power-cut alarm), gone for 40 minutes, back in town: the silence
    and the alarm stay one critical alert, however many fixes follow."""
    car = world.ids["car"]
    trace = Trace().park(DEPOT, local(WORKDAY, 9), 10)
    trace.fixes[-1]["alarms"] = ALARM_POWER_CUT
    feed(session, car, trace.fixes)
    back = Trace().park(TOWN, trace.end + timedelta(minutes=40), 10, ignition=True)
    feed(session, car, back.fixes[:3])
    feed(session, car, back.fixes[3:])
    [alert] = alerts(session, car, "device.offline")
    assert alert.severity == "critical" and alert.ended_at == back.fixes[0]["ts"]
    reasons = {alert.evidence["reason"], *(e["reason"] for e in alert.evidence.get("also", []))}
    assert reasons == {"silent", "tamper"}


def test_driving_above_the_default_limit_is_speeding(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 11))
    trace = Trace().park(DEPOT, local(WORKDAY, 10), 10).drive(TOWN, 4, speed_kmh=130).then_park(10)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "speeding")
    assert len(found) == 1 and found[0].evidence["limit_kmh"] == 120 and found[0].evidence["max_speed_kmh"] == 130


def test_speed_zone_limit_applies_inside_the_zone(session, world) -> None:
    add_speed_zone(session, world, (34.6010, 119.2450), 0.005, limit_kmh=40)
    trace = Trace().park(DEPOT, local(WORKDAY, 10), 10).drive(TOWN, 15, speed_kmh=60).then_park(10)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "speeding")
    assert len(found) == 1 and found[0].evidence["limit_kmh"] == 40


def test_brief_spike_above_the_limit_is_not_speeding(session, world) -> None:
    trace = Trace().park(DEPOT, local(WORKDAY, 10), 10).drive(TOWN, 8)
    trace.fixes[-10]["speed_kmh"] = 140.0
    trace.fixes[-9]["speed_kmh"] = 135.0
    feed(session, world.ids["car"], trace.then_park(10).fixes)
    assert alerts(session, world.ids["car"], "speeding") == []


def test_a_window_early_in_a_long_stop_stores_the_whole_stop(session: Session, world) -> None:
    """Fixes of a 12-hour stop are all stored; evaluating only its first minutes (an evaluator
    running behind) still stores the one stop whole, not a piece of it."""
    trace = Trace().park(TOWN, local(WORKDAY, 9), 5).drive(DEPOT, 15).then_park(12 * 60)
    car = world.ids["car"]
    session.add_all([Position(vehicle_id=car, **fix) for fix in trace.fixes])
    session.commit()
    reevaluate(session, {car: (local(WORKDAY, 9, 20), local(WORKDAY, 9, 30))})
    session.commit()
    stops = session.exec(select(Stop).where(Stop.vehicle_id == car).order_by(Stop.started_at)).all()
    assert stops[-1].ended_at == trace.end and stops[-1].duration_s >= 12 * 3600
