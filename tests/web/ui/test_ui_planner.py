"""On the data `fleet demo` seeds, with a day of trips as a freshly started live city drives
them, the demo planner opens /replacement, reads what to do on the empty page, computes a plan
whose first year retires the cars `fleet plan-replacement --org 320700` retires (the rest are
kept: none is idle for want of history), computes a second one with a changed policy, compares
the two side by side, saves one, and reads it all in Chinese and English. The Chinese page
shows no raw code or English word; the English page no Chinese label."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from demo_world import demo_api, demo_password, ok  # type: ignore[import-not-found]
from sqlmodel import Session, select
from typer.testing import CliRunner
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet.db import make_engine
from fleet.models import Trip, Vehicle
from fleet.replacement.cli import register
from fleet.settings import get_settings

SHOTS = Path("/tmp/shots")
YEARS = 3
START_YEAR = datetime.now(UTC).year + 1
#: A plate (苏G and five letters or digits) is data, not a label.
PLATE = re.compile(r"苏G[0-9A-Z]{5}")
#: The single letters naming the two plans compared (规划 A, 规划 B) are the only Latin letters
#: a Chinese label holds.
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _drive_a_day(count: int = 40) -> None:
    """Trips of yesterday for ``count`` pool cars, as the live city leaves them on its first day."""
    engine = make_engine(get_settings().resolved_database_url)
    try:
        with Session(engine) as session:
            cars = session.exec(select(Vehicle).where(Vehicle.ownership == "pool").limit(count)).all()
            yesterday = datetime.now(UTC) - timedelta(days=1)
            session.add_all([Trip(vehicle_id=car.id, started_at=yesterday, ended_at=yesterday + timedelta(hours=1),
                                  distance_km=25) for car in cars])
            session.commit()
    finally:
        engine.dispose()


def _cli_first_year() -> set[str]:
    """Plates `fleet plan-replacement --org 320700` retires in the first year."""
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["plan-replacement", "--org", "320700", "--years", str(YEARS),
                                      "--start-year", str(START_YEAR), "--json", "--time-limit", "20"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["usage_sources"].get("trips", 0) == 0  # a day of trips measures nobody
    return {d["car_id"] for d in plan["year_plans"][0]["decisions"]}


def _chinese_only(text: str, username: str) -> None:
    """No raw code or English word in the Chinese page (plates and the login name are data)."""
    words = LATIN_WORD.findall(PLATE.sub("", text).replace(username, ""))
    assert not words, f"Latin words in the Chinese page: {sorted(set(words))[:20]}"


def _english_only(text: str, org_names: list[str]) -> None:
    for name in org_names:
        text = text.replace(name, "")
    leftovers = CJK.findall(PLATE.sub("", text))
    assert not leftovers, f"Chinese characters in the English page: {''.join(leftovers[:40])}"
    for code in ("right_size", "idle_km", "idle_utilisation", "legacy_emission", "scrappage_mileage", "china5",
                 "china6", "bev", "phev", "hev", "undefined", "null", "NaN"):
        assert not re.search(rf"\b{code}\b", text), code


def _year_one(page) -> set[str]:  # type: ignore[no-untyped-def]
    return set(page.eval_on_selector_all(f".year-plan[data-year='{START_YEAR}'] tr[data-car]",
                                         "rows => rows.map(r => r.dataset.car)"))


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"planner_{name}.png"), full_page=True)


def test_the_demo_planner_computes_compares_and_saves(page, demo_server):  # type: ignore[no-untyped-def]
    _drive_a_day()
    cli_first_year = _cli_first_year()
    assert cli_first_year

    log_in(page, demo_server, "planner", "/replacement", password=demo_password("planner"))
    page.wait_for_selector("#policy-fields input[name='min_service_years']")
    assert "尚未计算规划：选择规划年限并点击“计算”" in page.inner_text("#result")
    assert "尚无保存的规划" in page.inner_text("#figures") and "计算两个规划后" in page.inner_text("#compare")
    assert page.input_value("#policy-fields input[name='min_service_years']") == "8"
    _chinese_only(page.inner_text("main"), "planner")
    _shot(page, "empty_zh")

    page.fill("#years", str(YEARS))
    page.click("#compute")
    page.wait_for_selector("#compute-progress:not([hidden])")
    assert page.is_disabled("#compute") and "正在计算规划" in page.inner_text("#compute-progress")
    page.screenshot(path=str(SHOTS / "planner_computing_zh.png"))
    page.wait_for_selector(".rp-result[data-plan='0']", timeout=60_000)
    assert _year_one(page) == cli_first_year
    result = page.inner_text("#result")
    assert "行程记录 0 辆" in result and "规划 1（现行政策）" in result
    assert "已满足更新条件" in result and "按里程表推算" in result and "闲置：年行驶 0 公里" not in result
    _chinese_only(page.inner_text("main"), "planner")
    _shot(page, "plan_zh")

    # A share above 100 % is refused, the field named in the page's words.
    page.fill("#policy-fields input[name='nev_share_floor']", "150")
    page.click("#compute")
    page.wait_for_selector("#message.error:has-text('新能源最低占比（%）：数值太大')")
    page.click("#policy-reset")
    # A stricter age threshold, computed beside the first plan.
    page.fill("#policy-fields input[name='min_service_years']", "12")
    assert page.is_visible("label[data-field='min_service_years'] .changed-mark")
    page.click("#compute")
    page.wait_for_selector(".rp-result[data-plan='1']", timeout=60_000)
    assert "最短使用年限（年） 8 → 12" in page.inner_text("#result")
    compare = page.inner_text("#compare")
    assert "规划 1（现行政策）" in compare and "规划 2（调整后政策）" in compare
    assert page.locator("#compare-table tbody tr").count() == YEARS
    assert "仅规划 A 在" in compare
    _chinese_only(page.inner_text("main"), "planner")
    page.locator("#compare").scroll_into_view_if_needed()
    _shot(page, "compare_zh")

    page.click("#save-plan")
    page.wait_for_selector("#saved-badge")
    page.wait_for_selector("#saved-body li[data-plan-id]")
    page.wait_for_selector("#plan-note:has-text('最近保存的规划')")
    with demo_api(demo_server.url, "planner") as planner:
        kept = ok(planner.get("/replacement/plans"))["items"]
    assert [(p["created_by"], p["years"]) for p in kept] == [("planner", YEARS)]
    assert page.inner_text("#saved-badge") == f"已保存为规划 {kept[0]['id']}"
    _chinese_only(page.inner_text("main"), "planner")
    page.locator("#figures").scroll_into_view_if_needed()
    _shot(page, "saved_zh")

    page.click("#lang-switch")
    page.wait_for_selector("#compare h3:has-text('Compare plans')")
    text = page.inner_text("main")
    assert "Plan 1 (current policy)" in text and "Eligible:" in text and "Saved as plan" in text
    orgs = page.eval_on_selector_all("#org option", "options => options.map(o => o.textContent)")
    _english_only(text, orgs)
    _shot(page, "plan_en")
    page.locator("#compare").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "planner_compare_en.png"))
    assert not page.js_errors


def test_a_county_planner_files_the_saved_plan_with_the_city(page, demo_server):  # type: ignore[no-untyped-def]
    password = "donghai-planning-2027"
    with demo_api(demo_server.url, "admin") as admin:
        county = next(o for o in admin.all("/organisations") if o["code"] == "320722")
        ok(admin.post("/users", {"username": "donghai_planner", "role": "planner", "org_id": county["id"],
                                 "password": password, "full_name": "东海县规划员"}), 201)
    log_in(page, demo_server, "donghai_planner", "/replacement", password=password)
    page.fill("#years", "2")
    page.click("#compute")
    page.wait_for_selector(".rp-result[data-plan='0']", timeout=60_000)
    page.click("#save-plan")
    page.click("#file-plan")
    page.wait_for_selector(f"#result .filing-state[data-state='submitted']:has-text('{START_YEAR} 年备案')")
    page.wait_for_selector("#saved-body .filing-state[data-state='submitted']")
    assert not page.is_visible("#file-plan")
    _chinese_only(page.inner_text("main"), "donghai_planner")
    page.screenshot(path=str(SHOTS / "planner_filing_zh.png"))
    with demo_api(demo_server.url, "admin") as admin:
        (filing,) = admin.all("/replacement/filings", org_id=county["id"])
    assert (filing["year"], filing["state"]) == (START_YEAR, "submitted")
    assert not page.js_errors
