"""A car's GPS terminals over the API, with the fixes the ingest dropped for each."""

from datetime import datetime, timezone

from sqlmodel import Session

from fleet.models.device import DeviceState

DROPPED_AT = datetime(2026, 12, 1, 2, 30, tzinfo=timezone.utc)


def test_a_cars_terminal_shows_how_many_fixes_were_dropped(client, world, session: Session):
    session.add(DeviceState(device_id="dev-0001", vehicle_id=world.ids["vehicle"], online=True,
                            dropped_fixes=3, last_dropped_at=DROPPED_AT))
    session.commit()
    r = client.get(f"/api/v1/vehicles/{world.ids['vehicle']}/devices", headers=world.auth("dispatcher"))
    assert r.status_code == 200, r.text
    [terminal] = r.json()
    assert terminal["device_id"] == "dev-0001"
    assert terminal["dropped_fixes"] == 3
    assert datetime.fromisoformat(terminal["last_dropped_at"]) == DROPPED_AT


def test_terminals_are_read_only_by_fleet_readers_in_scope(client, world):
    path = f"/api/v1/vehicles/{world.ids['vehicle']}/devices"
    assert client.get(path, headers=world.auth("requester")).status_code == 403
    missing = client.get("/api/v1/vehicles/999999/devices", headers=world.auth("admin"))
    assert missing.status_code == 404 and "vehicle 999999 not found" in missing.json()["detail"]
