"""On the data `fleet demo` seeds, with a week of dispatched trips, GPS trips and alerts added,
the demo dispatcher opens the statistics page from the bar: the tiles, the charts (trips and
cost per day, alerts by kind and disposition, utilisation per car) and the cars' table are
drawn in Chinese and English with no raw enum value, and the CSV download holds the page's
figures. Screenshots go to /tmp/shots/stats_*.png."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

from demo_world import demo_password  # type: ignore[import-not-found]
from sqlmodel import Session, col, select
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet.alert_kinds import ALERT_KINDS, FORBIDDEN_ZONE, OFF_HOURS, SPEEDING
from fleet.db import make_engine
from fleet.models import (
    NEV_ENERGIES,
    Alert,
    AlertState,
    Assignment,
    AssignmentKind,
    Energy,
    Ownership,
    Role,
    Trip,
    TripRequest,
    User,
    Vehicle,
)
from fleet.settings import get_settings

SHOTS = Path("/tmp/shots")
RAW = sorted({*ALERT_KINDS, *(s.value for s in AlertState), *(e.value for e in Energy),
              *(o.value for o in Ownership), "no_linked_trips"}, key=len, reverse=True)


def _raw_values_shown(page) -> list[str]:  # type: ignore[no-untyped-def]
    text = page.inner_text("main")
    return [raw for raw in RAW if re.search(rf"(?<![\w.]){re.escape(raw)}(?![\w])", text)]


def _seed_week() -> tuple[str, str]:
    """Seven days up to yesterday: each day trips of the first cars (a BEV among them),
    pool and leased assignments of a requester's agency, alerts of three kinds; the range."""
    settings = get_settings()
    tz = settings.tz
    today = datetime.now(tz).date()
    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        requester = session.exec(select(User).where(User.role == Role.requester)).first()
        petrol = session.exec(select(Vehicle).where(col(Vehicle.energy).not_in(NEV_ENERGIES))
                              .order_by(col(Vehicle.id)).limit(5)).all()
        nev = session.exec(select(Vehicle).where(col(Vehicle.energy).in_(NEV_ENERGIES))
                           .order_by(col(Vehicle.id)).limit(2)).all()
        cars = [*petrol, *nev]
        for n in range(7):
            day = today - timedelta(days=7 - n)
            for k, car in enumerate(cars[: 3 + n % 4]):
                start = datetime.combine(day, time(8 + k, 30), tz)
                request = TripRequest(agency_id=requester.org_id, requester_id=requester.id, purpose="公务",
                                      passengers=1, origin_lat=34.6, origin_lon=119.2, destination_lat=34.7,
                                      destination_lon=119.3, pickup_earliest=start, pickup_latest=start,
                                      state="completed" if k % 3 else "assigned")
                session.add(request)
                session.flush()
                kind = AssignmentKind.lease if k == 2 else AssignmentKind.pool
                assignment = Assignment(request_id=request.id, kind=kind, vehicle_id=None if kind == "lease" else car.id,
                                        planned_pickup=start, planned_dropoff=start + timedelta(hours=1),
                                        cost_cny=360 if kind == "lease" else 90 + 10 * k, org_id=requester.org_id)
                session.add(assignment)
                session.flush()
                if kind == AssignmentKind.pool:
                    session.add(Trip(vehicle_id=car.id, assignment_id=assignment.id,
                                     started_at=start + timedelta(minutes=(k * 4) % 11),
                                     ended_at=start + timedelta(minutes=50 + 20 * k), distance_km=12.5 + 6 * k))
            session.add(Trip(vehicle_id=cars[-1].id, started_at=datetime.combine(day, time(14), tz),
                             ended_at=datetime.combine(day, time(16), tz), distance_km=48.0))
            session.add(Alert(kind=(SPEEDING, OFF_HOURS, FORBIDDEN_ZONE)[n % 3], vehicle_id=cars[n % 5].id,
                              started_at=datetime.combine(day, time(20), tz),
                              state=("open", "confirmed", "justified", "false_positive")[n % 4]))
        session.commit()
    engine.dispose()
    return (today - timedelta(days=7)).isoformat(), (today - timedelta(days=1)).isoformat()


def _shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"stats_{name}.png"), full_page=True)


def test_the_demo_dispatcher_reads_the_statistics_and_downloads_them(page, demo_server, tmp_path):
    since, until = _seed_week()
    log_in(page, demo_server, "dispatcher", "/", password=demo_password("dispatcher"))
    page.click("nav a[href='/statistics']")
    page.wait_for_url("**/statistics")
    page.wait_for_selector("body[data-ready='true']")
    page.fill("#stats-since", since)
    page.fill("#stats-until", until)
    with page.expect_response(lambda r: "/api/v1/statistics?" in r.url) as answer:
        page.click("#stats-form button[type=submit]")
    report = answer.value.json()
    page.wait_for_function("document.querySelectorAll('#stats-cars tr').length > 1")
    assert report["trips_planned"] > 0 and report["lease"]["cost_planned_cny"] > 0
    assert report["punctuality"]["available"] and 0 < report["nev_km_share"] < 1

    assert page.inner_text("nav a[href='/statistics']") == "统计报表"
    tiles = page.inner_text("#stats-tiles")
    assert "出车" in tiles and "新能源里程占比" in tiles and f"{100 * report['nev_km_share']:.1f}%" in tiles
    for chart in ("trips", "cost", "alerts", "states", "util"):
        assert page.locator(f"#chart-{chart} svg rect").count() > 0, chart
    alerts = page.inner_text("#chart-alerts")
    assert "超速" in alerts and "非工作时间用车" in alerts
    assert "确认违规" in page.inner_text("#chart-states")
    driven = [c for c in report["cars"] if c["trips"]]
    assert page.locator("#stats-cars tr").count() == len(driven) + 1  # the cars that drove, by utilisation
    assert page.inner_text("#stats-cars tr:nth-child(2) td:first-child") == driven[0]["plate"]
    assert "准点" in page.inner_text("#stats-punctuality")
    assert _raw_values_shown(page) == []
    _shoot(page, "zh")

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("nav a[href='/statistics']") == "Statistics"
    assert "NEV share of km" in page.inner_text("#stats-tiles")
    assert "Speeding" in page.inner_text("#chart-alerts") and "Confirmed" in page.inner_text("#chart-states")
    assert "Battery electric" in page.inner_text("#stats-cars") or "Plug-in hybrid" in page.inner_text("#stats-cars")
    assert _raw_values_shown(page) == []
    words = re.sub(r"苏G\w+", "", page.inner_text("#stats-tiles") + page.inner_text(".stats-charts"))  # plates
    assert not re.search(r"[\u4e00-\u9fff]", words)
    _shoot(page, "en")
    page.click("#stats-idle")
    assert page.locator("#stats-cars tr").count() == len(report["cars"]) + 1
    assert page.inner_text("#stats-idle").startswith("Hide the")

    with page.expect_download() as download_info:
        page.click("#stats-csv")
    saved = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(saved)
    assert re.fullmatch(rf"statistics-\d+-{since}-{until}\.csv", saved.name)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    summary = {row[0]: row[1] for row in rows[2:rows.index([])]}
    assert int(summary["trips_planned"]) == report["trips_planned"]
    assert float(summary["km"]) == report["km"] and float(summary["cost_cny"]) == report["cost_cny"]

    # a quarter is drawn by weeks (the idle cars hidden again)
    page.click("#stats-idle")
    page.fill("#stats-since", (date.fromisoformat(until) - timedelta(days=89)).isoformat())
    with page.expect_response(lambda r: "/api/v1/statistics?" in r.url):
        page.click("#stats-form button[type=submit]")
    page.wait_for_function("document.getElementById('caption-trips').textContent.startsWith('Trips per week')")
    assert page.locator("#chart-trips svg text.value").count() <= 13
    _shoot(page, "quarter_en")
