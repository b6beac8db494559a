def test_me(client, world):
    r = client.get("/api/v1/auth/me", headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
