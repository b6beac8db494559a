"""`fleet orders import`: past trip requests with their assignments from JSON or YAML, all or
nothing, every error at its path in the document."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

import fleet.cli
import fleet.orders.cli
from fleet.fleet_document import FleetImportError
from fleet.models import Assignment, AuditEntry, HireWindow, Ownership, RequestState, TripRequest
from fleet.models.device import IngestDirtyWindow
from fleet.orders import import_orders, read_document
from tests.builders import World, commands_registered, driver, lessor, organisation, user, vehicle, write_json

runner = CliRunner()
_registered = commands_registered(fleet.orders.cli.register, "orders")


def small_world(session: Session) -> World:
    """An agency with a requester, a pool car and its driver, and a lessor's leased car."""
    w = World()
    city = organisation(session, "连云港市", "320700", "city")
    agency = organisation(session, "市财政局", "320700-FIN", "agency", city)
    leasing = lessor(session, "港城租车", city.id, hire_lead_s=600, hire_return_s=900)
    user(session, "liu", "requester", agency.id)
    vehicle(session, "苏G12345", "LSVAA4180E2000001", city.id, gps_device_id="dev-0001")
    vehicle(session, "苏G54321", "LSVAA4180E2000002", city.id, ownership=Ownership.leased, lessor_id=leasing.id,
            gps_device_id="dev-0002")
    driver(session, "张师傅", city.id)
    session.commit()
    return w


def order(pickup: str = "2026-12-01T10:00:00+08:00", **assignment: Any) -> dict[str, Any]:
    """A completed trip from the depot to town, served by the pool car and 张师傅 unless
    ``assignment`` says otherwise."""
    return {
        "agency": "320700-FIN", "requester": "liu", "purpose": "预算评审", "passengers": 2,
        "origin_lat": 34.601, "origin_lon": 119.201, "destination_lat": 34.601, "destination_lon": 119.2885,
        "pickup_earliest": pickup, "pickup_latest": pickup, "state": "completed",
        "assignment": {"kind": "pool", "vehicle_plate": "苏G12345", "driver": "张师傅",
                       "planned_pickup": pickup, "planned_dropoff": pickup.replace("10:00:00", "10:30:00"),
                       "cost_cny": 86.5} | assignment,
    }


LEASED = {"kind": "lease", "vehicle_plate": "苏G54321", "driver": None, "lessor": "港城租车"}


def test_orders_go_in_with_their_assignments_and_one_audit_entry(session: Session) -> None:
    small_world(session)
    counts = import_orders(session, {"format": "orders-document/1", "orders": [order(), order(**LEASED)]})
    session.commit()
    assert counts == {"trip_requests": 2, "assignments": 2, "hire_windows": 1}
    requests = session.exec(select(TripRequest).order_by(TripRequest.id)).all()
    assert [r.state for r in requests] == [RequestState.completed, RequestState.completed]
    pool, lease = session.exec(select(Assignment).order_by(Assignment.id)).all()
    assert (pool.confirmed, pool.cost_cny, pool.planned_pickup) == (True, 86.5, datetime(2026, 12, 1, 2, tzinfo=UTC))
    assert lease.lessor_id is not None and lease.driver_id is None
    (hire,) = session.exec(select(HireWindow)).all()  # the lessor's own lead and return
    assert (hire.assignment_id, hire.starts_at, hire.ends_at) == (
        lease.id, datetime(2026, 12, 1, 1, 50, tzinfo=UTC), datetime(2026, 12, 1, 2, 45, tzinfo=UTC))
    assert len(session.exec(select(IngestDirtyWindow)).all()) == 2  # stored fixes are judged again
    (entry,) = session.exec(select(AuditEntry).where(AuditEntry.action == "orders.import")).all()
    assert entry.after["counts"] == counts


def test_a_bad_document_writes_nothing_and_names_every_path(session: Session) -> None:
    small_world(session)
    bad = [order(), order(vehicle_plate="苏G99999"), order(**LEASED), order(), order(), order()]
    bad[2]["agency"] = "NOPE"
    del bad[3]["assignment"]
    bad[4]["assignment"]["planned_dropoff"] = "2026-12-01T09:00:00+08:00"
    bad[5]["pickup_earliest"] = "2026-12-01T10:00:00"
    with pytest.raises(FleetImportError) as caught:
        import_orders(session, {"orders": bad, "extra": 1})
    reasons = {e.path: e.reason for e in caught.value.errors}
    assert str(caught.value).startswith("6 error(s) in the orders document")
    assert reasons == {
        "extra": "unknown key; expected one of format, orders",
        "orders[1].assignment.vehicle_plate": "no vehicle with plate 苏G99999",
        "orders[2].agency": "no organisation with code NOPE",
        "orders[3].assignment": "required for a request in state completed",
        "orders[4].assignment.planned_dropoff": "must be after planned_pickup",
        "orders[5].pickup_earliest": "Input should have timezone info",
    }
    assert session.exec(select(func.count()).select_from(TripRequest)).one() == 0


def test_lease_and_pool_rules_name_the_field(session: Session) -> None:
    small_world(session)
    wrong = [order(vehicle_plate="苏G54321"), order(**(LEASED | {"vehicle_plate": "苏G12345"})),
             order(driver="李师傅"), order(**(LEASED | {"lessor": "无名租赁"}))]
    with pytest.raises(FleetImportError) as caught:
        import_orders(session, {"orders": wrong})
    assert {str(e) for e in caught.value.errors} == {
        "orders[0].assignment.vehicle_plate: 苏G54321 is a leased car; a pool assignment needs a pool car",
        "orders[1].assignment.vehicle_plate: 苏G12345 is a pool car; a lease assignment needs a leased car",
        "orders[2].assignment.driver: no driver named 李师傅",
        "orders[3].assignment.lessor: no lessor named 无名租赁",
    }


def test_the_command_reads_yaml_and_refuses_with_paths(engine: Any, tmp_path: Path) -> None:
    with Session(engine) as session:
        small_world(session)
    document = {"orders": [order(), order(**LEASED)]}
    path = tmp_path / "past.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(fleet.cli.app, ["orders", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported: 2 trip_requests, 2 assignments, 1 hire_windows"
    broken = copy.deepcopy(document)
    broken["orders"][1]["assignment"]["vehicle_plate"] = "苏G12346"
    result = runner.invoke(fleet.cli.app, ["orders", "import", str(write_json(tmp_path / "past.json", broken))])
    assert result.exit_code == 1
    assert "orders[1].assignment.vehicle_plate: no vehicle with plate 苏G12346" in result.stderr
    assert "nothing was imported" in result.stderr
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(TripRequest)).one() == 2


def test_a_document_that_does_not_parse_says_where(tmp_path: Path) -> None:
    path = tmp_path / "past.yaml"
    path.write_text("orders:\n  - agency: [unclosed\n", encoding="utf-8")
    with pytest.raises(FleetImportError) as caught:
        read_document(path)
    assert caught.value.errors[0].reason.startswith("not valid YAML: line 3")
