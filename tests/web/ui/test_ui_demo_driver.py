"""On the data `fleet demo` seeds, the demo driver (a pool driver of the city's vehicle service
centre) is given a trip the education bureau asked for, the way the demo gives its driver the
day's trips, and runs it on a phone: the trip is listed with its agency and navigation, a
start before the allowed lead and a wrong odometer reading are refused in Chinese, then the
reading in English, and the trip is completed; the requester then sees who drove it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from demo_world import ARTIFACTS, demo_api, ok, pickup_soon, serve_by_hand  # type: ignore[import-not-found]
from web_ui_world import log_in  # type: ignore[import-not-found]

from simulations.demo_driver import DRIVER, give_demo_driver_trips


def _education_trip_for_the_demo_driver(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request of 市教育局 (the demo requester's agency), approved, assigned by hand to a
    service-centre sedan and another driver, then given to the demo driver as `fleet demo`
    gives it the day's trips. Returns the request and the car."""
    with demo_api(url, "requester") as requester:
        me = ok(requester.get("/auth/me"))
        pickup = pickup_soon()
        request = ok(requester.post("/trip-requests", {
            "agency_id": me["org_id"], "purpose": "送考试试卷", "passengers": 2, "origin_lat": 34.596,
            "origin_lon": 119.222, "origin_address": "市教育局", "destination_lat": 34.542,
            "destination_lon": 118.771, "destination_address": "东海县教育局",
            "pickup_earliest": pickup.isoformat(), "pickup_latest": (pickup + timedelta(minutes=20)).isoformat()}), 201)
        ok(requester.post(f"/trip-requests/{request['id']}/transitions", {"to": "submitted"}))
    assignment, car = serve_by_hand(url, request["id"])
    with demo_api(url, "admin") as admin, demo_api(url, "dispatcher") as dispatcher:
        assert give_demo_driver_trips(admin, dispatcher, url, [assignment], {car["id"]: "sedan"}) == 1
    return request, car


def test_the_demo_driver_completes_a_trip_another_agency_asked_for(phone, demo_server):
    request, car = _education_trip_for_the_demo_driver(demo_server.url)
    card = f".stop:has-text('送考试试卷')"
    log_in(phone, demo_server, DRIVER[0], "/driver", password=DRIVER[1])
    assert "市教育局" in phone.inner_text(card) and car["plate"] in phone.inner_text(card)
    assert "uri.amap.com/navigation" in phone.get_attribute(f"{card} .actions a", "href")
    assert phone.locator(f"{card} svg.icon").count() == 2
    phone.tap(f"{card} [data-event='arrived']")
    phone.wait_for_selector(f"{card} [data-event='started']")

    start_km = car["odometer_km"]
    trips = demo_server.app.state.settings.trips
    lead_s, trips.start_lead_s = trips.start_lead_s, 0  # no start before the pickup, ten minutes away
    try:
        phone.fill(f"{card} .odometer", str(int(start_km) + 2))
        phone.tap(f"{card} [data-event='started']")
        phone.wait_for_selector("#message.error:has-text('还不能开始行程')")
    finally:
        trips.start_lead_s = lead_s
    phone.fill(f"{card} .odometer", str(int(start_km) - 10))
    phone.tap(f"{card} [data-event='started']")
    phone.wait_for_selector("#message.error:has-text('低于')")
    assert car["plate"] in phone.inner_text("#message")
    ARTIFACTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(ARTIFACTS / "driver-demo-zh.png"), full_page=True)
    phone.click("#lang-switch")
    phone.fill(f"{card} .odometer", str(int(start_km) - 10))
    phone.tap(f"{card} [data-event='started']")
    phone.wait_for_selector("#message.error:has-text('is below the last reading')")
    phone.screenshot(path=str(ARTIFACTS / "driver-demo-en.png"), full_page=True)

    phone.fill(f"{card} .odometer", str(int(start_km) + 2))
    phone.tap(f"{card} [data-event='started']")
    phone.wait_for_selector(f"{card}[data-state='in_progress']")
    phone.fill(f"{card} .odometer", str(int(start_km) + 30))
    phone.tap(f"{card} [data-event='completed']")
    phone.wait_for_selector(f"{card}[data-state='completed']")
    assert not phone.js_errors

    with demo_api(demo_server.url, "requester") as requester:
        assert ok(requester.get(f"/trip-requests/{request['id']}"))["state"] == "completed"
        served = ok(requester.get(f"/trip-requests/{request['id']}/assignment"))
        assert served["plate"] == car["plate"] and served["driver_phone"]
