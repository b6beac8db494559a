"""Login by password: bearer tokens for the API, a session cookie for the pages."""


from fleet.models import User
from fleet.security import issue_token
from tests.web.conftest import PASSWORD


def test_token_login_and_me(client, world):
    r = client.post("/api/v1/auth/token", data={"username": "dispatcher", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "dispatcher"
    assert me.json()["org_path"] == f"/{world.ids['city']}/"


def test_wrong_password_and_unknown_user_are_refused_alike(client, world):
    wrong = client.post("/api/v1/auth/token", data={"username": "admin", "password": "not-the-password"})
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_cookie_session_for_pages(client, world):
    r = client.post("/api/v1/auth/login", data={"username": "requester", "password": PASSWORD})
    assert r.status_code == 200
    cookie = r.cookies.get("fleet_session")
    assert cookie
    assert "httponly" in r.headers["set-cookie"].lower()
    assert client.get("/api/v1/trip-requests").status_code == 200  # the client keeps the cookie
    client.post("/api/v1/auth/logout")
    client.cookies.clear()
    assert client.get("/api/v1/trip-requests").status_code == 401


def test_forged_expired_and_garbage_tokens_get_401(client, world):
    forged = issue_token(world.ids["user_admin"], "another-key-of-sufficient-length-000000", 3600)
    expired = issue_token(world.ids["user_admin"], client.app.state.signing_key, -60)
    for token in (forged, expired, "not-a-jwt"):
        r = client.get("/api/v1/vehicles", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


def test_deactivated_user_loses_access(client, world, session):
    user = session.get(User, world.ids["user_dispatcher"])
    user.is_active = False
    session.add(user)
    session.commit()
    assert client.get("/api/v1/vehicles", headers=world.auth("dispatcher")).status_code == 401
    r = client.post("/api/v1/auth/token", data={"username": "dispatcher", "password": PASSWORD})
    assert r.status_code == 401
