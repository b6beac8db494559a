"""Bulk writes of one micro-batch: positions (INSERT ... ON CONFLICT DO NOTHING, so a
redelivered or duplicated fix is a no-op), the fixes the jump filter set aside, device states
and the dirty windows awaiting evaluation, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, case, delete, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fleet.models.common import as_utc
from fleet.models.device import DeviceState, IngestDirtyWindow
from fleet.models.operations import Position
from fleet.models.telemetry import PositionSuspect, SuspectState

POSITION_TABLE: Table = Position.__table__  # type: ignore[attr-defined]
DEVICE_TABLE: Table = DeviceState.__table__  # type: ignore[attr-defined]
DIRTY_TABLE: Table = IngestDirtyWindow.__table__  # type: ignore[attr-defined]
SUSPECT_TABLE: Table = PositionSuspect.__table__  # type: ignore[attr-defined]

#: A stored fix of a vehicle: (epoch seconds, lat, lon, speed_kmh).
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
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _insert_positions_unnest(session, rows)
    if dialect == "sqlite":
        return _insert_positions_sqlite(session, rows)
    raise RuntimeError(f"ingest supports SQLite and PostgreSQL, not {dialect}")


#: Position columns written by the ingest, and their PostgreSQL array types.
_PG_COLUMNS = {
    "vehicle_id": "integer[]", "ts": "timestamptz[]", "lat": "float8[]", "lon": "float8[]",
    "speed_kmh": "float8[]", "heading_deg": "float8[]", "ignition": "boolean[]",
    "odometer_km": "float8[]", "soc_pct": "float8[]", "source": "varchar[]", "alarms": "int2[]",
    "received_at": "timestamptz[]",
}
_PG_INSERT = text(
    "INSERT INTO position ({columns}) SELECT * FROM unnest({arrays}) "
    "ON CONFLICT (vehicle_id, ts) DO NOTHING RETURNING vehicle_id, ts".format(
        columns=", ".join(_PG_COLUMNS),
        arrays=", ".join(
            f"CAST(string_to_array(:{name}, ',', '') AS {kind})" for name, kind in _PG_COLUMNS.items()
        ),
    )
)


def _pg_text(value: Any) -> str:
    """One array element as PostgreSQL parses it from text: '' is NULL (no value holds a
    comma: numbers, ISO times, booleans and the source literal)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _insert_positions_unnest(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """PostgreSQL: one INSERT ... SELECT FROM unnest(arrays), each column sent as one
    comma-separated text (the driver's per-element array quoting costs more than the insert)."""
    columns = {name: ",".join([_pg_text(row[name]) for row in rows]) for name in _PG_COLUMNS}
    result = session.execute(_PG_INSERT, columns)
    return {(vehicle_id, ts) for vehicle_id, ts in result.all()}


#: Bound parameters one SQLite statement may hold (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
SQLITE_MAX_VARIABLES = 32766


def sqlite_chunk_sizes(rows: int, per_statement: int) -> list[int]:
    """Rows per INSERT statement for a batch of ``rows``: full statements of ``per_statement``
    rows, then the rest as powers of two, largest first.

    The sqlite3 module keeps the last 128 prepared statements of a connection, and a prepared
    multi-row INSERT costs about 0.5 kB per row: one statement per batch length would fill that
    cache with a statement for every length seen (hundreds of MB, grown through hours). These
    sizes hold it to at most ``per_statement.bit_length() + 1`` statements."""
    sizes = [per_statement] * (rows // per_statement)
    rest = rows % per_statement
    sizes += [1 << bit for bit in range(rest.bit_length() - 1, -1, -1) if rest >> bit & 1]
    return sizes


def _sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (UTCDateTime: naive UTC text)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _insert_positions_sqlite(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[int, datetime]]:
    """SQLite: multi-row INSERT ... RETURNING statements (of the few sizes
    ``sqlite_chunk_sizes`` gives) with the values already in stored form, skipping
    SQLAlchemy's per-value processing (half the cost of a batch)."""
    columns = tuple(_PG_COLUMNS)
    row_sql = "(" + ", ".join("?" * len(columns)) + ")"
    times: dict[tuple[int, str], datetime] = {}
    received: dict[datetime, str] = {}  # a batch shares one arrival time
    inserted: set[tuple[int, datetime]] = set()
    connection = session.connection()
    first = 0
    for size in sqlite_chunk_sizes(len(rows), SQLITE_MAX_VARIABLES // len(columns)):
        values: list[Any] = []
        for row in rows[first: first + size]:
            ts = _sqlite_time(row["ts"])
            times[(row["vehicle_id"], ts)] = row["ts"]
            values += (
                row["vehicle_id"], ts, row["lat"], row["lon"], row["speed_kmh"], row["heading_deg"],
                row["ignition"], row["odometer_km"], row["soc_pct"], row["source"], row["alarms"],
                received.get(row["received_at"]) or received.setdefault(row["received_at"], _sqlite_time(row["received_at"])),
            )
        first += size
        statement = (
            f"INSERT INTO position ({', '.join(columns)}) VALUES {', '.join([row_sql] * size)} "
            "ON CONFLICT (vehicle_id, ts) DO NOTHING RETURNING vehicle_id, ts"
        )
        result = connection.exec_driver_sql(statement, tuple(values))
        inserted.update((vehicle_id, times[(vehicle_id, ts)]) for vehicle_id, ts in result.all())
    return inserted


def recent_fixes(session: Session, vehicle_ids: Sequence[int], per_vehicle: int) -> dict[int, list[StoredFix]]:
    """The newest ``per_vehicle`` stored fixes of each vehicle that has one, oldest first."""
    if not vehicle_ids:
        return {}
    p = POSITION_TABLE.c
    rank = func.row_number().over(partition_by=p.vehicle_id, order_by=p.ts.desc()).label("rank")
    ranked = (select(p.vehicle_id, p.ts, p.lat, p.lon, p.speed_kmh, rank)
              .where(p.vehicle_id.in_(list(vehicle_ids))).subquery())
    query = (select(ranked.c.vehicle_id, ranked.c.ts, ranked.c.lat, ranked.c.lon, ranked.c.speed_kmh)
             .where(ranked.c.rank <= per_vehicle).order_by(ranked.c.vehicle_id, ranked.c.ts))
    found: dict[int, list[StoredFix]] = {}
    for vehicle_id, ts, lat, lon, speed in session.execute(query).all():
        found.setdefault(vehicle_id, []).append((as_utc(ts).timestamp(), lat, lon, speed))
    return found


#: Columns of a position row that hold times (ISO-8601 text in its JSON form).
_TIME_COLUMNS = ("ts", "received_at")


def fix_json(row: dict[str, Any]) -> dict[str, Any]:
    """A position row (``_PG_COLUMNS`` and ``device_id``) as JSON, times in ISO-8601."""
    return {key: value.isoformat() if key in _TIME_COLUMNS else value for key, value in row.items()}


def fix_row(document: dict[str, Any]) -> dict[str, Any]:
    """The position row a :func:`fix_json` document holds."""
    return {key: datetime.fromisoformat(value) if key in _TIME_COLUMNS else value for key, value in document.items()}


def held_fixes(session: Session, vehicle_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The position rows held for confirmation, per vehicle, oldest first."""
    if not vehicle_ids:
        return {}
    s = SUSPECT_TABLE.c
    query = (select(s.vehicle_id, s.fix)
             .where(s.vehicle_id.in_(list(vehicle_ids)), s.state == SuspectState.held.value)
             .order_by(s.vehicle_id, s.ts))
    found: dict[int, list[dict[str, Any]]] = {}
    for vehicle_id, document in session.execute(query).all():
        found.setdefault(vehicle_id, []).append(fix_row(document))
    return found


def set_aside(session: Session, rows: Sequence[dict[str, Any]], state: SuspectState, reason: str, now: datetime) -> None:
    """Record position ``rows`` as ``state`` (a held fix that becomes a jump is updated)."""
    if not rows:
        return
    values = [
        {"vehicle_id": row["vehicle_id"], "ts": row["ts"], "lat": row["lat"], "lon": row["lon"],
         "speed_kmh": row["speed_kmh"], "state": state.value, "reason": reason, "fix": fix_json(row),
         "marked_at": now}
        for row in rows
    ]
    statement = _insert(session, SUSPECT_TABLE)
    statement = statement.on_conflict_do_update(
        index_elements=["vehicle_id", "ts"],
        set_={"state": statement.excluded.state, "reason": statement.excluded.reason,
              "marked_at": statement.excluded.marked_at},
    )
    session.execute(statement, values)


def release_held(session: Session, keys: Sequence[tuple[int, datetime]]) -> None:
    """Forget held fixes ``keys`` ((vehicle id, event time)): confirmed or duplicated."""
    if keys:
        s = SUSPECT_TABLE.c
        session.execute(delete(SUSPECT_TABLE).where(
            s.state == SuspectState.held.value, tuple_(s.vehicle_id, s.ts).in_(list(keys))))


def mark_positions(
    session: Session, keys: Sequence[tuple[int, datetime]], devices: dict[int, str], reason: str, now: datetime
) -> list[dict[str, Any]]:
    """Move stored positions ``keys`` ((vehicle id, event time)) out of the track into
    ``position_suspect`` as marked; returns their rows, with the terminal id ``devices``
    gives for each vehicle."""
    if not keys:
        return []
    p = POSITION_TABLE.c
    where = tuple_(p.vehicle_id, p.ts).in_(list(keys))
    columns = [p[name] for name in _PG_COLUMNS]
    rows = [dict(row._mapping) for row in session.execute(select(*columns).where(where)).all()]
    for row in rows:
        row["ts"], row["received_at"] = as_utc(row["ts"]), as_utc(row["received_at"])
        row["device_id"] = devices[row["vehicle_id"]]
    set_aside(session, rows, SuspectState.marked, reason, now)
    session.execute(delete(POSITION_TABLE).where(where))
    return rows


def count_dropped(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add dropped fixes to each terminal's count: ``rows`` of ``device_id``, ``vehicle_id``,
    ``dropped`` (how many) and ``at`` (when)."""
    if not rows:
        return
    values = [{"device_id": r["device_id"], "vehicle_id": r["vehicle_id"], "dropped_fixes": r["dropped"],
               "last_dropped_at": r["at"]} for r in rows]
    statement = _insert(session, DEVICE_TABLE)
    stored = DEVICE_TABLE.c
    statement = statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={"dropped_fixes": stored.dropped_fixes + statement.excluded.dropped_fixes,
              "last_dropped_at": statement.excluded.last_dropped_at},
    )
    session.execute(statement, values)


def _upsert_newer(session: Session, rows: Sequence[dict[str, Any]], time_column: str,
                  columns: tuple[str, ...], ties_win: bool) -> None:
    """Upsert ``rows`` into the device table by ``device_id``: the vehicle always, ``columns``
    only where the row's ``time_column`` is later than the stored one (or as late, with
    ``ties_win``) or nothing is stored yet."""
    if not rows:
        return
    statement = _insert(session, DEVICE_TABLE)
    stored, incoming = DEVICE_TABLE.c, statement.excluded
    later = incoming[time_column] >= stored[time_column] if ties_win else incoming[time_column] > stored[time_column]
    newer = stored[time_column].is_(None) | later
    statement = statement.on_conflict_do_update(
        index_elements=["device_id"],
        set_={"vehicle_id": incoming.vehicle_id}
        | {name: case((newer, incoming[name]), else_=stored[name]) for name in columns},
    )
    session.execute(statement, list(rows))


def upsert_device_fixes(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record each device's newest fix time and alarm flags (keeping a newer stored one).

    ``rows``: ``device_id``, ``vehicle_id``, ``last_position_at``, ``power_cut``,
    ``antenna_cut``."""
    _upsert_newer(session, rows, "last_position_at", ("last_position_at", "power_cut", "antenna_cut"),
                  ties_win=False)


def upsert_device_status(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Record each device's online state (``device_id``, ``vehicle_id``, ``online``,
    ``status_at``), keeping a newer stored one."""
    _upsert_newer(session, rows, "status_at", ("online", "status_at"), ties_win=True)


@dataclass(frozen=True)
class DirtyWindow:
    """A vehicle's rows awaiting evaluation merged into one UTC window, as read:
    ``up_to_id`` is the newest row read, ``marked_at`` when the oldest was written."""

    vehicle_id: int
    start_at: datetime
    end_at: datetime
    up_to_id: int
    marked_at: datetime


def mark_dirty(session: Session, windows: dict[int, tuple[datetime, datetime]], now: datetime) -> None:
    """Record ``windows`` (vehicle id -> first and last event time stored) as awaiting
    evaluation, in the caller's transaction (one row each, in vehicle order)."""
    if not windows:
        return
    rows = [
        {"vehicle_id": vehicle_id, "start_at": start, "end_at": end, "marked_at": now}
        for vehicle_id, (start, end) in sorted(windows.items())
    ]
    session.execute(DIRTY_TABLE.insert(), rows)


def dirty_windows(session: Session, limit: int) -> list[DirtyWindow]:
    """Up to ``limit`` vehicles' windows, the longest waiting first."""
    d = DIRTY_TABLE.c
    marked = func.min(d.marked_at)
    query = (select(d.vehicle_id, func.min(d.start_at), func.max(d.end_at), func.max(d.id), marked)
             .group_by(d.vehicle_id).order_by(marked, d.vehicle_id))
    return [DirtyWindow(v, as_utc(a), as_utc(b), n, as_utc(m)) for v, a, b, n, m in session.execute(query.limit(limit))]



def dirty_backlog(session: Session) -> tuple[int, datetime | None]:
    """How many vehicles await evaluation, and since when the longest waiting one does."""
    d = DIRTY_TABLE.c
    count, oldest = session.execute(select(func.count(func.distinct(d.vehicle_id)), func.min(d.marked_at))).one()
    return count, oldest


def clear_dirty(session: Session, window: DirtyWindow) -> bool:
    """Delete the rows ``window`` was read from; True when no newer row of the vehicle is
    left (else it is evaluated again next round)."""
    d = DIRTY_TABLE.c
    session.execute(delete(DIRTY_TABLE).where(d.vehicle_id == window.vehicle_id, d.id <= window.up_to_id))
    left = session.execute(select(func.count()).where(d.vehicle_id == window.vehicle_id)).scalar_one()
    return left == 0
