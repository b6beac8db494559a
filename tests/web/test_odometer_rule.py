"""A car's odometer only moves forward, by what the car could have driven: the rule of the
drivers' readings holds for record updates too, and only an administrator corrects a wrong
figure, with a reason kept in the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from fleet.models import Trip, Vehicle, utcnow
from fleet.odometer import OdometerRejected, Reading, check_reading


def _patch(client, world, role: str, km: float):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/v1/vehicles/{world.ids['vehicle']}", json={"odometer_km": km},
                        headers=world.auth(role))


def _odometer(session: Session, world) -> float:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(Vehicle, world.ids["vehicle"]).odometer_km


@pytest.mark.parametrize("role", ["dispatcher", "admin"])
def test_an_update_cannot_turn_the_odometer_back(client, world, session, role):
    r = _patch(client, world, role, 1.0)
    assert r.status_code == 422
    assert r.json()["detail"] == ("odometer_km: 1 km is below the last reading of 苏G12345, 80,000 km; "
                                  "check the figure on the dashboard")
    assert _odometer(session, world) == 80_000


def test_an_update_cannot_jump_further_than_the_car_could_drive(client, world, session):
    r = _patch(client, world, "dispatcher", 95_000)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("odometer_km: 95,000 km is 15,000 km above the last reading of 苏G12345")
    assert _odometer(session, world) == 80_000


def test_an_update_moves_the_odometer_forward(client, world, session):
    assert _patch(client, world, "dispatcher", 80_012).status_code == 200
    assert _odometer(session, world) == 80_012


def test_a_reading_on_a_recent_trip_counts_as_the_last_reading(client, world, session):
    now = utcnow()
    session.add(Trip(vehicle_id=world.ids["vehicle"], started_at=now - timedelta(hours=1),
                     ended_at=now - timedelta(minutes=10), start_odometer_km=80_000, end_odometer_km=80_100))
    session.commit()
    r = _patch(client, world, "dispatcher", 80_050)
    assert r.status_code == 422 and "below the last reading of 苏G12345, 80,100 km" in r.json()["detail"]


def test_only_an_administrator_corrects_the_odometer_with_a_reason(client, world, session):
    url = f"/api/v1/vehicles/{world.ids['vehicle']}/odometer-corrections"
    body = {"odometer_km": 8_000, "reason": "录入时多打了一个0"}
    assert client.post(url, json=body, headers=world.auth("dispatcher")).status_code == 403
    blank = client.post(url, json=body | {"reason": "   "}, headers=world.auth("admin"))
    assert blank.status_code == 422 and blank.json()["detail"].startswith("reason:")
    assert _odometer(session, world) == 80_000
    r = client.post(url, json=body, headers=world.auth("admin"))
    assert r.status_code == 200 and r.json()["odometer_km"] == 8_000
    entries = client.get("/api/v1/audit-entries", params={"object_type": "vehicle"},
                         headers=world.auth("auditor")).json()["items"]
    assert [(e["action"], e["actor"]) for e in entries] == [("vehicle.odometer_correction", "admin")]
    assert entries[0]["before"]["odometer_km"] == 80_000
    assert entries[0]["after"]["odometer_km"] == 8_000 and entries[0]["after"]["reason"] == "录入时多打了一个0"


def test_readings_before_a_correction_no_longer_count(client, world, session):
    now = utcnow()
    session.add(Trip(vehicle_id=world.ids["vehicle"], started_at=now - timedelta(hours=1),
                     ended_at=now - timedelta(minutes=10), start_odometer_km=80_000, end_odometer_km=80_100))
    session.commit()
    url = f"/api/v1/vehicles/{world.ids['vehicle']}/odometer-corrections"
    body = {"odometer_km": 80_010, "reason": "行程结束读数录错"}
    assert client.post(url, json=body, headers=world.auth("admin")).status_code == 200
    assert _patch(client, world, "dispatcher", 80_020).status_code == 200
    assert _odometer(session, world) == 80_020


T = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("reading_km,now,accepted", [
    (80_000, T, True),                       # the same figure again
    (80_030, T, True),                       # within the slack at once
    (80_031, T, False),                      # beyond the slack at once
    (80_330, T + timedelta(hours=2), True),  # 150 km/h for two hours, plus the slack
    (80_331, T + timedelta(hours=2), False),
    (79_999, T + timedelta(days=30), False),  # never backwards
])
def test_the_reading_rule(reading_km, now, accepted):
    last = Reading(80_000, T)
    if accepted:
        check_reading(reading_km, last, now, "苏G12345")
    else:
        with pytest.raises(OdometerRejected, match="^odometer_km: "):
            check_reading(reading_km, last, now, "苏G12345")
