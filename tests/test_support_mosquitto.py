"""The test broker fixture itself: starts, accepts a QoS-1 round trip, survives kill and restart."""

import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


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
