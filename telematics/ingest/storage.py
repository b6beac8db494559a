"""Bulk writes of one micro-batch: positions (INSERT ... ON CONFLICT DO NOTHING, so a
redelivered or duplicated fix is a no-op) and device states, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, case, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fleet.models.device import DeviceState
from fleet.models.operations import Position

POSITION_TABLE: Table = Position.__table__  # type: ignore[attr-defined]
DEVICE_TABLE: Table = DeviceState.__table__  # type: ignore[attr-defined]

#: Newest stored fix of a vehicle: (epoch seconds, lat, lon, speed_kmh).
StoredFix = tuple[float, float, float, float]


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"ingest supports SQLite and PostgreSQL, not {dialect}")


def insert_positions(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """Insert ``rows`` (Position columns) in bulk, skipping (vehicle_id, ts) already stored;
    returns the keys actually inserted."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _insert_positions_unnest(session, rows)
    statement = (
        _insert(session, POSITION_TABLE)
        .on_conflict_do_nothing(index_elements=["vehicle_id", "ts"])
        .returning(POSITION_TABLE.c.vehicle_id, POSITION_TABLE.c.ts)
    )
    result = session.execute(statement, list(rows))
    return {(vehicle_id, ts) for vehicle_id, ts in result.all()}


#: Position columns and their PostgreSQL array types for the one-statement bulk insert.
_PG_COLUMNS = {
    "vehicle_id": "integer[]", "ts": "timestamptz[]", "lat": "float8[]", "lon": "float8[]",
    "speed_kmh": "float8[]", "heading_deg": "float8[]", "ignition": "boolean[]",
    "odometer_km": "float8[]", "soc_pct": "float8[]", "source": "varchar[]",
    "received_at": "timestamptz[]",
}
_PG_INSERT = text(
    "INSERT INTO position ({columns}) SELECT * FROM unnest({arrays}) "
    "ON CONFLICT (vehicle_id, ts) DO NOTHING RETURNING vehicle_id, ts".format(
        columns=", ".join(_PG_COLUMNS),
        arrays=", ".join(f"CAST(:{name} AS {kind})" for name, kind in _PG_COLUMNS.items()),
    )
)


def _insert_positions_unnest(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """PostgreSQL: one INSERT ... SELECT FROM unnest(arrays), far cheaper for the driver than
    thousands of bound parameters."""
    columns = {name: [row[name] for row in rows] for name in _PG_COLUMNS}
    result = session.execute(_PG_INSERT, columns)
    return {(vehicle_id, ts) for vehicle_id, ts in result.all()}


def newest_fixes(session: Session, vehicle_ids: Sequence[int]) -> dict[int, StoredFix]:
    """The newest stored fix of each vehicle that has one."""
    if not vehicle_ids:
        return {}
    p = POSITION_TABLE.c
    newest = (
        select(p.vehicle_id, func.max(p.ts).label("ts"))
        .where(p.vehicle_id.in_(list(vehicle_ids)))
        .group_by(p.vehicle_id)
        .subquery()
    )
    query = select(p.vehicle_id, p.ts, p.lat, p.lon, p.speed_kmh).join(
        newest, and_(p.vehicle_id == newest.c.vehicle_id, p.ts == newest.c.ts)
    )
    return {
        vehicle_id: (ts.timestamp(), lat, lon, speed)
        for vehicle_id, ts, lat, lon, speed in session.execute(query).all()
    }


def upsert_device_fixes(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record each device's newest fix time and alarm flags (keeping a newer stored one).

    ``rows``: ``device_id``, ``vehicle_id``, ``last_position_at``, ``power_cut``,
    ``antenna_cut``."""
    if not rows:
        return
    statement = _insert(session, DEVICE_TABLE)
    stored = DEVICE_TABLE.c
    newer = stored.last_position_at.is_(None) | (
        statement.excluded.last_position_at > stored.last_position_at
    )
    statement = statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={
            "vehicle_id": statement.excluded.vehicle_id,
            "last_position_at": case((newer, statement.excluded.last_position_at), else_=stored.last_position_at),
            "power_cut": case((newer, statement.excluded.power_cut), else_=stored.power_cut),
            "antenna_cut": case((newer, statement.excluded.antenna_cut), else_=stored.antenna_cut),
        },
    )
    session.execute(statement, list(rows))


def upsert_device_status(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record each device's online state (``device_id``, ``vehicle_id``, ``online``,
    ``status_at``), keeping a newer stored one."""
    if not rows:
        return
    statement = _insert(session, DEVICE_TABLE)
    stored = DEVICE_TABLE.c
    newer = stored.status_at.is_(None) | (statement.excluded.status_at >= stored.status_at)
    statement = statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={
            "vehicle_id": statement.excluded.vehicle_id,
            "online": case((newer, statement.excluded.online), else_=stored.online),
            "status_at": case((newer, statement.excluded.status_at), else_=stored.status_at),
        },
    )
    session.execute(statement, list(rows))
