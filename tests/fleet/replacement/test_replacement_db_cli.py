"""``fleet plan-replacement --org CODE``: the plan of an organisation's subtree from the
database, shown as JSON, kept with ``--save``; unknown codes and empty subtrees exit 2."""

from __future__ import annotations

import json

from replacement_builders import cli_app
from replacement_world import NOW, add_county_fleet, county_policy
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet.models import AuditEntry, Organisation, OrgLevel
from fleet.models.replacement import ReplacementPlanRecord
from fleet.replacement.inputs import CandidateModel
from fleet.replacement.policy import ReplacementPolicy
from fleet.replacement.repository import save_policy
from tests.builders import county_tree, organisation

runner = CliRunner()


def _county(session: Session) -> Organisation:
    orgs = county_tree(session)
    county, agency = orgs["county"], orgs["agency"]
    session.commit()
    ids = add_county_fleet(session, county.id, agency.id, NOW)  # type: ignore[arg-type]
    body = county_policy(county.id, ids["depot"])  # type: ignore[arg-type]
    save_policy(session, county, ReplacementPolicy.model_validate(body["policy"]),
                [CandidateModel.model_validate(m) for m in body["models"]], "cli")
    session.commit()
    return county


def test_plan_from_the_database_as_json_and_saved(session: Session) -> None:
    county = _county(session)
    result = runner.invoke(cli_app(), ["plan-replacement", "--org", "320722", "--years", "1", "--start-year", "2027",
                                    "--json", "--save"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["jurisdiction"] == "东海县" and plan["status"] == "optimal"
    decided = {d["car_id"]: d["action"] for d in plan["year_plans"][0]["decisions"]}
    assert decided == {"苏G00001": "replace", "苏G00003": "right_size"}
    stored = session.exec(select(ReplacementPlanRecord)).all()
    assert [(r.org_id, r.created_by, r.start_year) for r in stored] == [(county.id, "cli", 2027)]
    assert session.exec(select(AuditEntry).where(AuditEntry.action == "replacement_plan.create")).one().actor == "cli"


def test_unknown_code_empty_subtree_and_both_sources_exit_2(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _county(session)
    unknown = runner.invoke(cli_app(), ["plan-replacement", "--org", "999999"])
    assert unknown.exit_code == 2 and "no organisation with code '999999'" in unknown.output
    city = session.exec(select(Organisation).where(Organisation.code == "320700")).one()
    organisation(session, "市财政局", "320700-FIN", OrgLevel.agency, city)
    session.commit()
    nothing = runner.invoke(cli_app(), ["plan-replacement", "--org", "320700-FIN"])
    assert nothing.exit_code == 2 and "org_id: organisation" in nothing.output and "no pool car" in nothing.output
    path = tmp_path / "plan.json"
    runner.invoke(cli_app(), ["plan-replacement", "--example", str(path)])
    both = runner.invoke(cli_app(), ["plan-replacement", str(path), "--org", "320722"])
    assert both.exit_code == 2 and "either INPUT.json or --org" in both.output
    assert session.exec(select(ReplacementPlanRecord)).all() == []
