"""On the data `fleet demo` seeds, the demo requester (市教育局) chooses a trip's origin and
destination from the named places: a search offers the places by name with their kind in
words, picking one fills the address and the coordinates, and the request goes in with the
place's coordinates; in Chinese and in English."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from demo_world import demo_api, demo_password, ok  # type: ignore[import-not-found]
from web_ui_world import log_in  # type: ignore[import-not-found]

from tests.builders import SHANGHAI

SHOTS = Path("/tmp/shots")
pytestmark = pytest.mark.slow  # Chromium on the whole seeded fleet


def _pick(page, end: str, search: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"#{end}-place")
    page.fill(f"#{end}-place", search)
    option = f"#{end}-options li:has-text('{name}')"
    page.wait_for_selector(option)
    page.click(option)
    page.wait_for_selector(f"#{end}-options", state="hidden")


def _window(page, days: int) -> None:  # type: ignore[no-untyped-def]
    start = datetime.now(SHANGHAI).replace(hour=9, minute=0) + timedelta(days=days)
    page.fill("#pickup-earliest", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#pickup-latest", (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_demo_requester_picks_origin_and_destination_from_the_places(page, demo_server, lang):
    SHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, demo_server, "requester", "/requests", password=demo_password("requester"))
    if lang == "en":
        page.click("#lang-switch")
        page.wait_for_selector("legend:has-text('From')")
    purpose = {"zh": "赴市人民医院慰问", "en": "Visit to the city hospital"}[lang]
    page.fill("#purpose", purpose)

    page.click("#origin-place")
    page.fill("#origin-place", "教育局")
    page.wait_for_selector("#origin-options li:has-text('市教育局')")
    kinds = page.inner_text("#origin-options")
    assert ("办公地点" if lang == "zh" else "Office") in kinds and "office" not in kinds
    page.screenshot(path=str(SHOTS / f"places_search_{lang}.png"), full_page=True)
    page.click("#origin-options li:has-text('市教育局')")
    page.wait_for_selector("#origin-options", state="hidden")
    assert page.input_value("#origin-address").startswith("市教育局")

    page.fill("#destination-place", "zz-no-such-place")
    page.click("#destination-place")
    none = {"zh": "没有匹配的地点", "en": "No place matches"}[lang]
    page.wait_for_selector(f"#destination-options li.note:has-text('{none}')")
    _pick(page, "destination", "医院", "市人民医院")
    assert page.input_value("#destination-address") == "市人民医院（海州区通灌北路 182 号）"
    assert page.input_value("#destination-lat") == "34.60120"
    assert page.input_value("#destination-lon") == "119.17950"
    assert "市人民医院" in page.inner_text("#points")

    _window(page, 1)
    page.screenshot(path=str(SHOTS / f"places_chosen_{lang}.png"), full_page=True)
    page.click("#request-submit")
    page.wait_for_selector("#message.ok")
    item = f"#my-requests li:has-text('{purpose}')"
    page.wait_for_selector(f"{item}[data-state='submitted']")
    request_id = int(page.get_attribute(item, "data-request-id"))
    page.screenshot(path=str(SHOTS / f"places_submitted_{lang}.png"), full_page=True)

    with demo_api(demo_server.url, "requester") as requester:
        filed = ok(requester.get(f"/trip-requests/{request_id}"))
        office = ok(requester.get("/places", search="市教育局", kind="office"))["items"][0]
    assert (filed["destination_lat"], filed["destination_lon"]) == (34.6012, 119.1795)
    assert (filed["origin_lat"], filed["origin_lon"]) == (round(office["lat"], 5), round(office["lon"], 5))
    assert filed["destination_address"].startswith("市人民医院")
    assert not page.js_errors


def test_a_free_address_with_typed_coordinates_still_goes_in(page, demo_server):
    log_in(page, demo_server, "requester", "/requests", password=demo_password("requester"))
    page.fill("#purpose", "赴现场勘查")
    _pick(page, "origin", "市政府", "市政府")
    page.fill("#destination-address", "东海县石榴街道某村委会")
    page.fill("#destination-lat", "34.51")
    page.fill("#destination-lon", "118.80")
    _window(page, 1)
    page.click("#request-submit")
    page.wait_for_selector("#message.ok")
    item = "#my-requests li:has-text('赴现场勘查')"
    page.wait_for_selector(f"{item}[data-state='submitted']")
    request_id = int(page.get_attribute(item, "data-request-id"))
    with demo_api(demo_server.url, "requester") as requester:
        filed = ok(requester.get(f"/trip-requests/{request_id}"))
    assert (filed["destination_lat"], filed["destination_lon"]) == (34.51, 118.8)
    assert filed["destination_address"] == "东海县石榴街道某村委会"
    page.fill("#destination-lat", "95")
    page.click("#request-submit")
    page.wait_for_selector("#message.error:has-text('目的地：坐标超出范围')")
    assert not page.js_errors
