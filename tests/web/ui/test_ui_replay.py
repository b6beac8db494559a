"""The console's track history and replay in a real browser (headless Chromium): a
dispatcher opens a car, picks yesterday, sees its trip and stop listed, plays the day (the
marker moves, the time label advances, the speed changes), in Chinese and in English; an
alert's span opens in the same player; a car-day of 8,640 fixes (one every 10 s) is drawn
in well under two seconds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from web_ui_world import log_in  # type: ignore[import-not-found]

from fleet.models import Alert, Position, Trip
from fleet.models.telemetry import Stop
from tests.builders import SHANGHAI, local_time, vehicle

pytestmark = pytest.mark.slow
SHOTS = Path("/tmp/shots")
#: The world's depot (市机关车队), where yesterday's stop is.
DEPOT = (34.60, 119.20)
FAR = (34.65, 119.26)
FIX_S = 10


def _yesterday() -> date:
    return datetime.now(SHANGHAI).date() - timedelta(days=1)


def _leg(vehicle_id: int, start: datetime, frm: tuple[float, float], to: tuple[float, float], minutes: int,
         speed_kmh: float) -> list[Position]:
    """Fixes every FIX_S seconds for ``minutes`` from ``frm`` to ``to`` (standing still when equal)."""
    n = minutes * 60 // FIX_S
    return [Position(vehicle_id=vehicle_id, ts=start + timedelta(seconds=FIX_S * i),
                     lat=frm[0] + (to[0] - frm[0]) * i / n, lon=frm[1] + (to[1] - frm[1]) * i / n,
                     speed_kmh=speed_kmh, ignition=speed_kmh > 0) for i in range(n)]


def _yesterdays_drive(session: Session, w) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The world's own car yesterday: 08:00-08:30 into the depot (a Trip covering the
    world's assignment), 08:30-08:50 standing at the depot (a Stop), 08:50-09:20 out again;
    and an alert 08:10-08:20."""
    car = w.ids["today_vehicle"]
    day = _yesterday()
    t0 = local_time(day, 8, 0)
    drive_in = _leg(car, t0, FAR, DEPOT, 30, 42.0)
    stand = _leg(car, t0 + timedelta(minutes=30), DEPOT, DEPOT, 20, 0.0)
    drive_out = _leg(car, t0 + timedelta(minutes=50), DEPOT, FAR, 30, 55.0)
    session.add_all(drive_in + stand + drive_out)
    session.flush()
    session.add(Trip(vehicle_id=car, assignment_id=w.ids["today_assignment"], driver_id=w.ids["driver"], started_at=t0,
                     ended_at=t0 + timedelta(minutes=30), distance_km=8.4, first_position_id=drive_in[0].id,
                     last_position_id=drive_in[-1].id))
    session.add(Stop(vehicle_id=car, started_at=t0 + timedelta(minutes=30), ended_at=t0 + timedelta(minutes=50),
                     duration_s=1200, lat=DEPOT[0], lon=DEPOT[1], position_count=len(stand),
                     first_position_id=stand[0].id, last_position_id=stand[-1].id))
    alert = Alert(kind="speeding", vehicle_id=car, started_at=t0 + timedelta(minutes=10),
                  ended_at=t0 + timedelta(minutes=20), lat=34.62, lon=119.23)
    session.add(alert)
    session.commit()
    return {"car": car, "day": day.isoformat(), "alert": alert.id, "fixes": len(drive_in + stand + drive_out)}


def _a_full_day(session: Session, w) -> int:  # type: ignore[no-untyped-def]
    """A second car with 8,640 fixes yesterday (a car-day at 10 s), driving loops about town."""
    car = vehicle(session, "苏G86400", "LSVAA4180E3086400", w.ids["city"])
    start = local_time(_yesterday(), 0, 0)
    session.add_all(Position(vehicle_id=car.id, ts=start + timedelta(seconds=FIX_S * i),
                             lat=34.6 + 0.03 * ((i % 720) / 720), lon=119.2 + 0.0001 * (i // 30),
                             speed_kmh=float(20 + (i % 50)), ignition=True) for i in range(8640))
    session.commit()
    return car.id


def _marker(page) -> list[float]:  # type: ignore[no-untyped-def]
    return page.evaluate("(() => { const p = window.fleetConsole.replay.marker.getLatLng(); return [p.lat, p.lng]; })()")


def _player_ms(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.get_attribute("#replay-time", "data-ms"))


def _log_in(page, server) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    log_in(page, server, "dispatcher")


def _finish(page, shot: str) -> None:  # type: ignore[no-untyped-def]
    """The last screenshot of a test; the page threw nothing on the way."""
    page.screenshot(path=str(SHOTS / f"{shot}.png"))
    assert not page.js_errors


def _open_history(page, vehicle_id: int, day: str) -> None:  # type: ignore[no-untyped-def]
    """From the car list: the car's card, its history action, then the day picked."""
    page.click(f"#car-list li[data-vehicle-id='{vehicle_id}']")
    page.click("#card-replay")
    page.wait_for_selector("#replay")
    assert page.input_value("#replay-day") == datetime.now(SHANGHAI).date().isoformat()  # today first
    page.fill("#replay-day", day)
    page.click("#replay-load")


def test_replay_yesterday_in_both_languages(page, live_server, ui_world, session: Session):
    world = _yesterdays_drive(session, ui_world)
    _log_in(page, live_server)
    _open_history(page, world["car"], world["day"])  # type: ignore[arg-type]
    page.wait_for_selector("#replay-player:not([hidden])")
    assert page.inner_text("#replay-note") == f"08:00:00–09:19:50 共 {world['fixes']} 个定位点"
    trip = page.inner_text("#replay-trips li")
    assert trip.replace("\n", " ").split() == ["08:00:00–08:30:00", "·", "8.4", "km", "·", "30", "分钟", "·",
                                               "派车单", f"#{ui_world.ids['today_assignment']}"], trip
    stop = page.inner_text("#replay-stops li")
    assert "08:30:00–08:50:00" in stop and "20 分钟" in stop and "市机关车队" in stop, stop
    # the player starts at the first fix; the marker stands on it
    assert page.inner_text("#replay-time").startswith("08:00:00")
    assert _marker(page) == pytest.approx(list(FAR), abs=1e-6)
    assert page.locator("#replay-chart svg path").count() == 1
    page.screenshot(path=str(SHOTS / "replay_loaded_zh.png"))

    # clicking the stop fits the map to it and puts the player at its start
    page.click("#replay-stops li")
    assert page.inner_text("#replay-time").startswith("08:30:00")
    centre = page.evaluate("(() => { const c = window.fleetConsole.map.getCenter(); return [c.lat, c.lng]; })()")
    assert centre == pytest.approx(list(DEPOT), abs=1e-3)
    # the trip: the player goes to its start, the map holds the whole leg
    page.click("#replay-trips li")
    assert page.inner_text("#replay-time").startswith("08:00:00")
    assert page.evaluate(f"window.fleetConsole.map.getBounds().contains([{FAR[0]}, {FAR[1]}]) && "
                         f"window.fleetConsole.map.getBounds().contains([{DEPOT[0]}, {DEPOT[1]}])")

    # play at 60x: the marker moves and the time advances about a minute a second
    before_ms, before_at = _player_ms(page), _marker(page)
    page.select_option("#replay-speed", "60")
    page.click("#replay-play")
    assert page.inner_text("#replay-play") == "暂停"
    page.wait_for_timeout(1500)
    page.click("#replay-play")
    assert page.inner_text("#replay-play") == "播放"
    played_s = (_player_ms(page) - before_ms) / 1000
    assert 45 <= played_s <= 200, played_s
    assert _marker(page) != pytest.approx(before_at, abs=1e-7)
    page.screenshot(path=str(SHOTS / "replay_playing_zh.png"))
    # at 300x the same wall time plays five times as much
    page.select_option("#replay-speed", "300")
    assert page.get_attribute("#replay", "data-speed") == "300"
    mark = _player_ms(page)
    page.click("#replay-play")
    page.wait_for_timeout(1500)
    page.click("#replay-play")
    assert (_player_ms(page) - mark) / 1000 >= 4 * 45
    cursor_x = float(page.get_attribute("#replay-cursor", "x1"))
    assert 0 < cursor_x < 300

    # English: the panel speaks it, the player keeps its time
    at_ms = _player_ms(page)
    page.click("#lang-switch")
    page.wait_for_selector("#replay h3:text-is('Trips')")
    assert _player_ms(page) == at_ms
    assert page.inner_text("#replay-play") == "Play"
    trip = page.inner_text("#replay-trips li")
    assert "30 min" in trip and f"assignment #{ui_world.ids['today_assignment']}" in trip, trip
    assert "20 min" in page.inner_text("#replay-stops li")
    page.click("#replay-play")
    page.wait_for_timeout(800)
    assert page.inner_text("#replay-play") == "Pause"
    page.click("#replay-play")
    assert _player_ms(page) > at_ms
    page.screenshot(path=str(SHOTS / "replay_playing_en.png"))
    # a time range of the day: 08:40-09:00 holds the end of the stop, not the trip; an end
    # before the start is refused in words
    page.fill("#replay-from", "09:00")
    page.fill("#replay-to", "08:40")
    page.click("#replay-load")
    assert page.inner_text("#replay-note") == "The end time must be after the start time"
    page.fill("#replay-from", "08:40")
    page.fill("#replay-to", "09:00")
    page.click("#replay-load")
    page.wait_for_selector("#replay-note:has-text('120 positions, 08:40:00–08:59:50')")
    assert page.locator("#replay-stops li[data-replay-stop]").count() == 1
    assert page.locator("#replay-trips li[data-replay-trip]").count() == 0
    assert page.inner_text("#replay-time").startswith("08:40:00")
    _finish(page, "replay_range_en")


def test_an_alert_opens_in_the_player(page, live_server, ui_world, session: Session):
    world = _yesterdays_drive(session, ui_world)
    _log_in(page, live_server)
    page.click(f"[data-alert-id='{world['alert']}']")
    page.click("#alert-replay")
    page.wait_for_selector("#replay-player:not([hidden])")
    span = page.inner_text("#replay-alert")
    assert f"告警 #{world['alert']}（超速）" in span and "08:00:00 – " in span and "08:30:00" in span, span
    assert page.inner_text("#replay-time").startswith("08:00:00")  # ten minutes before the alert
    # the span is 08:00-08:30: the drive in (180 fixes), the trip listed, the stop not yet
    assert "180" in page.inner_text("#replay-note")
    assert page.locator("#replay-trips li[data-replay-trip]").count() == 1
    assert page.locator("#replay-stops li[data-replay-stop]").count() == 0
    band = page.locator("#replay-chart .replay-alert-band")  # the alert's own 08:10-08:20 on the chart
    assert float(band.get_attribute("x")) == pytest.approx(100, abs=2)
    assert float(band.get_attribute("width")) == pytest.approx(100, abs=2)
    page.screenshot(path=str(SHOTS / "replay_alert_zh.png"))
    page.click("#lang-switch")
    page.wait_for_selector("#replay-alert:has-text('with 10 minutes either side')")
    assert "Speeding" in page.inner_text("#replay-alert")
    _finish(page, "replay_alert_en")


def test_a_car_day_of_8640_fixes_draws_fast(page, live_server, ui_world, session: Session):
    car = _a_full_day(session, ui_world)
    _log_in(page, live_server)
    _open_history(page, car, _yesterday().isoformat())
    page.wait_for_selector("#replay[data-draw-ms]", timeout=60_000)
    draw_ms = int(page.get_attribute("#replay", "data-draw-ms"))
    print(f"drawing 8,640 fixes took {draw_ms} ms")
    assert "8640" in page.inner_text("#replay-note")
    assert page.evaluate("window.fleetConsole.replay.fixes.length") == 8640
    assert page.evaluate("window.fleetConsole.replay.track.getLatLngs().length") == 8640
    assert draw_ms < 2000
    # playing moves the marker only: the track stays the one polyline drawn
    page.select_option("#replay-speed", "300")
    track = page.evaluate("L.stamp(window.fleetConsole.replay.track)")
    page.click("#replay-play")
    page.wait_for_timeout(1000)
    page.click("#replay-play")
    assert page.evaluate("L.stamp(window.fleetConsole.replay.track)") == track
    _finish(page, "replay_8640")
