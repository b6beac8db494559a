# ruff: noqa: F811 (the web fixtures are imported by name and requested as arguments)
"""The dispatch API end to end: plan a date, read the plan, accept it (an event on MQTT),
override one assignment, insert an urgent request, figures; refused to other roles."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from dispatch_service_day import (
    DAY,
    SHANGHAI,
    add_day,
    add_fleet,
    add_request,
    check_stored_plan,
    local,
)

from dispatch.override_check import OVERRIDE_RULES
from fleet import topics
from fleet.broker import BrokerClient, parse_broker_url
from fleet.settings import get_settings
from tests.web.conftest import app, client, world  # noqa: F401 (fixtures)

PLANS = "/api/v1/dispatch/plans"
BODY = {"service_date": DAY.isoformat(), "time_limit_s": 0.5}


@pytest.fixture
def day(session, world):  # type: ignore[no-untyped-def]
    add_fleet(session, world.ids)
    add_day(session, world.ids, 8)
    return world


class PlanEvents:
    """Messages on fleet/v1/events/plans, received by a real subscriber."""

    def __init__(self, url: str) -> None:
        self.messages: list[dict] = []
        self.arrived = threading.Condition()
        self.client = BrokerClient(parse_broker_url(url), name="test-plan-events", on_message=self._on_message).connect(5)
        self.client.subscribe(topics.EVENTS_PLANS, 1, wait_s=5)

    def _on_message(self, message) -> None:  # type: ignore[no-untyped-def]
        with self.arrived:
            self.messages.append(json.loads(message.payload))
            self.arrived.notify_all()

    def wait_for(self, status: str) -> dict:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(m["status"] == status for m in self.messages), 5)
            return next(m for m in self.messages if m["status"] == status)


@pytest.fixture
def events(mqtt_url) -> Iterator[PlanEvents]:  # type: ignore[no-untyped-def]
    listener = PlanEvents(mqtt_url)
    yield listener
    listener.client.close()


@pytest.mark.slow  # solves and re-solves the day
def test_plan_accept_override_for_a_dispatcher(client, day, session, events):
    w = day
    dispatcher = w.auth("dispatcher")
    created = client.post(PLANS, json=BODY, headers=dispatcher)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert (plan["status"], plan["service_date"], plan["created_by"]) == ("proposed", "2026-12-03", "dispatcher")
    assert len(plan["assignments"]) + len(plan["unserved"]) == 8
    assert plan["pool_count"] + plan["lease_count"] == len(plan["assignments"])
    assert all(a["explanation"] and not a["confirmed"] for a in plan["assignments"])
    check_stored_plan(session, plan["id"])
    assert events.wait_for("proposed")["plan_id"] == plan["id"]

    listed = client.get(PLANS, params={"service_date": "2026-12-03"}, headers=w.auth("auditor")).json()
    assert [p["id"] for p in listed["items"]] == [plan["id"]] and listed["total"] == 1
    assert client.get(PLANS, params={"service_date": "2026-12-04"}, headers=dispatcher).json()["total"] == 0
    shown = client.get(f"{PLANS}/{plan['id']}", headers=w.auth("auditor")).json()
    assert shown["assignments"] == plan["assignments"]

    for role in ("driver", "requester", "approver", "auditor"):
        assert client.post(f"{PLANS}/{plan['id']}/accept", headers=w.auth(role)).status_code == 403
    accepted = client.post(f"{PLANS}/{plan['id']}/accept", headers=dispatcher)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert all(a["confirmed"] for a in accepted.json()["assignments"])
    event = events.wait_for("accepted")
    assert event == {"plan_id": plan["id"], "service_date": "2026-12-03", "status": "accepted",
                     "changed_assignment_ids": [a["id"] for a in plan["assignments"]]}
    again = client.post(f"{PLANS}/{plan['id']}/accept", headers=dispatcher)
    assert again.status_code == 409 and "only a proposed plan" in again.text
    request = client.get(f"/api/v1/trip-requests/{plan['assignments'][0]['request_id']}", headers=dispatcher)
    assert request.json()["state"] == "assigned"

    # override one confirmed pool assignment: the reason is required and the step is audited
    target = next(a for a in accepted.json()["assignments"] if a["kind"] == "pool")
    other_car = next(v for v in (w.ids["mpv"], w.ids["bev"], w.ids["vehicle"]) if v != target["vehicle_id"])
    url = f"/api/v1/assignments/{target['id']}"
    assert client.patch(url, json={"vehicle_id": other_car}, headers=w.auth("requester")).status_code == 403
    missing = client.patch(url, json={"vehicle_id": other_car}, headers=dispatcher)
    assert missing.status_code == 422 and "override_reason" in missing.text
    done = client.patch(url, json={"vehicle_id": other_car, "override_reason": "车辆临时调换"}, headers=dispatcher)
    if done.status_code == 422:  # the other car's day (the solver's choice) breaks a rule: forced
        assert {e["type"] for e in done.json()["detail"]} <= set(OVERRIDE_RULES), done.text
        done = client.patch(url, json={"vehicle_id": other_car, "override_reason": "车辆临时调换",
                                       "force": True, "force_reason": "领导指定车辆"}, headers=dispatcher)
    assert done.status_code == 200 and done.json()["vehicle_id"] == other_car
    assert done.json()["override_note"] == "车辆临时调换"
    audit = client.get("/api/v1/audit-entries", headers=w.auth("auditor"), params={"limit": 200}).json()
    actions = [e["action"] for e in audit["items"]]
    assert {"dispatch_plan.create", "dispatch_plan.accept", "assignment.override"} <= set(actions)
    override = next(e for e in audit["items"] if e["action"] == "assignment.override")
    assert override["actor"] == "dispatcher" and override["after"]["override_reason"] == "车辆临时调换"

    figures = client.get("/api/v1/dispatch/figures", params={"service_date": "2026-12-03"},
                         headers=w.auth("auditor")).json()
    assert figures["trips_served"] == len(plan["assignments"])
    assert figures["pool_trips"] + figures["lease_trips"] == figures["trips_served"]
    now = client.get(f"{PLANS}/{plan['id']}", headers=w.auth("auditor")).json()  # priced again
    assert figures["cost_cny"] == pytest.approx(now["total_cost_cny"], abs=0.01 * len(plan["assignments"]))
    assert 0 < figures["pool_utilisation"] <= 1 and 0 <= figures["nev_share"] <= 1


def test_urgent_insert_then_replan(client, day, session):
    w = day
    dispatcher = w.auth("dispatcher")
    plan = client.post(PLANS, json=BODY, headers=dispatcher).json()
    client.post(f"{PLANS}/{plan['id']}/accept", headers=dispatcher)
    urgent = add_request(session, w.ids, local("16:40"), window_min=10, priority=9)
    refused = client.post(f"{PLANS}/{plan['id']}/insert", json={"request_id": urgent}, headers=w.auth("auditor"))
    assert refused.status_code == 403
    inserted = client.post(f"{PLANS}/{plan['id']}/insert", json={"request_id": urgent}, headers=dispatcher)
    assert inserted.status_code == 200, inserted.text
    new = next(a for a in inserted.json()["assignments"] if a["request_id"] == urgent)
    assert new["confirmed"] and new["explanation"].startswith("urgent insertion")
    check_stored_plan(session, plan["id"])
    twice = client.post(f"{PLANS}/{plan['id']}/insert", json={"request_id": urgent}, headers=dispatcher)
    assert twice.status_code == 409

    # re-optimise on demand: a new proposed plan keeps every confirmed trip where it is
    replanned = client.post(PLANS, json=BODY, headers=dispatcher).json()
    check_stored_plan(session, replanned["id"])
    before = {a["request_id"]: (a["kind"], a["vehicle_id"], a["lessor_id"])
              for a in client.get(f"{PLANS}/{plan['id']}", headers=dispatcher).json()["assignments"]}
    after = {a["request_id"]: (a["kind"], a["vehicle_id"], a["lessor_id"]) for a in replanned["assignments"]}
    assert after == before


def test_bad_input_is_refused_with_the_field(client, day):
    dispatcher = day.auth("dispatcher")
    for body, field in [({"service_date": "2026-13-01"}, "service_date"),
                        ({"service_date": "2026-12-03", "time_limit_s": 500}, "time_limit_s"),
                        ({"service_date": "1900-01-01"}, "service_date"),
                        ({}, "service_date")]:
        response = client.post(PLANS, json=body, headers=dispatcher)
        assert response.status_code == 422 and field in response.text, (body, response.text)
    assert client.get(f"{PLANS}/999", headers=dispatcher).status_code == 404
    assert client.post(f"{PLANS}/999/accept", headers=dispatcher).status_code == 404
    plan = client.post(PLANS, json=BODY, headers=dispatcher).json()
    missing = client.post(f"{PLANS}/{plan['id']}/insert", json={"request_id": 999}, headers=dispatcher)
    assert missing.status_code == 422 and "request_id" in missing.text
    other_day = client.post(f"{PLANS}/{plan['id']}/insert", json={"request_id": day.ids["other_request"]},
                            headers=dispatcher)
    assert other_day.status_code == 409  # a draft, not approved
    today = client.get("/api/v1/dispatch/figures", headers=dispatcher)
    assert today.status_code == 200 and today.json()["service_date"] == datetime.now(SHANGHAI).date().isoformat()
    assert client.get("/api/v1/dispatch/figures", params={"service_date": "3000-01-01"},
                      headers=dispatcher).status_code == 422


@pytest.mark.slow  # waits out the broker timeouts
def test_a_broker_that_is_down_does_not_fail_the_request(client, day, monkeypatch, caplog):
    monkeypatch.setenv("FLEET_MQTT_URL", "mqtt://127.0.0.1:9")
    get_settings.cache_clear()
    response = client.post(PLANS, json=BODY, headers=day.auth("dispatcher"))
    assert response.status_code == 201
    assert "not published" in caplog.text


def test_figures_of_a_day_without_plans(client, day):
    figures = client.get("/api/v1/dispatch/figures", params={"service_date": "2026-12-09"},
                         headers=day.auth("admin")).json()
    assert figures == {"service_date": "2026-12-09", "trips_served": 0, "pool_trips": 0, "lease_trips": 0,
                       "cost_cny": 0.0, "pool_utilisation": 0.0, "nev_share": 0.0,
                       "trips_started": 0, "trips_completed": 0}
