"""The migration to hire windows turns each date-only lease into whole local days (Asia/Shanghai)
and drops the date columns; the downgrade gives the dates back."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from fleet.db import alembic_config, make_engine, upgrade
from fleet.models import HireWindow
from tests.builders import lessor, organisation, vehicle
from tests.fleet.test_migrations import empty_url  # noqa: F401  (the fixture)

PREVIOUS = "lease_hire_windows@-1"


def test_a_date_only_lease_becomes_whole_local_days(empty_url: str) -> None:
    upgrade(empty_url)
    engine = make_engine(empty_url)
    with Session(engine) as session:
        city = organisation(session, "连云港市", "320700", "city")
        leasing = lessor(session, "港城租车", city.id)
        pool = vehicle(session, "苏G12345", "LSVAA4180E2000001", city.id).id
        leased = vehicle(session, "苏G54321", "LSVAA4180E2000002", city.id, ownership="leased",
                         lessor_id=leasing.id).id
        session.commit()
    config = alembic_config(empty_url)
    command.downgrade(config, PREVIOUS)
    assert {"lease_start", "lease_end"} <= {c["name"] for c in inspect(engine).get_columns("vehicle")}
    assert "hire_window" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("UPDATE vehicle SET lease_start = :a, lease_end = :b WHERE id = :v"),
                     {"a": date(2026, 12, 2), "b": date(2026, 12, 4), "v": leased})

    command.upgrade(config, "heads")
    assert not {"lease_start", "lease_end"} & {c["name"] for c in inspect(engine).get_columns("vehicle")}
    with Session(engine) as session:
        windows = session.exec(select(HireWindow)).all()
    assert [(w.vehicle_id, w.starts_at, w.ends_at, w.assignment_id) for w in windows] == [
        (leased, datetime(2026, 12, 1, 16, 0, tzinfo=UTC), datetime(2026, 12, 4, 16, 0, tzinfo=UTC), None)]
    assert pool not in {w.vehicle_id for w in windows}

    command.downgrade(config, PREVIOUS)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, lease_start, lease_end FROM vehicle ORDER BY id")).all()
    assert [(r[0], str(r[1]) if r[1] else None, str(r[2]) if r[2] else None) for r in rows] == [
        (pool, None, None), (leased, "2026-12-02", "2026-12-04")]
    engine.dispose()
