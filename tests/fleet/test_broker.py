"""The platform's MQTT client on a real broker: signatures a subscriber can check, each
service's own login, the last will, and subscriptions that survive a lost connection."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from fleet.broker import (
    BrokerClient,
    Will,
    broker_client,
    parse_broker_url,
    signed_by_platform,
)
from fleet.settings import MqttSettings, Settings


class Inbox:
    """Messages a subscriber received, with a wait."""

    def __init__(self) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._arrived = threading.Condition()

    def __call__(self, message: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    def wait_for(self, topic: str, timeout_s: float = 5.0) -> mqtt.MQTTMessage:
        with self._arrived:
            assert self._arrived.wait_for(lambda: any(m.topic == topic for m in self.messages), timeout_s), topic
            return next(m for m in self.messages if m.topic == topic)


@pytest.fixture
def topic() -> str:
    return f"fleet-test/{uuid.uuid4().hex[:10]}"


def test_what_the_platform_publishes_carries_a_signature_its_subscribers_check(mqtt_url, topic):
    settings = Settings(mqtt=MqttSettings(url=mqtt_url), secret_key="a-secret-key-of-the-platform-0123456789")
    other = Settings(mqtt=MqttSettings(url=mqtt_url), secret_key="another-platform's-secret-key-0123456789")
    inbox = Inbox()
    listener = broker_client(settings, "web", on_message=inbox).connect(5)
    publisher = broker_client(settings, "evaluator").connect(5)
    stranger = BrokerClient(parse_broker_url(mqtt_url), name="stranger").connect(5)
    try:
        listener.subscribe(f"{topic}/#", 1, wait_s=5)
        publisher.publish_json(f"{topic}/signed", {"id": 1}, qos=1).wait_for_publish(5)
        stranger.publish(f"{topic}/unsigned", b'{"id": 2}', qos=1).wait_for_publish(5)
        signed, unsigned = inbox.wait_for(f"{topic}/signed"), inbox.wait_for(f"{topic}/unsigned")
    finally:
        for client in (listener, publisher, stranger):
            client.close()
    assert json.loads(signed.payload) == {"id": 1}
    assert signed_by_platform(signed, listener.signing_key) is True
    assert signed_by_platform(signed, broker_client(other, "web").signing_key) is False
    assert signed_by_platform(unsigned, listener.signing_key) is None


def test_each_service_logs_in_with_its_own_credentials():
    settings = Settings(mqtt=MqttSettings(url="mqtts://shared:pw@broker.example:8883",
                                          service_credentials={"ingest": "ingest-user:s3cret:with-colon"}))
    ingest = broker_client(settings, "ingest")
    web = broker_client(settings, "web")
    assert (ingest.address.username, ingest.address.password) == ("ingest-user", "s3cret:with-colon")
    assert (web.address.username, web.address.password, web.address.tls) == ("shared", "pw", True)
    assert ingest.v5 and ingest.signing_key is not None


def test_the_last_will_is_published_when_a_client_vanishes(mqtt_url, topic):
    inbox = Inbox()
    address = parse_broker_url(mqtt_url)
    listener = BrokerClient(address, name="listener", on_message=inbox).connect(5)
    listener.subscribe(f"{topic}/status", 1, wait_s=5)
    device = BrokerClient(address, name="device", will=Will(f"{topic}/status", b"offline", retain=False),
                          reconnect_max_s=1).connect(5)
    try:
        device.paho.socket().close()  # the connection drops without a DISCONNECT
        assert inbox.wait_for(f"{topic}/status", 10).payload == b"offline"
    finally:
        device.close()
        listener.close()


def test_subscriptions_are_made_again_after_a_lost_connection(mqtt_url, topic):
    inbox = Inbox()
    address = parse_broker_url(mqtt_url)
    listener = BrokerClient(address, name="listener", on_message=inbox, reconnect_max_s=1).connect(5)
    publisher = BrokerClient(address, name="publisher").connect(5)
    try:
        listener.subscribe(topic, 1, wait_s=5)
        # The connection drops at once (a clean session: the broker forgets the subscription).
        listener.paho.socket().shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 10
        while listener.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.wait_connected(10)
        time.sleep(0.3)  # the SUBSCRIBE made on connect is on the wire
        publisher.publish(topic, b"after the reconnect", qos=1).wait_for_publish(5)
        assert inbox.wait_for(topic, 10).payload == b"after the reconnect"
    finally:
        listener.close()
        publisher.close()
