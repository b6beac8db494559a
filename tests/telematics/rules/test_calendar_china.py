"""China working calendar: library defaults, make-up working days, unpublished years with a
warning, and an administrator's official schedule overriding the library."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select
from structlog.testing import capture_logs

from fleet.models import AuditEntry
from fleet.working_calendar import (
    CalendarError,
    WorkingCalendar,
    load_official_schedule,
    parse_schedule,
)


def test_2026_statutory_holiday_is_a_rest_day() -> None:
    answer = WorkingCalendar().answer(date(2026, 10, 1))
    assert (answer.working, answer.official, answer.warning) == (False, True, None)
    assert WorkingCalendar().is_working_day(date(2026, 2, 17)) is False  # Spring Festival


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])
def test_2026_make_up_weekend_days_are_working_days(day: date) -> None:
    assert day.weekday() >= 5
    answer = WorkingCalendar().answer(day)
    assert answer.working and answer.official


def test_ordinary_week_days_and_weekends() -> None:
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2026, 12, 1)) is True  # Tuesday
    assert calendar.is_working_day(date(2026, 12, 5)) is False  # Saturday


def test_2027_uses_the_library_rules_with_a_warning() -> None:
    with capture_logs() as logs:
        calendar = WorkingCalendar()
        holiday = calendar.answer(date(2027, 2, 8))  # Spring Festival by the library's rules
        weekday = calendar.answer(date(2027, 3, 3))
    assert holiday.working is False and weekday.working is True
    assert not holiday.official and "2027" in (holiday.warning or "")
    assert [entry["event"] for entry in logs].count("calendar_unofficial_year") == 1  # once per year


def test_far_future_year_never_fails() -> None:
    answer = WorkingCalendar().answer(date(2199, 6, 1))
    assert answer.warning and answer.working is (date(2199, 6, 1).weekday() < 5)


def test_official_schedule_overrides_the_library(session) -> None:
    schedule = {"year": 2027, "source": "国办发明电〔2026〕12号",
                "rest_days": [{"date": "2027-02-11", "name": "春节"}],
                "working_days": [{"date": "2027-02-14", "name": "春节调休上班"}]}
    load_official_schedule(session, schedule, actor="admin")
    session.commit()
    calendar = WorkingCalendar.from_session(session)
    make_up = calendar.answer(date(2027, 2, 14))  # a Sunday
    assert make_up.working and make_up.official and make_up.warning is None
    assert calendar.is_working_day(date(2027, 2, 11)) is False  # a Thursday, day off
    assert calendar.is_working_day(date(2027, 2, 8)) is True  # the loaded notice does not list it
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "calendar.load")).one().object_id == "2027"
    # loading the year again replaces it
    load_official_schedule(session, {**schedule, "working_days": []}, actor="admin")
    session.commit()
    assert WorkingCalendar.from_session(session).is_working_day(date(2027, 2, 14)) is False


@pytest.mark.parametrize(("document", "field"), [
    ({"year": "2027", "source": "x"}, "year"),
    ({"year": 2027}, "source"),
    ({"year": 2027, "source": "x", "rest_days": [{"date": "2027-13-01"}]}, "rest_days[0].date"),
    ({"year": 2027, "source": "x", "working_days": [{"date": "2026-02-14"}]}, "working_days[0].date"),
    ({"year": 2027, "source": "x", "rest_days": [{"date": "2027-02-11"}],
      "working_days": [{"date": "2027-02-11"}]}, "working_days[0].date"),
])
def test_bad_schedule_names_the_field(document: dict, field: str) -> None:
    with pytest.raises(CalendarError) as raised:
        parse_schedule(document)
    assert str(raised.value).startswith(f"{field}:")
