"""MQTT broker access: parse broker URLs, check that a broker answers, and run the embedded
broker (amqtt, pure Python) that the platform starts itself when none is configured.

The embedded broker suits a demo and small fleets; production uses an external broker
(Mosquitto, EMQX) given by ``FLEET_MQTT_URL``. amqtt does not implement ``$share``
subscriptions, so leave ``FLEET_MQTT_SHARE_GROUP`` empty with it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False

    def authenticate(self, client: mqtt.Client) -> None:
        """Give a paho client this address's credentials, and TLS for ``mqtts://``."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()


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


def broker_answers(url: str, timeout_s: float = 2.0) -> bool:
    """True when an MQTT broker at ``url`` accepts a connection within ``timeout_s`` seconds."""
    address = parse_broker_url(url)
    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    address.authenticate(client)
    client.on_connect = lambda c, u, flags, reason, props: (
        connected.set() if not reason.is_failure else None
    )
    try:
        client.connect(address.host, address.port, keepalive=10)
    except OSError:
        return False
    client.loop_start()
    try:
        return connected.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()


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
