"""A county files its annual plan with the city: submit -> return with a comment ->
resubmit -> approve, every step stored with who and when, audit-logged and exportable; and the
refusals on the way (a county reviewing itself, a city filing, other counties, other roles)."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from replacement_world import NOW, add_admin, add_county_fleet, county_policy, second_county
from sqlmodel import Session, col, select

from fleet.audit import verify_chain
from fleet.models import AuditEntry
from tests.web.conftest import World

API = "/api/v1/replacement"


def _county_plan(client: TestClient, session: Session, world: World) -> tuple[dict[str, str], int]:
    """The county's fleet, its policy set by the city, a county administrator and a plan."""
    ids = add_county_fleet(session, world.ids["county"], world.ids["agency"], NOW)
    county = add_admin(session, "county_admin", world.ids["county"], client.app.state.signing_key)
    put = client.put(f"{API}/policies/{world.ids['county']}", headers=world.auth("admin"),
                     json=county_policy(world.ids["county"], ids["depot"]))
    assert put.status_code == 200, put.text
    plan = client.post(f"{API}/plans", headers=county,
                       json={"org_id": world.ids["county"], "years": 2, "start_year": 2027, "time_limit_s": 10})
    assert plan.status_code == 201, plan.text
    return county, plan.json()["id"]


def test_submit_return_resubmit_approve(client: TestClient, session: Session, world: World) -> None:
    county, plan_id = _county_plan(client, session, world)
    city = world.auth("admin")

    filed = client.post(f"{API}/filings", headers=county,
                        json={"plan_id": plan_id, "year": 2027, "comment": "2027年度更新计划"})
    assert filed.status_code == 201, filed.text
    filing = filed.json()
    assert filing["state"] == "submitted" and filing["year"] == 2027 and filing["org_id"] == world.ids["county"]
    assert {d["car_id"] for d in filing["year_plan"]["decisions"]} == {"苏G00001", "苏G00003"}
    url = f"{API}/filings/{filing['id']}"

    own = client.post(f"{url}/review", headers=county, json={"decision": "approve"})
    assert own.status_code == 403 and "never by the county itself" in own.json()["detail"]
    bare = client.post(f"{url}/review", headers=city, json={"decision": "return", "comment": "  "})
    assert bare.status_code == 422 and bare.json()["detail"].startswith("comment:")

    returned = client.post(f"{url}/review", headers=city, json={"decision": "return", "comment": "请补充新能源车比例说明"})
    assert returned.status_code == 200 and returned.json()["state"] == "returned"
    again = client.post(f"{url}/review", headers=city, json={"decision": "approve"})
    assert again.status_code == 409 and again.json()["detail"].startswith("state:")

    refiled = client.post(f"{API}/filings", headers=county, json={"plan_id": plan_id, "year": 2027, "comment": "已补充"})
    assert refiled.status_code == 200 and refiled.json()["id"] == filing["id"]
    assert refiled.json()["state"] == "submitted"
    twice = client.post(f"{API}/filings", headers=county, json={"plan_id": plan_id, "year": 2027})
    assert twice.status_code == 409

    approved = client.post(f"{url}/review", headers=city, json={"decision": "approve", "comment": "同意备案"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"

    steps = client.get(url, headers=world.auth("auditor")).json()["steps"]
    assert [(s["action"], s["actor"], s["from_state"], s["to_state"]) for s in steps] == [
        ("submit", "county_admin", None, "submitted"),
        ("return", "admin", "submitted", "returned"),
        ("resubmit", "county_admin", "returned", "submitted"),
        ("approve", "admin", "submitted", "approved"),
    ]
    assert [s["comment"] for s in steps] == ["2027年度更新计划", "请补充新能源车比例说明", "已补充", "同意备案"]
    assert all(s["at"] for s in steps) and steps[0]["at"] <= steps[-1]["at"]

    exported = client.get(f"{url}/export", headers=world.auth("auditor"), params={"format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["action"], r["actor"], r["comment"]) for r in rows] == [
        (s["action"], s["actor"], s["comment"]) for s in steps
    ]
    as_json = client.get(f"{url}/export", headers=city, params={"format": "json"}).json()
    assert as_json["state"] == "approved" and len(as_json["steps"]) == 4

    audit = client.get("/api/v1/audit-entries", headers=city, params={"object_type": "replacement_filing",
                                                                      "limit": 50}).json()
    assert [e["action"] for e in audit["items"]] == [
        "replacement_filing.submit", "replacement_filing.return",
        "replacement_filing.resubmit", "replacement_filing.approve",
    ]
    session.expire_all()
    assert verify_chain(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()) is None


def test_who_may_file_review_and_read(client: TestClient, session: Session, world: World) -> None:
    county, plan_id = _county_plan(client, session, world)
    city = world.auth("admin")
    # The city computes plans but does not file them; years outside the plan are refused.
    assert client.post(f"{API}/filings", headers=city, json={"plan_id": plan_id}).status_code == 403
    outside = client.post(f"{API}/filings", headers=county, json={"plan_id": plan_id, "year": 2030})
    assert outside.status_code == 422 and outside.json()["detail"].startswith("year:")
    filing = client.post(f"{API}/filings", headers=county, json={"plan_id": plan_id}).json()
    assert filing["year"] == 2027
    url = f"{API}/filings/{filing['id']}"

    other = add_admin(session, "other_county_admin", second_county(session, world.ids["city"]),
                      client.app.state.signing_key)
    assert client.get(url, headers=other).status_code == 404
    assert client.get(f"{API}/filings", headers=other).json()["total"] == 0
    assert client.post(f"{url}/review", headers=other, json={"decision": "approve"}).status_code == 404
    assert client.post(f"{API}/filings", headers=other, json={"plan_id": plan_id}).status_code == 404

    listed = client.get(f"{API}/filings", headers=city, params={"state": "submitted"}).json()
    assert [f["id"] for f in listed["items"]] == [filing["id"]]
    assert client.get(f"{API}/filings", headers=county).json()["total"] == 1
    for role in ("auditor",):
        assert client.get(url, headers=world.auth(role)).status_code == 200
        assert client.post(f"{url}/review", headers=world.auth(role), json={"decision": "approve"}).status_code == 403
    for role in ("dispatcher", "driver", "requester", "approver"):
        assert client.get(url, headers=world.auth(role)).status_code == 403
        assert client.post(f"{url}/review", headers=world.auth(role), json={"decision": "approve"}).status_code == 403
    assert client.get(url, headers=city).json()["state"] == "submitted"
