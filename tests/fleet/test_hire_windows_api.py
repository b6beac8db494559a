"""A leased car's hire windows over the API (list, add, remove; role and scope; refusals that
name the field), the window a confirmed lease assignment gets with its car, and the fixes
outside the windows hidden from everyone but the managers of the lessor contract."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from fleet.models import Assignment, AssignmentKind, HireWindow, Position, Role
from fleet.security import issue_token
from tests.builders import World, local_time, trip_request, user, vehicle
from tests.web.conftest import app, client, world  # noqa: F401  (the fixtures)

DAY = date(2026, 12, 2)


def auth(w: World, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.tokens[name]}"}


@pytest.fixture
def leased(session: Session, world: World, client: TestClient) -> int:
    """A leased car of the county's agency, under the city's lessor contract, hired on DAY
    08:00-18:00; it reported at 10:00 (hired) and at 18:27 (the rental company's own use). A
    dispatcher of the county (below the contract holder) has a token too."""
    car = vehicle(session, "苏G54321", "LSVAA4180E2000002", world.ids["agency"], ownership="leased",
                  lessor_id=world.ids["lessor"], gps_device_id="dev-0002")
    session.add(HireWindow(vehicle_id=car.id, starts_at=local_time(DAY, 8), ends_at=local_time(DAY, 18)))
    session.add_all([Position(vehicle_id=car.id, ts=local_time(DAY, 10), lat=34.6, lon=119.2),
                     Position(vehicle_id=car.id, ts=local_time(DAY, 18, 27), lat=34.6, lon=119.3)])
    county = user(session, "county_dispatcher", Role.dispatcher, world.ids["county"])
    session.commit()
    world.tokens["county_dispatcher"] = issue_token(county.id, client.app.state.signing_key, 3600)
    world.ids["leased"] = car.id
    return car.id


def test_hire_windows_are_listed_added_and_removed(client: TestClient, world: World, leased: int) -> None:
    url = f"/api/v1/vehicles/{leased}/hire-windows"
    body = {"starts_at": "2026-12-03T08:00:00+08:00", "ends_at": "2026-12-03T18:00:00+08:00", "note": "day hire 2"}
    created = client.post(url, json=body, headers=auth(world, "dispatcher"))
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"].startswith("2026-12-03T00:00:00") and created.json()["assignment_id"] is None
    listed = client.get(url, headers=auth(world, "auditor")).json()["items"]
    assert [w["note"] for w in listed] == ["", "day hire 2"]
    assert client.post(url, json=body, headers=auth(world, "auditor")).status_code == 403
    assert client.get(url, headers=auth(world, "requester")).status_code == 403
    removed = client.delete(f"{url}/{created.json()['id']}", headers=auth(world, "dispatcher"))
    assert removed.status_code == 204
    assert len(client.get(url, headers=auth(world, "admin")).json()["items"]) == 1


def test_refused_hire_windows_name_the_field(client: TestClient, world: World, leased: int) -> None:
    url = f"/api/v1/vehicles/{leased}/hire-windows"
    backwards = client.post(url, json={"starts_at": "2026-12-03T18:00:00+08:00", "ends_at": "2026-12-03T08:00:00+08:00"},
                            headers=auth(world, "admin"))
    assert backwards.status_code == 422
    assert [(d["loc"], d["type"]) for d in backwards.json()["detail"]] == [(["body", "ends_at"], "hire_window_order")]
    assert "ends_at: must be after starts_at" in backwards.json()["detail"][0]["msg"]
    naive = client.post(url, json={"starts_at": "2026-12-03T08:00:00", "ends_at": "2026-12-03T18:00:00+08:00"},
                        headers=auth(world, "admin"))
    assert naive.status_code == 422
    assert [d["loc"] for d in naive.json()["detail"]] == [["body", "starts_at"]]
    assert "timezone" in naive.json()["detail"][0]["msg"]
    pool = client.post(f"/api/v1/vehicles/{world.ids['vehicle']}/hire-windows", headers=auth(world, "admin"),
                       json={"starts_at": "2026-12-03T08:00:00+08:00", "ends_at": "2026-12-03T18:00:00+08:00"})
    assert pool.status_code == 422 and pool.json()["detail"][0]["loc"] == ["body", "vehicle_id"]
    assert client.get("/api/v1/vehicles/999999/hire-windows", headers=auth(world, "admin")).status_code == 404


def test_a_confirmed_lease_assignment_hires_the_car_it_is_given_until_cancelled(session: Session, client: TestClient,
                                                                world: World, leased: int) -> None:
    request = trip_request(session, world.ids["agency"], world.ids["user_requester"], local_time(DAY, 20),
                           (34.55, 118.77), state="assigned")
    assignment = Assignment(request_id=request.id, kind=AssignmentKind.lease, lessor_id=world.ids["lessor"],
                            org_id=world.ids["agency"], planned_pickup=local_time(DAY, 20),
                            planned_dropoff=local_time(DAY, 21), confirmed=True)
    session.add(assignment)
    session.commit()
    answer = client.patch(f"/api/v1/assignments/{assignment.id}", headers=auth(world, "dispatcher"),
                          json={"vehicle_id": leased, "override_reason": "the lessor named the car"})
    assert answer.status_code == 200, answer.text
    windows = client.get(f"/api/v1/vehicles/{leased}/hire-windows", headers=auth(world, "dispatcher")).json()["items"]
    follows = [w for w in windows if w["assignment_id"] == assignment.id]
    assert [(w["starts_at"][:19], w["ends_at"][:19]) for w in follows] == [("2026-12-02T11:00:00", "2026-12-02T14:00:00")]
    refused = client.delete(f"/api/v1/vehicles/{leased}/hire-windows/{follows[0]['id']}", headers=auth(world, "admin"))
    assert refused.status_code == 409 and refused.json()["detail"][0]["loc"] == ["body", "assignment_id"]
    cancelled = client.post(f"/api/v1/trip-requests/{request.id}/transitions", headers=auth(world, "requester"),
                            json={"to": "cancelled", "reason": "会议取消"})
    assert cancelled.status_code == 200, cancelled.text
    windows = client.get(f"/api/v1/vehicles/{leased}/hire-windows", headers=auth(world, "dispatcher")).json()["items"]
    assert [w["assignment_id"] for w in windows] == [None]  # a cancelled trip hires no car


def test_fixes_outside_the_hire_are_shown_only_to_the_contract_managers(client: TestClient, world: World,
                                                                        leased: int, session: Session) -> None:
    def hours(name: str) -> list[str]:
        answer = client.get("/api/v1/positions", params={"vehicle_id": leased}, headers=auth(world, name))
        assert answer.status_code == 200, answer.text
        return [p["ts"][11:16] for p in answer.json()["items"]]

    assert hours("admin") == ["02:00", "10:27"] and hours("dispatcher") == ["02:00", "10:27"]  # UTC
    assert hours("auditor") == ["02:00"] and hours("county_dispatcher") == ["02:00"]
    assert client.get("/api/v1/positions", params={"vehicle_id": leased},
                      headers=auth(world, "requester")).status_code == 403
    assert session.exec(select(Position).where(Position.vehicle_id == leased)).all()  # both are stored
