"""A leased car is judged only while it is hired to the platform: a day hire 08:00-18:00, and
the window a confirmed lease assignment adds around its trip."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from rule_traces import DEPOT, TOWN, Trace, build_world, feed, kinds, local
from sqlmodel import Session, delete, select

from dispatch.stored_plans import accept_plan
from fleet.models import Assignment, AssignmentKind, HireWindow, Lessor, RequestState, Vehicle
from fleet.models.dispatch_plan import DispatchPlan
from tests.builders import trip_request

DAY = date(2026, 12, 2)  # a Wednesday, a working day
LATE_USE = {"private_use.no_order", "private_use.off_hours", "parking.off_site_overnight"}


@pytest.fixture
def world(session: Session):  # type: ignore[no-untyped-def]
    """The rule world with its leased car hired for one day, 08:00-18:00 local time."""
    w = build_world(session)
    session.exec(delete(HireWindow))  # type: ignore[call-overload]
    session.add(HireWindow(vehicle_id=w.ids["leased"], starts_at=local(DAY, 8), ends_at=local(DAY, 18),
                           note="day hire 2026-12-02"))
    session.commit()
    return w


def evening_use(day: date = DAY) -> Trace:
    """Parked at the depot, driven to town at 18:27 and left there for the night."""
    trace = Trace().park(DEPOT, local(day, 18, 7), 20)
    return trace.drive(TOWN, 15).then_park(13 * 60, every_s=600)


def test_the_rental_companys_use_after_a_day_hire_raises_nothing(session: Session, world) -> None:
    feed(session, world.ids["car"], evening_use().fixes)
    assert kinds(session, world.ids["car"]) == LATE_USE  # a pool car: the same drive is private use
    feed(session, world.ids["leased"], evening_use().fixes)
    assert kinds(session, world.ids["leased"]) == set()


def test_use_inside_the_hire_without_an_order_is_no_order(session: Session, world) -> None:
    trace = Trace().park(DEPOT, local(DAY, 17, 10), 20).drive(TOWN, 15).then_park(10).drive(DEPOT, 15).then_park(20)
    feed(session, world.ids["leased"], trace.fixes)
    assert kinds(session, world.ids["leased"]) == {"private_use.no_order"}


def test_a_day_without_a_hire_raises_nothing(session: Session, world) -> None:
    trace = Trace().park(DEPOT, local(DAY + timedelta(days=1), 10), 20).drive(TOWN, 15).then_park(20)
    feed(session, world.ids["leased"], trace.fixes)
    assert kinds(session, world.ids["leased"]) == set()


def test_an_accepted_lease_assignment_hires_its_car_around_the_trip(session: Session, world) -> None:
    """The lessor brings the car 30 min before the pickup and takes it back 45 min after the
    drop-off; the trip is covered by its order, the lessor's drive after the return is not
    judged."""
    leased = session.get(Vehicle, world.ids["leased"])
    lessor = session.get(Lessor, leased.lessor_id)
    lessor.hire_lead_s, lessor.hire_return_s = 1800, 2700
    request = trip_request(session, world.ids["agency"], world.ids["user"], local(DAY + timedelta(days=1), 10),
                           TOWN, origin=DEPOT, state=RequestState.planned)
    plan = DispatchPlan(service_date=DAY + timedelta(days=1), org_id=world.ids["city"], created_by="dispatcher")
    session.add_all([lessor, plan])
    session.flush()
    assignment = Assignment(request_id=request.id, kind=AssignmentKind.lease, vehicle_id=leased.id,
                            lessor_id=lessor.id, org_id=world.ids["agency"], plan_id=plan.id,
                            planned_pickup=local(DAY + timedelta(days=1), 10),
                            planned_dropoff=local(DAY + timedelta(days=1), 10, 30))
    session.add(assignment)
    session.flush()
    accept_plan(session, plan, "dispatcher")
    session.commit()

    window = session.exec(select(HireWindow).where(HireWindow.assignment_id == assignment.id)).one()
    assert (window.vehicle_id, window.starts_at, window.ends_at) == (
        leased.id, local(DAY + timedelta(days=1), 9, 30), local(DAY + timedelta(days=1), 11, 15))

    trace = Trace().park(DEPOT, local(DAY + timedelta(days=1), 9, 40), 20).drive(TOWN, 15).then_park(20)
    trace.drive(DEPOT, 15).then_park(40)  # back at 10:50, inside the window: the order covers it
    trace.drive(TOWN, 15).then_park(20)  # 11:31, the lessor's own drive after the return
    feed(session, leased.id, trace.fixes)
    assert kinds(session, leased.id) == set()

