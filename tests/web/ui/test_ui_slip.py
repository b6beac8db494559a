"""The dispatch slip's print page (/slip/{assignment_id}): the assigned driver opens the slip
of a driven trip, sees it as the paper form in Chinese and English with no raw value, and the
print view hides the bar and the buttons; the PDF link follows the page's language; another
agency's requester is refused. Screenshots go to /tmp/shots/slip_*.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet import audit
from fleet.db import make_engine
from fleet.models import Assignment, Position, RequestState, Trip, TripRequest, User, utcnow
from fleet.settings import get_settings

SHOTS = Path("/tmp/shots")
RAW = ("sedan", "petrol", "completed", "pool", "null", "undefined", "slip.")


def _drive(assignment_id: int, vehicle_id: int, driver_user_id: int) -> None:
    """The driver's start and completion entries with odometer readings, and the car's GPS
    trip with its positions."""
    engine = make_engine(get_settings().resolved_database_url)
    with Session(engine) as session:
        driver = session.exec(select(User).where(User.id == driver_user_id)).one()
        audit.record(session, driver, "assignment.started", "assignment", assignment_id, None, {"odometer_km": 80010})
        audit.record(session, driver, "assignment.completed", "assignment", assignment_id, None,
                     {"odometer_km": 80038})
        request = session.get(TripRequest, session.get(Assignment, assignment_id).request_id)
        request.state = RequestState.completed
        session.add(request)
        start = utcnow() - timedelta(minutes=40)
        fixes = [Position(vehicle_id=vehicle_id, ts=start + timedelta(minutes=3 * i), lat=34.60 + 0.003 * i,
                          lon=119.20 + 0.004 * (i % 5)) for i in range(14)]
        session.add_all(fixes)
        session.flush()
        session.add(Trip(vehicle_id=vehicle_id, started_at=start, ended_at=fixes[-1].ts, distance_km=27.3,
                         first_position_id=fixes[0].id, last_position_id=fixes[-1].id))
        session.commit()
    engine.dispose()


def test_slip_print_view(live_server, ui_world, page):  # type: ignore[no-untyped-def]
    w = ui_world
    assignment = w.ids["today_assignment"]
    _drive(assignment, w.ids["today_vehicle"], w.ids["user_driver"])
    log_in(page, live_server, "driver", f"/slip/{assignment}")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang, title, pdf_label in (("zh", "公务用车派车单", "下载PDF"), ("en", "Official-car dispatch slip", "Download PDF")):
        if lang == "en":
            page.click("#lang-switch")
        form = page.inner_text("#slip-form")
        assert title in form and w.plate in form and "张师傅" in form and "送文件" in form
        assert "80,010.0" in form and "27.3" in form and "东海县教育局" in form
        assert ("轿车" if lang == "zh" else "Sedan") in form
        assert page.inner_text("#slip-state") == ("已完成" if lang == "zh" else "Completed")
        for raw in RAW:
            assert raw not in form, raw
        link = page.locator("#slip-pdf")
        assert link.inner_text() == pdf_label and link.get_attribute("href").endswith(f"language={lang}")
        page.screenshot(path=str(SHOTS / f"slip_screen_{lang}.png"), full_page=True)
        page.emulate_media(media="print")
        assert not page.locator("header.topbar").is_visible() and not link.is_visible()
        page.screenshot(path=str(SHOTS / f"slip_print_{lang}.png"), full_page=True)
        page.emulate_media(media="screen")
    answer = page.request.get(f"{live_server.url}/api/v1/assignments/{assignment}/slip.pdf?language=en")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"


def test_slip_of_another_agency_is_refused(live_server, ui_world, page):  # type: ignore[no-untyped-def]
    log_in(page, live_server, "other_requester", f"/slip/{ui_world.ids['today_assignment']}")
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message").strip() and ui_world.plate not in page.inner_text("#slip-form")
