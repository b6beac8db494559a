"""Hire windows in the fleet document: imported with their leased car, refused with their path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from fleet.fleet_document import FleetImportError, import_fleet
from fleet.models import HireWindow
from tests.fleet.test_fleet_document import small_document

DAY_HIRE = {"starts_at": "2026-12-02T08:00:00+08:00", "ends_at": "2026-12-02T18:00:00+08:00", "note": "day hire"}


def test_a_series_of_day_hires_is_imported_with_the_car(session: Session) -> None:
    document = small_document()
    document["vehicles"][1]["hire_windows"] = [DAY_HIRE, DAY_HIRE | {"starts_at": "2026-12-03T08:00:00+08:00",
                                                                     "ends_at": "2026-12-03T18:00:00+08:00"}]
    assert import_fleet(session, document)["hire_windows"] == 2
    session.commit()
    hires = [(w.starts_at, w.ends_at) for w in session.exec(select(HireWindow).order_by(HireWindow.starts_at))]
    assert hires == [(datetime(2026, 12, 2, 0, tzinfo=UTC), datetime(2026, 12, 2, 10, tzinfo=UTC)),
                     (datetime(2026, 12, 3, 0, tzinfo=UTC), datetime(2026, 12, 3, 10, tzinfo=UTC))]


def reasons(session: Session, document: dict) -> dict[str, str]:
    with pytest.raises(FleetImportError) as caught:
        import_fleet(session, document)
    return {e.path: e.reason for e in caught.value.errors}


def test_bad_hire_windows_are_reported_at_their_path(session: Session) -> None:
    document = small_document()
    document["vehicles"][0]["hire_windows"] = [DAY_HIRE]
    document["vehicles"][1]["hire_windows"] = [DAY_HIRE, DAY_HIRE | {"ends_at": "2026-12-02T07:00:00+08:00"}]
    found = reasons(session, document)
    assert found["vehicles[0].hire_windows"] == "only a leased car has hire windows"
    assert found["vehicles[1].hire_windows[1].ends_at"] == "must be after starts_at"
    document = small_document()
    document["vehicles"][1]["hire_windows"] = [DAY_HIRE | {"starts_at": "2026-12-02T08:00:00"}]
    assert "timezone" in reasons(session, document)["vehicles[1].hire_windows[0].starts_at"]
    assert session.exec(select(HireWindow)).all() == []
