"""Builders of the records the tests stand on: organisations in their tree, depots, vehicles,
drivers, users with a role, lessors, trip requests and GPS fixes as a terminal sends them;
and shared pieces of harness: a free local port for the servers and brokers the tests
start, and the ``fleet`` command line with a package's commands registered, built into its
click command once per shape.

Each database builder adds its row to the session and flushes, so that the id is set, and
leaves the commit to the caller. Defaults describe the Lianyungang fleet (a petrol China 6
sedan, a driver on 08:00-18:00 local time, the city depot at 34.60 N 119.20 E); keyword
arguments override any field. Times are timezone-aware; ``SHANGHAI`` is local time (UTC+8)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, TypeVar

import click
import pytest
import typer
import typer.main
from sqlmodel import Session, SQLModel

from fleet.models import Driver, Lessor, Organisation, OrgLevel, Role, TripRequest, User, Vehicle

SHANGHAI = timezone(timedelta(hours=8))
DEPOT_AT = (34.60, 119.20)  # the city depot, (lat, lon) degrees

Row = TypeVar("Row", bound=SQLModel)


@dataclass
class World:
    """Ids of what a test built, by name; ``tokens`` holds a bearer token per role."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def add(session: Session, row: Row) -> Row:
    """``row`` added and flushed, with its id set."""
    session.add(row)
    session.flush()
    return row


def local_time(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local Shanghai time of ``day`` as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def box(lat: float, lon: float, half_deg: float) -> dict[str, Any]:
    """A GeoJSON square of half-side ``half_deg`` degrees centred on ``lat``/``lon``."""
    return {"type": "Polygon", "coordinates": [[
        [lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg],
        [lon + half_deg, lat + half_deg], [lon - half_deg, lat + half_deg],
        [lon - half_deg, lat - half_deg]]]}


def organisation(session: Session, name: str, code: str, level: OrgLevel | str,
                 parent: Organisation | None = None) -> Organisation:
    """An organisation under ``parent`` (the root when None), with its materialised path."""
    org = add(session, Organisation(name=name, code=code, level=level,
                                    parent_id=parent.id if parent else None))
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    return org


def county_tree(session: Session) -> dict[str, Organisation]:
    """The city of Lianyungang, its county Donghai, and the county's education bureau."""
    city = organisation(session, "连云港市", "320700", OrgLevel.city)
    county = organisation(session, "东海县", "320722", OrgLevel.county, city)
    agency = organisation(session, "东海县教育局", "320722-EDU", OrgLevel.agency, county)
    return {"city": city, "county": county, "agency": agency}


def user(session: Session, username: str, role: Role, org_id: int | None, password_hash: str = "x",
         **fields: Any) -> User:
    """A user of ``role`` in ``org_id``; the default hash matches no password."""
    return add(session, User(username=username, role=role, org_id=org_id, password_hash=password_hash,
                             **fields))


def vehicle(session: Session, plate: str, vin: str, org_id: int | None, **fields: Any) -> Vehicle:
    """A pool car of ``org_id``: a petrol China 6 sedan, 5 seats, bought 2020-05-01 for
    150,000 CNY, unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "vehicle_class": "sedan", "seats": 5, "energy": "petrol", "emission_standard": "china6",
        "purchase_date": date(2020, 5, 1), "purchase_price_cny": 150000,
    }
    return add(session, Vehicle(plate=plate, vin=vin, org_id=org_id, **(values | fields)))


def driver(session: Session, name: str, org_id: int | None, **fields: Any) -> Driver:
    """A B1-licensed driver of ``org_id`` on shift 08:00-18:00 local time."""
    values: dict[str, Any] = {"licence_class": "B1", "phone": "13800000000", "shift_start": time(8, 0),
                              "shift_end": time(18, 0)}
    return add(session, Driver(name=name, org_id=org_id, **(values | fields)))


def lessor(session: Session, name: str, org_id: int | None, **fields: Any) -> Lessor:
    """A leasing company under contract for 2026-2027, at 34.59 N 119.22 E."""
    values: dict[str, Any] = {"contract_start": date(2026, 1, 1), "contract_end": date(2027, 12, 31),
                              "lat": 34.59, "lon": 119.22}
    return add(session, Lessor(name=name, org_id=org_id, **(values | fields)))


def trip_request(session: Session, agency_id: int | None, requester_id: int | None, pickup: datetime,
                 destination: tuple[float, float], *, window: timedelta = timedelta(0),
                 origin: tuple[float, float] = DEPOT_AT, purpose: str = "公务", passengers: int = 1,
                 **fields: Any) -> TripRequest:
    """A request of ``agency_id`` to be picked up at ``origin`` between ``pickup`` and
    ``pickup + window`` and taken to ``destination`` ((lat, lon) degrees); draft unless a
    ``state`` is given."""
    return add(session, TripRequest(
        agency_id=agency_id, requester_id=requester_id, purpose=purpose, passengers=passengers,
        origin_lat=origin[0], origin_lon=origin[1], destination_lat=destination[0],
        destination_lon=destination[1], pickup_earliest=pickup, pickup_latest=pickup + window, **fields))


def fix(device: str, ts: datetime, lat: float = 34.6, lon: float = 119.2, speed_kmh: float = 40.0,
        **extra: Any) -> dict[str, Any]:
    """One GPS fix as a terminal publishes it: heading east (90 degrees), ignition on."""
    return {"device_id": device, "ts": ts.isoformat(), "lat": lat, "lon": lon, "speed_kmh": speed_kmh,
            "heading_deg": 90.0, "ignition": True, **extra}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fleet_command_line(register: Callable[[typer.Typer], None], name: str) -> typer.Typer:
    """The ``fleet`` command line with the commands ``register`` adds (among them a command or
    group called ``name``), added once per process as the console entry point adds them."""
    import fleet.cli

    app = fleet.cli.app
    present = {command.name for command in app.registered_commands} | {group.name for group in app.registered_groups}
    if name not in present:
        register(app)
    return app


def commands_registered(register: Callable[[typer.Typer], None], name: str) -> Any:
    """A module-scoped autouse fixture that adds the commands ``register`` adds (among them
    ``name``) to the ``fleet`` command line; assign it to a name in the test module."""

    @pytest.fixture(scope="module", autouse=True)
    def _registered() -> None:
        fleet_command_line(register, name)

    return _registered


def write_json(path: Path, data: Any) -> Path:
    """``data`` written to ``path`` as UTF-8 JSON; returns ``path``."""
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_json_lines(path: Path, rows: list[Any]) -> Path:
    """``rows`` written to ``path`` as JSON Lines (UTF-8, one object a line); returns ``path``."""
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def _shape(app: typer.Typer) -> tuple[Any, ...]:
    """What the click command built from ``app`` depends on: its callback and the commands and
    groups registered in it, down the tree."""
    return (id(app.registered_callback), tuple(id(command) for command in app.registered_commands),
            tuple((id(group), _shape(group.typer_instance)) for group in app.registered_groups
                  if group.typer_instance is not None))


_COMMANDS: dict[int, tuple[typer.Typer, tuple[Any, ...], click.Command]] = {}


def click_command(app: typer.Typer) -> click.Command:
    """``typer.main.get_command(app)``, built again only when commands were registered since:
    building the whole ``fleet`` tree inspects every command's signature (about 0.1 s), which
    ``CliRunner.invoke`` otherwise does on every call."""
    shape = _shape(app)
    kept = _COMMANDS.get(id(app))
    if kept is None or kept[0] is not app or kept[1] != shape:
        kept = _COMMANDS[id(app)] = (app, shape, typer.main.get_command(app))
    return kept[2]
