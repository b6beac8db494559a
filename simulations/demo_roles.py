"""Something to do for every demo login on a live day, besides the dispatcher's plan and the
driver's trips (``simulations.demo_driver``):

* the requester (市教育局) has a request in each state: a draft, two awaiting approval (the
  approver's work), one approved (planned and assigned with the day), one rejected and one
  cancelled, each with its reason;
* the auditor has confirmed alerts to export: once the rest day's private use, which the
  terminals upload late at the start, has been judged, the dispatcher confirms it.

Both go through the public API as those users would, and both are idempotent: requests are
kept in the live day's record by key, and only open alerts are reviewed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import numpy as np
import structlog

from fleet.alert_kinds import NO_ORDER
from simulations.city import City
from simulations.day_record import DayRecord
from simulations.demand import RequestSpec
from simulations.misbehaviour import Incident
from simulations.platform import Api, PlatformError

log = structlog.get_logger(__name__)

REQUESTER = ("requester", "requester-demo-2021")
#: (key, purpose, destination, pickup minutes after the start, steps after creation, reason)
EXAMPLES: tuple[tuple[str, str, str, int, tuple[str, ...], str], ...] = (
    ("demo-draft", "赴市档案馆查阅资料", "市档案馆", 150, (), ""),
    ("demo-pending-1", "赴市第一中学听课", "市第一中学", 120, ("submitted",), ""),
    ("demo-pending-2", "检查市体育中心场馆", "市体育中心", 180, ("submitted",), ""),
    ("demo-approved", "赴市教研室交流", "市教研室", 45, ("submitted", "approved"), ""),
    ("demo-rejected", "赴外地考察学习", "外地", 240, ("submitted", "rejected"), "可改用视频会议，不予派车"),
    ("demo-cancelled", "送材料至市政府", "市政府", 90, ("submitted", "cancelled"), "材料改为电子报送"),
)
#: How long the dispatcher waits for the rest day's alerts before giving up, seconds.
CONFIRM_WAIT_S = 900.0
CONFIRM_POLL_S = 15.0
CONFIRM_REASON = "节假日公车私用，经核实属实（演示数据）"


def file_requester_examples(base_url: str, approver: Api, city: City, start: datetime,
                            record: DayRecord | None) -> dict[int, RequestSpec]:
    """File the requester's examples (those the record does not hold yet); platform id -> spec
    of the approved one, which the day's plan serves."""
    requester = Api(base_url, *REQUESTER)
    rng = np.random.default_rng(int(start.timestamp()))
    served: dict[int, RequestSpec] = {}
    try:
        me = requester.get("/auth/me").raise_for_status().json()
        agency = me["org_id"]
        origin = city.offices[agency]
        for key, purpose, place, minutes, steps, reason in EXAMPLES:
            destination = city.spot_near(origin, rng, 2_000, 6_000, tries=60) or origin
            spec = RequestSpec(key, agency, purpose, 2, None, origin, destination,
                               start + timedelta(minutes=minutes), "local", city.organisations[agency].name, place)
            request_id = record.requests.get(key) if record else None
            if request_id is None:
                request_id = _file(requester, approver, spec, steps, reason)
                if record is not None:
                    record.filed(key, request_id)
            if "approved" in steps:
                served[request_id] = spec
    finally:
        requester.close()
    return served


def _file(requester: Api, approver: Api, spec: RequestSpec, steps: tuple[str, ...], reason: str) -> int:
    answer = requester.post("/trip-requests", spec.as_api())
    if answer.status_code != 201:
        raise PlatformError(f"filing the requester's {spec.key}: {answer.status_code} {answer.text[:300]}")
    request_id = int(answer.json()["id"])
    for step in steps:
        mover = approver if step in ("approved", "rejected") else requester
        body = {"to": step, **({"reason": reason} if reason else {})}
        moved = mover.post(f"/trip-requests/{request_id}/transitions", body)
        if moved.status_code != 200:
            raise PlatformError(f"the requester's {spec.key} to {step}: {moved.status_code} {moved.text[:300]}")
    return request_id


def confirm_rest_day_alerts(base_url: str, reviewer: tuple[str, str], incidents: list[Incident],
                            stop: threading.Event) -> threading.Thread:
    """In the background, confirm the no-order alerts of the rest day's planted private use
    once they arrive (the auditor's confirmed alerts); returns the started thread."""
    wanted = [i for i in incidents if i.behaviour == "holiday_use"]

    def run() -> None:
        api = Api(base_url, *reviewer)
        deadline = datetime.now().timestamp() + CONFIRM_WAIT_S
        left = list(wanted)
        try:
            while left and not stop.is_set() and datetime.now().timestamp() < deadline:
                confirmed = _confirm(api, left)
                if confirmed:
                    log.info("demo_alerts_confirmed", alerts=sorted(confirmed.values()))
                    left = [i for i in left if i.vehicle_id not in confirmed]
                stop.wait(CONFIRM_POLL_S)
        except PlatformError as exc:
            log.warning("demo_alerts_not_confirmed", error=str(exc))
        finally:
            api.close()

    thread = threading.Thread(target=run, name="demo-confirm-alerts", daemon=True)
    thread.start()
    return thread


def _confirm(api: Api, incidents: list[Incident]) -> dict[int, int]:
    """Confirm the open no-order alerts that fall on the incidents; vehicle id -> alert id."""
    lo = min(i.start_s for i in incidents) - 3600
    hi = max(i.end_s for i in incidents) + 3600
    alerts = api.all("/alerts", kind=NO_ORDER, state="open",
                     since=datetime.fromtimestamp(lo).astimezone().isoformat(),
                     until=datetime.fromtimestamp(hi).astimezone().isoformat())
    done: dict[int, int] = {}
    for alert in alerts:
        at = datetime.fromisoformat(alert["started_at"].replace("Z", "+00:00")).timestamp()
        if not any(i.vehicle_id == alert["vehicle_id"] and i.start_s - 600 <= at <= i.end_s for i in incidents):
            continue
        for body in ({"to": "under_review"}, {"to": "confirmed", "reason": CONFIRM_REASON}):
            answer = api.post(f"/alerts/{alert['id']}/review", body)
            if answer.status_code != 200:
                raise PlatformError(f"reviewing alert {alert['id']}: {answer.status_code} {answer.text[:300]}")
        done[int(alert["vehicle_id"])] = int(alert["id"])
    return done
