"""On the data `fleet demo` seeds, the demo driver (a pool driver of the city's vehicle service
centre) is given a trip the education bureau asked for, the way the demo gives its driver the
day's trips, and runs it on a phone: the trip is listed with its agency and navigation, a
wrong odometer reading is refused in Chinese, then in English, and the trip is completed;
the requester then sees who drove it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet.models import utcnow
from simulations.demo_driver import DRIVER, give_demo_driver_trips
from simulations.platform import Api
from tests.builders import SHANGHAI

#: Where the screenshots of the page in each language are kept for review.
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def _pickup_soon() -> datetime:
    """Ten minutes from now, but today (Asia/Shanghai)."""
    last_minute = datetime.now(SHANGHAI).replace(hour=23, minute=59, second=0, microsecond=0)
    return min(utcnow() + timedelta(minutes=10), last_minute)


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def _education_trip_for_the_demo_driver(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request of 市教育局 (the demo requester's agency), approved, assigned by hand to a
    service-centre sedan and another driver, then given to the demo driver as `fleet demo`
    gives it the day's trips. Returns the request and the car."""
    admin, dispatcher = Api(url, "admin", "admin-demo-2021"), Api(url, "dispatcher", "dispatcher-demo-2021")
    requester, approver = Api(url, "requester", "requester-demo-2021"), Api(url, "approver", "approver-demo-2021")
    try:
        me = _ok(requester.get("/auth/me"))
        pickup = _pickup_soon()
        request = _ok(requester.post("/trip-requests", {
            "agency_id": me["org_id"], "purpose": "送考试试卷", "passengers": 2, "origin_lat": 34.596,
            "origin_lon": 119.222, "origin_address": "市教育局", "destination_lat": 34.542,
            "destination_lon": 118.771, "destination_address": "东海县教育局",
            "pickup_earliest": pickup.isoformat(), "pickup_latest": (pickup + timedelta(minutes=20)).isoformat()}), 201)
        _ok(requester.post(f"/trip-requests/{request['id']}/transitions", {"to": "submitted"}))
        _ok(approver.post(f"/trip-requests/{request['id']}/transitions", {"to": "approved"}))
        centre = next(o for o in admin.all("/organisations") if o["code"] == "320700-A01")
        car = next(v for v in admin.all("/vehicles", org_id=centre["id"], vehicle_class="sedan", ownership="pool")
                   if v["status"] == "available")
        demo_user = _ok(Api(url, *DRIVER).get("/auth/me"))
        other = next(d for d in admin.all("/drivers", org_id=centre["id"]) if d.get("user_id") != demo_user["id"])
        assignment = _ok(dispatcher.post("/assignments", {
            "request_id": request["id"], "kind": "pool", "vehicle_id": car["id"], "driver_id": other["id"],
            "planned_pickup": pickup.isoformat(), "planned_dropoff": (pickup + timedelta(hours=1)).isoformat(),
            "cost_cny": 95}), 201)
        for step in ("planned", "assigned"):
            _ok(dispatcher.post(f"/trip-requests/{request['id']}/transitions", {"to": step}))
        assert give_demo_driver_trips(admin, dispatcher, url, [assignment], {car["id"]: "sedan"}) == 1
        return request, car
    finally:
        for api in (admin, dispatcher, requester, approver):
            api.close()


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

    requester = Api(demo_server.url, "requester", "requester-demo-2021")
    try:
        assert _ok(requester.get(f"/trip-requests/{request['id']}"))["state"] == "completed"
        served = _ok(requester.get(f"/trip-requests/{request['id']}/assignment"))
        assert served["plate"] == car["plate"] and served["driver_phone"]
    finally:
        requester.close()
