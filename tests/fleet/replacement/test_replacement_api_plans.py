"""The replacement API: plans computed from the database and stored with who and when,
policies per jurisdiction, maintenance bills, chart figures, an infeasible policy naming the
binding constraint, and bad input answered 422 naming the field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from replacement_world import NOW, PETROL, add_admin, add_county_fleet, county_policy, second_county
from sqlmodel import Session

from tests.web.conftest import World

API = "/api/v1/replacement"


def _county(client: TestClient, session: Session, world: World, **policy: object) -> dict[str, int]:
    ids = add_county_fleet(session, world.ids["county"], world.ids["agency"], NOW)
    body = county_policy(world.ids["county"], ids["depot"])
    body["policy"].update(policy)  # type: ignore[attr-defined]
    put = client.put(f"{API}/policies/{world.ids['county']}", headers=world.auth("admin"), json=body)
    assert put.status_code == 200, put.text
    return ids


def _plan(client: TestClient, headers: dict[str, str], org_id: int, **body: object):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/plans", headers=headers,
                       json={"org_id": org_id, "years": 1, "start_year": 2027, "time_limit_s": 10} | body)


def test_plan_from_the_database_is_stored_with_who_and_when(client: TestClient, session: Session, world: World) -> None:
    _county(client, session, world)
    created = _plan(client, world.auth("admin"), world.ids["county"], years=2)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["created_by"] == "admin" and plan["created_at"] and plan["policy_org_id"] == world.ids["county"]
    assert [y["year"] for y in plan["year_plans"]] == [2027, 2028]
    decisions = {d["car_id"]: d for y in plan["year_plans"] for d in y["decisions"]}
    assert decisions["苏G00001"]["replacement_energy"] == "bev" and decisions["苏G00001"]["reason"]
    assert decisions["苏G00001"]["co2_saved_kg_per_year"] > 0
    assert decisions["苏G00003"]["action"] == "right_size" and "idle" in decisions["苏G00003"]["reason"]
    first = plan["year_plans"][0]
    assert first["budgets"] == [{"org_id": str(world.ids["county"]), "used_cny": 165_000.0, "limit_cny": 400_000.0}]

    fetched = client.get(f"{API}/plans/{plan['id']}", headers=world.auth("auditor"))
    assert fetched.status_code == 200 and fetched.json() == plan
    listed = client.get(f"{API}/plans", headers=world.auth("auditor"), params={"org_id": world.ids["county"]}).json()
    assert [(p["id"], p["retired"], p["spend_cny"]) for p in listed["items"]] == [(plan["id"], 2, 165_000.0)]
    audit = client.get("/api/v1/audit-entries", headers=world.auth("admin"),
                       params={"object_type": "replacement_plan"}).json()
    assert [(e["action"], e["actor"], e["object_id"]) for e in audit["items"]] == [
        ("replacement_plan.create", "admin", str(plan["id"]))
    ]

    figures = client.get(f"{API}/figures", headers=world.auth("auditor"),
                         params={"org_id": world.ids["county"]}).json()
    assert figures["plan_id"] == plan["id"]
    assert figures["years"][0] == {"year": 2027, "nev_share": 1.0, "spend_cny": 165_000.0, "retire_count": 2}
    assert sum(row["count"] for row in figures["age_histogram"]) == 4
    # The city's figures: its own car and the county's; no plan of the city yet.
    city = client.get(f"{API}/figures", headers=world.auth("admin")).json()
    assert city["org_id"] == world.ids["city"] and city["years"] == [] and city["plan_id"] is None
    assert sum(row["count"] for row in city["age_histogram"]) == 5


def test_scope_and_roles(client: TestClient, session: Session, world: World) -> None:
    _county(client, session, world)
    plan_id = _plan(client, world.auth("admin"), world.ids["county"]).json()["id"]
    county = add_admin(session, "county_admin", world.ids["county"], client.app.state.signing_key)
    other = add_admin(session, "other_admin", second_county(session, world.ids["city"]), client.app.state.signing_key)
    assert _plan(client, county, world.ids["city"]).status_code == 403  # above the county
    assert client.get(f"{API}/plans/{plan_id}", headers=other).status_code == 404
    assert client.get(f"{API}/figures", headers=other, params={"org_id": world.ids["county"]}).status_code == 404
    assert client.put(f"{API}/policies/{world.ids['county']}", headers=other,
                      json={"policy": {}}).status_code == 404
    for role in ("dispatcher", "driver", "requester", "approver", "auditor"):
        assert _plan(client, world.auth(role), world.ids["county"]).status_code == 403
        assert client.put(f"{API}/policies/{world.ids['county']}", headers=world.auth(role),
                          json={"policy": {}}).status_code == 403
    for role in ("dispatcher", "driver", "requester", "approver"):
        assert client.get(f"{API}/plans/{plan_id}", headers=world.auth(role)).status_code == 403
        assert client.get(f"{API}/figures", headers=world.auth(role)).status_code == 403


def test_infeasible_policy_names_the_binding_constraint(client: TestClient, session: Session, world: World) -> None:
    """The old car reaches the scrappage mileage this year, but the county's budget is 0."""
    _county(client, session, world, scrap_odometer_km=240_000, budgets=[
        {"org_id": world.ids["county"], "annual_budget_cny": 0}
    ])
    answer = _plan(client, world.auth("admin"), world.ids["county"])
    assert answer.status_code == 422
    body = answer.json()
    families = {b["family"] for b in body["binding_constraints"]}
    assert {"budget", "scrappage_mileage"} <= families
    assert any(f"annual budget of organisation '{world.ids['county']}' in 2027" in d["msg"] for d in body["detail"])
    assert {(d["type"], d["ctx"]["family"]) for d in body["detail"]} >= {("policy_infeasible", "budget")}
    assert client.get(f"{API}/plans", headers=world.auth("admin")).json()["total"] == 0


def test_policies_are_inherited_and_validated(client: TestClient, session: Session, world: World) -> None:
    ids = _county(client, session, world)
    admin, url = world.auth("admin"), f"{API}/policies/{world.ids['county']}"
    inherited = client.get(f"{API}/policies/{world.ids['agency']}", headers=world.auth("auditor")).json()
    assert inherited["source_org_id"] == world.ids["county"] and inherited["updated_by"] == "admin"
    assert [m["model_id"] for m in inherited["models"]] == ["petrol-150k", "bev-165k"]
    defaults = client.get(f"{API}/policies/{world.ids['city']}", headers=admin).json()
    assert defaults["source_org_id"] is None and defaults["policy"]["price_cap_cny"]["sedan"] == 180_000

    def refused(body: dict) -> str:
        answer = client.put(url, headers=admin, json=body)
        assert answer.status_code == 422, answer.text
        return answer.text

    good = county_policy(world.ids["county"], ids["depot"])
    negative = {"policy": {"budgets": [{"org_id": world.ids["county"], "annual_budget_cny": -1}]}}
    assert "annual_budget_cny" in refused(negative)
    assert "limousine" in refused({"policy": {"price_cap_cny": {"limousine": 200_000}}})
    assert "vehicle_class" in refused({"policy": {}, "models": [PETROL | {"vehicle_class": "limousine"}]})
    assert "policy.price_cap_cny.sedan: cap 100,000 CNY is below every sedan model's price" in refused(
        {"policy": {"price_cap_cny": {"sedan": 100_000}}, "models": good["models"]})
    assert "policy.budgets[0].org_id" in refused(
        {"policy": {"budgets": [{"org_id": world.ids["other_agency"], "annual_budget_cny": 1}]}})
    assert "policy.depots[0].depot_id" in refused({"policy": {"depots": [{"depot_id": world.ids["depot"], "chargers": 1}]}})
    # Nothing refused was stored.
    assert client.get(url, headers=admin).json()["policy"]["budgets"][0]["annual_budget_cny"] == 400_000


def test_bad_plan_requests_name_the_field(client: TestClient, session: Session, world: World) -> None:
    ids = _county(client, session, world)
    admin = world.auth("admin")
    for body, field in (({"years": 0}, "years"), ({"years": 16}, "years"), ({"start_year": 1999}, "start_year"),
                        ({"time_limit_s": 0}, "time_limit_s")):
        answer = _plan(client, admin, world.ids["county"], **body)
        assert answer.status_code == 422 and field in answer.text
    empty = _plan(client, admin, world.ids["township"])
    assert empty.status_code == 422 and empty.json()["detail"].startswith("org_id:")
    assert _plan(client, admin, 999_999).status_code == 422
    # Chargers: the county depot has one BEV, a depot policy of 0 chargers cannot hold it.
    client.put(f"{API}/policies/{world.ids['county']}", headers=admin,
               json=county_policy(world.ids["county"], ids["depot"]) | {"models": None})
    tight = county_policy(world.ids["county"], ids["depot"])
    tight["policy"]["depots"] = [{"depot_id": ids["depot"], "chargers": 0}]  # type: ignore[index]
    assert client.put(f"{API}/policies/{world.ids['county']}", headers=admin, json=tight).status_code == 200
    answer = _plan(client, admin, world.ids["county"])
    assert answer.status_code == 422 and "policy.depots[0].chargers" in answer.json()["detail"]


def test_maintenance_bills_feed_the_plan(client: TestClient, session: Session, world: World) -> None:
    ids = _county(client, session, world)
    admin = world.auth("admin")
    added = client.post(f"{API}/maintenance-costs", headers=admin,
                        json={"vehicle_id": ids["young"], "incurred_on": "2025-04-02", "cost_cny": 3_200,
                              "kind": "repair", "note": "变速箱"})
    assert added.status_code == 201, added.text
    listed = client.get(f"{API}/maintenance-costs", headers=world.auth("auditor"),
                        params={"vehicle_id": ids["young"]}).json()
    assert [(c["cost_cny"], c["kind"]) for c in listed["items"]] == [(3_200, "repair")]
    future = client.post(f"{API}/maintenance-costs", headers=admin,
                         json={"vehicle_id": ids["young"], "incurred_on": "2999-01-01", "cost_cny": 1})
    assert future.status_code == 422 and "incurred_on" in future.text
    unknown = client.post(f"{API}/maintenance-costs", headers=admin,
                          json={"vehicle_id": 999_999, "incurred_on": "2025-01-01", "cost_cny": 1})
    assert unknown.status_code == 422 and "vehicle_id" in unknown.text
    assert client.post(f"{API}/maintenance-costs", headers=world.auth("dispatcher"),
                       json={"vehicle_id": ids["young"], "incurred_on": "2025-01-01", "cost_cny": 1}).status_code == 403
