"""Request hardening: strict JSON (no NaN or Infinity), a body size limit, security headers,
database errors without driver text, validation errors without echoed input, a closed
/metrics, and logs that render no local variables and hold no secrets."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session

from fleet.logs import configure_logging
from fleet.models import Role, User
from fleet.settings import MqttSettings, WebSettings, get_settings
from tests.web.conftest import PASSWORD_HASH, World
from tests.web.served import fleet_server, timing_livez
from web.app import create_app

JSON = {"content-type": "application/json"}


def _post_raw(client: TestClient, path: str, body: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(path, content=body, headers={**headers, **JSON})


def _locs(response: httpx.Response) -> list[list[Any]]:
    return [e["loc"] for e in response.json()["detail"]]


def test_non_finite_numbers_are_refused_naming_the_field(client, world):
    admin = world.auth("admin")
    event = f"/api/v1/assignments/{world.ids['assignment']}/events"
    cases = [
        (event, '{"event": "started", "odometer_km": NaN}', world.auth("driver"), ["body", "odometer_km"]),
        ("/api/v1/trip-requests", '{"agency_id": Infinity, "purpose": "x"}', admin, ["body", "agency_id"]),
        ("/api/v1/exports", '{"org_id": NaN, "since": "2026-12-01T00:00:00Z"}', world.auth("auditor"), ["body", "org_id"]),
        ("/api/v1/trip-requests", '{"passengers": -Infinity}', admin, ["body", "passengers"]),
        ("/api/v1/trip-requests", '{"origin_lat": 1e999}', admin, ["body", "origin_lat"]),
        ("/api/v1/zones", '{"geometry": {"type": "Polygon", "coordinates": [[[119.2, NaN]]]}}', admin,
         ["body", "geometry", "coordinates", 0, 0, 1]),
    ]
    for path, body, headers, loc in cases:
        r = _post_raw(client, path, body, headers)
        assert r.status_code == 422, (path, body, r.text)
        assert _locs(r) == [loc], (path, body)
        assert r.json()["detail"][0]["type"] == "finite_number"
    r = client.get("/api/v1/positions", params={"vehicle_id": "nan"}, headers=admin)
    assert r.status_code == 422 and _locs(r) == [["query", "vehicle_id"]]


def test_deep_and_malformed_json_is_refused_before_any_route(client, world):
    admin = world.auth("admin")
    deep = "[" * 40 + "]" * 40
    r = _post_raw(client, "/api/v1/zones", f'{{"geometry": {deep}}}', admin)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_depth"
    r = _post_raw(client, "/api/v1/zones", "[" * 100_000, admin)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_depth"
    r = _post_raw(client, "/api/v1/zones", '{"name": "x",', admin)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    r = _post_raw(client, "/api/v1/zones", '{"org_id": ' + "9" * 5000 + "}", admin)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"


def test_validation_errors_name_the_field_without_echoing_the_input(client, world):
    r = client.post("/api/v1/trip-requests", json={"purpose": ["echo-me-4f1c"]}, headers=world.auth("admin"))
    assert r.status_code == 422
    assert "echo-me-4f1c" not in r.text
    assert ["body", "purpose"] in _locs(r)
    assert all(set(e) == {"type", "loc", "msg"} for e in r.json()["detail"])


@pytest.fixture
def small_limit_client(engine, mqtt_url) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = get_settings().model_copy(update={"mqtt": MqttSettings(url=mqtt_url), "web": WebSettings(body_max_bytes=4096)})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_bodies_over_the_limit_answer_413_before_any_route(small_limit_client):
    client = small_limit_client
    big = json.dumps({"name": "x" * 5000})
    r = client.post("/api/v1/auth/token", content=big, headers=JSON)
    assert r.status_code == 413 and "4096" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for _ in range(10):
            yield b" " * 1000

    r = client.post("/api/v1/auth/token", content=chunks(), headers=JSON)
    assert r.status_code == 413
    small = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "wrong"})
    assert small.status_code == 401


def test_the_default_body_limit_is_a_few_megabytes(client, world):
    assert 1024**2 <= get_settings().web.body_max_bytes <= 8 * 1024**2
    body = b'{"name": "' + b"x" * (get_settings().web.body_max_bytes + 1) + b'"}'
    r = client.post("/api/v1/zones", content=body, headers={**world.auth("admin"), **JSON})
    assert r.status_code == 413


HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


def test_every_answer_carries_the_security_headers(client, world):
    client.post("/api/v1/auth/login", data={"username": "dispatcher", "password": "correct-horse-42"})
    for path in ["/", "/login", "/livez", "/api/v1/vehicles", "/static/css/fleet.css", "/no-such-page"]:
        r = client.get(path, follow_redirects=False)
        for name in HEADERS:
            assert name in r.headers, (path, name)
        assert "strict-transport-security" not in r.headers  # development serves plain HTTP
    policy = client.get("/login").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert client.get("/livez").headers["x-content-type-options"] == "nosniff"


def test_production_adds_hsts_and_the_tile_server_joins_the_policy(engine, mqtt_url):
    settings = get_settings().model_copy(update={
        "env": "production", "mqtt": MqttSettings(url=mqtt_url),
        "web": WebSettings(tile_url="https://{s}.tiles.example/{z}/{x}/{y}.png")})
    with TestClient(create_app(settings)) as client:
        r = client.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    directives = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert "https://*.tiles.example" in directives["img-src"].split()


def test_docs_pages_admit_exactly_their_own_inline_script(client):
    r = client.get("/docs")
    (script,) = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"].split("script-src", 1)[1].split(";")[0]


@pytest.fixture
def probe_app(app, engine):  # type: ignore[no-untyped-def]
    """The app with three routes that hit real database errors."""

    def duplicate_user() -> None:
        with Session(engine) as session:
            for _ in range(2):
                session.add(User(username="twin", role=Role.admin, password_hash=PASSWORD_HASH))
                session.flush()

    def unreachable_database() -> None:
        if engine.dialect.name == "sqlite":
            url = "sqlite:////no_such_folder_x/secret_column.db"
        else:
            url = engine.url.set(host="127.0.0.1", port=1, database="no_such_table_x")
        with create_engine(url).connect():
            pass

    def unbound_parameter() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT :hidden_value"))

    for path, endpoint in [("/probe/integrity", duplicate_user), ("/probe/operational", unreachable_database),
                           ("/probe/statement", unbound_parameter)]:
        app.add_api_route(path, endpoint, methods=["POST"])
    return app


def test_database_errors_answer_cleanly_without_driver_text(probe_app):
    with TestClient(probe_app) as client:
        conflict = client.post("/probe/integrity")
        unavailable = client.post("/probe/operational")
        broken = client.post("/probe/statement")
    assert conflict.status_code == 409
    assert conflict.json() == {"detail": "conflicts with an existing record or refers to a missing one"}
    assert unavailable.status_code == 503 and unavailable.headers["retry-after"]
    assert broken.status_code == 500 and broken.json() == {"detail": "internal database error"}
    for r in (conflict, unavailable, broken):
        for raw in ("UNIQUE", "unique", "twin", "argon2", "INSERT", "no_such_table_x", "secret_column",
                    "hidden_value", "sqlalche.me", "psycopg", "sqlite3"):
            assert raw not in r.text, (r.request.url, raw)


def test_metrics_need_the_token_when_one_is_set(engine, mqtt_url):
    token = "metrics-scraper-token-0123456789"
    base = get_settings().model_copy(update={"mqtt": MqttSettings(url=mqtt_url)})
    with TestClient(create_app(base.model_copy(update={"web": WebSettings(metrics_token=token)}))) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        r = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "fleet_http_requests_total" in r.text
    with TestClient(create_app(base.model_copy(update={"env": "production"}))) as client:
        assert client.get("/metrics").status_code == 403
    with TestClient(create_app(base)) as client:
        assert client.get("/metrics").status_code == 200


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The platform's logging configuration writing into a string; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    structlog.reset_defaults()


def _fail_with_secrets_in_locals() -> None:
    password_hash = PASSWORD_HASH  # noqa: F841  (a local the traceback must not show)
    session_cookie = "fleet_session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"  # noqa: F841
    raise RuntimeError("request failed")


@pytest.mark.parametrize("as_json", [False, True])
def test_tracebacks_render_without_locals_and_secrets_are_redacted(log_stream, monkeypatch, as_json):
    monkeypatch.setattr("sys.stderr", log_stream)
    configure_logging("INFO", json=as_json)
    try:
        _fail_with_secrets_in_locals()
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.aGVsbG8td29ybGQ"
    structlog.get_logger("web").info(
        "login", password="hunter2-secret", headers={"Authorization": f"Bearer {token}", "Cookie": "fleet_session=abc"},
        detail=f"stored {PASSWORD_HASH} for user", path=f"/ws/live?token={token}")
    logging.getLogger("sqlalchemy").error("failed: [parameters: ('admin', '%s')]", PASSWORD_HASH)
    output = log_stream.getvalue()
    assert "Traceback" in output and "RuntimeError: request failed" in output
    assert len(output) < 5000
    for secret in ("$argon2", PASSWORD_HASH[10:40], "eyJhbGci", "hunter2-secret", "fleet_session=abc", token[-10:]):
        assert secret not in output, secret
    assert output.count("[redacted]") >= 6


def _numeric_fields(schema: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """Names of the top-level integer or number properties of a request body schema."""
    ref = body.get("$ref")
    resolved = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else body
    fields = []
    for name, prop in resolved.get("properties", {}).items():
        types = {prop.get("type")} | {alt.get("type") for alt in prop.get("anyOf", [])}
        if types & {"integer", "number"}:
            fields.append(name)
    return fields


@pytest.mark.slow  # `fleet serve` as a process
def test_non_finite_numbers_at_every_json_endpoint_keep_livez_fast(world: World, tmp_path):
    """Against `fleet serve` in its own process: NaN and Infinity in every numeric field of
    every JSON body answer 422 naming the field, /livez stays under 200 ms meanwhile, and the
    log stays small and free of secrets."""
    with fleet_server(tmp_path / "serve.log") as served, httpx.Client(base_url=served.url, timeout=30) as http:
        schema = http.get("/openapi.json").json()
        headers = {**world.auth("admin"), **JSON}
        sent = 0
        with timing_livez(served.url) as livez:
            for path, item in schema["paths"].items():
                for method, operation in item.items():
                    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                    if body is None:
                        continue
                    url = re.sub(r"\{[^}]+\}", str(world.ids["assignment"]), path)
                    for field in _numeric_fields(schema, body["schema"]):
                        for constant in ("NaN", "Infinity", "-Infinity"):
                            r = http.request(method, url, content=f'{{"{field}": {constant}}}', headers=headers)
                            assert r.status_code == 422, (method, path, field, r.text)
                            assert r.json()["detail"] == [{"type": "finite_number", "loc": ["body", field],
                                                           "msg": r.json()["detail"][0]["msg"]}]
                            sent += 1
        log = served.log_text()
    assert sent > 60
    assert livez.samples and livez.slowest_s < 0.2, livez.slowest_s
    assert len(log) < 200_000
    for secret in ("$argon2", world.tokens["admin"][:20], "fleet_session="):
        assert secret not in log
