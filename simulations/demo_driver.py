"""The demo's driver login has trips today: after the day is planned and accepted, the day's
trips of one pool car are given to the driver behind the ``driver`` login, as a dispatcher
would reassign them (``PATCH /api/v1/assignments/{id}`` with an override reason).

The car keeps its planned route (the simulation drives it as planned); only the driver
changes, so ``/driver`` shows the demo user that car's trips in pickup order, asked for by
whichever agencies the plan served with it. The car chosen is the one with the most trips
inside the demo driver's shift; a trip the override check still refuses (at night, say, when
only night-duty cars drive) is given with ``force`` and the same reason, as a dispatcher
would, and shows as a forced override."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from typing import Any

import structlog

from simulations.platform import Api, PlatformError
from simulations.scenario import TZ

log = structlog.get_logger(__name__)

DRIVER = ("driver", "driver-demo-2021")
#: Car classes an ordinary (C1) licence drives.
C1_CLASSES = frozenset({"sedan", "suv", "mpv"})
#: Why the trips moved, as the audit log and the console show it.
OVERRIDE_REASON = "演示：交由演示驾驶员执行当日行程"


def _demo_driver(admin: Api, base_url: str) -> dict[str, Any] | None:
    """The driver record of the ``driver`` login, or None when the demo has none (or it has
    trips today already)."""
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
    return next((d for d in admin.all("/drivers") if d.get("user_id") == user_id), None)


def _in_shift(assignment: dict[str, Any], driver: dict[str, Any]) -> bool:
    """Whether the assignment's pickup and drop-off fall inside the driver's local shift."""
    start, end = time.fromisoformat(driver["shift_start"]), time.fromisoformat(driver["shift_end"])
    moments = (datetime.fromisoformat(assignment[k].replace("Z", "+00:00")).astimezone(TZ).time()
               for k in ("planned_pickup", "planned_dropoff"))
    return all(start <= moment <= end for moment in moments)


def give_demo_driver_trips(admin: Api, dispatcher: Api, base_url: str, assignments: list[dict[str, Any]],
                           classes: dict[int, str]) -> int:
    """Give the demo driver the day's trips of the pool car (of a class in ``classes``, a
    vehicle id -> class map) that serves the most of them; returns how many were given (0
    when the driver already has trips today or the plan has no pool trips)."""
    driver = _demo_driver(admin, base_url)
    if driver is None:
        return 0
    driver_id = driver["id"]
    by_car: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for a in assignments:
        if a["kind"] == "pool" and classes.get(a.get("vehicle_id") or 0) in C1_CLASSES:
            by_car[a["vehicle_id"]].append(a)
    if not by_car:
        return 0
    trips = max(by_car.values(), key=lambda car: (sum(_in_shift(x, driver) for x in car), len(car),
                                                  -min(x["id"] for x in car)))
    for a in trips:
        body = {"driver_id": driver_id, "override_reason": OVERRIDE_REASON}
        answer = dispatcher.http.patch(f"/assignments/{a['id']}", json=body)
        if answer.status_code == 422:  # outside the demo driver's shift: forced, with the reason
            answer = dispatcher.http.patch(f"/assignments/{a['id']}",
                                           json=body | {"force": True, "force_reason": OVERRIDE_REASON})
        if answer.status_code != 200:
            raise PlatformError(f"giving assignment {a['id']} to the demo driver: "
                                f"{answer.status_code} {answer.text[:300]}")
        a["driver_id"] = driver_id
    log.info("demo_driver_trips", driver_id=driver_id, vehicle_id=trips[0]["vehicle_id"], trips=len(trips))
    return len(trips)
