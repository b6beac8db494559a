"""On the data `fleet demo` seeds, the demo auditor (纪委, at the city) opens the inspectors'
page, builds an evidence export, downloads it, sees it verified in the list of exports,
verifies the downloaded bundle by upload file by file, finds the alert the dispatcher
confirmed in the alert history with its review steps, and reads the audit log with the
chain's status, in Chinese and English, with no raw enum value on the page. The Authorize
dialog of /docs logs in with a username and password. Screenshots go to /tmp/shots."""

from __future__ import annotations

import re
import zipfile
from datetime import timedelta
from pathlib import Path

from demo_world import demo_api, demo_password, ok  # type: ignore[import-not-found]
from sqlmodel import Session, select
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet.alert_kinds import ALERT_KINDS, OFF_HOURS
from fleet.db import make_engine
from fleet.models import Alert, AlertSeverity, AlertState, Vehicle, utcnow
from fleet.settings import get_settings

SHOTS = Path("/tmp/shots")
#: Raw values the page must never show: alert kinds, dispositions, severities and the
#: actions and object types of the audit log (usernames may equal role names, so roles are
#: checked in the header's label instead).
RAW = sorted({*ALERT_KINDS, "expense.mismatch", *(s.value for s in AlertState), *(s.value for s in AlertSeverity),
              "export.create", "alert.review.under_review", "alert.review.confirmed", "trip_request",
              "expense_import", "under_review", "false_positive"}, key=len, reverse=True)
ROLE_LABELS = {"zh": "纪检人员", "en": "Inspector"}


def _raw_values_shown(page, lang: str = "zh") -> list[str]:  # type: ignore[no-untyped-def]
    """Raw values in the page's visible text; in English, where labels are words too ("Alert
    confirmed"), the dotted and underscored ones, and the dispositions' badges are labels."""
    text = page.inner_text("main") + "\n" + page.inner_text("header")
    shown = [raw for raw in RAW if (lang == "zh" or re.search(r"[._]", raw))
             and re.search(rf"(?<![\w.]){re.escape(raw)}(?![\w])", text)]
    badges = page.eval_on_selector_all(".badge.disposition", "els => els.map(e => e.textContent)")
    return shown + [badge for badge in badges if badge in RAW or not badge]


def _shoot(page, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"audit_{name}.png"), full_page=full_page)


def _confirmed_alert(url: str) -> tuple[int, str]:
    """An off-hours alert on a city car, taken under review and confirmed by the demo
    dispatcher; its id and the car's plate."""
    engine = make_engine(get_settings().resolved_database_url)
    with Session(engine) as session:
        car = session.exec(select(Vehicle).order_by(Vehicle.id)).first()
        alert = Alert(kind=OFF_HOURS, vehicle_id=car.id, started_at=utcnow() - timedelta(hours=1),
                      ended_at=utcnow() - timedelta(minutes=20), lat=34.6, lon=119.2,
                      severity=AlertSeverity.warning, evidence={"km": 12.4})
        session.add(alert)
        session.commit()
        alert_id, plate = alert.id, car.plate
    engine.dispose()
    with demo_api(url, "dispatcher") as dispatcher:
        ok(dispatcher.post(f"/alerts/{alert_id}/review", {"to": "under_review"}))
        ok(dispatcher.post(f"/alerts/{alert_id}/review", {"to": "confirmed", "reason": "夜间私用，驾驶员承认"}))
    return alert_id, plate


def test_the_demo_auditor_exports_verifies_and_finds_the_confirmed_alert(page, demo_server, tmp_path):
    alert_id, plate = _confirmed_alert(demo_server.url)
    log_in(page, demo_server, "auditor", "/audit", password=demo_password("auditor"))
    assert page.inner_text("#who").endswith(ROLE_LABELS["zh"])
    assert page.is_visible("nav a[href='/audit']")

    # build an export of today for the whole city in CSV and PDF, and download it
    for fmt in ("xlsx", "geojson"):
        page.uncheck(f"input[name=format][value={fmt}]")
    with page.expect_download() as download_info:
        page.click("#export-build")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert {"manifest.json", "trips.csv", "alerts.csv", "summary.pdf"} <= set(archive.namelist())
    page.wait_for_selector("#message.ok")
    export_id = int(re.search(r"#(\d+)", page.inner_text("#message")).group(1))
    page.wait_for_selector(f"#export-list tr[data-export-id='{export_id}'][data-check='ok']")
    assert "已核验，完整" in page.inner_text(f"#export-list tr[data-export-id='{export_id}']")
    assert not _raw_values_shown(page)
    _shoot(page, "exports_zh")

    # the downloaded bundle, uploaded, is checked file by file
    page.click("[data-tab=verify]")
    page.set_input_files("#verify-file", str(saved))
    page.click("#verify-submit")
    page.wait_for_selector("#verify-result .verdict[data-ok='true']")
    statuses = page.eval_on_selector_all("#verify-result tr[data-file]", "rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) == {"ok"}
    assert f"#{export_id}" in page.inner_text("#verify-result .verdict")
    _shoot(page, "verify_zh")

    # the confirmed alert in the alert history, with its disposition and review steps
    page.click("[data-tab=alerts]")
    page.select_option("#alert-state", "confirmed")
    page.fill("#alert-plate", plate)
    page.click("#alert-form button[type=submit]")
    row = f"#alert-list tr[data-alert-id='{alert_id}']"
    page.wait_for_selector(f"#alert-list[data-loaded='true'] tr[data-alert-id='{alert_id}'][data-state='confirmed'] ol.steps")
    assert page.locator("#alert-list tr[data-alert-id]").count() == 1
    text = page.inner_text(row)
    assert plate in text and "非工作时间用车" in text and "确认违规" in text
    assert "核查中 → 确认违规" in text and "夜间私用，驾驶员承认" in text and "dispatcher" in text
    assert not _raw_values_shown(page)
    _shoot(page, "alerts_zh")

    # the audit log: the chain is intact and the review and the export are in it
    page.click("[data-tab=log]")
    page.wait_for_selector("#chain-status[data-ok='true']")
    page.wait_for_selector("#log-list[data-loaded='true']")
    page.select_option("#log-action", "alert.review")
    page.click("#log-form button[type=submit]")
    page.wait_for_selector("#log-list[data-loaded='true'] tr[data-action='alert.review.confirmed']")
    assert "告警确认违规" in page.inner_text("#log-list")
    assert not page.is_visible("#log-list tr[data-action='export.create']")
    page.click("#log-form button[type=reset]")
    page.wait_for_selector("#log-list[data-loaded='true'] tr[data-action='export.create']")
    assert "生成导出证据包" in page.inner_text("#log-list")
    assert not _raw_values_shown(page)
    _shoot(page, "log_zh")

    page.click("#lang-switch")
    page.wait_for_selector("#log-list:has-text('Built an evidence export')")
    assert page.inner_text("#who").endswith(ROLE_LABELS["en"])
    assert "Audit chain intact" in page.inner_text("#chain-status")
    assert not _raw_values_shown(page, "en")
    _shoot(page, "log_en")
    page.click("[data-tab=alerts]")
    assert "Off-hours use" in page.inner_text(row) and "Under review → Confirmed" in page.inner_text(row)
    assert not _raw_values_shown(page, "en")
    _shoot(page, "alerts_en")
    page.click("[data-tab=exports]")
    assert "Verified, intact" in page.inner_text(f"#export-list tr[data-export-id='{export_id}']")
    assert not _raw_values_shown(page, "en")
    _shoot(page, "exports_en")
    page.click("[data-tab=verify]")
    assert "intact, matches the platform's record" in page.inner_text("#verify-result")
    _shoot(page, "verify_en")
    assert not page.js_errors


def test_the_page_is_the_inspectors_and_administrators_only(page, demo_server):
    log_in(page, demo_server, "dispatcher", "/", password=demo_password("dispatcher"))
    assert page.locator("nav a[href='/audit']").count() == 0
    page.goto(f"{demo_server.url}/audit")
    page.wait_for_url(f"{demo_server.url}/")
    page.context.clear_cookies()
    log_in(page, demo_server, "admin", "/audit", password=demo_password("admin"))
    assert page.is_disabled("[data-tab=exports]")
    page.wait_for_selector("#chain-status[data-ok='true']")
    assert page.inner_text("#who").endswith("管理员")
    assert not _raw_values_shown(page)
    _shoot(page, "admin_log_zh")
    assert not page.js_errors


def test_the_docs_authorize_dialog_logs_in_with_username_and_password(page, demo_server):
    page.goto(f"{demo_server.url}/docs")
    page.click("button.authorize")
    page.fill("#oauth_username", "auditor")
    page.fill("#oauth_password", demo_password("auditor"))
    page.click(".auth-btn-wrapper button.authorize")
    page.wait_for_selector(".auth-container h6:has-text('Authorized')")
    assert "auditor" in page.inner_text(".auth-container")
    _shoot(page, "docs_authorized", full_page=False)
    page.click("button.btn-done")
    # the dialog's token opens the API: "Try it out" on GET /auth/me answers the auditor
    operation = "#operations-auth-me_api_v1_auth_me_get"
    page.click(f"{operation} .opblock-summary")
    page.click(f"{operation} .try-out__btn")
    page.click(f"{operation} .execute")
    page.wait_for_selector(f"{operation} .live-responses-table .response-col_status:has-text('200')")
    assert '"username": "auditor"' in page.inner_text(f"{operation} .live-responses-table")
