"""``fleet plan-replacement``: example input, tables, JSON, and bad input with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

from replacement_builders import cli_app
from typer.testing import CliRunner

runner = CliRunner()


def test_example_then_tables_then_json(tmp_path: Path) -> None:
    app, path = cli_app(), tmp_path / "plan.json"
    assert runner.invoke(app, ["plan-replacement", "--example", str(path)]).exit_code == 0
    tables = runner.invoke(app, ["plan-replacement", str(path), "--years", "2", "--time-limit", "5"])
    assert tables.exit_code == 0, tables.output
    assert "Plan by year" in tables.output and "2028" in tables.output
    as_json = runner.invoke(app, ["plan-replacement", str(path), "--years", "2", "--json"])
    plan = json.loads(as_json.stdout)
    assert plan["status"] in ("optimal", "feasible") and [y["year"] for y in plan["year_plans"]] == [2027, 2028]
    assert all(d["reason"] for y in plan["year_plans"] for d in y["decisions"])


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    app, path = cli_app(), tmp_path / "plan.json"
    runner.invoke(app, ["plan-replacement", "--example", str(path)])
    data = json.loads(path.read_text())
    data["policy"]["budgets"][0]["annual_budget_cny"] = -5
    data["cars"][0]["vehicle_class"] = "limousine"
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["plan-replacement", str(path)])
    assert result.exit_code == 2
    assert "policy.budgets.0.annual_budget_cny" in result.output
    assert "cars.0.vehicle_class" in result.output
    assert "Traceback" not in result.output
    (tmp_path / "broken.json").write_text("{not json")
    broken = runner.invoke(app, ["plan-replacement", str(tmp_path / "broken.json")])
    assert broken.exit_code == 2 and "not JSON" in broken.output


def test_infeasible_policy_exits_1_and_names_the_constraint(tmp_path: Path) -> None:
    app, path = cli_app(), tmp_path / "plan.json"
    runner.invoke(app, ["plan-replacement", "--example", str(path)])
    data = json.loads(path.read_text())
    data["cars"][0]["emission_standard"] = "china3"
    data["cars"][0]["energy"] = "petrol"
    data["cars"][0]["annual_km"] = 20000
    data["policy"]["legacy_retire_within_years"] = 1
    data["policy"]["default_annual_budget_cny"] = 0
    data["policy"]["budgets"] = []
    path.write_text(json.dumps(data))
    result = runner.invoke(app, ["plan-replacement", str(path), "--years", "2"])
    assert result.exit_code == 1, result.output
    assert "binding: annual budget of organisation" in result.output
