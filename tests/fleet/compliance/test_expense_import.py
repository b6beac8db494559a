"""Expense cross-checks: each planted case of 私车公养 is caught and raises an
``expense.mismatch`` alert on the right car; a bad file is refused whole with row errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from fleet.compliance.expense_import import ExpenseImportError, import_expenses
from fleet.models import Alert, AuditEntry, Position, Vehicle
from fleet.models.compliance import ExpenseKind, ExpenseRecord
from tests.web.conftest import build_world

T1 = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # before the world's 42 km trip
T2 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
FUEL_HEADER = "plate,occurred_at,station,station_lat,station_lon,litres,amount_cny,odometer_km,card_no\n"


def _car(session: Session, plate: str, vin: str, org_id: int, **extra) -> Vehicle:
    values = {"plate": plate, "vin": vin, "org_id": org_id, "vehicle_class": "sedan", "seats": 5,
              "energy": "petrol", "emission_standard": "china6", "purchase_date": date(2019, 1, 1),
              "purchase_price_cny": 120000}
    car = Vehicle(**(values | extra))
    session.add(car)
    session.flush()
    return car


@pytest.fixture
def fleet(session: Session) -> dict[str, int]:
    world = build_world(session)
    city = world.ids["city"]
    ids = {"main": world.ids["vehicle"], "city": city}
    ids["second"] = _car(session, "苏G22222", "LSVAA4180E2000022", city, gps_device_id="dev-0022").id
    ids["retired"] = _car(session, "苏G33333", "LSVAA4180E2000033", city, status="retired").id
    ids["bev"] = _car(session, "苏GD44444", "LSVAA4180E2000044", city, energy="bev", emission_standard=None,
                      battery_range_km=400).id
    session.add_all([
        Position(vehicle_id=ids["main"], ts=T1, lat=34.6005, lon=119.2005),
        Position(vehicle_id=ids["main"], ts=T2 + timedelta(minutes=5), lat=34.60, lon=119.20),
    ])
    session.commit()
    return ids


def _fuel_csv() -> str:
    rows = [
        f"苏G12345,{T1.isoformat()},港城加油站,34.601,119.201,40,300,,CARD-1",  # clean
        f"苏G12345,{T2.isoformat()},灌云加油站,34.80,119.50,18,140,,CARD-1",  # GPS 35 km away
        "苏G22222,2026-12-01 09:00,海州加油站,34.60,119.20,95,700,,",  # 95 L: over the tank
        "苏G22222,2026-12-03 09:00,海州加油站,34.60,119.20,50,380,,",  # 50 L after 0 km
        f"苏A99999,{(T2 + timedelta(hours=3)).isoformat()},市区加油站,34.60,119.20,45,340,,CARD-1",  # private car
        "苏A88888,2026-12-02 10:00,市区加油站,34.60,119.20,45,340,,",  # unknown car, unknown card
        "苏GD44444,2026-12-02 11:00,市区加油站,34.60,119.20,30,230,,",  # fuel for a battery car
    ]
    return FUEL_HEADER + "\n".join(rows) + "\n"


def _checks(records: list[ExpenseRecord]) -> dict[int, list[str]]:
    return {r.row_number: [f["check"] for f in r.findings] for r in records}


def test_each_planted_fuel_case_is_caught(session, fleet):
    result = import_expenses(session, ExpenseKind.fuel, _fuel_csv(), "fuel.csv", "cli")
    session.commit()
    checks = _checks(result.records)
    assert checks[2] == []
    assert checks[3] == ["far_from_station"]
    assert checks[4] == ["volume_over_tank"]
    assert checks[5] == ["volume_over_distance"]
    assert checks[6] == ["plate_not_in_fleet"]
    assert checks[7] == ["plate_not_in_fleet"]
    assert checks[8] == ["fuel_for_bev"]
    by_row = {r.row_number: r for r in result.records}
    alerts = {a.id: a for a in session.exec(select(Alert).where(Alert.kind == "expense.mismatch"))}
    assert len(alerts) == 5
    assert alerts[by_row[3].alert_id].vehicle_id == fleet["main"]
    assert alerts[by_row[3].alert_id].evidence["findings"][0]["nearest_gps_km"] > 5
    assert alerts[by_row[5].alert_id].vehicle_id == fleet["second"]
    # the private car filled up with the official car's card: the alert is on the card's car
    assert alerts[by_row[6].alert_id].vehicle_id == fleet["main"]
    assert "苏G12345" in by_row[6].findings[0]["detail"]
    assert by_row[7].alert_id is None
    assert all(a.rule_version and a.thresholds["station_radius_km"] == 5.0 for a in alerts.values())
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "expense.import")).one()
    assert entry.after["flagged"] == 6 and sorted(entry.after["alert_ids"]) == sorted(alerts)


def test_gps_within_five_km_passes_and_beyond_is_flagged(session, fleet):
    near = FUEL_HEADER + f"苏G12345,{T2.isoformat()},近站,34.63,119.20,18,140,,\n"  # 3.3 km from the fix
    result = import_expenses(session, ExpenseKind.fuel, near, "near.csv", "cli")
    assert _checks(result.records) == {2: []}


def test_repair_of_a_retired_car_is_caught(session, fleet):
    text = ("plate,occurred_at,workshop,amount_cny,description\n"
            "苏G33333,2026-12-01T10:00:00+08:00,港城汽修,2600,更换轮胎\n"
            "苏G12345,2026-12-01T11:00:00+08:00,港城汽修,800,保养\n")
    result = import_expenses(session, ExpenseKind.repair, text, "repair.csv", "cli")
    assert _checks(result.records) == {2: ["repair_for_retired_car"], 3: []}
    assert result.alerts[0].vehicle_id == fleet["retired"]


def test_charging_checks(session, fleet):
    text = ("plate,occurred_at,station,station_lat,station_lon,kwh,amount_cny\n"
            "苏GD44444,2026-12-01T10:00:00+08:00,充电站,34.60,119.20,120,150\n"  # battery ~80 kWh
            "苏G12345,2026-12-01T11:00:00+08:00,充电站,34.60,119.20,20,30\n")  # petrol car
    result = import_expenses(session, ExpenseKind.charging, text, "charging.csv", "cli")
    assert _checks(result.records) == {2: ["energy_over_battery"], 3: ["charging_for_combustion_car"]}


def test_bad_file_is_refused_whole_with_row_errors(session, fleet):
    text = FUEL_HEADER + "\n".join([
        f"苏G12345,{T1.isoformat()},港城加油站,34.601,119.201,40,300,,",
        "苏G12345,yesterday,港城加油站,34.601,119.201,40,300,,",
        "苏G22222,2026-12-01 09:00,海州加油站,34.60,119.20,-5,700,,",
        "not-a-plate,2026-12-01 09:00,海州加油站,34.60,219.20,30,700,,",
    ]) + "\n"
    with pytest.raises(ExpenseImportError) as caught:
        import_expenses(session, ExpenseKind.fuel, text, "bad.csv", "cli")
    errors = caught.value.errors
    assert any(e.startswith("row 3, occurred_at:") for e in errors)
    assert any(e.startswith("row 4, litres:") for e in errors)
    assert any(e.startswith("row 5, plate:") for e in errors)
    assert any(e.startswith("row 5, station_lon:") for e in errors)
    assert not any(e.startswith("row 2") for e in errors)
    session.rollback()
    assert session.exec(select(func.count()).select_from(ExpenseRecord)).one() == 0
    assert session.exec(select(func.count()).select_from(Alert).where(Alert.kind == "expense.mismatch")).one() == 0


def test_missing_columns_duplicates_and_reimport_are_refused(session, fleet):
    with pytest.raises(ExpenseImportError, match="1 error") as caught:
        import_expenses(session, ExpenseKind.fuel, "plate,occurred_at\n苏G12345,2026-12-01 09:00\n", "x.csv", "cli")
    assert "missing column(s) amount_cny, station, station_lat, station_lon, litres" in caught.value.errors[0]
    row = f"苏G12345,{T1.isoformat()},港城加油站,34.601,119.201,40,300,,\n"
    with pytest.raises(ExpenseImportError) as caught:
        import_expenses(session, ExpenseKind.fuel, FUEL_HEADER + row + row, "dup.csv", "cli")
    assert caught.value.errors == ["row 3, occurred_at: duplicate of row 2 (same plate and time)"]
    import_expenses(session, ExpenseKind.fuel, FUEL_HEADER + row, "once.csv", "cli")
    session.commit()
    with pytest.raises(ExpenseImportError, match="1 error") as caught:
        import_expenses(session, ExpenseKind.fuel, FUEL_HEADER + row, "once.csv", "cli")
    assert "already imported" in caught.value.errors[0]
