"""The live hub: one websocket per open page at ``/ws``, fed from the MQTT events topics.

Every server process subscribes to ``fleet/v1/events/positions``, ``.../alerts`` and
``.../plans`` itself (no shared subscription), so several processes behind one address all
deliver every update to their own clients. Only the platform's own events count: on MQTT 5
an event must carry the platform's signature (``fleet.broker.signed_by_platform``); others
are dropped and counted (``fleet_live_events_dropped_total``). The embedded broker speaks
MQTT 3.1.1, which carries no signature, so there events are taken as they come. Positions are
coalesced per car and sent at most once per ``POSITION_INTERVAL_S`` seconds per car; each
client sees only the cars, alerts and plans of its organisation subtree, and an event that
names no organisation (a plan change without changed assignments) reaches only users whose
subtree holds every organisation.

A socket authenticates with the session cookie of the pages, or with a first message
``{"type": "auth", "token": ...}`` carrying the API's bearer token; a token in the URL is
refused (URLs reach access logs). The token is checked again (signature, expiry, version,
active user) before every message the client sends, and every ``REVOCATION_SWEEP_S`` seconds
one query re-reads the connected users: a password change, logout, role or organisation
change or deactivation closes their sockets with code 4401. Client messages are strict JSON
(``NaN``, ``Infinity`` and ``1e999`` are refused naming the field); a bad message gets an error
frame and the socket stays open. A driver's phone may send ``{"type": "location", "lat",
"lon", ...}`` (see ``web.phone_fixes``).

Messages to clients: ``{"type": "status", "live": bool}``, ``{"type": "positions", "items":
[...]}``, ``{"type": "alert", "alert": {...}}``, ``{"type": "plan", ...}``,
``{"type": "location_ack", ...}``, ``{"type": "pong", ...}`` and ``{"type": "error",
"message": str}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
import paho.mqtt.client as mqtt
import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from prometheus_client import Counter
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from fleet import topics
from fleet.broker import BrokerClient, broker_client, signed_by_platform
from fleet.models import Assignment, Driver, Organisation, Role, User, Vehicle
from fleet.security import InvalidToken, decode_token
from fleet.settings import Settings
from web.deps import SESSION_COOKIE, Principal, principal_from_token
from web.hardening import json_body_problem
from web.phone_fixes import (
    PHONE_INTERVAL_S,
    PhoneFixRefused,
    drivers_current_car,
    parse_location,
    publish_phone_fix,
)

log = structlog.get_logger(__name__)

#: A car's position goes to the clients at most once per this many seconds (latest wins).
POSITION_INTERVAL_S = 0.5
#: How often pending positions are flushed to the clients, seconds.
FLUSH_INTERVAL_S = 0.1
#: How often the connected users' tokens and accounts are checked again, seconds.
REVOCATION_SWEEP_S = 0.5
#: Messages waiting for one client before it counts as too slow and is disconnected.
CLIENT_QUEUE_SIZE = 200
#: Seconds a socket has to send its token when it came without the session cookie.
AUTH_TIMEOUT_S = 5.0
#: Least time between two warnings about dropped events, seconds.
DROP_WARNING_INTERVAL_S = 10.0
#: Roles that watch the fleet (positions and alerts).
FLEET_WATCHERS = frozenset({Role.admin, Role.dispatcher, Role.auditor})
#: Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_SLOW = 4008

EVENT_TOPICS = (topics.EVENTS_POSITIONS, topics.EVENTS_ALERTS, topics.EVENTS_PLANS)

EVENTS_DROPPED = Counter(
    "fleet_live_events_dropped_total",
    "Events on fleet/v1/events/* the live hub dropped: unsigned, bad_signature or bad_json.",
    ["reason"],
)


class MessageRefused(ValueError):
    """A client message that is not strict JSON or not an object; the text names the field."""


def parse_client_message(text: str) -> dict[str, Any]:
    """The JSON object in ``text``; MessageRefused naming the field for a syntax error, a
    number that is not finite (``NaN``, ``Infinity``, ``1e999``) or deep nesting."""
    problem = json_body_problem(text.encode())
    if problem is not None:
        detail = json.loads(problem.body)["detail"][0]
        where = ".".join(str(part) for part in detail["loc"][1:]) or "message"
        raise MessageRefused(f"{where}: {detail['msg']}")
    message = json.loads(text)
    if not isinstance(message, dict):
        raise MessageRefused("message: must be a JSON object with a 'type'")
    return message


@dataclass(eq=False)
class LiveClient:
    """One open socket, who is behind it, and the token it authenticated with."""

    ws: WebSocket
    user_id: int
    role: Role
    org_path: str
    driver_id: int | None
    token: str = ""
    token_version: int = 0
    #: When the token expires (UTC); the socket is closed then.
    expires_at: datetime | None = None
    #: True when the user's subtree holds every organisation.
    covers_all: bool = False
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE_SIZE))
    last_phone_s: float = 0.0

    @property
    def watches_fleet(self) -> bool:
        return self.role in FLEET_WATCHERS

    def sees(self, org_path: str | None) -> bool:
        return org_path is not None and org_path.startswith(self.org_path)


class LiveHub:
    """Fans the platform's MQTT events out to websocket clients; publishes phone locations."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.clients: set[LiveClient] = set()
        self.live = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._mqtt: BrokerClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: dict[int, dict[str, Any]] = {}
        self._last_sent_s: dict[int, float] = {}
        self._vehicle_paths: dict[int, str] = {}
        self._paths_loaded_s = 0.0
        self._drop_warned_s = 0.0

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the broker in the background (retrying), start flushing positions and
        sweeping for revoked users."""
        self._loop = asyncio.get_running_loop()
        await run_in_threadpool(self._load_vehicle_paths)
        self._tasks = [asyncio.create_task(self._flush_forever(), name="live-hub-flush"),
                       asyncio.create_task(self._sweep_forever(), name="live-hub-revocations")]
        try:
            client = broker_client(self.settings, "web", max_queued=10_000, reconnect_max_s=15,
                                   on_message=self._on_message, on_connect=self._on_connect,
                                   on_disconnect=self._on_disconnect)
        except ValueError as exc:
            log.error("live_hub_bad_broker_url", error=str(exc))
            return
        for topic in EVENT_TOPICS:
            client.subscribe(topic, 0)
        if client.signing_key is None:
            log.warning("live_hub_events_unverified",
                        reason="MQTT 3.1.1 (embedded broker) carries no signatures: events are taken unchecked")
        self._mqtt = client
        client.start()

    async def stop(self) -> None:
        """Close every socket, stop the background tasks and disconnect from the broker."""
        for client in list(self.clients):
            try:
                client.queue.put_nowait(None)
            except asyncio.QueueFull:
                await _close_quietly(client.ws, 1001, "server shutting down")
        for task in self._tasks:
            task.cancel()
        if self._mqtt is not None:
            client, self._mqtt = self._mqtt, None
            await run_in_threadpool(client.close)
        self.live = False

    # -- MQTT side (paho's thread) ------------------------------------------------------

    def _on_connect(self, _session_present: bool) -> None:
        self._call_in_loop(self._set_live, True)
        log.info("live_hub_connected", url=self.settings.resolved_mqtt_url)

    def _on_disconnect(self) -> None:
        self._call_in_loop(self._set_live, False)

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        client = self._mqtt
        if client is None:
            return
        if client.signing_key is not None:
            verdict = signed_by_platform(message, client.signing_key)
            if verdict is not True:
                self._dropped("unsigned" if verdict is None else "bad_signature", message.topic)
                return
        try:
            payload = json.loads(message.payload)
        except (ValueError, UnicodeDecodeError):
            self._dropped("bad_json", message.topic)
            return
        self._call_in_loop(self._take_event, message.topic, payload)

    def _dropped(self, reason: str, topic: str) -> None:
        EVENTS_DROPPED.labels(reason).inc()
        now_s = time.monotonic()
        if now_s - self._drop_warned_s >= DROP_WARNING_INTERVAL_S:
            self._drop_warned_s = now_s
            log.warning("live_hub_event_dropped", reason=reason, topic=topic)

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
        """A plan change goes to the drivers of its changed assignments and to the fleet
        watchers whose scope holds one of them; one that names no assignment (so no
        organisation) only to the watchers whose scope holds every organisation."""
        ids = [i for i in plan.get("changed_assignment_ids") or [] if isinstance(i, int)]
        paths, driver_ids = await run_in_threadpool(self._assignment_scope, ids)
        text = json.dumps({"type": "plan", **plan}, ensure_ascii=False)

        def wanted(client: LiveClient) -> bool:
            if client.role == Role.driver:
                return client.driver_id in driver_ids
            if not client.watches_fleet:
                return False
            return any(client.sees(p) for p in paths) if ids else client.covers_all

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

    # -- revocation -------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(REVOCATION_SWEEP_S)
            try:
                await self.sweep_revoked()
            except SQLAlchemyError as exc:  # the database is away: the next sweep tries again
                log.warning("live_hub_sweep_failed", error=str(exc).splitlines()[0])

    async def sweep_revoked(self) -> None:
        """Close (4401) every socket whose token expired or whose user was deactivated,
        moved, given another role or had their tokens revoked; one query for all."""
        clients = list(self.clients)
        if not clients:
            return
        accounts = await run_in_threadpool(self._accounts, {c.user_id for c in clients})
        now = datetime.now(UTC)
        for client in clients:
            reason = _revocation(client, accounts.get(client.user_id), now)
            if reason is not None:
                await self._revoke(client, reason)

    def _accounts(self, user_ids: set[int]) -> dict[int, tuple[int, bool, str, str | None]]:
        """user id -> (token version, active, role, organisation path)."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(User.id, User.token_version, User.is_active, User.role, Organisation.path)
                .join(Organisation, col(Organisation.id) == User.org_id, isouter=True)
                .where(col(User.id).in_(user_ids))
            ).all()
        return {user_id: (version, active, str(role), path) for user_id, version, active, role, path in rows}

    async def _revoke(self, client: LiveClient, reason: str) -> None:
        self.clients.discard(client)
        log.info("live_socket_revoked", user_id=client.user_id, reason=reason)
        await _close_quietly(client.ws, CLOSE_UNAUTHENTICATED, reason)

    async def _still_authorised(self, client: LiveClient) -> bool:
        """The client's token checked again (signature, expiry, version, active user), and
        its role and scope unchanged since it connected."""
        principal = await run_in_threadpool(_principal, self.engine, client.token, client.ws.app.state.signing_key)
        return (principal is not None and principal.role == client.role
                and principal.org_path == client.org_path)

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
            while client in self.clients:
                frame = await client.ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                await self._take_frame(client, frame)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.clients.discard(client)
            sender.cancel()

    async def _take_frame(self, client: LiveClient, frame: dict[str, Any]) -> None:
        """Answer one frame; a bad one gets an error frame, never the end of the socket."""
        text = frame.get("text")
        if text is None:
            self._reply(client, {"type": "error", "message": "message: send JSON text frames, not binary"})
            return
        try:
            message = parse_client_message(text)
        except MessageRefused as exc:
            self._reply(client, {"type": "error", "message": str(exc)})
            return
        if not await self._still_authorised(client):
            await self._revoke(client, "not authenticated: your session ended or your access changed; log in again")
            return
        try:
            reply = await self._answer(client, message)
        except Exception:  # one message must not end the socket
            log.exception("live_message_failed", user_id=client.user_id)
            reply = {"type": "error", "message": "message: could not be handled; try again"}
        self._reply(client, reply)

    def _reply(self, client: LiveClient, reply: dict[str, Any]) -> None:
        self._enqueue(client, json.dumps(reply, ensure_ascii=False))

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

    async def _answer(self, client: LiveClient, message: dict[str, Any]) -> dict[str, Any]:
        kind = message.get("type")
        if kind == "location":
            return await self._phone_location(client, message)
        if kind == "ping":
            return {"type": "pong", "live": self.live}
        if kind == "auth":  # already authenticated (by the session cookie)
            return {"type": "status", "live": self.live}
        return {"type": "error", "message": f"type: unknown message type {kind!r}; send 'location' or 'ping'"}

    async def _phone_location(self, client: LiveClient, message: dict[str, Any]) -> dict[str, Any]:
        if client.role != Role.driver or client.driver_id is None:
            return {"type": "error", "message": "only a driver's phone may share its location"}
        try:
            fix = parse_location(message)
        except PhoneFixRefused as exc:
            return {"type": "error", "message": str(exc)}
        now_s = time.monotonic()
        if now_s - client.last_phone_s < PHONE_INTERVAL_S:
            return {"type": "error", "message": f"location: at most one fix every {PHONE_INTERVAL_S:g} s"}
        client.last_phone_s = now_s
        car = await run_in_threadpool(drivers_current_car, self.engine, self.settings, client.driver_id)
        if car is None:
            return {"type": "error", "message": "location: no trip of yours is assigned or under way today, "
                                                "so there is no car to report for"}
        device_id, plate = car
        if self._mqtt is None or not self.live:
            return {"type": "error", "message": "location: live updates are unavailable (no MQTT broker); try later"}
        publish_phone_fix(self._mqtt, device_id, fix)
        return {"type": "location_ack", "device_id": device_id, "plate": plate}


def _revocation(client: LiveClient, account: tuple[int, bool, str, str | None] | None, now: datetime) -> str | None:
    """Why ``client`` may no longer listen (None when it still may)."""
    if client.expires_at is not None and now >= client.expires_at:
        return "not authenticated: your session expired; log in again"
    if account is None:
        return "not authenticated: your account no longer exists"
    version, active, role, path = account
    if not active:
        return "not authenticated: your account was deactivated"
    if version != client.token_version:
        return "not authenticated: your session ended (logout or password change); log in again"
    if role != client.role.value or path != client.org_path:
        return "not authenticated: your role or organisation changed; log in again"
    return None


async def _close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    try:
        await ws.close(code, reason)
    except RuntimeError:
        pass


# -- the endpoint ---------------------------------------------------------------------

router = APIRouter()


def _principal(engine: Engine, token: str, key: str) -> Principal | None:
    with Session(engine) as session:
        return principal_from_token(session, token, key)


def _connect_client(engine: Engine, ws: WebSocket, token: str, key: str) -> LiveClient | None:
    """The live client behind ``token`` (None when it does not authenticate)."""
    with Session(engine) as session:
        principal = principal_from_token(session, token, key)
        if principal is None:
            return None
        driver_id = session.exec(select(Driver.id).where(Driver.user_id == principal.user.id)).first()
    try:
        claims = decode_token(token, key)
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    except (InvalidToken, jwt.PyJWTError, KeyError):
        return None
    return LiveClient(ws=ws, user_id=principal.user.id, role=principal.role, org_path=principal.org_path,
                      driver_id=driver_id, token=token, token_version=claims.version,
                      expires_at=datetime.fromtimestamp(expires, UTC), covers_all=principal.covers_all)


async def _first_message_token(ws: WebSocket) -> str | None:
    """The token of a first ``{"type": "auth", "token": ...}`` message, within AUTH_TIMEOUT_S."""
    try:
        frame = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S)
        first = parse_client_message(frame)
    except (TimeoutError, WebSocketDisconnect, MessageRefused, RuntimeError, KeyError):
        return None
    token = first.get("token") if first.get("type") == "auth" else None
    return token if isinstance(token, str) and token else None


@router.websocket("/ws")
async def live_socket(ws: WebSocket) -> None:
    """Live positions, alerts and plan changes for the caller's organisation subtree."""
    await ws.accept()
    if "token" in ws.query_params:
        await _close_quietly(ws, CLOSE_UNAUTHENTICATED, "token: not accepted in the URL (it would reach the "
                                                        "logs); send {\"type\": \"auth\", \"token\": ...} first")
        return
    token = ws.cookies.get(SESSION_COOKIE) or await _first_message_token(ws)
    app = ws.app
    client = await run_in_threadpool(_connect_client, app.state.engine, ws, token, app.state.signing_key) if token else None
    if client is None:
        await _close_quietly(ws, CLOSE_UNAUTHENTICATED,
                             "not authenticated: log in, or send {\"type\": \"auth\", \"token\": ...} first")
        return
    await app.state.hub.serve(client)
