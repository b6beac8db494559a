"""`fleet demo` is alive whenever it starts: started at 02:30 local time (every process on a
wall clock shifted by libfaketime), a car moves within 60 s of the console answering, every
demo login has something to do, and a restart on the same day files nothing again; and the
seeded fleet's night-duty drivers serve the duty trips a night starts with."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.builders import free_port
from tests.simulations.demo_process import LIBFAKETIME, Demo, running_demo

pytestmark = pytest.mark.slow  # seeds, serves and plays a city in a subprocess, twice

TZ = ZoneInfo("Asia/Shanghai")
MOVE_WITHIN_S = 60.0
#: A restarted demo reads its day back and plays on; its first fixes come within this, seconds.
RESTART_PLAY_WITHIN_S = 120.0


def _night_offset_s() -> int:
    """Seconds from now back to the latest 02:30 local time (a negative clock shift)."""
    now = datetime.now(TZ)
    night = now.replace(hour=2, minute=30, second=0, microsecond=0)
    if night > now:
        night -= timedelta(days=1)
    return int((night - now).total_seconds())


def _moving_cars(demo: Demo, headers: dict[str, str], since: datetime) -> set[int]:
    """Cars with a stored fix over 5 km/h since ``since``."""
    moving: set[int] = set()
    offset = 0
    while True:
        page = httpx.get(demo.base + "/api/v1/positions", headers=headers, timeout=30,
                         params={"since": since.isoformat(), "limit": 200, "offset": offset}).json()
        moving |= {p["vehicle_id"] for p in page["items"] if p["speed_kmh"] > 5}
        offset += 200
        if offset >= page["total"]:
            return moving


def _states(demo: Demo, headers: dict[str, str]) -> dict[str, int]:
    page = httpx.get(demo.base + "/api/v1/trip-requests", headers=headers, params={"limit": 200}).json()
    counts: dict[str, int] = {}
    for request in page["items"]:
        counts[request["state"]] = counts.get(request["state"], 0) + 1
    return counts


@pytest.mark.skipif(not LIBFAKETIME.exists(), reason="needs libfaketime (Debian package faketime)")
def test_the_demo_started_at_night_moves_at_once_and_restarts_without_filing_again(tmp_path):
    offset_s, port, broker_port = _night_offset_s(), free_port(), free_port()
    with running_demo(tmp_path, port, broker_port, offset_s) as demo:
        demo.wait_ready()
        ready_s = time.monotonic()
        admin = demo.token("admin")
        clock = httpx.get(demo.base + "/livez").headers["date"]
        started = datetime.strptime(clock, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=UTC)
        assert started.astimezone(TZ).hour in (2, 3), f"the demo's clock reads {started.astimezone(TZ)}"
        moved_s = None
        while moved_s is None and time.monotonic() - ready_s < MOVE_WITHIN_S:
            assert demo.process.poll() is None, demo.output()
            if _moving_cars(demo, admin, started):
                moved_s = time.monotonic() - ready_s
            time.sleep(2)
        assert moved_s is not None, f"no car moved within {MOVE_WITHIN_S:.0f} s of the console answering"
        # Every demo login has something to do.
        requested = _states(demo, demo.token("requester"))
        assert {"draft", "submitted", "rejected", "cancelled"} <= set(requested), requested
        assert requested.get("submitted", 0) >= 2
        pending = httpx.get(demo.base + "/api/v1/trip-requests/pending-approval", headers=demo.token("approver"),
                            params={"limit": 50}).json()
        assert pending["total"] >= 2
        driver_day = httpx.get(demo.base + "/api/v1/driver/today", headers=demo.token("driver")).json()
        assert driver_day, "the demo driver has no trips today"
        filed = httpx.get(demo.base + "/api/v1/trip-requests", headers=admin, params={"limit": 1}).json()["total"]
        plans = httpx.get(demo.base + "/api/v1/dispatch/plans", headers=admin).json()["total"]
    with running_demo(tmp_path, port, broker_port, offset_s) as again:
        again.wait_ready()
        admin = again.token("admin")
        deadline = time.monotonic() + RESTART_PLAY_WITHIN_S
        restarted = (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat()
        while not httpx.get(again.base + "/api/v1/positions", headers=admin,  # it has filed and planned what it would
                            params={"since": restarted, "limit": 1}).json()["total"]:
            assert again.process.poll() is None, again.output()
            assert time.monotonic() < deadline, f"the restarted demo sent no fix within {RESTART_PLAY_WITHIN_S:.0f} s"
            time.sleep(2)
        assert httpx.get(again.base + "/api/v1/trip-requests", headers=admin, params={"limit": 1}).json()["total"] == filed
        assert httpx.get(again.base + "/api/v1/dispatch/plans", headers=admin).json()["total"] == plans


def test_the_seeded_fleet_has_night_duty_to_serve_town_trips_at_half_past_two(tmp_path, monkeypatch):
    """The seed's night-duty drivers (00:00-08:00) make town trips at 02:30-03:00 feasible: the
    day planner serves every one of them with a pool car, none is left as outside every shift."""
    from sqlmodel import Session, select

    from dispatch.stored_plans import plan_day
    from fleet.db import make_engine, upgrade
    from fleet.models import Depot, Organisation, TripRequest, User
    from fleet.models.common import RequestState
    from fleet.seed import seed_database
    from fleet.settings import get_settings

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("FLEET_DATABASE_URL", url)
    get_settings.cache_clear()
    upgrade(url)
    seed_database(url)
    night = datetime.now(TZ).replace(hour=2, minute=30, second=0, microsecond=0) + timedelta(days=2)
    with Session(make_engine(url)) as session:
        requester = session.exec(select(User).where(User.username == "requester")).one()
        city = session.exec(select(Organisation).where(Organisation.code == "320700")).one()
        service_centre = session.exec(select(Organisation).where(Organisation.code == "320700-A01")).one()
        centre = session.exec(select(Depot).where(Depot.org_id == service_centre.id)).first()
        assert centre is not None
        for i in range(8):
            pickup = night + timedelta(minutes=4 * i)
            session.add(TripRequest(
                agency_id=requester.org_id, requester_id=requester.id, purpose="夜间值班", passengers=2,
                origin_lat=centre.lat + 0.004 * i, origin_lon=centre.lon + 0.006, origin_address="市级机关",
                destination_lat=centre.lat - 0.02, destination_lon=centre.lon + 0.02 - 0.002 * i,
                destination_address="城区", pickup_earliest=pickup.astimezone(UTC),
                pickup_latest=(pickup + timedelta(minutes=15)).astimezone(UTC), state=RequestState.approved))
        session.commit()
        admin = session.exec(select(User).where(User.username == "admin")).one()
        plan, _ = plan_day(session, night.date(), city.id, admin, time_limit_s=3.0)
        session.commit()
        assert plan.unserved == []
        assert plan.pool_count == 8
