"""Planning a day from the database: stored plans, assignments, re-planning, urgent insertion
and figures. Every plan that is solved is re-verified by dispatch.check."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from dispatch_service_day import (
    DAY,
    add_day,
    add_fleet,
    add_request,
    check_stored_plan,
    local,
)
from sqlmodel import select

from dispatch.day_instance import build_instance
from dispatch.stored_plans import (
    PlanConflict,
    accept_plan,
    current_plan,
    figures,
    insert_request,
    plan_assignments,
    plan_day,
    shared_rides,
)
from fleet.audit import verify_chain
from fleet.models import AuditEntry, LessorTariff, Organisation, RequestState, TripRequest
from fleet.models.dispatch_plan import DispatchPlan, PlanStatus
from tests.web.conftest import build_world

LIMIT_S = 0.5


@pytest.fixture
def w(session):  # type: ignore[no-untyped-def]
    world = build_world(session)
    add_fleet(session, world.ids)
    return world


def _plan(session, w):  # type: ignore[no-untyped-def]
    row, created = plan_day(session, DAY, w.ids["city"], "dispatcher", time_limit_s=LIMIT_S)
    session.commit()
    check_stored_plan(session, row.id)
    return row, created


def test_one_trip_goes_to_the_cheapest_car_with_hand_checked_cost(session, w):
    # depot -> 0.1 deg north: 11.1195 km x 1.3 = 14.4554 km each way, 28.9107 km, 0.72277 h at 40 km/h
    request_id = add_request(session, w.ids, local("10:00"), north_deg=0.1)
    row, created = _plan(session, w)
    [assignment] = plan_assignments(session, row.id)
    assert assignment.id == created[0]
    # BEV: 90 + 0.35 x 28.9107 + 28 x 0.72277 = 120.36 (petrol sedan: 137.70, lease: dearer)
    assert assignment.vehicle_id == w.ids["bev"]
    assert assignment.cost_cny == pytest.approx(120.36, abs=0.01)
    assert row.total_cost_cny == pytest.approx(120.36, abs=0.01)
    assert (row.pool_count, row.lease_count, row.unserved, row.pool_available) == (1, 0, [], 3)
    assert assignment.planned_pickup == local("10:00")
    assert f"pool car V{w.ids['bev']} adds 120.36 CNY" in assignment.explanation
    assert "cheapest lease option" in assignment.explanation
    assert assignment.reason["code"] == "pool_cheaper"
    params = assignment.reason["params"]
    assert (params["vehicle"], params["added_cny"]) == (w.ids["bev"], pytest.approx(120.36, abs=0.01))
    assert params["lease_option"] == {"lessor_id": w.ids["lessor"], "class": "sedan"}
    assert session.get(TripRequest, request_id).state == RequestState.planned
    numbers = figures(session, DAY, row)
    assert (numbers.trips_served, numbers.pool_trips, numbers.lease_trips) == (1, 1, 0)
    assert numbers.cost_cny == pytest.approx(120.36, abs=0.01)
    assert numbers.pool_utilisation == pytest.approx(1 / 3, abs=1e-4)
    assert numbers.nev_share == 1.0
    assert (numbers.trips_started, numbers.trips_completed) == (0, 0)  # planned, not yet driven
    request = session.get(TripRequest, request_id)
    for state, counted in ((RequestState.in_progress, (1, 0)), (RequestState.completed, (0, 1))):
        request.state = state
        session.add(request)
        session.flush()
        numbers = figures(session, DAY, row)
        assert (numbers.trips_served, numbers.trips_started, numbers.trips_completed) == (1, *counted)


def test_cheap_tariff_flips_the_trip_to_a_leased_car(session, w):
    add_request(session, w.ids, local("10:00"), north_deg=0.1)
    tariff = session.exec(select(LessorTariff).where(LessorTariff.lessor_id == w.ids["lessor"])).one()
    tariff.base_cny, tariff.per_km_cny, tariff.per_hour_cny = 10, 0.1, 1
    session.add(tariff)
    session.commit()
    row, _ = _plan(session, w)
    [assignment] = plan_assignments(session, row.id)
    assert (assignment.kind, assignment.lessor_id, assignment.vehicle_id) == ("lease", w.ids["lessor"], None)
    assert (row.pool_count, row.lease_count) == (0, 1)
    assert "leased car" in assignment.explanation and "cheapest pool option" in assignment.explanation
    numbers = figures(session, DAY, row)
    assert (numbers.lease_trips, numbers.pool_utilisation, numbers.nev_share) == (1, 0.0, 0.0)


def test_unserved_request_carries_the_reason(session, w):
    bus = add_request(session, w.ids, local("10:00"), vehicle_class="bus")
    row, _ = _plan(session, w)
    assert row.unserved == [{"request_id": bus, "reason": "no_vehicle_class"}]
    assert session.get(TripRequest, bus).state == RequestState.approved
    assert plan_assignments(session, row.id) == []


def test_day_plan_and_a_newer_plan_supersedes_it(session, w):
    request_ids = add_day(session, w.ids, 12)
    first, created = _plan(session, w)
    assignments = plan_assignments(session, first.id)
    assert len(assignments) == len(created) == first.pool_count + first.lease_count
    assert len(created) + len(first.unserved) == 12
    assert sum(a.cost_cny for a in assignments) == pytest.approx(first.total_cost_cny, abs=0.01 * len(created))
    served = {a.request_id for a in assignments}
    for request_id in request_ids:
        state = session.get(TripRequest, request_id).state
        assert state == (RequestState.planned if request_id in served else RequestState.approved)
    assert all(not a.confirmed for a in assignments)

    second, _ = _plan(session, w)
    session.refresh(first)
    assert first.status == PlanStatus.superseded and second.status == PlanStatus.proposed
    assert plan_assignments(session, first.id) == []  # its unconfirmed assignments are gone
    assert len(plan_assignments(session, second.id)) == len(created)
    assert current_plan(session, [first, second]) is second
    entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    actions = [e.action for e in entries if e.object_type == "dispatch_plan"]
    assert actions == ["dispatch_plan.create", "dispatch_plan.create"]
    first_plan = next(i for i, e in enumerate(entries) if e.object_type == "dispatch_plan")
    moves = [(e.actor, e.action, int(e.object_id)) for e in entries[:first_plan]]
    assert sorted(moves) == sorted(("platform", "trip_request.planned", r) for r in served)


def test_accept_then_replan_keeps_confirmed_trips_on_their_cars(session, w):
    request_ids = add_day(session, w.ids, 10)
    first, _ = _plan(session, w)
    changed = accept_plan(session, first, "dispatcher")
    session.commit()
    accepted = {a.request_id: (a.id, a.kind, a.vehicle_id, a.lessor_id) for a in plan_assignments(session, first.id)}
    assert sorted(changed) == sorted(a_id for a_id, *_ in accepted.values())
    assert all(session.get(TripRequest, r).state == RequestState.assigned for r in accepted)
    with pytest.raises(PlanConflict, match="only a proposed plan"):
        accept_plan(session, first, "dispatcher")

    # one trip is cancelled and a new one arrives: re-plan, accept
    cancelled = request_ids[3]
    request = session.get(TripRequest, cancelled)
    request.state = RequestState.cancelled
    session.add(request)
    session.commit()
    arrived = add_request(session, w.ids, local("12:10"), north_deg=0.04)
    second, _ = _plan(session, w)
    proposed = {a.request_id: (a.kind, a.vehicle_id, a.lessor_id) for a in plan_assignments(session, second.id)}
    assert cancelled not in proposed and arrived in proposed
    for request_id, (_, kind, vehicle_id, lessor_id) in accepted.items():
        if request_id != cancelled:
            assert proposed[request_id] == (kind, vehicle_id, lessor_id)  # nobody moved
    accept_plan(session, second, "dispatcher")
    session.commit()
    session.refresh(first)
    assert (first.status, second.status) == (PlanStatus.superseded, PlanStatus.accepted)
    final = {a.request_id: a.id for a in plan_assignments(session, second.id)}
    for request_id, (assignment_id, *_) in accepted.items():
        if request_id != cancelled:
            assert final[request_id] == assignment_id  # the confirmed assignment kept its id
    assert session.get(TripRequest, arrived).state == RequestState.assigned
    assert verify_chain(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()) is None


def test_urgent_request_is_inserted_into_the_accepted_plan(session, w):
    add_day(session, w.ids, 8)
    row, _ = _plan(session, w)
    accept_plan(session, row, "dispatcher")
    session.commit()
    before = {a.request_id: (a.kind, a.vehicle_id, a.lessor_id) for a in plan_assignments(session, row.id)}
    urgent = add_request(session, w.ids, local("15:05"), window_min=15, priority=9)
    changed = insert_request(session, row, urgent, "dispatcher")
    session.commit()
    after = {a.request_id: a for a in plan_assignments(session, row.id)}
    assert changed[0] == after[urgent].id and after[urgent].confirmed
    assert "urgent insertion" in after[urgent].explanation
    assert local("15:05") <= after[urgent].planned_pickup <= local("15:20")
    for request_id, where in before.items():
        assert (after[request_id].kind, after[request_id].vehicle_id, after[request_id].lessor_id) == where
    assert session.get(TripRequest, urgent).state == RequestState.assigned
    assert row.pool_count + row.lease_count == len(after)
    check_stored_plan(session, row.id)
    with pytest.raises(PlanConflict, match="must be approved"):
        insert_request(session, row, urgent, "dispatcher")


def test_nothing_to_insert_into_a_superseded_plan(session, w):
    add_request(session, w.ids, local("10:00"))
    first, _ = _plan(session, w)
    _plan(session, w)
    session.refresh(first)
    late = add_request(session, w.ids, local("11:00") + timedelta(minutes=5))
    with pytest.raises(PlanConflict, match="superseded"):
        insert_request(session, first, late, "dispatcher")
    assert session.exec(select(DispatchPlan)).all()[-1].status == PlanStatus.proposed


def test_leased_trips_keep_their_plan_and_leased_car_through_a_replan(session, w):
    tariff = session.exec(select(LessorTariff).where(LessorTariff.lessor_id == w.ids["lessor"])).one()
    tariff.base_cny, tariff.per_km_cny, tariff.per_hour_cny = 10, 0.1, 1
    session.add(tariff)
    session.commit()
    for east in (0.0, 0.05):  # at the same time, 3 + 3 passengers: two leased sedans
        add_request(session, w.ids, local("10:00"), north_deg=0.1, east_deg=east, passengers=3)
    first, _ = _plan(session, w)
    accept_plan(session, first, "dispatcher")
    session.commit()
    routes = {stop["request"]: route["vehicle"] for route in first.plan["plan"]["routes"] for stop in route["stops"]}
    slots = {a.request_id: a.lease_slot for a in plan_assignments(session, first.id)}
    assert all(a.plan_id == first.id for a in plan_assignments(session, first.id))
    assert {f"R{r}": slot for r, slot in slots.items()} == routes
    assert sorted(slots.values()) == [f"L{w.ids['lessor']}:sedan:1", f"L{w.ids['lessor']}:sedan:2"]
    day = build_instance(session, DAY, w.ids["city"])
    assert day.instance.confirmed == {f"R{r}": slot for r, slot in slots.items()}

    second, _ = _plan(session, w)
    assert {a.request_id: (a.plan_id, a.lease_slot) for a in plan_assignments(session, second.id)} == {
        r: (second.id, slot) for r, slot in slots.items()}
    accept_plan(session, second, "dispatcher")
    session.commit()
    assert {a.request_id: (a.plan_id, a.lease_slot) for a in plan_assignments(session, second.id)} == {
        r: (second.id, slot) for r, slot in slots.items()}
    assert figures(session, DAY, second).lease_trips == 2


def test_urgent_insertion_into_an_accepted_plan_is_a_platform_step_in_the_audit_log(session, w):
    add_request(session, w.ids, local("09:00"))
    row, _ = _plan(session, w)
    accept_plan(session, row, "dispatcher")
    session.commit()
    urgent = add_request(session, w.ids, local("15:05"), window_min=15, priority=9)
    insert_request(session, row, urgent, "dispatcher")
    session.commit()
    [entry] = session.exec(select(AuditEntry).where(AuditEntry.object_type == "trip_request",
                                                    AuditEntry.object_id == str(urgent))).all()
    assert (entry.actor, entry.action, entry.before["state"], entry.after["state"]) == (
        "platform", "trip_request.assigned", "approved", "assigned")
    assert [a.plan_id for a in plan_assignments(session, row.id)] == [row.id, row.id]


def test_two_requests_the_same_way_share_a_car_unless_one_rides_alone(session, w):
    # boarding takes 5 minutes: the second party boards in its window after the first
    first = add_request(session, w.ids, local("10:00"), north_deg=0.1, window_min=15)
    second = add_request(session, w.ids, local("10:00"), north_deg=0.1, window_min=15)
    row, _ = _plan(session, w)
    assignments = plan_assignments(session, row.id)
    assert len({a.vehicle_id for a in assignments}) == 1
    assert shared_rides(session, assignments) == {first: [second], second: [first]}
    assert f"shared with R{second}" in next(a for a in assignments if a.request_id == first).explanation
    assert next(a for a in assignments if a.request_id == first).reason["params"]["shared_with"] == [second]

    exclusive = session.get(TripRequest, second)
    exclusive.exclusive = True
    session.add(exclusive)
    session.commit()
    row, _ = _plan(session, w)
    assignments = plan_assignments(session, row.id)
    assert len({a.vehicle_id for a in assignments}) == 2
    assert shared_rides(session, assignments) == {}


def test_the_day_carries_the_agency_rule_and_every_ride_ceiling(session, w):
    request_id = add_request(session, w.ids, local("10:00"), north_deg=0.1)
    agency = session.get(Organisation, w.ids["agency"])
    agency.share_within_agency = True
    session.add(agency)
    session.commit()
    day = build_instance(session, DAY, w.ids["city"])
    assert day.instance.policy.share_within_agency == [str(w.ids["agency"])]
    assert day.instance.policy.sharing is True
    [request] = day.instance.requests
    assert request.id == f"R{request_id}"
    # the direct ride (14.4554 km at 40 km/h = 1,301 s) x 1.5 + 900 s
    direct_s = float(day.matrix.duration_s[0, 1])
    assert direct_s == pytest.approx(1301, abs=1)
    assert request.max_ride_s == math.ceil(direct_s * 1.5 + 900)
