"""Guessable passwords and signing keys are refused: zxcvbn's estimate, stricter for
administrators; the published demo passwords still pass."""

from __future__ import annotations

import secrets

import pytest
from fastapi.testclient import TestClient

from fleet.models import Role
from fleet.password_policy import password_problem
from fleet.seed import build_seed_document
from fleet.settings import AuditSettings, MqttSettings, Settings, SettingsError
from tests.web.conftest import World

PRODUCTION = {"env": "production", "mqtt": MqttSettings(url="mqtt://broker:1883"),
              "audit": AuditSettings(checkpoint_key=secrets.token_urlsafe(32))}


@pytest.mark.parametrize("key", ["a" * 40, "secret" * 6, "0123456789" * 4, "x9" * 20])
def test_production_refuses_a_long_but_guessable_secret_key(key: str) -> None:
    with pytest.raises(SettingsError, match="FLEET_SECRET_KEY: too easy to guess"):
        Settings(secret_key=key, **PRODUCTION)


def test_production_accepts_a_random_secret_key() -> None:
    key = secrets.token_urlsafe(32)
    assert Settings(secret_key=key, **PRODUCTION).signing_key() == key


def _create(client: TestClient, world: World, role: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/users", headers=world.auth("admin"), json={
        "username": f"new_{role}", "role": role, "org_id": world.ids["city"], "password": password})


@pytest.mark.parametrize("password", ["password", "12345678", "Sunshine2026", "new_auditor-1"])
def test_guessable_passwords_are_refused(client: TestClient, world: World, password: str) -> None:
    response = _create(client, world, "auditor", password)
    assert response.status_code == 422
    assert "password" in response.text and "guess" in response.text


def test_administrators_need_a_stronger_password(client: TestClient, world: World) -> None:
    for password in ("Beijing2021!", "12345678", "password"):
        response = _create(client, world, "admin", password)
        assert response.status_code == 422 and "administrator" in response.text, password
    assert _create(client, world, "auditor", "Beijing2021!").status_code == 201
    assert _create(client, world, "admin", "granite-ferry-lantern-71").status_code == 201


def test_a_password_change_follows_the_policy(client: TestClient, world: World) -> None:
    url = f"/api/v1/users/{world.ids['user_admin']}"
    response = client.patch(url, headers=world.auth("admin"), json={"password": "Beijing2021!"})
    assert response.status_code == 422 and "password: " in response.json()["detail"]
    assert client.patch(url, headers=world.auth("admin"), json={"password": "granite-ferry-lantern-71"}).status_code == 200


def test_the_demo_passwords_pass_the_policy() -> None:
    _, logins = build_seed_document(2021)
    assert {login.role for login in logins} == {role.value for role in Role}
    for login in logins:
        assert login.password == f"{login.username}-demo-2021"
        assert password_problem(login.password, admin=login.role == "admin", user_inputs=[login.username]) is None
