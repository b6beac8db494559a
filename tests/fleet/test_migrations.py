"""Schema migrations keep what is pending: windows awaiting evaluation survive the move of
``ingest_dirty`` from one merged row per vehicle to a log, both ways."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from fleet.db import alembic_config, make_engine, upgrade
from tests.conftest import BACKENDS, own_postgres_database
from tests.telematics.ingest.ingest_builders import add_cars

T0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (not the suite's shared migrated one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    with own_postgres_database("migrate") as url:
        yield url


def test_pending_dirty_windows_survive_the_move_to_a_log_and_back(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    devices = add_cars(engine, 2)
    first, second = devices.values()
    config = alembic_config(empty_url)
    command.downgrade(config, "0008_position_alarms")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ingest_dirty (vehicle_id, start_at, end_at, generation, marked_at) "
                          "VALUES (:v, :a, :b, 3, :a)"), {"v": first, "a": T0.replace(tzinfo=None), "b": T0.replace(hour=5, tzinfo=None)})
    command.upgrade(config, "heads")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ingest_dirty (vehicle_id, start_at, end_at, marked_at) VALUES (:v, :a, :a, :a), (:v, :b, :b, :b)"),
                     {"v": second, "a": T0.replace(hour=2, tzinfo=None), "b": T0.replace(hour=3, tzinfo=None)})
        rows = conn.execute(text("SELECT vehicle_id, count(*) FROM ingest_dirty GROUP BY vehicle_id ORDER BY vehicle_id")).all()
    assert [tuple(r) for r in rows] == [(first, 1), (second, 2)]
    command.downgrade(config, "0008_position_alarms")
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT vehicle_id, generation FROM ingest_dirty ORDER BY vehicle_id")).all()
    assert [tuple(r) for r in rows] == [(first, 1), (second, 1)]
    engine.dispose()
