"""The API documentation's Authorize dialog logs in with a username and password: the API
declares OAuth2's password flow at the token endpoint, which answers the form the dialog
sends with a bearer token, under the same login throttle as every login."""

from __future__ import annotations

from tests.web.conftest import PASSWORD

#: What Swagger UI's password flow posts (it adds the grant type and an empty scope).
FORM = {"grant_type": "password", "username": "auditor", "password": PASSWORD, "scope": ""}


def test_the_api_declares_the_password_flow_at_the_token_endpoint(client):
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert list(schemes.values()) == [{
        "type": "oauth2", "flows": {"password": {"scopes": {}, "tokenUrl": "/api/v1/auth/token"}},
        "description": schemes["OAuth2PasswordBearer"]["description"]}]
    listed = schema["paths"]["/api/v1/audit/entries"]["get"]
    assert listed["security"] == [{"OAuth2PasswordBearer": []}]


def test_the_dialogs_form_gets_a_token_that_opens_the_api(client, world):
    answer = client.post("/api/v1/auth/token", data=FORM)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer" and body["access_token"]
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).json()["username"] == "auditor"
    assert client.get("/api/v1/audit/entries", headers=headers).status_code == 200
    assert client.get("/api/v1/audit/entries", headers={"Authorization": "Basic YXVkaXRvcjp4"}).status_code == 401
    wrong_grant = client.post("/api/v1/auth/token", data=FORM | {"grant_type": "client_credentials"})
    assert wrong_grant.status_code == 422 and "grant_type" in wrong_grant.text


def test_the_form_is_throttled_like_every_login(client, world):
    for _ in range(5):
        assert client.post("/api/v1/auth/token", data=FORM | {"password": "wrong-password-1"}).status_code == 401
    locked = client.post("/api/v1/auth/token", data=FORM)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
