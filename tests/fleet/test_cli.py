"""The ``fleet`` commands through typer's CliRunner, on the database FLEET_DATABASE_URL names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet.cli import app
from fleet.models import AuditEntry, Organisation, User, Vehicle
from fleet.security import verify_password
from tests.fleet.test_fleet_document import small_document

runner = CliRunner()


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_and_export(engine, tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(_write(tmp_path, small_document()))])
    assert result.exit_code == 0, result.output
    assert "2 vehicles" in result.output

    out = tmp_path / "export.json"
    result = runner.invoke(app, ["export-fleet", str(out)])
    assert result.exit_code == 0, result.output
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert [v["plate"] for v in exported["vehicles"]] == ["苏G12345", "苏GD12345"]


def test_bad_import_prints_paths_and_writes_nothing(engine, tmp_path: Path) -> None:
    doc = small_document()
    doc["vehicles"][0]["org"] = "NOPE"
    doc["users"][0]["password"] = "short"
    result = runner.invoke(app, ["import", str(_write(tmp_path, doc))])
    assert result.exit_code == 1
    assert "vehicles[0].org: unknown organisation code 'NOPE'" in result.output
    assert "users[0].password:" in result.output
    assert "nothing was imported" in result.output
    with Session(engine) as session:
        assert session.exec(select(Organisation)).first() is None

    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["import", str(tmp_path / "broken.json")])
    assert result.exit_code == 1 and "not valid JSON" in result.output


def test_schema_import_prints_the_json_schema() -> None:
    result = runner.invoke(app, ["schema", "import"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "Fleet description document"
    assert "VehicleRecord" in schema["$defs"]


def test_users_create(engine, tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(_write(tmp_path, small_document()))])
    result = runner.invoke(
        app, ["users", "create", "auditor1", "--role", "auditor", "--org", "C"], input="audit-pass-1\naudit-pass-1\n"
    )
    assert result.exit_code == 0, result.output
    assert "audit-pass-1" not in result.output  # the prompt does not echo
    result = runner.invoke(app, ["users", "create", "auditor1", "--role", "auditor", "--org", "X", "--password-stdin"],
                           input="audit-pass-2\n")
    assert result.exit_code == 1
    assert "username: username 'auditor1' already exists" in result.output
    assert "org: unknown organisation code 'X'" in result.output
    result = runner.invoke(app, ["users", "create", "boss1", "--role", "boss", "--org", "C", "--password-stdin"],
                           input="aaaa\n")
    assert result.exit_code == 1
    assert "role: Input should be" in result.output and "password: String should have at least 8" in result.output
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "auditor1")).one()
        assert user.role == "auditor" and verify_password(user.password_hash, "audit-pass-1")


def test_users_create_takes_no_password_on_the_command_line(engine, tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(_write(tmp_path, small_document()))])
    result = runner.invoke(app, ["users", "create", "auditor2", "--role", "auditor", "--org", "C",
                                 "--password", "audit-pass-2"])
    assert result.exit_code == 2 and "No such option" in result.output
    with Session(engine) as session:
        assert session.exec(select(User).where(User.username == "auditor2")).first() is None


def test_users_create_refuses_guessable_passwords_stricter_for_admins(engine, tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(_write(tmp_path, small_document()))])
    for role, password in (("auditor", "password"), ("admin", "12345678"), ("admin", "Beijing2021!")):
        result = runner.invoke(app, ["users", "create", "weak1", "--role", role, "--org", "C", "--password-stdin"],
                               input=f"{password}\n")
        assert result.exit_code == 1 and "password: " in result.output, result.output
    result = runner.invoke(app, ["users", "create", "fine1", "--role", "auditor", "--org", "C", "--password-stdin"],
                           input="Beijing2021!\n")
    assert result.exit_code == 0, result.output


def test_users_create_audits_username_role_and_organisation(engine, tmp_path: Path) -> None:
    runner.invoke(app, ["import", str(_write(tmp_path, small_document()))])
    result = runner.invoke(app, ["users", "create", "auditor3", "--role", "auditor", "--org", "C", "--password-stdin"],
                           input="audit-pass-3\n")
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "auditor3")).one()
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "user.create")).one()
    assert entry.actor == "cli" and entry.object_id == str(user.id)
    assert entry.after["username"] == "auditor3" and entry.after["role"] == "auditor" and entry.after["org"] == "C"
    assert "password_hash" not in entry.after


@pytest.mark.slow  # seeds the whole synthetic fleet
def test_seed_command(engine) -> None:
    result = runner.invoke(app, ["seed", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "admin-demo-2021" in result.output
    with Session(engine) as session:
        assert len(session.exec(select(Vehicle.id)).all()) > 500

    result = runner.invoke(app, ["seed"])
    assert result.exit_code == 1
    assert "already has organisations" in result.output


def test_every_command_has_help() -> None:
    for command in (["import"], ["export-fleet"], ["schema", "import"], ["users", "create"], ["seed"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
