"""On the data `fleet demo` seeds, the demo approver (the city) sees the requests the demo
requester (市教育局) submitted, with the filer, the agency, the route and the server's
warnings (a New Year's Day trip is a holiday trip, a trip to Nanjing leaves the city's
allowed area) in Chinese and English, ticks two and
approves them at once while the third stays waiting, then rejects it with a reason."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from demo_world import ARTIFACTS, demo_api, demo_password, ok  # type: ignore[import-not-found]
from web_ui_world import log_in  # type: ignore[import-not-found]

from tests.builders import SHANGHAI


def _file_and_submit(api, agency_id: int, purpose: str, pickup: datetime, destination: str,
                     at: tuple[float, float] = (34.62, 119.18)) -> int:
    """A request of the demo requester's agency to ``destination`` at ``at`` (lat, lon),
    submitted for approval; its id."""
    request = ok(api.post("/trip-requests", {
        "agency_id": agency_id, "purpose": purpose, "passengers": 2, "origin_lat": 34.597, "origin_lon": 119.222,
        "origin_address": "市教育局", "destination_lat": at[0], "destination_lon": at[1],
        "destination_address": destination, "pickup_earliest": pickup.isoformat(),
        "pickup_latest": (pickup + timedelta(minutes=30)).isoformat()}), 201)
    ok(api.post(f"/trip-requests/{request['id']}/transitions", {"to": "submitted"}))
    return request["id"]


def test_the_demo_approver_sees_warnings_and_approves_two_at_once(page, demo_server):
    new_year = date(datetime.now(SHANGHAI).year + 1, 1, 1)
    with demo_api(demo_server.url, "requester") as requester:
        me = ok(requester.get("/auth/me"))
        in_two_hours = datetime.now(SHANGHAI) + timedelta(hours=2)
        soon = _file_and_submit(requester, me["org_id"], "教研听课", in_two_hours, "市第一中学")
        holiday = _file_and_submit(requester, me["org_id"], "元旦慰问教师",
                                   datetime.combine(new_year, time(10), SHANGHAI), "海州区退休教师之家")
        waiting = _file_and_submit(requester, me["org_id"], "赴省厅汇报", in_two_hours, "江苏省教育厅",
                                   at=(32.06, 118.79))

    log_in(page, demo_server, "approver", "/approvals", password=demo_password("approver"))
    row = "#pending li[data-request-id='{}']"
    page.wait_for_selector(row.format(waiting))
    assert "outside_allowed_area" in page.get_attribute(row.format(waiting), "data-warnings").split()
    assert "目的地超出允许区域" in page.inner_text(row.format(waiting))
    holiday_row = row.format(holiday)
    assert "rest_day" in page.get_attribute(holiday_row, "data-warnings").split()
    text = page.inner_text(holiday_row)
    assert "节假日用车" in text and "元旦" in text
    assert "市教育局" in text and "海州区退休教师之家" in text and "元旦慰问教师" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(holiday_row).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "approvals-demo-zh.png"))

    page.click("#lang-switch")
    page.wait_for_selector(f"{holiday_row} .warnings:has-text(\"New Year's Day\")")
    assert "On a public holiday" in page.inner_text(holiday_row)
    page.screenshot(path=str(ARTIFACTS / "approvals-demo-en.png"))
    page.click("#lang-switch")

    page.check(f"{row.format(soon)} .pick")
    page.check(f"{holiday_row} .pick")
    page.wait_for_selector("#selected-count:has-text('已选 2')")
    page.click("#approve-selected")
    page.wait_for_selector("#message.ok:has-text('2 项已批准')")
    page.wait_for_selector(holiday_row, state="detached")
    assert page.is_visible(row.format(waiting))
    with demo_api(demo_server.url, "approver") as approver:
        states = {i: ok(approver.get(f"/trip-requests/{i}"))["state"] for i in (soon, holiday, waiting)}
    assert states == {soon: "approved", holiday: "approved", waiting: "submitted"}

    page.check(f"{row.format(waiting)} .pick")
    page.click("#reject-selected")
    page.wait_for_selector("#message.error:has-text('驳回需要填写原因')")
    page.fill("#batch-reason", "请改为视频汇报")
    page.click("#reject-selected")
    page.wait_for_selector("#message.ok:has-text('1 项已驳回')")
    page.wait_for_selector(row.format(waiting), state="detached")
    with demo_api(demo_server.url, "requester") as requester:
        rejected = ok(requester.get(f"/trip-requests/{waiting}"))
    assert (rejected["state"], rejected["state_reason"]) == ("rejected", "请改为视频汇报")
    assert not page.js_errors
