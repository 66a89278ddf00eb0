"""The test broker fixture itself: starts, accepts a QoS-1 round trip, survives kill and restart."""

import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

pytestmark = pytest.mark.slow  # real Mosquitto brokers, waits on the network


def _roundtrip(port: int, topic: str) -> bytes:
    got = threading.Event()
    box: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, m: (box.append(m.payload), got.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.subscribe(topic, qos=1).__class__  # noqa: B018
        threading.Event().wait(0.2)
        client.publish(topic, b"hello", qos=1).wait_for_publish(5)
        assert got.wait(5), "no message came back from the broker"
    finally:
        client.loop_stop()
        client.disconnect()
    return box[0]


def test_broker_round_trips_a_qos1_message(mosquitto):
    assert _roundtrip(mosquitto.port, "t/1") == b"hello"


def test_broker_comes_back_after_sigkill(mosquitto):
    mosquitto.kill()
    mosquitto.start()
    assert _roundtrip(mosquitto.port, "t/2") == b"hello"


def test_broker_persistence_keeps_retained_messages_across_a_restart(mosquitto):
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    client.publish("t/kept", b"still here", qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()
    mosquitto.stop()  # a clean shutdown writes mosquitto.db
    assert (mosquitto.workdir / "mosquitto.db").exists()
    mosquitto.start()
    got = threading.Event()
    box: list[bytes] = []
    reader = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    reader.on_message = lambda c, u, m: (box.append(m.payload), got.set())
    reader.connect("127.0.0.1", mosquitto.port)
    reader.loop_start()
    try:
        reader.subscribe("t/kept", qos=1)
        assert got.wait(5) and box[0] == b"still here"
    finally:
        reader.loop_stop()
        reader.disconnect()
