"""A parked car's new fixes judged from its ongoing stop's summary give exactly what judging
the whole stop gives; fixes that do more than lengthen the stop take the full path."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from rule_traces import DEPOT, FAR, TOWN, VENUE, Trace, build_world, clear_telemetry, feed, local, snapshot
from sqlmodel import Session

from fleet.models import Position, Vehicle
from fleet.models.operations import ALARM_POWER_CUT
from telematics.evaluation import RuleInputs, extend_ongoing_stop, reevaluate

DAY = date(2026, 12, 1)


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    return build_world(session)


def night_at(place: tuple[float, float]) -> Trace:
    """Drive from the depot at 20:30 and stand at ``place`` until 07:40, a fix a minute,
    with the terminal silent for 50 minutes after midnight."""
    trace = Trace().park(DEPOT, local(DAY, 20, 30), 10).drive(place, 15).then_park(3 * 60 + 10)
    trace.park(place, trace.end + timedelta(minutes=50), 6 * 60 + 30)
    return trace


def chunks(fixes: list[dict[str, Any]], minutes: float) -> list[list[dict[str, Any]]]:
    """The fixes in arrival batches of ``minutes`` of event time."""
    out: list[list[dict[str, Any]]] = []
    for fix in fixes:
        if out and fix["ts"] - out[-1][0]["ts"] < timedelta(minutes=minutes):
            out[-1].append(fix)
        else:
            out.append([fix])
    return out


def judged_whole(session: Session, car: int, fixes: list[dict[str, Any]]) -> dict[str, Any]:
    """The stored rows when ``fixes`` arrive in one batch; the car's telemetry is then cleared
    for the same fixes to arrive otherwise."""
    feed(session, car, fixes)
    whole = snapshot(session, car)
    clear_telemetry(session, car)
    return whole


def extends(session: Session, car: int, batch: list[dict[str, Any]]) -> bool:
    """Store ``batch`` and judge it; whether it was judged from the stop's summary."""
    session.add_all([Position(vehicle_id=car, **fix) for fix in batch])
    session.flush()
    result = extend_ongoing_stop(session, session.get(Vehicle, car), batch[0]["ts"], batch[-1]["ts"],
                                 RuleInputs.load(session))
    session.commit()
    return result is not None


@pytest.mark.parametrize("place", [VENUE, TOWN, DEPOT], ids=["forbidden venue", "away", "own site"])
def test_a_night_fed_batch_by_batch_matches_the_night_judged_whole(session: Session, world, place) -> None:
    car = world.ids["car"]
    trace = night_at(place)
    whole = judged_whole(session, car, trace.fixes)

    batches = chunks(trace.fixes, 20)
    for batch in batches[:3]:  # the drive and the first minutes of the stop: full path
        feed(session, car, batch)
    judged_from_summary = [extends(session, car, batch) for batch in batches[3:]]
    assert all(judged_from_summary)
    assert snapshot(session, car) == whole
    kinds = {a[0] for a in whole["alerts"]}
    if place == DEPOT:
        assert kinds == set()
    else:
        assert "parking.off_site_overnight" in kinds and "device.offline" in kinds
        assert ("parking.forbidden_zone" in kinds) == (place == VENUE)
    assert whole["stops"][-1][1] == trace.end


def test_an_open_silence_is_closed_when_the_parked_terminal_reports_again(session: Session, world) -> None:
    car = world.ids["car"]
    trace = night_at(TOWN)
    whole = judged_whole(session, car, trace.fixes)
    gap = next(i for i in range(1, len(trace.fixes))
               if trace.fixes[i]["ts"] - trace.fixes[i - 1]["ts"] > timedelta(minutes=30))
    feed(session, car, trace.fixes[:gap])
    assert extends(session, car, trace.fixes[gap:])
    assert snapshot(session, car) == whole


@pytest.mark.parametrize("change", ["drives off", "power cut", "leaves the area while parked"])
def test_anything_but_a_longer_stop_takes_the_full_path(session: Session, world, change) -> None:
    car = world.ids["car"]
    trace = Trace().park(DEPOT, local(DAY, 9), 10).drive(TOWN, 15).then_park(60)
    cut = len(trace.fixes)
    if change == "drives off":
        trace.drive(DEPOT, 15).then_park(10)
    elif change == "power cut":
        trace.then_park(10)
        trace.fixes[-3]["alarms"] = ALARM_POWER_CUT
    else:  # a terminal reporting a parked spot outside the city (a position fault, or towed)
        trace.park(FAR, trace.end + timedelta(minutes=1), 10)
    whole = judged_whole(session, car, trace.fixes)
    feed(session, car, trace.fixes[:cut])
    assert not extends(session, car, trace.fixes[cut:])
    feed(session, car, trace.fixes[cut:])
    assert snapshot(session, car) == whole


def test_an_evaluator_running_behind_still_judges_from_the_summary(session: Session, world) -> None:
    """Fixes stored after a round's window are judged with it; the next round's window then
    starts inside the stored stop, and is judged from the summary too."""
    car = world.ids["car"]
    trace = night_at(VENUE)
    whole = judged_whole(session, car, trace.fixes)
    batches = chunks(trace.fixes, 30)
    for batch in batches[:3]:
        feed(session, car, batch)
    inputs = RuleInputs.load(session)
    vehicle = session.get(Vehicle, car)
    summary_judged = []
    for first, second in zip(batches[3::2], batches[4::2], strict=False):
        session.add_all([Position(vehicle_id=car, **fix) for fix in first + second])
        session.flush()
        for batch in (first, second):
            extended = extend_ongoing_stop(session, vehicle, batch[0]["ts"], batch[-1]["ts"], inputs)
            if extended is None:  # the batch right after the silence has no old fix near it
                reevaluate(session, {car: (batch[0]["ts"], batch[-1]["ts"])})
            summary_judged.append(extended is not None)
        session.commit()
    if len(batches[3:]) % 2:
        feed(session, car, batches[-1])
    assert summary_judged.count(False) <= 1 and len(summary_judged) >= 8
    assert snapshot(session, car) == whole


def test_a_young_stop_is_judged_whole_from_its_first_fix(session: Session, world) -> None:
    """A car seen for the first time parked (the platform starting up): its stop is still
    shorter than the rules' context when the next window arrives, so the tail is the whole
    stop, and no stretch of earlier history can change."""
    car = world.ids["car"]
    trace = Trace().park(VENUE, local(DAY, 21, 50), 3 * 60, every_s=10)
    whole = judged_whole(session, car, trace.fixes)
    session.add_all([Position(vehicle_id=car, **fix) for fix in trace.fixes[:30]])
    session.flush()
    reevaluate(session, {car: (trace.fixes[0]["ts"], trace.fixes[17]["ts"])})  # fixes 18-29 stay dirty
    session.commit()
    session.add_all([Position(vehicle_id=car, **fix) for fix in trace.fixes[30:400]])
    session.flush()
    window = (trace.fixes[18]["ts"], trace.fixes[399]["ts"])  # starts inside the stored stop
    assert extend_ongoing_stop(session, session.get(Vehicle, car), *window, RuleInputs.load(session)) is not None
    session.commit()
    assert extends(session, car, trace.fixes[400:])
    assert snapshot(session, car) == whole
    assert {a[0] for a in whole["alerts"]} == {"parking.forbidden_zone"}
