"""One incident, one row in the console: a drive both off hours and without an order shows
as one alert with both kinds, in either language, and one review step moves both alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet.models import Alert, utcnow

pytestmark = pytest.mark.slow  # a real browser


def test_an_off_hours_drive_without_order_is_one_row_reviewed_once(page, live_server, ui_world, session: Session):
    w = ui_world
    car = w.ids["today_vehicle"]
    started = utcnow() - timedelta(minutes=40)
    # large ids of their own: a shared broker may carry other runs' alerts with small ids
    first, second = car - 2, car - 1
    for alert_id, kind in ((first, "private_use.no_order"), (second, "private_use.off_hours")):
        session.add(Alert(id=alert_id, kind=kind, vehicle_id=car, started_at=started,
                          ended_at=started + timedelta(minutes=25), lat=34.6, lon=119.2, severity="warning",
                          evidence={"trip_id": 987654}, incident_id=first))
    session.commit()
    log_in(page, live_server, "dispatcher")
    row = page.locator(f"#alert-list [data-alert-id='{first}']")
    row.wait_for()
    assert page.locator(f"#alert-list [data-alert-id='{second}']").count() == 0
    assert "无单出车" in row.inner_text() and "非工作时间用车" in row.inner_text()
    page.click("#lang-switch")
    page.wait_for_selector(f"#alert-list [data-alert-id='{first}']:has-text('Off-hours use')")
    assert "Trip without order" in row.inner_text()
    row.click()
    page.wait_for_selector("[data-review='under_review']")
    page.click("[data-review='under_review']")
    page.wait_for_selector("#alert-state:has-text('Under review')")
    session.expire_all()
    assert {session.get(Alert, i).state for i in (first, second)} == {"under_review"}
    page.wait_for_selector(f"#alert-list [data-alert-id='{first}']:has-text('Under review')")
    assert page.locator(f"#alert-list [data-alert-id='{second}']").count() == 0
    assert not page.js_errors
