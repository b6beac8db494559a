"""A driver runs a whole trip on a phone-sized touch screen: arrive, a refused odometer
reading with its reason, start, share the phone's location, complete."""

from __future__ import annotations

from sqlmodel import Session
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet import topics
from fleet.models import TripRequest


def test_driver_completes_a_trip_on_a_phone(phone, live_server, ui_world, session: Session, mqtt_probe):
    w = ui_world
    card = f".stop[data-assignment-id='{w.ids['today_assignment']}']"
    log_in(phone, live_server, "driver", "/driver")
    assert "送文件" in phone.inner_text(card)
    assert "uri.amap.com/navigation" in phone.get_attribute(f"{card} .actions a", "href")
    phone.tap(f"{card} [data-event='arrived']")
    phone.wait_for_selector(f"{card} [data-event='started']")

    phone.tap(f"{card} [data-event='started']")  # no odometer entered
    phone.wait_for_selector("#message.error:has-text('里程表')")
    phone.fill(f"{card} .odometer", "79990")
    phone.tap(f"{card} [data-event='started']")
    phone.wait_for_selector("#message.error:has-text('低于')")  # said in the page's language
    phone.fill(f"{card} .odometer", "80012")
    phone.tap(f"{card} [data-event='started']")
    phone.wait_for_selector(f"{card}[data-state='in_progress']")

    mqtt_probe.subscribe(topics.gps_topic(w.device))
    phone.wait_for_selector("#live-status[data-state='live']")
    phone.tap("#share-location")
    phone.wait_for_selector(f"#share-note:has-text('{w.plate}')")
    fix = mqtt_probe.wait_for(topics.gps_topic(w.device))
    assert fix["source"] == "phone" and abs(fix["lat"] - 34.601) < 1e-6

    phone.fill(f"{card} .odometer", "80040")
    phone.tap(f"{card} [data-event='completed']")
    phone.wait_for_selector(f"{card}[data-state='completed']")
    session.expire_all()
    assert session.get(TripRequest, w.ids["today_request"]).state == "completed"
    assert not phone.js_errors
