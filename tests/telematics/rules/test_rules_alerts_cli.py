"""``fleet alerts`` and ``fleet calendar load`` through typer's CliRunner, on the test database."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from rule_traces import DEPOT, TOWN, Trace, build_world, feed, local
from sqlmodel import Session
from typer.testing import CliRunner

import fleet.cli
import telematics.alerts_cli
from fleet.working_calendar import WorkingCalendar
from tests.builders import commands_registered

runner = CliRunner()


_registered = commands_registered(telematics.alerts_cli.register, "calendar")


@pytest.fixture
def world(session: Session):  # type: ignore[no-untyped-def]
    world = build_world(session)
    evening = Trace().park(DEPOT, local(date(2026, 12, 1), 20), 10).drive(TOWN, 15).then_park(10)
    feed(session, world.ids["car"], evening.fixes)
    return world


def test_alerts_json_lists_and_filters(world, engine) -> None:
    result = runner.invoke(fleet.cli.app, ["alerts", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert {a["kind"] for a in listed} == {"private_use.no_order", "private_use.off_hours"}
    assert all(a["vehicle_id"] == world.ids["car"] and a["rule_version"] for a in listed)

    only = json.loads(runner.invoke(fleet.cli.app, ["alerts", "--json", "--kind", "private_use.off_hours",
                                                    "--vehicle", "苏G12345"]).output)
    assert [a["kind"] for a in only] == ["private_use.off_hours"]
    later = runner.invoke(fleet.cli.app, ["alerts", "--json", "--since", "2026-12-02T00:00:00+08:00"])
    assert json.loads(later.output) == []
    table = runner.invoke(fleet.cli.app, ["alerts"])
    assert table.exit_code == 0 and "2 alerts" in table.output and "苏G12345" in table.output


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "parking.nowhere"], "--kind: unknown kind"),
    (["--since", "2026-12-01T08:00:00"], "--since: give a UTC offset"),
    (["--until", "yesterday"], "--until: must be an ISO-8601 time"),
])
def test_bad_options_name_the_option(engine, args: list[str], message: str) -> None:
    result = runner.invoke(fleet.cli.app, ["alerts", *args])
    assert result.exit_code == 2 and message in result.output


def test_calendar_load(engine, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "2027.json"
    path.write_text(json.dumps({"year": 2027, "source": "国办发明电〔2026〕12号",
                                "working_days": [{"date": "2027-02-14", "name": "调休上班"}]}), encoding="utf-8")
    result = runner.invoke(fleet.cli.app, ["calendar", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert WorkingCalendar.from_session(session).answer(date(2027, 2, 14)).working
    path.write_text(json.dumps({"year": 2027, "source": "x", "working_days": [{"date": "2028-01-01"}]}))
    bad = runner.invoke(fleet.cli.app, ["calendar", "load", str(path)])
    assert bad.exit_code == 2 and "working_days[0].date" in bad.output
