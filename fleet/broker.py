"""MQTT broker access: one client factory for every part of the platform, event signing,
broker URLs, and the embedded broker (amqtt, pure Python) that the platform starts itself
when none is configured.

:class:`BrokerClient` owns what each caller used to set up by hand: the protocol (MQTT 5, or
3.1.1 on the embedded broker), the service's credentials, TLS for ``mqtts://``, the last
will, reconnects with back-off, and the subscriptions (made again on every connect). Build it
with :func:`broker_client`, which reads the settings. Its :meth:`BrokerClient.publish` signs
every message it sends (HMAC-SHA256 over topic and payload, key derived from
FLEET_SECRET_KEY) in the MQTT 5 user property ``fleet-sig``; a subscriber checks it with
:func:`signed_by_platform`. MQTT subscribers cannot see who published a message, so the
signature is how the live hub tells the platform's own events from anyone else's.

The embedded broker suits a demo and small fleets; production uses an external broker
(Mosquitto, EMQX) given by ``FLEET_MQTT_URL``. amqtt speaks MQTT 3.1.1 only (no user
properties, so no signatures) and does not implement ``$share`` subscriptions, so leave
``FLEET_MQTT_SHARE_GROUP`` empty with it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import structlog
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleet.settings import Settings

log = structlog.get_logger(__name__)

#: MQTT 5 user property that carries the platform's signature of a message.
SIGNATURE_PROPERTY = "fleet-sig"
#: Label mixed into FLEET_SECRET_KEY to derive the message-signing key (never the key itself).
_SIGNING_LABEL = b"fleet/v1 mqtt message signatures"
#: Keep-alive of every client, seconds.
KEEPALIVE_S = 30


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:port]`` (or ``mqtts://``) -> address; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp"):
        raise ValueError(f"mqtt_url: scheme must be mqtt:// or mqtts://, got {url!r}")
    if not parts.hostname:
        raise ValueError(f"mqtt_url: no host in {url!r}")
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=parts.username,
        password=parts.password,
        tls=tls,
    )


# -- signatures -------------------------------------------------------------------------


def message_signing_key(settings: Settings) -> bytes:
    """The key that signs the platform's MQTT messages: HMAC-SHA256 of FLEET_SECRET_KEY over a
    fixed label, so that the token-signing secret itself never signs broker traffic."""
    return hmac.new(settings.signing_key().encode(), _SIGNING_LABEL, hashlib.sha256).digest()


def signature(key: bytes, topic: str, payload: bytes) -> str:
    """Hex HMAC-SHA256 of ``topic`` and ``payload`` under ``key``."""
    return hmac.new(key, topic.encode() + b"\x00" + payload, hashlib.sha256).hexdigest()


def signed_by_platform(message: mqtt.MQTTMessage, key: bytes) -> bool | None:
    """True when ``message`` carries a valid platform signature, False when its signature is
    wrong, None when it carries none."""
    properties = getattr(message, "properties", None)
    for name, value in getattr(properties, "UserProperty", None) or []:
        if name == SIGNATURE_PROPERTY:
            return hmac.compare_digest(value, signature(key, message.topic, message.payload))
    return None


# -- the client -----------------------------------------------------------------------


@dataclass(frozen=True)
class Will:
    """The message the broker publishes for a client that vanishes without disconnecting."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


#: Called on paho's network thread after each accepted connect, with ``session_present``.
ConnectHook = Callable[[bool], None]
#: Called on paho's network thread for each message received.
MessageHook = Callable[[mqtt.MQTTMessage], None]


class BrokerClient:
    """One long-lived paho client: protocol, credentials, TLS, last will, reconnects (1 s
    doubling to ``reconnect_max_s``) and subscriptions, made again on every connect.

    ``persistent`` keeps the broker-side session across connects (fixed ``client_id``
    needed): ``clean_session=False`` on MQTT 3.1.1, ``clean_start=False`` with
    ``session_expiry_s`` on MQTT 5. ``max_queued`` bounds the messages paho keeps while the
    broker is away (0: no bound). With a ``signing_key`` on MQTT 5 every message published
    carries its signature (see :func:`signed_by_platform`).
    """

    def __init__(
        self,
        address: BrokerAddress,
        *,
        name: str = "mqtt",
        v5: bool = False,
        client_id: str = "",
        persistent: bool = False,
        session_expiry_s: int = 0,
        receive_maximum: int | None = None,
        manual_ack: bool = False,
        signing_key: bytes | None = None,
        will: Will | None = None,
        max_queued: int = 0,
        max_inflight: int | None = None,
        reconnect_max_s: int = 30,
        on_message: MessageHook | None = None,
        on_connect: ConnectHook | None = None,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        self.address = address
        self.name = name
        self.v5 = v5
        self.persistent = persistent
        self.session_expiry_s = session_expiry_s
        self.receive_maximum = receive_maximum
        self.signing_key = signing_key if v5 else None
        self._on_connect_hook = on_connect
        self._on_disconnect_hook = on_disconnect
        self._subscriptions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._subacked = threading.Event()
        self._closing = False
        if v5:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                 protocol=MQTTProtocolVersion.MQTTv5, manual_ack=manual_ack)
        else:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent,
                                 protocol=MQTTProtocolVersion.MQTTv311, manual_ack=manual_ack)
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            client.tls_set()
        if will is not None:
            client.will_set(will.topic, will.payload, will.qos, will.retain)
        client.reconnect_delay_set(min_delay=1, max_delay=reconnect_max_s)
        client.max_queued_messages_set(max_queued)
        if max_inflight is not None:
            client.max_inflight_messages_set(max_inflight)
        client.on_connect = self._connected_cb
        client.on_disconnect = self._disconnected_cb
        client.on_subscribe = lambda *_: self._subacked.set()
        if on_message is not None:
            client.on_message = lambda _c, _u, message: on_message(message)
        self.paho = client

    # -- connection ------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background, retrying until the broker answers."""
        self._closing = False
        if self.v5:
            properties = Properties(PacketTypes.CONNECT)
            if self.persistent:
                properties.SessionExpiryInterval = self.session_expiry_s
            if self.receive_maximum is not None:
                properties.ReceiveMaximum = self.receive_maximum
            self.paho.connect_async(self.address.host, self.address.port, keepalive=KEEPALIVE_S,
                                    clean_start=not self.persistent, properties=properties)
        else:
            self.paho.connect_async(self.address.host, self.address.port, keepalive=KEEPALIVE_S)
        self.paho.loop_start()

    def connect(self, timeout_s: float) -> BrokerClient:
        """Start and wait until connected; TimeoutError (and closed) when it is not within
        ``timeout_s`` seconds."""
        self.start()
        if not self.wait_connected(timeout_s):
            self.close()
            raise TimeoutError(f"MQTT broker {self.address.host}:{self.address.port} did not accept "
                               f"{self.name} within {timeout_s:g} s")
        return self

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def close(self) -> None:
        """Disconnect (no last will) and stop the network thread."""
        self._closing = True
        self.paho.disconnect()
        self.paho.loop_stop()
        # paho closes its socket and its wake-up socket pair only when the client is garbage
        # collected; a process that makes many clients (a server's tests) would run out of
        # descriptors below select()'s limit of 1024 first
        self.paho._reset_sockets()
        self._connected.clear()

    def _connected_cb(self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt_connect_refused", client=self.name, reason=str(reason))
            return
        with self._lock:
            wanted = list(self._subscriptions.items())
        if wanted:
            client.subscribe(wanted)
        if self._on_connect_hook is not None:
            self._on_connect_hook(bool(flags.session_present))
        self._connected.set()

    def _disconnected_cb(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if self._on_disconnect_hook is not None:
            self._on_disconnect_hook()
        if was and not self._closing:
            log.warning("mqtt_disconnected", client=self.name, reason=str(reason))

    # -- subscriptions -----------------------------------------------------------------
    def subscribe(self, topic: str, qos: int = 0, wait_s: float | None = None) -> None:
        """Subscribe now when connected, and again on every connect; with ``wait_s``, wait
        that many seconds for the broker's acknowledgement (TimeoutError otherwise)."""
        with self._lock:
            self._subscriptions[topic] = qos
        self._subacked.clear()
        if self.connected:
            self.paho.subscribe([(topic, qos)])
        if wait_s is not None and not self._subacked.wait(wait_s):
            raise TimeoutError(f"{self.name}: no acknowledgement of the subscription to {topic}")

    # -- messages ------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """Publish (queued by paho while the broker is away), signed where the protocol can
        carry a signature."""
        data = payload.encode() if isinstance(payload, str) else payload
        if self.signing_key is None:
            return self.paho.publish(topic, data, qos=qos, retain=retain)
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = (SIGNATURE_PROPERTY, signature(self.signing_key, topic, data))
        return self.paho.publish(topic, data, qos=qos, retain=retain, properties=properties)

    def publish_json(self, topic: str, body: Any, qos: int = 0) -> mqtt.MQTTMessageInfo:
        """Publish ``body`` as UTF-8 JSON."""
        return self.publish(topic, json.dumps(body, ensure_ascii=False).encode(), qos)

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a received message (clients made with ``manual_ack``)."""
        self.paho.ack(mid, qos)

    @property
    def unacknowledged(self) -> int:
        """Messages published and not yet acknowledged by the broker."""
        return len(self.paho._out_messages)


def broker_client(settings: Settings, service: str, **options: Any) -> BrokerClient:
    """A :class:`BrokerClient` of ``service`` (``web``, ``ingest``, ``evaluator``, ``dispatch``,
    ``simulation``) on the configured broker: the MQTT version of FLEET_MQTT_PROTOCOL (unless
    ``v5`` is given), the service's own login from FLEET_MQTT_SERVICE_CREDENTIALS (else the
    URL's), and the platform's message-signing key."""
    address = parse_broker_url(settings.resolved_mqtt_url)
    login = settings.mqtt.service_credentials.get(service)
    if login:
        username, _, password = login.partition(":")
        address = replace(address, username=username, password=password)
    options.setdefault("v5", settings.mqtt_v5)
    return BrokerClient(address, name=service, signing_key=message_signing_key(settings), **options)


class EventPublisher:
    """A long-lived, lazily connected publisher for one service's events: one connection per
    process, shared by every caller (thread-safe), replaced when the broker, its login or the
    signing key changes."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._client: BrokerClient | None = None
        self._made_for: tuple[str, str, str] = ("", "", "")
        self._lock = threading.Lock()

    def client(self, settings: Settings, connect_timeout_s: float) -> BrokerClient:
        """The connected client for ``settings``; TimeoutError when the broker does not
        accept it within ``connect_timeout_s`` seconds (it keeps trying meanwhile)."""
        made_for = (settings.resolved_mqtt_url, settings.signing_key(),
                    settings.mqtt.service_credentials.get(self.service, ""))
        with self._lock:
            if self._client is not None and self._made_for != made_for:
                self._client.close()
                self._client = None
            if self._client is None:
                self._client = broker_client(settings, self.service, max_queued=1000)
                self._client.start()
                self._made_for = made_for
            client = self._client
        if not client.wait_connected(connect_timeout_s):
            raise TimeoutError(f"MQTT broker {settings.resolved_mqtt_url} not connected")
        return client


def broker_answers(url: str, timeout_s: float = 2.0) -> bool:
    """True when an MQTT broker at ``url`` accepts a connection within ``timeout_s`` seconds."""
    try:
        address = parse_broker_url(url)
        socket.create_connection((address.host, address.port), timeout_s).close()
        client = BrokerClient(address, name="probe").connect(timeout_s)
    except (OSError, ValueError, TimeoutError):
        return False
    client.close()
    return True
def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) != 0


class EmbeddedBroker:
    """An amqtt broker on its own thread and event loop, bound to ``host:port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1884) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start serving; raises when the port is taken or the broker does not come up."""
        if not port_is_free(self.host, self.port):
            raise OSError(f"embedded MQTT broker: port {self.host}:{self.port} is already in use")
        self._thread = threading.Thread(target=self._run, name="embedded-mqtt", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError("embedded MQTT broker did not start in time")
        if self._error is not None:
            raise RuntimeError(f"embedded MQTT broker failed: {self._error}") from self._error
        log.info("embedded_broker_started", url=self.url)

    def _run(self) -> None:
        from amqtt.broker import Broker

        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self._broker = Broker(config, loop=self._loop)
        try:
            self._loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # report any start failure to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        """Shut the broker down and join its thread."""
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            future.result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
        log.info("embedded_broker_stopped", url=self.url)
