"""Operational endpoints and the offline API docs."""

from fastapi.testclient import TestClient

from fleet.settings import get_settings


def test_livez(client):
    assert client.get("/livez").json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client):
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_an_unreachable_broker(engine, monkeypatch):
    from web.app import create_app

    monkeypatch.setenv("FLEET_MQTT_URL", "mqtt://127.0.0.1:9")  # nothing listens on the discard port
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["broker"] == "unreachable"
    assert r.json()["checks"]["database"] == "ok"


def test_metrics_count_requests_by_route(client, world):
    client.get(f"/api/v1/vehicles/{world.ids['vehicle']}", headers=world.auth("admin"))
    text = client.get("/metrics").text
    assert 'fleet_http_requests_total{method="GET",route="/api/v1/vehicles/{object_id}",status="200"}' in text
    assert "fleet_http_request_duration_seconds_bucket" in text


def test_docs_are_served_without_internet(client):
    page = client.get("/docs").text
    assert "cdn" not in page.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static-offline-docs/{asset}" in page
        r = client.get(f"/static-offline-docs/{asset}")
        assert r.status_code == 200 and len(r.content) > 10_000
    assert client.get("/openapi.json").json()["info"]["title"] == "Official-vehicle fleet platform"
