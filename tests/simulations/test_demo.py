"""`fleet demo` end to end in a subprocess: it seeds, starts its own broker, serves the API
and offline docs over the seeded fleet on embedded defaults, and plays today's city live."""

import time

import httpx
import pytest

from tests.simulations.demo_process import running_demo

pytestmark = pytest.mark.slow  # seeds, serves and plays a city in a subprocess


def test_fleet_demo_serves_docs_and_the_seeded_fleet(tmp_path):
    with running_demo(tmp_path) as demo:
        base = demo.base
        ready = demo.wait_ready()
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        assert (tmp_path / "data" / "fleet.db").exists()
        assert httpx.get(base + "/docs").status_code == 200
        token = httpx.post(base + "/api/v1/auth/token",
                           data={"username": "admin", "password": "admin-demo-2021"}).json()["access_token"]
        vehicles = httpx.get(base + "/api/v1/vehicles", headers={"Authorization": f"Bearer {token}"}).json()
        assert vehicles["total"] > 500
        orgs = httpx.get(base + "/api/v1/organisations", params={"level": "county"},
                         headers={"Authorization": f"Bearer {token}"}).json()
        assert orgs["total"] == 6
        # The live city: today's cars report through the broker into the database.
        deadline = time.monotonic() + 120
        positions = 0
        while positions == 0 and time.monotonic() < deadline and demo.process.poll() is None:
            time.sleep(2)
            positions = httpx.get(base + "/api/v1/positions", params={"limit": 1},
                                  headers={"Authorization": f"Bearer {token}"}).json()["total"]
        assert positions > 0
        # The demo driver has today's trips of one pool car, in pickup order (the day was planned
        # before the cars started reporting).
        pool_trips = httpx.get(base + "/api/v1/assignments", params={"kind": "pool", "limit": 1},
                               headers={"Authorization": f"Bearer {token}"}).json()["total"]
        driver = httpx.post(base + "/api/v1/auth/token",
                            data={"username": "driver", "password": "driver-demo-2021"}).json()["access_token"]
        day = httpx.get(base + "/api/v1/driver/today", headers={"Authorization": f"Bearer {driver}"}).json()
        assert pool_trips == 0 or day, "the demo driver has no trips although the day has pool trips"
        pickups = [stop["assignment"]["planned_pickup"] for stop in day]
        assert pickups == sorted(pickups)
