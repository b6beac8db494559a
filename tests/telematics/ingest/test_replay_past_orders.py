"""Past orders loaded offline cover recorded GPS replayed without a server: the same drive is
private use on the car without an order and nothing on the car the imported order covers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from typer.testing import CliRunner

import fleet.cli
import fleet.orders.cli
import telematics.cli
from fleet.models import Alert
from tests.builders import (
    commands_registered,
    driver,
    fix,
    organisation,
    user,
    vehicle,
    write_json,
    write_json_lines,
)

runner = CliRunner()
_replay = commands_registered(telematics.cli.register, "replay")
_orders = commands_registered(fleet.orders.cli.register, "orders")

DEPOT, TOWN = (34.6010, 119.2010), (34.6010, 119.2885)
START = datetime(2026, 12, 1, 1, 40, tzinfo=UTC)  # Tuesday 09:40 in Lianyungang


def drive_to_town(device: str) -> list[dict[str, Any]]:
    """Parked at the depot for 20 min, 15 min to town (a fix every 10 s), parked there 20 min."""
    fixes = [fix(device, START + timedelta(minutes=m), *DEPOT, speed_kmh=0.0, ignition=False) for m in range(20)]
    for i in range(1, 91):
        u = i / 90
        fixes.append(fix(device, START + timedelta(minutes=20, seconds=10 * i), DEPOT[0],
                         DEPOT[1] + (TOWN[1] - DEPOT[1]) * u))
    end = START + timedelta(minutes=35)
    fixes += [fix(device, end + timedelta(minutes=m), *TOWN, speed_kmh=0.0, ignition=False) for m in range(1, 21)]
    return fixes


def test_an_imported_order_covers_the_replayed_drive(engine: Any, tmp_path: Path) -> None:
    with Session(engine) as session:
        city = organisation(session, "连云港市", "320700", "city")
        agency = organisation(session, "市财政局", "320700-FIN", "agency", city)
        user(session, "liu", "requester", agency.id)
        driver(session, "张师傅", city.id)
        covered = vehicle(session, "苏G12345", "LSVAA4180E2000001", city.id, gps_device_id="dev-0001").id
        uncovered = vehicle(session, "苏G12346", "LSVAA4180E2000003", city.id, gps_device_id="dev-0002").id
        session.commit()
    orders = {"orders": [{
        "agency": "320700-FIN", "requester": "liu", "purpose": "预算评审", "passengers": 1,
        "origin_lat": DEPOT[0], "origin_lon": DEPOT[1], "destination_lat": TOWN[0], "destination_lon": TOWN[1],
        "pickup_earliest": "2026-12-01T10:00:00+08:00", "pickup_latest": "2026-12-01T10:00:00+08:00",
        "state": "completed",
        "assignment": {"kind": "pool", "vehicle_plate": "苏G12345", "driver": "张师傅",
                       "planned_pickup": "2026-12-01T10:00:00+08:00", "planned_dropoff": "2026-12-01T10:20:00+08:00"}}]}
    imported = runner.invoke(fleet.cli.app, ["orders", "import", str(write_json(tmp_path / "past.json", orders))])
    assert imported.exit_code == 0, imported.output

    trace = drive_to_town("dev-0001") + drive_to_town("dev-0002")
    replayed = runner.invoke(fleet.cli.app, ["replay", str(write_json_lines(tmp_path / "gps.jsonl", trace))])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["stored"] == len(trace)
    with Session(engine) as session:
        kinds = {(a.vehicle_id, a.kind) for a in session.exec(select(Alert)).all()}
    assert (uncovered, "private_use.no_order") in kinds
    assert not {kind for vehicle_id, kind in kinds if vehicle_id == covered}
