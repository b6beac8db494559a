"""On the data `fleet demo` seeds, the demo requester (市教育局) files a trip request in the
page: an empty origin and a pickup in the past are refused in Chinese, naming the field; the
request goes in; once it is assigned the page shows the car's plate, the driver's name and
phone and the planned pickup (in either language); and the requester cancels it with a
reason."""

from __future__ import annotations

from datetime import datetime, timedelta

from demo_world import ARTIFACTS, demo_api, demo_password, ok, serve_by_hand  # type: ignore[import-not-found]
from web_ui_world import log_in  # type: ignore[import-not-found]

from tests.builders import SHANGHAI


def test_the_demo_requester_files_sees_the_car_and_cancels(page, demo_server):
    log_in(page, demo_server, "requester", "/requests", password=demo_password("requester"))
    page.fill("#purpose", "参加全市教研会")
    page.fill("#passengers", "2")
    page.fill("#destination-address", "市会议中心")
    page.click("#pick-map", position={"x": 120, "y": 120})
    page.click("#pick-map", position={"x": 260, "y": 180})
    page.click("#request-submit")
    page.wait_for_selector("#message.error:has-text('请填写出发地')")

    page.fill("#origin-address", "市教育局")
    yesterday = (datetime.now(SHANGHAI) - timedelta(days=1)).strftime("%Y-%m-%d")
    page.fill("#pickup-earliest", f"{yesterday}T09:00")
    page.fill("#pickup-latest", f"{yesterday}T09:30")
    page.click("#request-submit")
    page.wait_for_selector("#message.error:has-text('最晚出发已过')")

    in_an_hour = datetime.now(SHANGHAI) + timedelta(hours=1)
    page.fill("#pickup-earliest", in_an_hour.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#pickup-latest", (in_an_hour + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    page.click("#request-submit")
    page.wait_for_selector("#message.ok")
    item = "#my-requests li:has-text('参加全市教研会')"
    page.wait_for_selector(f"{item}[data-state='submitted']")
    request_id = int(page.get_attribute(item, "data-request-id"))

    assignment, car = serve_by_hand(demo_server.url, request_id)
    with demo_api(demo_server.url, "admin") as admin:
        driver = ok(admin.get(f"/drivers/{assignment['driver_id']}"))
    page.reload()
    page.wait_for_selector(f"{item}[data-state='assigned'] .served")
    served = page.inner_text(f"{item} .served")
    assert car["plate"] in served and driver["name"] in served and driver["phone"] in served
    assert datetime.fromisoformat(assignment["planned_pickup"]).astimezone(SHANGHAI).strftime("%H:%M") in served
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "requests-demo-zh.png"), full_page=True)
    page.click("#lang-switch")
    page.wait_for_selector(f"{item} .served:has-text('driver')")
    page.screenshot(path=str(ARTIFACTS / "requests-demo-en.png"), full_page=True)

    assert not page.is_visible(f"{item} .cancel-reason")  # the reason box opens with the cancel button
    page.click(f"{item} [data-cancel-open]")
    page.click(f"{item} [data-cancel]")
    page.wait_for_selector("#message.error:has-text('Cancelling needs a reason')")
    page.fill(f"{item} .cancel-reason", "会议改为线上")
    page.click(f"{item} [data-cancel]")
    page.wait_for_selector(f"{item}[data-state='cancelled']")
    assert "会议改为线上" in page.inner_text(item)
    with demo_api(demo_server.url, "requester") as requester:
        assert ok(requester.get(f"/trip-requests/{request_id}"))["state"] == "cancelled"
    assert not page.js_errors
