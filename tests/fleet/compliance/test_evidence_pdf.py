"""The inspector PDF's violation page: in Chinese (default) or English, the rule with its
thresholds and version, the car, the driver on duty, the day's orders, the review decision,
document metadata, and a map that is really drawn (pages rendered to PNG with pdfium)."""

# ruff: noqa: F811  (the web fixtures are imported by name)
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from sqlmodel import Session
from typer.testing import CliRunner

from fleet.alert_kinds import ALERT_KINDS, OFF_HOURS
from fleet.compliance import evidence_font
from fleet.compliance import export_query as q
from fleet.compliance.alert_review import review_alert
from fleet.compliance.evidence_font import EvidenceFontError
from fleet.compliance.evidence_map import nice_length, position_at, time_step_min
from fleet.compliance.evidence_facts import TrackPoint
from fleet.compliance.export_bundle import build_bundle, check_registered, verify_bundle
from fleet.models import (
    Alert,
    AlertSeverity,
    AlertState,
    AssignmentKind,
    Energy,
    Position,
    RequestState,
    TripRequest,
    User,
    VehicleClass,
    Zone,
)
from fleet.models.telemetry import Stop
from tests.web.conftest import T0, app, build_world, client, world  # noqa: F401  (fixtures)

TZ = ZoneInfo("Asia/Shanghai")
SINCE = datetime(2026, 12, 1, tzinfo=TZ)
UNTIL = datetime(2026, 12, 3, tzinfo=TZ)
#: 20:00 local on Tuesday 2026-12-01: after working hours.
EVENING = datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
VENUE = (119.236, 34.626)
REASON = "周二晚间驾车前往娱乐场所，无派车单，驾驶员承认私用"
SHOTS = Path("/tmp/shots")
RAW_VALUES = sorted({*ALERT_KINDS, *(s.value for s in AlertState if s != AlertState.open),
                     *(s.value for s in AlertSeverity), *(c.value for c in VehicleClass if c != VehicleClass.bus),
                     *(e.value for e in Energy if e not in (Energy.hev, Energy.bev)),
                     *(s.value for s in RequestState), *(k.value for k in AssignmentKind), "pool_car"})


def _rect(lon: float, lat: float, half_deg: float) -> dict:
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
            [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]
    return {"type": "Polygon", "coordinates": [ring]}


def _evening_drive(session: Session, ids: dict[str, int]) -> int:
    """A car parked at its site drives at 20:00 to a KTV, stops 30 min, drives part way back;
    the off-hours alert over it is confirmed. Returns the alert id."""
    request = session.get(TripRequest, ids["request"])
    request.origin_address, request.destination_address = "市机关车队", "东海县教育局"
    session.add(request)
    city = ids["city"]
    session.add(Zone(name="海州区某KTV", org_id=city, kind="forbidden_venue", category="entertainment",
                     geometry=_rect(*VENUE, 0.0015)))
    session.add(Zone(name="连云港市行政区域", org_id=city, kind="allowed_area",
                     geometry={"type": "Polygon", "coordinates": [[[118.0, 34.0], [119.233, 34.0], [119.233, 35.2],
                                                                   [118.0, 35.2], [118.0, 34.0]]]}))
    vid = ids["vehicle"]
    start = (119.2055, 34.6055)
    moments: list[tuple[datetime, float, float]] = []
    for i in range(40):  # parked 20 min before
        moments.append((EVENING - timedelta(minutes=20) + timedelta(seconds=30 * i), *start))
    for i in range(31):  # 15 min out, bending north then east
        share = i / 30
        lon = start[0] + (VENUE[0] - start[0]) * share ** 1.4
        lat = start[1] + (VENUE[1] - start[1]) * share ** 0.7
        moments.append((EVENING + timedelta(seconds=30 * i), lon, lat))
    stop_start = EVENING + timedelta(minutes=15)
    for i in range(1, 60):  # 30 min at the venue
        moments.append((stop_start + timedelta(seconds=30 * i), VENUE[0] + 0.00002 * (i % 3), VENUE[1]))
    back = stop_start + timedelta(minutes=30)
    for i in range(1, 21):  # 10 min back toward the city
        share = i / 20
        moments.append((back + timedelta(seconds=30 * i), VENUE[0] - 0.02 * share, VENUE[1] - 0.012 * share ** 1.3))
    positions = [Position(vehicle_id=vid, ts=ts, lat=lat, lon=lon, speed_kmh=35) for ts, lon, lat in moments]
    session.add_all(positions)
    session.add(Stop(vehicle_id=vid, started_at=stop_start, ended_at=back, duration_s=1800, lat=VENUE[1],
                     lon=VENUE[0], position_count=60, first_position_id=1, last_position_id=60))
    session.flush()
    end = back + timedelta(minutes=10)
    alert = Alert(kind=OFF_HOURS, vehicle_id=vid, started_at=EVENING, ended_at=end, lat=start[1], lon=start[0],
                  rule_version="telematics-rules/4",
                  thresholds={"work_start_s": 28800, "work_end_s": 64800, "order_grace_before_s": 900,
                              "order_grace_after_s": 1800, "order_match_radius_m": 300, "order_overrun_max_s": 3600,
                              "private_use_min_s": 600},
                  evidence={"first_position_id": positions[40].id, "last_position_id": positions[-1].id,
                            "position_count": 110, "uncovered_s": 3300.0})
    session.add(alert)
    session.flush()
    admin = session.get(User, ids["user_admin"])
    review_alert(session, alert, admin, AlertState.under_review)
    review_alert(session, alert, admin, AlertState.confirmed, REASON)
    session.commit()
    return alert.id


def _pdf(session: Session, tmp_path: Path, language: str = "zh") -> tuple[Path, int]:
    w = build_world(session)
    alert_id = _evening_drive(session, w.ids)
    scope = q.resolve_scope(session, q.ExportFilters(SINCE, UNTIL, org_id=w.ids["city"]))
    built = build_bundle(session, scope, session.get(User, w.ids["user_auditor"]), tmp_path / f"b-{language}",
                         ("csv", "pdf"), tz=TZ, language=language)
    session.commit()
    check = verify_bundle(built.path)
    check_registered(session, check)
    assert check.ok, check.problems
    return built.path / "summary.pdf", alert_id


def _pages_png(pdf: Path, name: str) -> list[np.ndarray]:
    """Each page rendered at 100 dpi (saved under /tmp/shots for a look), as RGB arrays."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(str(pdf))
    pages = []
    for number in range(len(document)):
        image = document[number].render(scale=100 / 72).to_pil().convert("RGB")
        image.save(SHOTS / f"evidence_{name}_p{number + 1}.png")
        pages.append(np.asarray(image))
    document.close()
    return pages


def _map_is_drawn(page: np.ndarray) -> None:
    """The lower part of the page (the map) holds a drawing: not blank, the red alert track
    and grey context track among its pixels."""
    height = page.shape[0]
    area = page[int(height * 0.45):int(height * 0.93), int(page.shape[1] * 0.08):int(page.shape[1] * 0.92)]
    non_white = (area.min(axis=2) < 235).mean()
    assert non_white > 0.5, non_white  # the land tint fills the box
    assert area.std() > 12, area.std()
    red = ((area[..., 0] > 160) & (area[..., 1] < 90) & (area[..., 2] < 80)).sum()
    assert red > 200, red  # the alert's span (#c0392b), a few hundred pixels of line


def test_chinese_evidence_page(session, tmp_path):
    pdf, alert_id = _pdf(session, tmp_path)
    reader = PdfReader(pdf)
    assert len(reader.pages) == 2  # summary + one confirmed violation
    meta = reader.metadata
    assert meta.title == "公务用车违规证据 2026-12-01–2026-12-02 连云港市"
    assert "auditor" in meta.author and "公务用车管理平台" in meta.author
    assert "违规地图" in meta.subject
    assert meta.creation_date is not None and meta.creation_date.year >= 2026
    summary, page = reader.pages[0].extract_text(), reader.pages[1].extract_text()
    for expected in ("公务用车合规导出", "确认违规 1", "非工作时间用车 1", "Asia/Shanghai"):
        assert expected in summary, expected
    for expected in ("苏G12345", "张师傅", "非工作时间用车", "telematics-rules/4", "上班时间 08:00", "下班时间 18:00",
                     "派车前宽限 15 分钟", "确认违规", "admin", "东海县教育局", "督导检查", "市机关车队 → 东海县教育局",
                     "停1", "20:15", "轿车", "汽油", "公车平台", "连云港市", f"告警 #{alert_id}", "55 分钟",
                     "海州区某KTV", "车队停车场", "北", "公里"):
        assert expected in page, expected
    assert REASON[:12] in page.replace("\n", "")
    text = summary + page
    for raw in RAW_VALUES:
        assert raw not in text, raw
    for key in ("reviewer", "reason", "thresholds", "plate", "vehicle", "distance_km", "organisation"):
        assert key not in text, key
    pages = _pages_png(pdf, "zh")
    _map_is_drawn(pages[1])


def test_english_pdf_from_the_api(client, world, session, tmp_path):
    _evening_drive(session, world.ids)
    body = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "formats": ["pdf"], "language": "en"}
    response = client.post("/api/v1/exports", json=body, headers=world.auth("auditor"))
    assert response.status_code == 201, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        data = archive.read("summary.pdf")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    assert reader.metadata.title.startswith("Official-car violation evidence 2026-12-01–2026-12-02 ")
    page = reader.pages[1].extract_text()
    for expected in ("Off-hours use", "Driver on duty", "张师傅", "Work starts 08:00", "Confirmed", "sedan",
                     "pool car", "苏G12345", "Thresholds"):
        assert expected in page, expected
    assert "违规类型" not in page and OFF_HOURS not in page
    saved = tmp_path / "en.pdf"
    saved.write_bytes(data)
    _map_is_drawn(_pages_png(saved, "en")[1])

    wrong = client.post("/api/v1/exports", json=body | {"language": "fr"}, headers=world.auth("auditor"))
    assert wrong.status_code == 422 and "language" in wrong.text


def test_no_cjk_font_is_a_clear_error_for_chinese_only(session, tmp_path, monkeypatch):
    monkeypatch.setattr(evidence_font, "CJK_FONT_CANDIDATES", (("/nonexistent/font.ttc", "None"),))
    w = build_world(session)
    _evening_drive(session, w.ids)
    scope = q.resolve_scope(session, q.ExportFilters(SINCE, UNTIL))
    with pytest.raises(EvidenceFontError, match="fonts-noto-cjk"):
        build_bundle(session, scope, "cli", tmp_path / "zh", ("pdf",), tz=TZ)
    session.rollback()
    built = build_bundle(session, scope, "cli", tmp_path / "en", ("pdf",), tz=TZ, language="en")
    assert len(PdfReader(built.path / "summary.pdf").pages) == 2


def test_cli_language_option(session, tmp_path):
    from fleet.cli import _load_plugins
    from fleet.cli import app as cli_app

    w = build_world(session)
    _evening_drive(session, w.ids)
    _load_plugins()
    runner = CliRunner()
    out = tmp_path / "cli-en"
    made = runner.invoke(cli_app, ["audit", "export", str(out), "--since", "2026-12-01", "--until", "2026-12-02",
                                   "--formats", "pdf", "--language", "en"])
    assert made.exit_code == 0, made.output
    assert "Off-hours use" in PdfReader(out / "summary.pdf").pages[1].extract_text()
    bad = runner.invoke(cli_app, ["audit", "export", str(tmp_path / "x"), "--since", "2026-12-01", "--until",
                                  "2026-12-02", "--language", "de"])
    assert bad.exit_code != 0 and "--language" in bad.output


def test_map_helpers():
    assert [nice_length(v) for v in (0.37, 1.0, 3.9, 7.2, 180)] == [0.2, 1, 2, 5, 100]
    start = datetime(2026, 12, 1, 12, 0, tzinfo=TZ)
    assert time_step_min(start, start + timedelta(minutes=40)) == 5
    assert time_step_min(start, start + timedelta(hours=10)) == 60
    track = [TrackPoint(start, 119.0, 34.0), TrackPoint(start + timedelta(minutes=10), 119.1, 34.2)]
    assert position_at(track, start + timedelta(minutes=5)) == pytest.approx((119.05, 34.1))
    assert position_at(track, start + timedelta(minutes=11)) is None


def test_sparse_alert_page_says_what_is_missing(session, tmp_path):
    from tests.builders import vehicle

    w = build_world(session)
    car = vehicle(session, "苏G00002", "LSVAA4180E2000002", w.ids["county"])
    alert = Alert(kind="device.offline", vehicle_id=car.id, started_at=EVENING, ended_at=EVENING + timedelta(hours=3),
                  rule_version="telematics-rules/4", thresholds={"offline_after_s": 1800},
                  evidence={"silent_s": 10800.0})
    session.add(alert)
    session.flush()
    auditor = session.get(User, w.ids["user_auditor"])
    review_alert(session, alert, auditor, AlertState.under_review)
    review_alert(session, alert, auditor, AlertState.confirmed)
    session.commit()
    scope = q.resolve_scope(session, q.ExportFilters(SINCE, UNTIL, vehicle_id=car.id))
    built = build_bundle(session, scope, auditor, tmp_path / "sparse", ("pdf",), tz=TZ)
    reader = PdfReader(built.path / "summary.pdf")
    assert reader.metadata.title == "公务用车违规证据 2026-12-01–2026-12-02 苏G00002"
    page = reader.pages[1].extract_text()
    for expected in ("设备离线", "当班驾驶员", "无记录", "当日无派车记录", "该时段无定位记录", "该车未设定点停放点",
                     "静默时长 3 小时", "离线判定时长 30 分钟", "未填写", "东海县"):
        assert expected in page, expected
    _pages_png(built.path / "summary.pdf", "sparse")


def test_api_without_cjk_font_answers_503_and_records_nothing(client, world, session, monkeypatch):
    monkeypatch.setattr(evidence_font, "CJK_FONT_CANDIDATES", (("/nonexistent/font.ttc", "None"),))
    _evening_drive(session, world.ids)
    body = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "formats": ["csv", "pdf"]}
    response = client.post("/api/v1/exports", json=body, headers=world.auth("auditor"))
    assert response.status_code == 503 and "fonts-noto-cjk" in response.json()["detail"]
    assert client.get("/api/v1/exports", headers=world.auth("auditor")).json()["total"] == 0
    english = client.post("/api/v1/exports", json=body | {"language": "en"}, headers=world.auth("auditor"))
    assert english.status_code == 201, english.text
