"""The migration that stores each assignment's leased car fills it for existing plans from
the plan JSON they were stored with, adds a request's rider, and goes back down."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from dispatch_service_day import DAY, local
from sqlalchemy import inspect, text
from sqlmodel import Session

from fleet.db import alembic_config, make_engine, upgrade
from fleet.models import Assignment, AssignmentKind, TripRequest
from fleet.models.dispatch_plan import DispatchPlan
from tests.fleet.test_migrations import empty_url  # noqa: F401  (the fixture)
from tests.web.conftest import build_world


def test_upgrade_fills_the_leased_car_from_the_stored_plan(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with Session(engine) as session:
        w = build_world(session)
        requests = []
        for hour in ("09:00", "11:00"):
            request = TripRequest(agency_id=w.ids["agency"], requester_id=w.ids["user_requester"], purpose="公务",
                                  passengers=1, origin_lat=34.6, origin_lon=119.2, destination_lat=34.7,
                                  destination_lon=119.2, pickup_earliest=local(hour), pickup_latest=local(hour),
                                  state="assigned")
            session.add(request)
            session.flush()
            requests.append(request.id)
        slot = f"L{w.ids['lessor']}:sedan:2"
        plan = DispatchPlan(service_date=DAY, org_id=w.ids["city"], created_by="dispatcher", plan={"plan": {
            "routes": [{"vehicle": slot, "kind": "lease", "stops": [
                {"request": f"R{requests[0]}", "type": "pickup"}, {"request": f"R{requests[0]}", "type": "dropoff"}]},
                {"vehicle": f"V{w.ids['vehicle']}", "kind": "pool", "stops": [
                    {"request": f"R{requests[1]}", "type": "pickup"},
                    {"request": f"R{requests[1]}", "type": "dropoff"}]}]}})
        session.add(plan)
        session.flush()
        leased = Assignment(request_id=requests[0], kind=AssignmentKind.lease, lessor_id=w.ids["lessor"],
                            org_id=w.ids["agency"], planned_pickup=local("09:00"),
                            planned_dropoff=local("09:00") + timedelta(minutes=30), plan_id=plan.id)
        pooled = Assignment(request_id=requests[1], kind=AssignmentKind.pool, vehicle_id=w.ids["vehicle"],
                            driver_id=w.ids["driver"], org_id=w.ids["agency"], planned_pickup=local("11:00"),
                            planned_dropoff=local("11:00") + timedelta(minutes=30), plan_id=plan.id)
        session.add_all([leased, pooled])
        session.commit()
        ids = (leased.id, pooled.id, w.ids["assignment"])

    config = alembic_config(empty_url)
    command.downgrade(config, "0010_assignment_plan_slot@-1")
    assert "lease_slot" not in {c["name"] for c in inspect(engine).get_columns("assignment")}
    assert "rider_id" not in {c["name"] for c in inspect(engine).get_columns("trip_request")}
    command.upgrade(config, "heads")
    assert "rider_id" in {c["name"] for c in inspect(engine).get_columns("trip_request")}
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, lease_slot FROM assignment WHERE id IN (:a, :b, :c)"),
                                 dict(zip("abc", ids, strict=True))).all())
    assert rows == {ids[0]: slot, ids[1]: None, ids[2]: None}  # the hand-made one has no plan
    engine.dispose()
