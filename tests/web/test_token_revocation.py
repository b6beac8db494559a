"""Tokens end with their user's access: password, role, organisation or activity changes and
logout revoke every token issued before, and the id of a deleted user is never handed out
again."""

from __future__ import annotations

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from fleet.models import User
from fleet.security import TOKEN_ALGORITHM, decode_token
from tests.web.conftest import PASSWORD, World


def _login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _me(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/auth/me", headers=headers).status_code


def test_tokens_carry_an_id_and_the_users_token_version(client: TestClient, world: World) -> None:
    first = _login(client, "dispatcher")["Authorization"].removeprefix("Bearer ")
    second = _login(client, "dispatcher")["Authorization"].removeprefix("Bearer ")
    claims = [decode_token(token, client.app.state.signing_key) for token in (first, second)]
    assert claims[0].user_id == world.ids["user_dispatcher"]
    assert claims[0].version == claims[1].version == 0
    assert claims[0].token_id != claims[1].token_id


def test_a_token_without_version_is_refused(client: TestClient, world: World) -> None:
    legacy = jwt.encode({"sub": str(world.ids["user_admin"]), "exp": 4_102_444_800},
                        client.app.state.signing_key, algorithm=TOKEN_ALGORITHM)
    assert _me(client, {"Authorization": f"Bearer {legacy}"}) == 401


def test_password_change_revokes_the_old_tokens(client: TestClient, world: World) -> None:
    old = _login(client, "dispatcher")
    response = client.patch(f"/api/v1/users/{world.ids['user_dispatcher']}", headers=world.auth("admin"),
                            json={"password": "a-new-route-planner-9"})
    assert response.status_code == 200, response.text
    assert _me(client, old) == 401
    assert _me(client, _login(client, "dispatcher", "a-new-route-planner-9")) == 200


@pytest.mark.parametrize("change", [{"role": "auditor"}, {"is_active": False}, {"org_id": "county"}])
def test_role_scope_and_deactivation_revoke_the_old_tokens(
    client: TestClient, world: World, change: dict[str, object]
) -> None:
    old = _login(client, "requester")
    body = {key: world.ids[value] if key == "org_id" else value for key, value in change.items()}
    response = client.patch(f"/api/v1/users/{world.ids['user_requester']}", headers=world.auth("admin"), json=body)
    assert response.status_code == 200, response.text
    assert _me(client, old) == 401


def test_a_name_change_keeps_the_tokens(client: TestClient, world: World) -> None:
    old = _login(client, "requester")
    response = client.patch(f"/api/v1/users/{world.ids['user_requester']}", headers=world.auth("admin"),
                            json={"full_name": "李四"})
    assert response.status_code == 200
    assert _me(client, old) == 200


def test_logout_revokes_the_bearer_token_and_the_cookie(client: TestClient, world: World) -> None:
    bearer = _login(client, "dispatcher")
    assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    assert _me(client, bearer) == 401

    assert client.post("/api/v1/auth/login", data={"username": "requester", "password": PASSWORD}).status_code == 200
    cookie = client.cookies.get("fleet_session")
    assert client.post("/api/v1/auth/logout").status_code == 204
    client.cookies.set("fleet_session", cookie)  # a copy kept by whoever stole it
    assert client.get("/api/v1/auth/me").status_code == 401


def test_a_deleted_users_id_is_not_reused(client: TestClient, world: World, session: Session) -> None:
    def create(username: str) -> int:
        response = client.post("/api/v1/users", headers=world.auth("admin"), json={
            "username": username, "role": "requester", "org_id": world.ids["agency"], "password": PASSWORD})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    gone_id = create("leaver")
    token = _login(client, "leaver")
    session.delete(session.get(User, gone_id))
    session.commit()
    assert create("joiner") != gone_id
    assert _me(client, token) == 401
