"""Bulk position inserts: every new fix of a batch stored once and reported as inserted,
whatever the batch length, through a bounded set of SQLite statement shapes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ingest_builders import T0, add_cars, stored
from sqlmodel import Session

from fleet.models.common import utcnow
from telematics.ingest.storage import (
    SQLITE_MAX_VARIABLES,
    insert_positions,
    sqlite_chunk_sizes,
)

PER_STATEMENT = SQLITE_MAX_VARIABLES // 12


def _rows(vehicle_id: int, first_s: int, count: int) -> list[dict[str, Any]]:
    received_at = utcnow()
    return [{"vehicle_id": vehicle_id, "ts": T0 + timedelta(seconds=10 * (first_s + i)), "lat": 34.6,
             "lon": 119.2 + i * 1e-5, "speed_kmh": 30.0, "heading_deg": 90.0, "ignition": True,
             "odometer_km": None, "soc_pct": None, "source": "gps", "alarms": 0, "received_at": received_at}
            for i in range(count)]


@pytest.mark.parametrize("rows", [0, 1, 7, PER_STATEMENT - 1, PER_STATEMENT, 3 * PER_STATEMENT + 1234])
def test_chunk_sizes_cover_the_batch_with_few_shapes(rows):
    sizes = sqlite_chunk_sizes(rows, PER_STATEMENT)
    assert sum(sizes) == rows
    assert all(size == PER_STATEMENT or (size < PER_STATEMENT and size & (size - 1) == 0) for size in sizes)
    assert sizes == sorted(sizes, reverse=True)


def test_every_batch_length_uses_one_of_a_few_statement_shapes():
    shapes = {size for rows in range(1, 3 * PER_STATEMENT) for size in sqlite_chunk_sizes(rows, PER_STATEMENT)}
    assert len(shapes) <= PER_STATEMENT.bit_length() + 1 < 128  # the sqlite3 statement cache


def test_a_long_batch_stores_each_new_fix_once_and_reports_only_those(engine):
    vehicle_id = next(iter(add_cars(engine, 1).values()))
    with Session(engine) as session:
        first = insert_positions(session, _rows(vehicle_id, 0, 500))
        session.commit()
    # Overlaps the first 500 and runs over several statements.
    batch = _rows(vehicle_id, 250, 2 * PER_STATEMENT + 77)
    with Session(engine) as session:
        inserted = insert_positions(session, batch)
        session.commit()
    assert len(first) == 500
    assert inserted == {(row["vehicle_id"], row["ts"]) for row in batch[250:]}
    kept = stored(engine, vehicle_id)
    assert len(kept) == 250 + len(batch)
    assert [ts for _, ts, _, _ in kept] == sorted({T0 + timedelta(seconds=10 * i) for i in range(250 + len(batch))})
