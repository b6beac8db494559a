"""The live hub: one websocket per open page at ``/ws``, fed from the MQTT events topics.

Every server process subscribes to ``fleet/v1/events/positions``, ``.../alerts`` and
``.../plans`` itself (no shared subscription), so several processes behind one address all
deliver every update to their own clients. Positions are coalesced per car and sent at most
once per ``POSITION_INTERVAL_S`` seconds per car; each client sees only the cars, alerts and
plans of its organisation subtree.

A socket authenticates with the same bearer token as the API (``?token=`` or a first message
``{"type": "auth", "token": ...}``) or with the session cookie of the pages. A driver's phone
may send ``{"type": "location", "lat", "lon", ...}``: the hub publishes it to the gps topic of
the car the driver is driving, marked ``"source": "phone"``, and the ingest pipeline takes it
from there like any device fix.

Messages to clients: ``{"type": "status", "live": bool}``, ``{"type": "positions", "items":
[...]}``, ``{"type": "alert", "alert": {...}}``, ``{"type": "plan", ...}``,
``{"type": "location_ack", ...}`` and ``{"type": "error", "message": str}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dtime
from typing import Any

import paho.mqtt.client as mqtt
import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from fleet import topics
from fleet.broker import parse_broker_url
from fleet.models import (
    Assignment,
    Driver,
    Organisation,
    RequestState,
    Role,
    TripRequest,
    User,
    Vehicle,
    utcnow,
)
from fleet.security import InvalidToken, read_token
from fleet.settings import Settings
from web.deps import SESSION_COOKIE

log = structlog.get_logger(__name__)

#: A car's position goes to the clients at most once per this many seconds (latest wins).
POSITION_INTERVAL_S = 0.5
#: How often pending positions are flushed to the clients, seconds.
FLUSH_INTERVAL_S = 0.1
#: Messages waiting for one client before it counts as too slow and is disconnected.
CLIENT_QUEUE_SIZE = 200
#: A phone may send its location at most once per this many seconds.
PHONE_INTERVAL_S = 1.0
#: Seconds a socket has to send its token when it came without one.
AUTH_TIMEOUT_S = 5.0
#: Roles that watch the fleet (positions and alerts).
FLEET_WATCHERS = frozenset({Role.admin, Role.dispatcher, Role.auditor})
#: Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4008

EVENT_TOPICS = (topics.EVENTS_POSITIONS, topics.EVENTS_ALERTS, topics.EVENTS_PLANS)


class PhoneLocation(BaseModel):
    """A location a driver's phone shares over the socket (WGS-84 degrees)."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    speed_kmh: float = Field(0, ge=0, le=300)
    heading_deg: float = Field(0, ge=0, le=360)
    accuracy_m: float | None = Field(None, ge=0, le=100_000)
    ts: AwareDatetime | None = Field(None, description="Fix time; default now.")


@dataclass(eq=False)
class LiveClient:
    """One open socket and who is behind it."""

    ws: WebSocket
    user_id: int
    role: Role
    org_path: str
    driver_id: int | None
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE_SIZE))
    last_phone_s: float = 0.0

    @property
    def watches_fleet(self) -> bool:
        return self.role in FLEET_WATCHERS

    def sees(self, org_path: str | None) -> bool:
        return org_path is not None and org_path.startswith(self.org_path)


class LiveHub:
    """Fans MQTT events out to websocket clients; publishes phone locations to MQTT."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.clients: set[LiveClient] = set()
        self.live = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mqtt: mqtt.Client | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._pending: dict[int, dict[str, Any]] = {}
        self._last_sent_s: dict[int, float] = {}
        self._vehicle_paths: dict[int, str] = {}
        self._paths_loaded_s = 0.0

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the broker in the background (retrying) and start flushing."""
        self._loop = asyncio.get_running_loop()
        await run_in_threadpool(self._load_vehicle_paths)
        self._flusher = asyncio.create_task(self._flush_forever(), name="live-hub-flush")
        try:
            address = parse_broker_url(self.settings.resolved_mqtt_url)
        except ValueError as exc:
            log.error("live_hub_bad_broker_url", error=str(exc))
            return
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
        address.authenticate(client)
        client.max_queued_messages_set(10_000)
        client.reconnect_delay_set(min_delay=1, max_delay=15)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.connect_async(address.host, address.port, keepalive=30)
        client.loop_start()
        self._mqtt = client

    async def stop(self) -> None:
        """Close every socket, stop flushing and disconnect from the broker."""
        for client in list(self.clients):
            try:
                client.queue.put_nowait(None)
            except asyncio.QueueFull:
                await _close_quietly(client.ws, 1001, "server shutting down")
        if self._flusher is not None:
            self._flusher.cancel()
        if self._mqtt is not None:
            client, self._mqtt = self._mqtt, None
            await run_in_threadpool(_stop_mqtt, client)
        self.live = False

    # -- MQTT side (paho's thread) ------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("live_hub_broker_refused", reason=str(reason))
            return
        client.subscribe([(topic, 0) for topic in EVENT_TOPICS])
        self._call_in_loop(self._set_live, True)
        log.info("live_hub_connected", url=self.settings.resolved_mqtt_url)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._call_in_loop(self._set_live, False)
        log.warning("live_hub_disconnected", reason=str(reason))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            payload = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError):
            log.warning("live_hub_bad_event", topic=message.topic)
            return
        self._call_in_loop(self._take_event, message.topic, payload)

    def _call_in_loop(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(func, *args)

    # -- event loop side ------------------------------------------------------------------

    def _set_live(self, live: bool) -> None:
        if live != self.live:
            self.live = live
            self._broadcast(json.dumps({"type": "status", "live": live}), lambda c: True)

    def _take_event(self, topic: str, payload: Any) -> None:
        if topic == topics.EVENTS_POSITIONS:
            for item in payload if isinstance(payload, list) else [payload]:
                vehicle_id = item.get("vehicle_id") if isinstance(item, dict) else None
                if isinstance(vehicle_id, int):
                    self._pending[vehicle_id] = item
        elif topic == topics.EVENTS_ALERTS and isinstance(payload, dict):
            path = self._vehicle_paths.get(payload.get("vehicle_id"))  # type: ignore[arg-type]
            if path is None:
                asyncio.ensure_future(self._alert_after_reload(payload))
            else:
                self._send_alert(payload, path)
        elif topic == topics.EVENTS_PLANS and isinstance(payload, dict):
            asyncio.ensure_future(self._send_plan(payload))

    async def _alert_after_reload(self, alert: dict[str, Any]) -> None:
        await run_in_threadpool(self._load_vehicle_paths)
        path = self._vehicle_paths.get(alert.get("vehicle_id"))  # type: ignore[arg-type]
        if path is not None:
            self._send_alert(alert, path)

    def _send_alert(self, alert: dict[str, Any], path: str) -> None:
        text = json.dumps({"type": "alert", "alert": alert}, ensure_ascii=False)
        self._broadcast(text, lambda c: c.watches_fleet and c.sees(path))

    async def _send_plan(self, plan: dict[str, Any]) -> None:
        ids = [i for i in plan.get("changed_assignment_ids") or [] if isinstance(i, int)]
        paths, driver_ids = await run_in_threadpool(self._assignment_scope, ids)
        text = json.dumps({"type": "plan", **plan}, ensure_ascii=False)

        def wanted(client: LiveClient) -> bool:
            if client.role == Role.driver:
                return client.driver_id in driver_ids
            return client.watches_fleet and (not ids or any(client.sees(p) for p in paths))

        self._broadcast(text, wanted)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self._flush_positions()
            except Exception:  # one bad flush must not end live updates
                log.exception("live_hub_flush_failed")

    async def _flush_positions(self) -> None:
        if not self._pending:
            return
        now_s = time.monotonic()
        unknown = [v for v in self._pending if v not in self._vehicle_paths]
        if unknown and now_s - self._paths_loaded_s > 5.0:
            await run_in_threadpool(self._load_vehicle_paths)
            for vehicle_id in unknown:
                if vehicle_id not in self._vehicle_paths:
                    self._pending.pop(vehicle_id, None)
        due: dict[str, list[dict[str, Any]]] = {}
        for vehicle_id, item in list(self._pending.items()):
            path = self._vehicle_paths.get(vehicle_id)
            if path is None or now_s - self._last_sent_s.get(vehicle_id, 0.0) < POSITION_INTERVAL_S:
                continue
            del self._pending[vehicle_id]
            self._last_sent_s[vehicle_id] = now_s
            due.setdefault(path, []).append(item)
        if not due:
            return
        by_scope: dict[str, list[LiveClient]] = {}
        for client in self.clients:
            if client.watches_fleet:
                by_scope.setdefault(client.org_path, []).append(client)
        for scope, clients in by_scope.items():
            items = [item for path, batch in due.items() if path.startswith(scope) for item in batch]
            if items:
                text = json.dumps({"type": "positions", "items": items}, ensure_ascii=False)
                for client in clients:
                    self._enqueue(client, text)

    def _broadcast(self, text: str, wanted: Callable[[LiveClient], bool]) -> None:
        for client in list(self.clients):
            if wanted(client):
                self._enqueue(client, text)

    def _enqueue(self, client: LiveClient, text: str) -> None:
        try:
            client.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("live_hub_client_too_slow", user_id=client.user_id)
            self.clients.discard(client)
            asyncio.ensure_future(client.ws.close(CLOSE_TOO_SLOW, "too slow: reconnect and reload"))

    # -- database lookups (thread pool) ---------------------------------------------------

    def _load_vehicle_paths(self) -> None:
        with Session(self.engine) as session:
            rows = session.exec(
                select(Vehicle.id, Organisation.path).join(Organisation, col(Organisation.id) == Vehicle.org_id)
            ).all()
        self._vehicle_paths = {vehicle_id: path for vehicle_id, path in rows}
        self._paths_loaded_s = time.monotonic()

    def _assignment_scope(self, ids: list[int]) -> tuple[list[str], set[int]]:
        if not ids:
            return [], set()
        with Session(self.engine) as session:
            rows = session.exec(
                select(Organisation.path, Assignment.driver_id)
                .join(Organisation, col(Organisation.id) == Assignment.org_id)
                .where(col(Assignment.id).in_(ids))
            ).all()
        return [path for path, _ in rows], {d for _, d in rows if d is not None}

    # -- clients -------------------------------------------------------------------------

    async def serve(self, client: LiveClient) -> None:
        """Send ``client`` its queue and read what it says until it goes away."""
        self.clients.add(client)
        client.queue.put_nowait(json.dumps({"type": "status", "live": self.live}))
        sender = asyncio.create_task(self._send_forever(client))
        try:
            while True:
                message = await client.ws.receive_json()
                await self._handle_client_message(client, message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        except ValueError:
            await _close_quietly(client.ws, 1003, "send JSON messages only")
        finally:
            self.clients.discard(client)
            sender.cancel()

    async def _send_forever(self, client: LiveClient) -> None:
        try:
            while True:
                text = await client.queue.get()
                if text is None:
                    await _close_quietly(client.ws, 1001, "server shutting down")
                    return
                await client.ws.send_text(text)
        except (WebSocketDisconnect, RuntimeError):
            self.clients.discard(client)

    async def _handle_client_message(self, client: LiveClient, message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "location":
            reply = await self._phone_location(client, message)
        elif kind == "ping":
            reply = {"type": "pong", "live": self.live}
        else:
            reply = {"type": "error", "message": f"type: unknown message type {kind!r}; send 'location' or 'ping'"}
        self._enqueue(client, json.dumps(reply, ensure_ascii=False))

    async def _phone_location(self, client: LiveClient, message: dict[str, Any]) -> dict[str, Any]:
        if client.role != Role.driver or client.driver_id is None:
            return {"type": "error", "message": "only a driver's phone may share its location"}
        try:
            fix = PhoneLocation.model_validate({k: v for k, v in message.items() if k != "type"})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return {"type": "error", "message": f"{where}: {first['msg']}"}
        now_s = time.monotonic()
        if now_s - client.last_phone_s < PHONE_INTERVAL_S:
            return {"type": "error", "message": f"location: at most one fix every {PHONE_INTERVAL_S:g} s"}
        client.last_phone_s = now_s
        car = await run_in_threadpool(self._driver_current_car, client.driver_id)
        if car is None:
            return {"type": "error", "message": "location: no trip of yours is assigned or under way today, "
                                                "so there is no car to report for"}
        device_id, plate = car
        if self._mqtt is None or not self.live:
            return {"type": "error", "message": "location: live updates are unavailable (no MQTT broker); try later"}
        payload = {
            "device_id": device_id,
            "ts": (fix.ts or utcnow()).isoformat(),
            "lat": fix.lat,
            "lon": fix.lon,
            "speed_kmh": fix.speed_kmh,
            "heading_deg": fix.heading_deg,
            "ignition": True,
            "source": "phone",
        }
        if fix.accuracy_m is not None:
            payload["hdop"] = round(fix.accuracy_m / 5.0, 1)
        self._mqtt.publish(topics.gps_topic(device_id), json.dumps(payload), qos=1)
        return {"type": "location_ack", "device_id": device_id, "plate": plate}

    def _driver_current_car(self, driver_id: int) -> tuple[str, str] | None:
        """The (device id, plate) of the car of the driver's trip under way, or else of
        their next assigned trip today (display time zone)."""
        tz = self.settings.tz
        today = datetime.now(tz).date()
        day_start = datetime.combine(today, dtime(0), tz)
        with Session(self.engine) as session:
            rows = session.exec(
                select(Vehicle.gps_device_id, Vehicle.plate, TripRequest.state)
                .join(Assignment, col(Assignment.vehicle_id) == Vehicle.id)
                .join(TripRequest, col(TripRequest.id) == Assignment.request_id)
                .where(Assignment.driver_id == driver_id)
                .where(col(TripRequest.state).in_([RequestState.in_progress, RequestState.assigned]))
                .where(col(Assignment.planned_pickup) >= day_start)
                .where(col(Assignment.planned_pickup) < day_start + timedelta(days=1))
                .where(col(Vehicle.gps_device_id).is_not(None))
                .order_by(col(Assignment.planned_pickup))
            ).all()
        rows = sorted(rows, key=lambda r: r[2] != RequestState.in_progress)
        return (rows[0][0], rows[0][1]) if rows else None


def _stop_mqtt(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


async def _close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    try:
        await ws.close(code, reason)
    except RuntimeError:
        pass


# -- the endpoint ---------------------------------------------------------------------

router = APIRouter()


def _principal_for(engine: Engine, token: str, key: str) -> tuple[User, str, int | None] | None:
    try:
        user_id = read_token(token, key)
    except InvalidToken:
        return None
    with Session(engine) as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            return None
        org = session.get(Organisation, user.org_id)
        if org is None:
            return None
        driver_id = session.exec(select(Driver.id).where(Driver.user_id == user.id)).first()
        session.expunge(user)
        return user, org.path, driver_id


@router.websocket("/ws")
async def live_socket(ws: WebSocket) -> None:
    """Live positions, alerts and plan changes for the caller's organisation subtree."""
    await ws.accept()
    token = ws.query_params.get("token") or ws.cookies.get(SESSION_COOKIE)
    if not token:
        try:
            first = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT_S)
            token = first.get("token") if isinstance(first, dict) and first.get("type") == "auth" else None
        except (TimeoutError, WebSocketDisconnect, ValueError, RuntimeError):
            token = None
    app = ws.app
    found = await run_in_threadpool(_principal_for, app.state.engine, token, app.state.signing_key) if token else None
    if found is None:
        await _close_quietly(ws, CLOSE_UNAUTHENTICATED,
                             "not authenticated: log in, or send ?token= or {\"type\": \"auth\", \"token\": ...}")
        return
    user, org_path, driver_id = found
    client = LiveClient(ws=ws, user_id=user.id, role=Role(user.role), org_path=org_path, driver_id=driver_id)
    await app.state.hub.serve(client)
