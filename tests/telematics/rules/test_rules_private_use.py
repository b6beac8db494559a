"""Private-use rules on hand-built traces stored in the database and re-evaluated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rule_traces import DEPOT, FAR, TOWN, Trace, add_order, alerts, build_world, feed, kinds, local

WORKDAY = date(2026, 12, 1)  # a Tuesday


@pytest.fixture
def world(session):  # type: ignore[no-untyped-def]
    return build_world(session)


def town_and_back(start_hh: int, start_mm: int = 0, day: date = WORKDAY) -> Trace:
    """Parked at the depot, 15 min to town, 30 min there, 15 min back, parked again."""
    trace = Trace().park(DEPOT, local(day, start_hh, start_mm) - timedelta(minutes=20), 20)
    trace.drive(TOWN, 15).then_park(30).drive(DEPOT, 15).then_park(20)
    return trace


def test_trip_without_order_is_private_use(session, world) -> None:
    trace = town_and_back(10)
    changed = feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.no_order")
    assert len(found) == 2  # out and back
    assert {a.id for a in changed} >= {a.id for a in found}
    first = found[0]
    assert first.started_at == local(WORKDAY, 10) - timedelta(minutes=0, seconds=0) or first.started_at <= local(WORKDAY, 10)
    assert first.evidence["trip_id"] and first.evidence["first_position_id"] < first.evidence["last_position_id"]
    assert first.rule_version and first.thresholds["order_grace_before_s"] == 1800
    assert kinds(session, world.ids["car"]) == {"private_use.no_order"}


def test_trip_of_an_assigned_request_is_not_private_use(session, world) -> None:
    add_order(session, world, world.ids["car"], local(WORKDAY, 10), local(WORKDAY, 11), state="in_progress",
              round_trip=True)
    feed(session, world.ids["car"], town_and_back(10).fixes)
    assert kinds(session, world.ids["car"]) == set()


def test_grace_window_covers_an_early_start_but_not_a_late_return(session, world) -> None:
    # planned 10:20-10:50; leaving at 10:00 is inside the 30 min grace, coming back at 11:50 is not
    add_order(session, world, world.ids["car"], local(WORKDAY, 10, 20), local(WORKDAY, 10, 50))
    trace = Trace().park(DEPOT, local(WORKDAY, 9, 40), 20).drive(TOWN, 15).then_park(80)
    trace.drive(DEPOT, 15).then_park(20)
    feed(session, world.ids["car"], trace.fixes)
    found = alerts(session, world.ids["car"], "private_use.no_order")
    assert len(found) == 1 and found[0].started_at > local(WORKDAY, 11)
