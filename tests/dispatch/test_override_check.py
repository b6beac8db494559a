# ruff: noqa: F811 (the web fixtures are imported by name and requested as arguments)
"""A dispatcher's override of a car or driver, checked like the solver's plans: each rule
refused (422 naming the rule and the clash) and forced (200, the broken rules kept as warnings
and written to the audit log); every override prices the routes again and says why; the
dispatcher's note survives accepting a plan and planning the day again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from dispatch_service_day import DAY, add_fleet, add_request, check_stored_plan, local
from sqlmodel import Session, select

from fleet.models import Assignment, AssignmentKind, Driver, Organisation, TripRequest, Vehicle
from tests.web.conftest import app, client, world  # noqa: F401 (fixtures)

PLANS = "/api/v1/dispatch/plans"


@dataclass
class Day:
    """The dispatch world of dispatch_service_day: 苏G12345 with 张师傅 (08-18), the BEV
    苏GD10001 with 李师傅 (07-17), the MPV 苏G20002 (7 seats) with 王师傅 (09-19)."""

    w: Any
    session: Session
    drivers: dict[str, int]

    def trip(self, car: str, driver: str, pickup: datetime, dropoff: datetime | None = None,
             confirmed: bool = True, **request: Any) -> int:
        """A hand-made assignment of a new approved request; its id."""
        state = request.pop("state", "assigned")
        request_id = add_request(self.session, self.w.ids, pickup, window_min=30, state=state, **request)
        row = Assignment(request_id=request_id, kind=AssignmentKind.pool, vehicle_id=self.w.ids[car],
                         driver_id=self.drivers[driver], planned_pickup=pickup,
                         planned_dropoff=dropoff or pickup + timedelta(minutes=30), cost_cny=100,
                         org_id=self.w.ids["agency"], confirmed=confirmed)
        self.session.add(row)
        self.session.commit()
        return row.id


@pytest.fixture
def day(session, world):  # type: ignore[no-untyped-def]
    add_fleet(session, world.ids)
    drivers = {d.name: d.id for d in session.exec(select(Driver)).all()}
    return Day(world, session, drivers)


def patch(client, day: Day, assignment_id: int, **body: Any):  # type: ignore[no-untyped-def]
    body.setdefault("override_reason", "原车临时检修")
    return client.patch(f"/api/v1/assignments/{assignment_id}", json=body, headers=day.w.auth("dispatcher"))


def codes(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    return [entry["type"] for entry in response.json()["detail"]]


def refused_then_forced(client, day: Day, assignment_id: int, code: str, **body: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The override is refused by rule ``code``, then kept with force; the forced answer."""
    before = day.session.get(Assignment, assignment_id)
    day.session.refresh(before)
    kept = (before.vehicle_id, before.driver_id)
    refused = patch(client, day, assignment_id, **body)
    assert code in codes(refused), refused.text
    entry = next(e for e in refused.json()["detail"] if e["type"] == code)
    assert entry["loc"][0] == "body" and entry["loc"][1] in ("vehicle_id", "driver_id") and entry["msg"]
    day.session.refresh(before)
    assert (before.vehicle_id, before.driver_id) == kept  # nothing changed
    missing = patch(client, day, assignment_id, force=True, **body)
    assert codes(missing) == ["force_reason_missing"]
    forced = patch(client, day, assignment_id, force=True, force_reason="领导指定车辆", **body)
    assert forced.status_code == 200, forced.text
    out = forced.json()
    assert out["forced_reason"] == "领导指定车辆" and out["override_by"] == "dispatcher"
    assert code in [w["code"] for w in out["override_warnings"]]
    assert out["reason"]["code"] == "dispatcher_override"
    assert out["reason"]["params"]["forced"] is True and code in out["reason"]["params"]["broken"]
    audit = client.get("/api/v1/audit-entries", headers=day.w.auth("auditor"), params={"limit": 200}).json()
    entry = [e for e in audit["items"] if e["action"] == "assignment.override"][-1]
    assert entry["object_id"] == str(assignment_id) and entry["after"]["forced_reason"] == "领导指定车辆"
    assert code in [w["code"] for w in entry["after"]["override_warnings"]]
    return out


def test_seats(client, day):
    moved = day.trip("mpv", "王师傅", local("14:00"), passengers=6)
    out = refused_then_forced(client, day, moved, "seats", vehicle_id=day.w.ids["vehicle"])
    params = next(w["params"] for w in out["override_warnings"] if w["code"] == "seats")
    assert params == {"plate": "苏G12345", "seats": 4, "passengers": 6}


def test_vehicle_class(client, day):
    moved = day.trip("mpv", "王师傅", local("14:00"), vehicle_class="mpv")
    out = refused_then_forced(client, day, moved, "vehicle_class", vehicle_id=day.w.ids["vehicle"])
    assert out["override_warnings"][0]["params"].items() >= {"wanted": "mpv", "actual": "sedan"}.items()


def test_nev_required(client, day):
    moved = day.trip("bev", "李师傅", local("14:00"), nev_required=True)
    refused_then_forced(client, day, moved, "nev_required", vehicle_id=day.w.ids["vehicle"])


def test_shift_of_the_new_driver(client, day):
    moved = day.trip("mpv", "王师傅", local("18:00"))
    out = refused_then_forced(client, day, moved, "shift", driver_id=day.drivers["张师傅"])
    params = next(w["params"] for w in out["override_warnings"] if w["code"] == "shift")
    assert params["driver"] == "张师傅" and params["shift_end"].startswith(f"{DAY.isoformat()}T10:00")


def test_range(client, day):
    bev = day.session.get(Vehicle, day.w.ids["bev"])
    bev.battery_range_km = 100  # usable 85 km after the 15 % margin
    day.session.add(bev)
    day.session.commit()
    moved = day.trip("vehicle", "张师傅", local("10:00"), local("11:30"), north_deg=0.35)
    out = refused_then_forced(client, day, moved, "range", vehicle_id=day.w.ids["bev"])
    params = next(w["params"] for w in out["override_warnings"] if w["code"] == "range")
    assert params["plate"] == "苏GD10001" and params["usable_km"] == 85.0 and params["km"] > 85


def test_car_overlap_names_the_clash(client, day):
    there = day.trip("vehicle", "张师傅", local("10:00"), north_deg=0.05)
    moved = day.trip("bev", "李师傅", local("10:00"), north_deg=-0.05, east_deg=0.05)
    refused = patch(client, day, moved, vehicle_id=day.w.ids["vehicle"])
    clash = next(e for e in refused.json()["detail"] if e["type"] == "car_overlap")
    assert clash["loc"] == ["body", "vehicle_id"]
    assert clash["ctx"]["assignment_id"] == there and clash["ctx"]["plate"] == "苏G12345"
    assert f"assignment {there}" in clash["msg"]
    refused_then_forced(client, day, moved, "car_overlap", vehicle_id=day.w.ids["vehicle"])


def test_driver_overlap_names_the_clash(client, day):
    there = day.trip("vehicle", "张师傅", local("10:00"))
    moved = day.trip("bev", "李师傅", local("10:10"), north_deg=-0.05)
    refused = patch(client, day, moved, driver_id=day.drivers["张师傅"])
    clash = next(e for e in refused.json()["detail"] if e["type"] == "driver_overlap")
    assert clash["loc"] == ["body", "driver_id"]
    assert clash["ctx"].items() >= {"assignment_id": there, "driver": "张师傅", "plate": "苏G12345"}.items()
    refused_then_forced(client, day, moved, "driver_overlap", driver_id=day.drivers["张师傅"])


def _shared_pair(day: Day, **first: Any) -> tuple[int, int]:
    """Two trips the same way, 5 minutes apart, on different cars; times that one car keeps."""
    a = day.trip("vehicle", "张师傅", local("10:00"), local("10:30"), **first)
    b = day.trip("bev", "李师傅", local("10:05"), local("10:32"))
    return a, b


def test_a_shared_ride_that_keeps_every_rule_passes_and_is_priced_again(client, day):
    a, b = _shared_pair(day)
    done = patch(client, day, b, vehicle_id=day.w.ids["vehicle"])
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["override_warnings"] is None and out["forced_reason"] is None
    assert out["override_note"] == "原车临时检修"
    params = out["reason"]["params"]
    first = day.session.get(Assignment, a)
    day.session.refresh(first)
    assert params["shared_with"] == [first.request_id] and params["from_vehicle"] == day.w.ids["bev"]
    assert params["by"] == "dispatcher" and params["reason"] == "原车临时检修"
    # one car's route split between the two: the fixed cost is shared, both were 100 CNY
    assert first.cost_cny != 100 and out["cost_cny"] == params["added_cny"]
    assert first.cost_cny + out["cost_cny"] < 200
    assert "dispatcher override by dispatcher" in out["explanation"]


def test_exclusive(client, day):
    _, b = _shared_pair(day, exclusive=True)
    refused_then_forced(client, day, b, "exclusive", vehicle_id=day.w.ids["vehicle"])


def test_agencies_that_share_only_within(client, day):
    _, b = _shared_pair(day)
    other = day.session.get(Organisation, day.w.ids["agency"])
    other.share_within_agency = True
    day.session.add(other)
    request = day.session.get(TripRequest, day.session.get(Assignment, b).request_id)
    request.agency_id = day.w.ids["other_agency"]
    day.session.add(request)
    day.session.commit()
    refused_then_forced(client, day, b, "share_within_agency", vehicle_id=day.w.ids["vehicle"])


def test_force_reason_only_with_force_and_a_clean_override_clears_the_warnings(client, day):
    moved = day.trip("mpv", "王师傅", local("14:00"), passengers=6)
    assert codes(patch(client, day, moved, vehicle_id=day.w.ids["vehicle"], force_reason="x" * 5)) == ["force_missing"]
    forced = patch(client, day, moved, vehicle_id=day.w.ids["vehicle"], force=True, force_reason="临时调用")
    assert forced.json()["override_warnings"]
    back = patch(client, day, moved, vehicle_id=day.w.ids["mpv"], override_reason="换回七座车")
    assert back.status_code == 200, back.text
    assert back.json()["override_warnings"] is None and back.json()["forced_reason"] is None
    assert back.json()["override_note"] == "换回七座车"


def test_the_note_survives_accept_and_a_replan(client, day):
    w, session = day.w, day.session
    for k in range(3):
        add_request(session, w.ids, local("09:00") + timedelta(hours=2 * k), north_deg=0.03 * (k + 1))
    dispatcher = w.auth("dispatcher")
    body = {"service_date": DAY.isoformat(), "time_limit_s": 0.5}
    plan = client.post(PLANS, json=body, headers=dispatcher).json()
    target = next(a for a in plan["assignments"] if a["kind"] == "pool")
    other = next(v for v in (w.ids["vehicle"], w.ids["bev"], w.ids["mpv"]) if v != target["vehicle_id"])
    done = patch(client, day, target["id"], vehicle_id=other, override_reason="车辆临时调换",
                 force=True, force_reason="试验一下")
    assert done.status_code == 200, done.text
    assert done.json()["override_note"] == "车辆临时调换"
    accepted = client.post(f"{PLANS}/{plan['id']}/accept", headers=dispatcher).json()
    kept = next(a for a in accepted["assignments"] if a["request_id"] == target["request_id"])
    assert kept["override_note"] == "车辆临时调换" and kept["confirmed"]

    replanned = client.post(PLANS, json=body, headers=dispatcher).json()
    again = next(a for a in replanned["assignments"] if a["request_id"] == target["request_id"])
    assert again["override_note"] == "车辆临时调换"
    second = client.post(f"{PLANS}/{replanned['id']}/accept", headers=dispatcher).json()
    final = next(a for a in second["assignments"] if a["request_id"] == target["request_id"])
    assert final["id"] == kept["id"] and final["override_note"] == "车辆临时调换"


def test_only_dispatchers_override(client, day):
    moved = day.trip("mpv", "王师傅", local("14:00"))
    for role in ("auditor", "driver", "requester", "approver"):
        response = client.patch(f"/api/v1/assignments/{moved}", json={"vehicle_id": day.w.ids["vehicle"],
                                "force": True, "force_reason": "试一试"}, headers=day.w.auth(role))
        assert response.status_code in (403, 404), (role, response.text)


def test_a_rule_the_car_already_breaks_is_not_blamed_on_the_next_override(client, day):
    wrong = day.trip("mpv", "王师傅", local("09:30"), vehicle_class="mpv")
    patch(client, day, wrong, vehicle_id=day.w.ids["vehicle"], force=True, force_reason="七座车送修")
    later = day.trip("bev", "李师傅", local("14:00"))
    done = patch(client, day, later, vehicle_id=day.w.ids["vehicle"])
    assert done.status_code == 200, done.text
    assert done.json()["override_warnings"] is None


def test_planning_again_after_a_forced_overlap_gives_a_valid_plan(client, day):
    day.trip("vehicle", "张师傅", local("10:00"), north_deg=0.05)
    moved = day.trip("bev", "李师傅", local("10:00"), north_deg=-0.05, east_deg=0.05)
    forced = patch(client, day, moved, vehicle_id=day.w.ids["vehicle"], force=True, force_reason="领导指定车辆")
    assert forced.status_code == 200 and forced.json()["override_warnings"]
    body = {"service_date": DAY.isoformat(), "time_limit_s": 0.5}
    replanned = client.post(PLANS, json=body, headers=day.w.auth("dispatcher"))
    assert replanned.status_code == 201, replanned.text
    check_stored_plan(day.session, replanned.json()["id"])
    again = next(a for a in replanned.json()["assignments"] if a["request_id"] == forced.json()["request_id"])
    assert again["override_note"] == "原车临时检修" and again["override_warnings"] is None
