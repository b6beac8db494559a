"""Driver actions: arrive, start and complete a trip with odometer readings checked against
the car's last one, report a problem; the driver's list of today's trips."""

from __future__ import annotations

import pytest
from sqlmodel import select
from web_ui_world import add_todays_work  # type: ignore[import-not-found]

from fleet.models import AuditEntry, Trip, TripRequest, Vehicle


@pytest.fixture
def today(world, session):  # type: ignore[no-untyped-def]
    add_todays_work(session, world)
    return world


def event(client, w, body, role="driver", assignment="today_assignment"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/assignments/{w.ids[assignment]}/events", json=body, headers=w.auth(role))


def test_a_driver_runs_a_whole_trip(client, today, session):
    w = today
    assert event(client, w, {"event": "arrived"}).status_code == 200
    started = event(client, w, {"event": "started", "odometer_km": 80_012})
    assert started.status_code == 200, started.text
    assert started.json()["request_state"] == "in_progress"
    done = event(client, w, {"event": "completed", "odometer_km": 80_040})
    assert done.status_code == 200, done.text
    assert done.json()["request_state"] == "completed"
    session.expire_all()
    trip = session.get(Trip, done.json()["trip_id"])
    assert (trip.start_odometer_km, trip.end_odometer_km, trip.distance_km) == (80_012, 80_040, 28)
    assert trip.ended_at is not None
    assert session.get(Vehicle, w.ids["today_vehicle"]).odometer_km == 80_040
    assert session.get(TripRequest, w.ids["today_request"]).state == "completed"
    actions = session.exec(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["assignment.arrived", "trip_request.in_progress", "assignment.started",
                       "trip_request.completed", "assignment.completed"]


def refused(response, status_code):  # type: ignore[no-untyped-def]
    """The one refusal of ``response``: its code, field, English rule and figures."""
    assert response.status_code == status_code, response.text
    [error] = response.json()["detail"]
    return error["type"], error["loc"][-1], error["msg"], error["ctx"]


def test_odometer_readings_are_checked_and_refused_in_words(client, today):
    code, field, msg, ctx = refused(event(client, today, {"event": "started"}), 422)
    assert (code, field, ctx) == ("odometer_missing", "odometer_km", {"plate": today.plate})
    assert msg.startswith(f"enter the odometer reading of {today.plate}")
    code, field, msg, ctx = refused(event(client, today, {"event": "started", "odometer_km": 79_990}), 422)
    assert (code, field) == ("odometer_below_last", "odometer_km")
    assert msg.startswith(f"79,990 km is below the last reading of {today.plate}, 80,000 km")
    assert (ctx["reading_km"], ctx["last_km"], ctx["plate"]) == (79_990, 80_000, today.plate)
    assert event(client, today, {"event": "started", "odometer_km": 80_010}).status_code == 200
    code, field, msg, ctx = refused(event(client, today, {"event": "completed", "odometer_km": 81_500}), 422)
    assert (code, field, ctx["last_km"]) == ("odometer_above_possible", "odometer_km", 80_010)
    assert "81,500 km is 1,490 km above the last reading" in msg and "possible" in msg


def test_steps_out_of_order_are_conflicts(client, today):
    code, field, msg, ctx = refused(event(client, today, {"event": "completed", "odometer_km": 80_010}), 409)
    assert (code, field, ctx) == ("illegal_step", "event", {"state": "assigned", "to": "completed"})
    assert "allowed next states" in msg
    assert event(client, today, {"event": "started", "odometer_km": 80_001}).status_code == 200
    code, _, msg, ctx = refused(event(client, today, {"event": "arrived"}), 409)
    assert code == "arrival_not_assigned" and "arrival" in msg and ctx == {"state": "in_progress"}


def test_a_problem_needs_a_note(client, today, session):
    assert refused(event(client, today, {"event": "problem", "note": "  "}), 422)[:2] == ("note_missing", "note")
    r = event(client, today, {"event": "problem", "note": "左前轮胎压报警"})
    assert r.status_code == 200
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "assignment.problem")).one()
    assert entry.after["note"] == "左前轮胎压报警"


def test_other_roles_cannot_act_and_bad_events_name_the_field(client, today):
    assert event(client, today, {"event": "arrived"}, role="requester").status_code == 403
    assert event(client, today, {"event": "arrived"}, role="auditor").status_code == 403
    assert event(client, today, {"event": "arrived"}, role="dispatcher").status_code == 200
    r = event(client, today, {"event": "teleported"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "event"


def test_driver_today_lists_own_trips_in_order(client, today):
    w = today
    r = client.get("/api/v1/driver/today", headers=w.auth("driver"))
    assert r.status_code == 200, r.text
    stops = r.json()
    assert [s["assignment"]["id"] for s in stops] == [w.ids["today_assignment"]]
    assert stops[0]["plate"] == w.plate and stops[0]["request"]["origin_address"] == "市政府东门"
    assert stops[0]["arrived"] is False
    event(client, w, {"event": "arrived"})
    assert client.get("/api/v1/driver/today", headers=w.auth("driver")).json()[0]["arrived"] is True
    assert refused(client.get("/api/v1/driver/today", headers=w.auth("dispatcher")), 422)[0] == "driver_id_missing"
    r = client.get(f"/api/v1/driver/today?driver_id={w.ids['driver']}", headers=w.auth("dispatcher"))
    assert r.status_code == 200 and len(r.json()) == 1
