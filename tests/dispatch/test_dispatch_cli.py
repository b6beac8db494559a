"""``fleet dispatch solve`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dispatch_builders import assert_valid, build, car, day, trip
from typer.testing import CliRunner

import dispatch.cli
import fleet.cli
from dispatch.plan import Plan
from tests.builders import commands_registered, write_json

runner = CliRunner()


_registered = commands_registered(dispatch.cli.register, "dispatch")


DAY = day([car("P1")], [trip("R1", 0, 10, "09:00"), trip("R2", 10, 0, "11:00"),
                        trip("BUS", 0, 5, "10:00", **{"class": "bus"})])


def test_solve_json_prints_a_valid_plan(tmp_path: Path) -> None:
    result = runner.invoke(fleet.cli.app, ["dispatch", "solve", str(write_json(tmp_path / "day.json", DAY)),
                                           "--time-limit", "0.3", "--json"])
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(result.stdout)
    assert_valid(build(DAY), plan)
    assert plan.total_cost_cny == pytest.approx(120.0, abs=0.01)
    assert [(u.request, u.reason) for u in plan.unserved] == [("BUS", "no_vehicle_class")]


def test_solve_prints_readable_tables(tmp_path: Path) -> None:
    result = runner.invoke(fleet.cli.app, ["dispatch", "solve", str(write_json(tmp_path / "day.json", DAY)),
                                           "--time-limit", "0.3"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "total 120.00 CNY" in result.stdout
    for stop in ("+R1 09:00", "-R1 09:10", "+R2 11:00", "-R2 11:10"):  # boards, alights
        assert stop in result.stdout
    assert "no_vehicle_class" in result.stdout


def test_bad_instance_names_the_field_and_exits_2(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(DAY))
    bad["requests"][1]["pickup_latest"] = "2026-11-03T08:00:00+08:00"
    result = runner.invoke(fleet.cli.app, ["dispatch", "solve", str(write_json(tmp_path / "day.json", bad))])
    assert result.exit_code == 2
    assert "requests[1].pickup_latest: must not be before pickup_earliest" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(fleet.cli.app, ["dispatch", "solve", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "cannot read file" in result.output


def test_help_explains_every_option() -> None:
    result = runner.invoke(fleet.cli.app, ["dispatch", "solve", "--help"])
    assert result.exit_code == 0
    for word in ("INSTANCE.json", "--time-limit", "--json", "UTC offset"):
        assert word in result.stdout
