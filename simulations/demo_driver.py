"""The demo's driver login has trips today: after the day is planned and accepted, the day's
trips of one pool car are given to the driver behind the ``driver`` login, as a dispatcher
would reassign them (``PATCH /api/v1/assignments/{id}`` with an override reason).

The car keeps its planned route (the simulation drives it as planned); only the driver
changes, so ``/driver`` shows the demo user that car's trips in pickup order, asked for by
whichever agencies the plan served with it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import structlog

from simulations.platform import Api, PlatformError

log = structlog.get_logger(__name__)

DRIVER = ("driver", "driver-demo-2021")
#: Car classes an ordinary (C1) licence drives.
C1_CLASSES = frozenset({"sedan", "suv", "mpv"})
#: Why the trips moved, as the audit log and the console show it.
OVERRIDE_REASON = "演示：交由演示驾驶员执行当日行程"


def _demo_driver_id(admin: Api, base_url: str) -> int | None:
    """The driver record of the ``driver`` login, or None when the demo has none."""
    login = Api(base_url, *DRIVER)
    try:
        me = login.get("/auth/me")
        if me.status_code != 200:
            return None
        today = login.get("/driver/today")
        if today.status_code == 200 and today.json():
            return None  # already has trips today: nothing to give
    finally:
        login.close()
    user_id = me.json()["id"]
    return next((d["id"] for d in admin.all("/drivers") if d.get("user_id") == user_id), None)


def give_demo_driver_trips(admin: Api, dispatcher: Api, base_url: str, assignments: list[dict[str, Any]],
                           classes: dict[int, str]) -> int:
    """Give the demo driver the day's trips of the pool car (of a class in ``classes``, a
    vehicle id -> class map) that serves the most of them; returns how many were given (0
    when the driver already has trips today or the plan has no pool trips)."""
    driver_id = _demo_driver_id(admin, base_url)
    if driver_id is None:
        return 0
    by_car: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in assignments:
        if a["kind"] == "pool" and classes.get(a.get("vehicle_id") or 0) in C1_CLASSES:
            by_car[a["vehicle_id"]].append(a)
    if not by_car:
        return 0
    trips = max(by_car.values(), key=lambda car: (len(car), -min(x["id"] for x in car)))
    for a in trips:
        answer = dispatcher.http.patch(f"/assignments/{a['id']}",
                                       json={"driver_id": driver_id, "override_reason": OVERRIDE_REASON})
        if answer.status_code != 200:
            raise PlatformError(f"giving assignment {a['id']} to the demo driver: "
                                f"{answer.status_code} {answer.text[:300]}")
        a["driver_id"] = driver_id
    log.info("demo_driver_trips", driver_id=driver_id, vehicle_id=trips[0]["vehicle_id"], trips=len(trips))
    return len(trips)
