"""Helpers for the browser tests on the data `fleet demo` seeds: the demo logins over HTTP,
a pickup soon today, and a request served by hand with a service-centre sedan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fleet.models import utcnow
from simulations.platform import Api
from tests.builders import SHANGHAI

#: Where the screenshots of the pages in each language are kept for review.
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
#: The city's vehicle service centre, whose pool cars and drivers serve every city agency.
SERVICE_CENTRE = "320700-A01"


def demo_password(role: str) -> str:
    return f"{role}-demo-2021"


@contextmanager
def demo_api(url: str, role: str) -> Iterator[Api]:
    """The API as the demo login of ``role``."""
    api = Api(url, role, demo_password(role))
    try:
        yield api
    finally:
        api.close()


def ok(answer: Any, status: int = 200) -> Any:
    """The JSON of an answer that must have ``status``."""
    assert answer.status_code == status, answer.text
    return answer.json()


def pickup_soon() -> datetime:
    """Ten minutes from now, but today (Asia/Shanghai)."""
    last_minute = datetime.now(SHANGHAI).replace(hour=23, minute=59, second=0, microsecond=0)
    return min(utcnow() + timedelta(minutes=10), last_minute)


def serve_by_hand(url: str, request_id: int, driver_id: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Approve a submitted request and assign it to an available service-centre sedan and
    one of the centre's drivers (``driver_id``, else one that is not the demo driver), as a
    dispatcher would by hand. Returns the assignment and the car."""
    with demo_api(url, "admin") as admin, demo_api(url, "dispatcher") as dispatcher, \
            demo_api(url, "approver") as approver, demo_api(url, "driver") as demo_driver:
        request = ok(approver.post(f"/trip-requests/{request_id}/transitions", {"to": "approved"}))
        centre = next(o for o in admin.all("/organisations") if o["code"] == SERVICE_CENTRE)
        car = next(v for v in admin.all("/vehicles", org_id=centre["id"], vehicle_class="sedan", ownership="pool")
                   if v["status"] == "available")
        if driver_id is None:
            demo_user = ok(demo_driver.get("/auth/me"))
            driver_id = next(d["id"] for d in admin.all("/drivers", org_id=centre["id"])
                             if d.get("user_id") != demo_user["id"])
        pickup = datetime.fromisoformat(request["pickup_earliest"])
        assignment = ok(dispatcher.post("/assignments", {
            "request_id": request_id, "kind": "pool", "vehicle_id": car["id"], "driver_id": driver_id,
            "planned_pickup": pickup.isoformat(), "planned_dropoff": (pickup + timedelta(hours=1)).isoformat(),
            "cost_cny": 95}), 201)
        for step in ("planned", "assigned"):
            ok(dispatcher.post(f"/trip-requests/{request_id}/transitions", {"to": step}))
        return assignment, car
