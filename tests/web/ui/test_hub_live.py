"""The websocket hub: authentication, fan-out of the MQTT events topics scoped to the
user's organisation, several server processes delivering the same update, phone locations
published to the car's gps topic, and an honest status when the broker is away."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from web_ui_world import (  # type: ignore[import-not-found]
    RUN,
    add_todays_work,
    live_socket,
    receive_until,
    wait_live,
)

from fleet import topics
from fleet.models import Role, User, Vehicle, utcnow
from fleet.security import issue_token
from fleet.settings import get_settings
from tests.builders import free_port
from tests.web.conftest import PASSWORD_HASH
from web.app import create_app
from web.hub import CLOSE_UNAUTHENTICATED


def position(vehicle_id: int, lat: float, plate: str = "苏G12345") -> dict[str, Any]:
    return {"vehicle_id": vehicle_id, "device_id": RUN, "plate": plate, "ts": utcnow().isoformat(),
            "lat": lat, "lon": 119.2, "speed_kmh": 42.0, "heading_deg": 90.0, "ignition": True, "source": "gps"}


def test_socket_needs_a_valid_token_sent_first(client, world):
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": "not-a-token"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == CLOSE_UNAUTHENTICATED
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": world.tokens["dispatcher"]})
        message = ws.receive_json()
    assert message["type"] == "status"


def test_positions_reach_only_clients_whose_scope_holds_the_car(client, world, session, mqtt_probe):
    add_todays_work(session, world)
    county_car = Vehicle(id=world.ids["today_vehicle"] + 1, plate="苏G70001", vin="LSVAA4180E2000077", org_id=world.ids["county"], vehicle_class="sedan",
                         seats=5, energy="petrol", emission_standard="china6", purchase_date=date(2021, 1, 1),
                         purchase_price_cny=120000)
    county_dispatcher = User(username="county_dispatcher", role=Role.dispatcher, org_id=world.ids["county"],
                             password_hash=PASSWORD_HASH)
    session.add_all([county_car, county_dispatcher])
    session.commit()
    county_token = issue_token(county_dispatcher.id, client.app.state.signing_key, 3600)
    with live_socket(client, world.tokens['dispatcher']) as city_ws, \
            live_socket(client, county_token) as county_ws:
        wait_live(city_ws)
        wait_live(county_ws)
        mqtt_probe.publish(topics.EVENTS_POSITIONS, [position(world.ids["today_vehicle"], 34.61),
                                                      position(county_car.id, 34.71, "苏G70001")])
        city = receive_until(city_ws, "positions")
        county = receive_until(county_ws, "positions")
    assert {p["vehicle_id"] for p in city["items"]} == {world.ids["today_vehicle"], county_car.id}
    assert [p["vehicle_id"] for p in county["items"]] == [county_car.id]


def test_positions_are_coalesced_per_car(client, world, session, mqtt_probe):
    add_todays_work(session, world)
    with live_socket(client, world.tokens['admin']) as ws:
        wait_live(ws)
        for lat in (34.601, 34.602, 34.603):
            mqtt_probe.publish(topics.EVENTS_POSITIONS, [position(world.ids["today_vehicle"], lat)])
        first = receive_until(ws, "positions")
        seen = [p["lat"] for p in first["items"]]
        if seen[-1] != 34.603:
            seen += [p["lat"] for p in receive_until(ws, "positions")["items"]]
    assert seen[-1] == 34.603
    assert len(seen) < 3 or seen == [34.601, 34.602, 34.603][: len(seen)]


def test_every_server_process_delivers_the_same_update(world, session, engine, mqtt_url, mqtt_probe):
    """Two apps (as two processes behind one address would be) both deliver a position."""
    add_todays_work(session, world)
    with TestClient(create_app()) as first, TestClient(create_app()) as second:
        token = world.tokens["dispatcher"]
        with live_socket(first, token) as ws1, live_socket(second, token) as ws2:
            wait_live(ws1)
            wait_live(ws2)
            mqtt_probe.publish(topics.EVENTS_POSITIONS, [position(world.ids["today_vehicle"], 34.62)])
            for ws in (ws1, ws2):
                assert receive_until(ws, "positions")["items"][0]["lat"] == 34.62


def test_alerts_go_to_fleet_watchers_in_scope(client, world, mqtt_probe):
    alert = {"id": 99, "kind": "parking.forbidden_zone", "vehicle_id": world.ids["vehicle"], "state": "open",
             "severity": "warning", "started_at": utcnow().isoformat()}
    with live_socket(client, world.tokens['auditor']) as ws:
        wait_live(ws)
        mqtt_probe.publish(topics.EVENTS_ALERTS, alert)
        got = receive_until(ws, "alert")
    assert got["alert"]["kind"] == "parking.forbidden_zone"


def test_plan_changes_reach_the_driver_of_a_changed_assignment(client, world, session, mqtt_probe):
    add_todays_work(session, world)
    event = {"plan_id": 5, "service_date": "2026-12-01", "status": "accepted",
             "changed_assignment_ids": [world.ids["today_assignment"]]}
    with live_socket(client, world.tokens['driver']) as ws:
        wait_live(ws)
        mqtt_probe.publish(topics.EVENTS_PLANS, event)
        got = receive_until(ws, "plan")
    assert got["plan_id"] == 5 and got["status"] == "accepted"


def test_phone_location_is_published_to_the_cars_gps_topic(client, world, session, mqtt_probe):
    add_todays_work(session, world)
    mqtt_probe.subscribe(topics.gps_topic(world.device))
    with live_socket(client, world.tokens['driver']) as ws:
        wait_live(ws)
        ws.send_json({"type": "location", "lat": 34.6012, "lon": 119.2034, "speed_kmh": 12, "accuracy_m": 8})
        ack = receive_until(ws, "location_ack")
        ws.send_json({"type": "location", "lat": 123, "lon": 119.2})
        refused = receive_until(ws, "error")
    fix = mqtt_probe.wait_for(topics.gps_topic(world.device))
    assert ack["plate"] == world.plate
    assert fix["source"] == "phone" and fix["device_id"] == world.device
    assert (fix["lat"], fix["lon"], fix["ignition"]) == (34.6012, 119.2034, True)
    assert "lat" in refused["message"]
    with live_socket(client, world.tokens['dispatcher']) as ws:
        ws.send_json({"type": "location", "lat": 34.6, "lon": 119.2})
        refused = receive_until(ws, "error")
    assert "driver" in refused["message"]


def test_status_says_not_live_when_the_broker_is_down(world, engine, monkeypatch):
    monkeypatch.setenv("FLEET_MQTT_URL", f"mqtt://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    with TestClient(create_app()) as down:
        assert down.get("/livez").status_code == 200
        with live_socket(down, world.tokens['dispatcher']) as ws:
            assert ws.receive_json() == {"type": "status", "live": False}
