"""The dispatch slip (派车单) of an assignment: JSON facts and PDF, filled in after the trip
from the driver's entries and the GPS trip, empty where nothing was driven yet, and only for
the agency, the assigned driver and the fleet's readers in scope."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlmodel import Session, select

from fleet import audit
from fleet.models import Assignment, AssignmentKind, Position, Trip, User
from tests.builders import trip_request
from tests.web.conftest import T0, World

SHOTS = Path("/tmp/shots")


def auth(w: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.tokens[role]}"}


def completed_assignment(session: Session, client: TestClient, w: World) -> int:
    """An approved request assigned by the dispatcher, driven with odometer readings, and the
    car's GPS trip with its positions around the driven span."""
    rider = session.exec(select(User).where(User.id == w.ids["user_approver"])).one()
    request = trip_request(session, w.ids["agency"], w.ids["user_requester"], T0, (34.70, 119.30),
                           window=timedelta(minutes=30), purpose="校园安全检查", passengers=3, state="planned",
                           origin_address="东海县教育局", destination_address="牛山中学")
    audit.record(session, rider, "trip_request.approved", "trip_request", request.id, None, {"state": "approved"})
    session.commit()
    made = client.post("/api/v1/assignments", headers=auth(w, "dispatcher"), json={
        "request_id": request.id, "kind": "pool", "vehicle_id": w.ids["vehicle"], "driver_id": w.ids["driver"],
        "planned_pickup": T0.isoformat(), "planned_dropoff": (T0 + timedelta(hours=2)).isoformat(),
        "cost_cny": 86.5})
    assert made.status_code == 201, made.text
    assignment_id = made.json()["id"]
    moved = client.post(f"/api/v1/trip-requests/{request.id}/transitions", headers=auth(w, "dispatcher"),
                        json={"to": "assigned"})
    assert moved.status_code == 200, moved.text
    for body in ({"event": "arrived"}, {"event": "started", "odometer_km": 80010},
                 {"event": "problem", "note": "前方施工绕行"}, {"event": "completed", "odometer_km": 80035}):
        answer = client.post(f"/api/v1/assignments/{assignment_id}/events", headers=auth(w, "driver"), json=body)
        assert answer.status_code == 200, answer.text
    driven = session.exec(select(Trip).where(Trip.assignment_id == assignment_id)).one()
    start = driven.started_at - timedelta(minutes=1)
    positions = [Position(vehicle_id=w.ids["vehicle"], ts=start + timedelta(seconds=20 * i),
                          lat=34.60 + 0.004 * i, lon=119.20 + 0.003 * i, speed_kmh=40) for i in range(8)]
    session.add_all(positions)
    session.flush()
    session.add(Trip(vehicle_id=w.ids["vehicle"], started_at=start, ended_at=positions[-1].ts, distance_km=24.6,
                     first_position_id=positions[0].id, last_position_id=positions[-1].id))
    session.commit()
    return assignment_id


def test_completed_slip_has_every_field(session, client, world):
    assignment_id = completed_assignment(session, client, world)
    answer = client.get(f"/api/v1/assignments/{assignment_id}/slip", headers=auth(world, "auditor"))
    assert answer.status_code == 200, answer.text
    slip = answer.json()
    assert slip["agency"] == "东海县教育局" and slip["purpose"] == "校园安全检查" and slip["passengers"] == 3
    assert slip["requester"] == "requester" and slip["origin_address"] == "东海县教育局"
    assert slip["destination_address"] == "牛山中学" and slip["request_state"] == "completed"
    assert slip["planned_departure"].startswith("2026-12-01T01:00")
    for name in ("arrived_at", "actual_departure", "actual_return"):
        assert slip[name] is not None, name
    assert slip["start_odometer_km"] == 80010 and slip["end_odometer_km"] == 80035
    assert slip["odometer_distance_km"] == 25.0 and slip["gps_distance_km"] == 24.6
    route = slip["route"]
    assert route["positions"] == 8 and len(route["track"]) == 8 and len(route["trips"]) == 1
    assert slip["problems"] == ["前方施工绕行"]
    assert slip["driver"] == "张师傅" and slip["departure_place"] == "市机关车队"
    assert slip["car"] | {} == {"plate": "苏G12345", "vehicle_class": "sedan", "energy": "petrol", "seats": 5,
                                "ownership": "pool", "lessor": None, "lessor_phone": None}
    assert slip["approver"]["name"] == "approver" and slip["dispatcher"]["name"] == "dispatcher"
    assert slip["cost_cny"] == 86.5 and slip["tolls_cny"] is None and slip["parking_cny"] is None


def test_planned_slip_leaves_actual_fields_empty(session, client, world):
    request = trip_request(session, world.ids["agency"], world.ids["user_requester"], T0 + timedelta(days=1),
                           (34.7, 119.3), purpose="调研座谈", state="planned")
    planned = Assignment(request_id=request.id, kind=AssignmentKind.pool, vehicle_id=world.ids["vehicle"],
                         driver_id=world.ids["driver"], planned_pickup=T0 + timedelta(days=1),
                         planned_dropoff=T0 + timedelta(days=1, hours=1), cost_cny=60, org_id=world.ids["agency"])
    session.add(planned)
    session.commit()
    slip = client.get(f"/api/v1/assignments/{planned.id}/slip", headers=auth(world, "requester")).json()
    for name in ("arrived_at", "actual_departure", "actual_return", "start_odometer_km", "end_odometer_km",
                 "odometer_distance_km", "gps_distance_km", "route", "approver", "dispatcher"):
        assert slip[name] is None, name
    pdf = client.get(f"/api/v1/assignments/{planned.id}/slip.pdf", headers=auth(world, "requester"))
    assert pdf.status_code == 200
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "调研座谈" in text and "—" in text and "无 GPS 行程记录" in text


def test_slip_scope(session, client, world):
    assignment = world.ids["assignment"]
    for role in ("other_requester",):
        assert client.get(f"/api/v1/assignments/{assignment}/slip", headers=auth(world, role)).status_code == 404
        assert client.get(f"/api/v1/assignments/{assignment}/slip.pdf",
                          headers=auth(world, role)).status_code == 404
    assert client.get(f"/api/v1/assignments/{assignment}/slip", headers=auth(world, "driver")).status_code == 200
    assert client.get("/api/v1/assignments/999999/slip", headers=auth(world, "admin")).status_code == 404
    bad = client.get(f"/api/v1/assignments/{assignment}/slip.pdf?language=fr", headers=auth(world, "admin"))
    assert bad.status_code == 422 and "language" in bad.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_slip_pdf_reads_back(session, client, world, language):
    assignment_id = completed_assignment(session, client, world)
    answer = client.get(f"/api/v1/assignments/{assignment_id}/slip.pdf?language={language}",
                        headers=auth(world, "driver"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for fact in ("苏G12345", "张师傅", "校园安全检查", "牛山中学", "80,010.0", "24.6", "86.50"):
        assert fact in text, fact
    title = reader.metadata.title
    if language == "zh":
        assert "派车单" in text and "派车单" in title and "轿车" in text and "汽油" in text
        for raw in ("sedan", "petrol", "completed", "pool"):
            assert raw not in text, raw
    else:
        assert "dispatch slip" in title and "Official-car dispatch slip" in text and "Status: completed" in text
    assert reader.metadata.author and reader.metadata.subject
    import pypdfium2

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = pypdfium2.PdfDocument(answer.content)[0]
    page.render(scale=1.6).to_pil().save(SHOTS / f"slip_pdf_{language}.png")
