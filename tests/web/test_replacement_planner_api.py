"""The planner's loop on the API: compute a plan without keeping it (under the policy, or with
settings changed for that plan), keep one, read it back; the same year one as
``fleet plan-replacement --org`` on the same database; refusals naming the field; roles and
organisation scope."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import typer
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet.models import AuditEntry, Role, Trip
from fleet.models.replacement import ReplacementPlanRecord
from fleet.replacement.cli import register
from fleet.security import issue_token
from tests.builders import user, vehicle
from tests.web.conftest import World

API = "/api/v1/replacement"
START_YEAR = datetime.now(UTC).year + 1


def _county_cars(session: Session, world: World) -> None:
    """Twelve petrol sedans of the county, 2 to 13 years old at 20,000 km a year by their
    odometers, and a day of trips for two of them (a platform that went live yesterday)."""
    today = datetime.now(UTC).date()
    cars = []
    for n in range(12):
        age_years = 2 + n
        cars.append(vehicle(session, f"苏G2{n:04d}", f"LSVAA4180E3{n:06d}", world.ids["county"],
                            emission_standard="china5" if n > 6 else "china6",
                            purchase_date=date(today.year - age_years, today.month, min(today.day, 28)),
                            odometer_km=20_000 * age_years))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    session.add_all([Trip(vehicle_id=car.id, started_at=yesterday, distance_km=35) for car in cars[:2]])
    session.commit()


def _body(world: World, **extra: object) -> dict[str, object]:
    return {"org_id": world.ids["county"], "years": 3, "start_year": START_YEAR, "time_limit_s": 10} | extra


def _planner(session: Session, client: TestClient, org_id: int, name: str = "planner2") -> dict[str, str]:
    planner = user(session, name, Role.planner, org_id)
    session.commit()
    return {"Authorization": f"Bearer {issue_token(planner.id, client.app.state.signing_key, 3600)}"}  # type: ignore[arg-type, attr-defined]


def test_compute_keeps_nothing_and_save_keeps_the_plan(client: TestClient, session: Session, world: World) -> None:
    _county_cars(session, world)
    computed = client.post(f"{API}/plans/compute", headers=world.auth("planner"), json=_body(world))
    assert computed.status_code == 200, computed.text
    plan = computed.json()
    assert plan["id"] is None and plan["usage_sources"] == {"odometer": 12}
    assert session.exec(select(ReplacementPlanRecord)).all() == []
    assert session.exec(select(AuditEntry)).all() == []
    decisions = [d for y in plan["year_plans"] for d in y["decisions"]]
    assert decisions and all(d["reason_code"] in ("eligible", "legacy_emission") for d in decisions)
    assert all(d["annual_km_source"] == "odometer" and d["annual_km"] > 19_000 for d in decisions)
    eligible = next(d for d in decisions if d["reason_code"] == "eligible")
    assert eligible["reason_params"]["min_service_years"] == 8 and eligible["reason_params"]["model_id"]

    saved = client.post(f"{API}/plans", headers=world.auth("planner"), json=_body(world))
    assert saved.status_code == 201, saved.text
    kept = saved.json()
    assert kept["created_by"] == "planner" and kept["year_plans"] == plan["year_plans"]
    fetched = client.get(f"{API}/plans/{kept['id']}", headers=world.auth("planner")).json()
    assert fetched == kept
    listed = client.get(f"{API}/plans", headers=world.auth("planner"), params={"org_id": world.ids["county"]}).json()
    assert [p["id"] for p in listed["items"]] == [kept["id"]]


def test_policy_changes_apply_to_one_plan_and_are_kept_with_it(client: TestClient, session: Session, world: World) -> None:
    _county_cars(session, world)
    current = client.post(f"{API}/plans/compute", headers=world.auth("planner"), json=_body(world)).json()
    changes = {"min_service_years": 12, "nev_share_floor": 0.6}
    edited = client.post(f"{API}/plans/compute", headers=world.auth("planner"),
                         json=_body(world, policy_changes=changes)).json()
    assert edited["policy"]["min_service_years"] == 12 and edited["policy_changes"] == changes
    assert current["policy"]["min_service_years"] == 8
    retired = {d["car_id"] for y in current["year_plans"] for d in y["decisions"] if d["reason_code"] == "eligible"}
    later = {d["car_id"] for y in edited["year_plans"] for d in y["decisions"] if d["reason_code"] == "eligible"}
    assert len(later) < len(retired)
    saved = client.post(f"{API}/plans", headers=world.auth("planner"), json=_body(world, policy_changes=changes)).json()
    assert saved["policy_changes"] == changes and saved["policy"]["nev_share_floor"] == 0.6
    policy = client.get(f"{API}/policies/{world.ids['county']}", headers=world.auth("planner")).json()
    assert policy["policy"]["min_service_years"] == 8  # the jurisdiction's policy stays


def test_the_api_and_the_cli_keep_the_same_cars_in_year_one(client: TestClient, session: Session, world: World) -> None:
    _county_cars(session, world)
    api_plan = client.post(f"{API}/plans/compute", headers=world.auth("planner"), json=_body(world)).json()
    app = typer.Typer()
    register(app)
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["plan-replacement", "--org", "320722", "--years", "3",
                                      "--start-year", str(START_YEAR), "--json"])
    assert result.exit_code == 0, result.output
    cli_plan = json.loads(result.stdout)
    assert {d["car_id"] for d in api_plan["year_plans"][0]["decisions"]} == {
        d["car_id"] for d in cli_plan["year_plans"][0]["decisions"]}
    assert cli_plan["usage_sources"] == api_plan["usage_sources"] == {"odometer": 12}
    assert not any(d["reason_code"].startswith("idle") for y in cli_plan["year_plans"] for d in y["decisions"])


def test_bad_input_is_refused_naming_the_field(client: TestClient, session: Session, world: World) -> None:
    _county_cars(session, world)
    planner = world.auth("planner")
    for changes, field, code in (({"nev_share_floor": 1.5}, "nev_share_floor", "less_than_equal"),
                                 ({"min_service_years": -1}, "min_service_years", "greater_than_equal"),
                                 ({"colour": "red"}, "colour", "extra_forbidden")):
        answer = client.post(f"{API}/plans/compute", headers=planner, json=_body(world, policy_changes=changes))
        assert answer.status_code == 422, answer.text
        (problem,) = answer.json()["detail"]
        assert problem["loc"] == ["body", "policy_changes", field] and problem["type"] == code
    years = client.post(f"{API}/plans/compute", headers=planner, json=_body(world, years=0))
    assert years.status_code == 422 and years.json()["detail"][0]["loc"] == ["body", "years"]
    empty = client.post(f"{API}/plans/compute", headers=planner, json=_body(world, org_id=world.ids["township"]))
    assert empty.status_code == 422 and empty.json()["detail"].startswith("org_id:")


def test_roles_and_organisation_scope(client: TestClient, session: Session, world: World) -> None:
    _county_cars(session, world)
    for role in ("auditor", "dispatcher", "requester"):
        refused = client.post(f"{API}/plans/compute", headers=world.auth(role), json=_body(world))
        assert refused.status_code == 403, (role, refused.text)
    assert client.post(f"{API}/plans", headers=world.auth("auditor"), json=_body(world)).status_code == 403
    # A county's planner plans the county, not the city above it nor another branch.
    county_planner = _planner(session, client, world.ids["county"])
    assert client.post(f"{API}/plans/compute", headers=county_planner, json=_body(world)).status_code == 200
    above = client.post(f"{API}/plans/compute", headers=county_planner, json=_body(world, org_id=world.ids["city"]))
    assert above.status_code == 403 and above.json()["detail"].startswith("org_id:")
    other = client.post(f"{API}/plans/compute", headers=county_planner,
                        json=_body(world, org_id=world.ids["other_agency"]))
    assert other.status_code == 422 and other.json()["detail"].startswith("org_id:")
    kept = client.post(f"{API}/plans", headers=world.auth("planner"), json=_body(world, org_id=world.ids["city"]))
    assert kept.status_code == 201, kept.text
    assert client.get(f"{API}/plans/{kept.json()['id']}", headers=county_planner).status_code == 404
    assert client.get(f"{API}/figures", headers=county_planner).status_code == 200


def test_a_county_planner_files_the_saved_plan_with_the_city(client: TestClient, session: Session, world: World) -> None:
    _county_cars(session, world)
    county_planner = _planner(session, client, world.ids["county"], "county_planner")
    kept = client.post(f"{API}/plans", headers=county_planner, json=_body(world)).json()
    filed = client.post(f"{API}/filings", headers=county_planner, json={"plan_id": kept["id"], "year": START_YEAR})
    assert filed.status_code == 201, filed.text
    assert filed.json()["state"] == "submitted" and filed.json()["steps"][0]["actor"] == "county_planner"
    listed = client.get(f"{API}/filings", headers=county_planner, params={"org_id": world.ids["county"]}).json()
    assert [(f["plan_id"], f["year"], f["state"]) for f in listed["items"]] == [(kept["id"], START_YEAR, "submitted")]
    # The city's planner files nothing (the city is no county) and reviews nothing.
    refused = client.post(f"{API}/filings", headers=world.auth("planner"), json={"plan_id": kept["id"]})
    assert refused.status_code == 403 and "county" in refused.json()["detail"]
    review = client.post(f"{API}/filings/{filed.json()['id']}/review", headers=world.auth("planner"),
                         json={"decision": "approve"})
    assert review.status_code == 403
    approved = client.post(f"{API}/filings/{filed.json()['id']}/review", headers=world.auth("admin"),
                           json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
