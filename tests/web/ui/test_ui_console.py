"""The dispatcher console in a real browser (headless Chromium): log in, watch a car move
when its position is published over MQTT, plan the day and accept it, receive an alert live
and record a disposition."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session
from demo_world import ARTIFACTS  # type: ignore[import-not-found]
from web_ui_world import PASSWORD, log_in  # type: ignore[import-not-found]

from fleet import topics
from fleet.models import Alert, AlertPublic, Position, TripRequest, utcnow
from fleet.settings import Settings
from tests.builders import trip_request


def car_lat(page, vehicle_id: int) -> float:  # type: ignore[no-untyped-def]
    return page.evaluate(f"window.fleetConsole.cars.cars.get({vehicle_id}).lat")


def wait_live(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#live-status[data-state='live']")


@pytest.fixture
def ingest_worker(engine, ui_world, monkeypatch):  # type: ignore[no-untyped-def]
    """The telematics ingest worker on the test database and broker, in a thread."""
    from telematics.ingest.worker import IngestWorker

    for name, value in {"FLEET_INGEST_CLIENT_ID": f"ui-ingest-{uuid.uuid4().hex[:10]}",
                        "FLEET_INGEST_SESSION_EXPIRY_S": "60", "FLEET_INGEST_METRICS_PORT": "0",
                        "FLEET_INGEST_BATCH_MAX_DELAY_S": "0.05"}.items():
        monkeypatch.setenv(name, value)
    worker = IngestWorker(Settings(), engine)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="ingest-test", daemon=True)
    thread.start()
    assert worker.wait_connected(15), "the ingest worker did not connect"
    time.sleep(0.3)  # its SUBSCRIBE is on the wire
    yield worker
    stop.set()
    thread.join(timeout=15)


def test_log_in_and_watch_a_car_move(page, live_server, ui_world, mqtt_probe, ingest_worker):
    """A device publishes a fix; the ingest pipeline stores it and announces it; the hub
    brings it to the console, where the car moves."""
    w = ui_world
    page.goto(f"{live_server.url}/")
    page.fill("#username", "dispatcher")
    page.fill("#password", "wrong-password")
    page.click("#login-submit")
    page.wait_for_selector("#message.error")
    assert "wrong username or password" in page.inner_text("#message")

    log_in(page, live_server, "dispatcher")
    page.wait_for_selector("#map[data-cars-drawn='2']")
    wait_live(page)
    car = w.ids["today_vehicle"]
    assert car_lat(page, car) == pytest.approx(34.6)
    where = f"[window.fleetConsole.cars.cars.get({car})._x, window.fleetConsole.cars.cars.get({car})._y]"
    before = page.evaluate(where)
    moving_before = int(page.inner_text("#n-moving"))
    mqtt_probe.publish(topics.gps_topic(w.device), {
        "device_id": w.device, "ts": utcnow().isoformat(), "lat": 34.605, "lon": 119.207, "speed_kmh": 38.0,
        "heading_deg": 45.0, "ignition": True})
    page.wait_for_function(f"() => window.fleetConsole.cars.cars.get({car}).lat === 34.605")
    assert page.evaluate(where) != before
    page.wait_for_selector(f"#n-moving:text('{moving_before + 1}')")
    assert not page.js_errors


def test_plan_the_day_and_accept(page, live_server, ui_world, session: Session):
    w = ui_world
    log_in(page, live_server, "dispatcher")
    page.click("[data-tab='plan']")
    page.click("#plan-day")
    page.wait_for_selector(".plan-summary[data-status='proposed']", timeout=60_000)
    row = page.locator("table.plan tbody tr[data-assignment-id]"
                       f":has(td:first-child:text-is('#{w.ids['approved_today']}'))")
    assert row.count() == 1
    assert row.locator("td.explanation").inner_text().strip()
    page.click("#plan-accept")
    page.wait_for_selector(".plan-summary[data-status='accepted']")
    session.expire_all()
    assert session.get(TripRequest, w.ids["approved_today"]).state == "assigned"
    assert not page.js_errors


def test_receive_an_alert_live_and_record_a_disposition(page, live_server, ui_world, session: Session, mqtt_probe):
    w = ui_world
    started = utcnow() - timedelta(minutes=20)
    # a large id of its own: a shared broker may carry other runs' alerts with small ids
    alert = Alert(id=w.ids["today_vehicle"], kind="parking.forbidden_zone", vehicle_id=w.ids["today_vehicle"], started_at=started,
                  ended_at=started + timedelta(minutes=15), lat=34.605, lon=119.205, severity="critical",
                  evidence={"stop_minutes": 15})
    session.add(alert)
    session.add_all([Position(vehicle_id=w.ids["today_vehicle"], ts=started + timedelta(minutes=m), lat=34.600 + m / 1000,
                              lon=119.200 + m / 1000, speed_kmh=0) for m in range(0, 15, 3)])
    session.commit()
    log_in(page, live_server, "dispatcher")
    wait_live(page)
    assert page.locator(f"[data-alert-id='{alert.id}']").count() == 1  # open alerts are loaded at start
    page.evaluate(f"window.fleetConsole.state.alerts.delete({alert.id}); document.getElementById('alert-list').innerHTML = ''")
    mqtt_probe.publish(topics.EVENTS_ALERTS, AlertPublic.model_validate(alert).model_dump(mode="json"))
    page.wait_for_selector(f"[data-alert-id='{alert.id}']", timeout=5_000)
    assert "违规场所停放" in page.inner_text("#message")
    page.click(f"[data-alert-id='{alert.id}']")
    page.wait_for_selector("#evidence-note:has-text('GPS')")
    page.click("[data-review='confirmed']")  # open -> confirmed skips the review step: refused in words
    page.wait_for_selector("#message.error")
    page.click("[data-review='under_review']")
    page.wait_for_selector("#alert-state:has-text('核查中')")
    page.fill("#review-reason", "现场核实：停放于KTV门口")
    page.click("[data-review='confirmed']")
    page.wait_for_selector("#alert-state:has-text('确认违规')")
    page.wait_for_selector("#review-history li:has-text('现场核实')")
    session.expire_all()
    assert session.get(Alert, alert.id).state == "confirmed"
    assert not page.js_errors


def test_a_shared_ride_is_marked_in_both_languages(page, live_server, ui_world, session: Session):
    """A second request going the same way at the same time as ``approved_today`` rides in
    the same car: both plan rows say so, in Chinese and in English."""
    w = ui_world
    first = session.get(TripRequest, w.ids["approved_today"])
    second = trip_request(session, w.ids["agency"], w.ids["user_requester"], first.pickup_earliest,
                          (first.destination_lat, first.destination_lon), passengers=2,
                          window=timedelta(minutes=30), purpose="同去开会", origin_address="市政府",
                          destination_address="海州区", state="approved")
    first_id, second_id = first.id, second.id
    alone = session.get(TripRequest, w.ids["today_request"])  # the world's trip, soon: apart
    alone.exclusive = True
    session.add(alone)
    session.commit()  # no read transaction left open beside the server's writes
    log_in(page, live_server, "dispatcher")
    page.click("[data-tab='plan']")
    page.click("#plan-day")
    page.wait_for_selector(".plan-summary[data-status='proposed']", timeout=60_000)
    def row_of(request_id: int):  # type: ignore[no-untyped-def]
        return page.locator(f"table.plan tbody tr[data-assignment-id]:has(td:first-child:text-is('#{request_id}'))")

    for request_id, other in ((first_id, second_id), (second_id, first_id)):
        row = row_of(request_id)
        badge = row.locator(".badge.shared").inner_text()
        assert badge.startswith("合乘：") and f"#{other}" in badge, badge
        reason = row.locator("td.explanation").inner_text()
        assert reason.startswith(("公车 苏", "租赁 ")) and f"#{other}" in reason.split("与 ")[-1], reason
        assert not re.search(r"\bV\d+|L\d+:", reason), reason  # no internal ids
    page.screenshot(path=str(ARTIFACTS / "console-shared-ride-zh.png"), full_page=True)
    page.click("#lang-switch")
    badge = row_of(first_id).locator(".badge.shared").inner_text()
    assert badge.startswith("Shared with ") and f"#{second_id}" in badge, badge
    reason = row_of(first_id).locator("td.explanation").inner_text()
    assert reason.startswith(("Pool car 苏", "Leased ")) and f"#{second_id}" in reason.split("shared with ")[-1], reason
    page.screenshot(path=str(ARTIFACTS / "console-shared-ride-en.png"), full_page=True)
    assert not page.js_errors


def test_english_switch(page, live_server, ui_world):
    log_in(page, live_server, "dispatcher")
    assert page.inner_text("[data-tab='queue']") == "用车申请队列"
    page.click("#lang-switch")
    assert page.inner_text("[data-tab='queue']") == "Request queue"
    assert page.inner_text("#lang-switch") == "中文"
    assert PASSWORD  # the world's logins all share it
