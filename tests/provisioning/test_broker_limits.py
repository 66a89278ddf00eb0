"""The shipped Mosquitto configuration (provisioning/templates/mosquitto-kassa.conf), loaded by a real Mosquitto:
its limits are the contract's, a 200 MiB publish is refused at the source before the broker reads it, and the
limit reaches MQTT 5 clients in the CONNACK."""

from __future__ import annotations

import re
import time
from importlib import resources

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware.contract.limits import BROKER_MAX_PACKET, BROKER_MAX_PAYLOAD, DEVICE_MAX_PACKET
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port
from tests.support.rawmqtt import PeakRss, StreamingPublisher

MIB = 1024 * 1024
TEMPLATE = "mosquitto-kassa.conf"


def _template() -> str:
    return resources.files("provisioning").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")


def _settings(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out[key] = value.strip()
    return out


def _for_a_test(text: str, port: int) -> str:
    """The shipped file as it stands, but on a loopback port, without TLS files or accounts, in the temp dir the
    test broker already names (Mosquitto refuses a second persistence_location)."""
    drop = ("cafile", "certfile", "keyfile", "password_file", "acl_file", "persistence_location")
    lines = []
    for line in text.splitlines():
        key = line.strip().split(" ")[0]
        if key in drop:
            continue
        if key == "listener":
            line = f"listener {port} 127.0.0.1"
        elif key == "allow_anonymous":
            line = "allow_anonymous true"
        lines.append(line)
    return "\n".join(lines)


def test_the_shipped_limits_are_the_contracts():
    settings = _settings(_template())
    assert int(settings["max_packet_size"]) == BROKER_MAX_PACKET
    assert int(settings["message_size_limit"]) == BROKER_MAX_PAYLOAD
    assert BROKER_MAX_PACKET >= DEVICE_MAX_PACKET  # the largest legitimate message still passes
    assert int(settings["max_queued_bytes"]) > 0 and int(settings["max_queued_messages"]) > 0


def test_the_shipped_config_refuses_a_200_mib_publish_before_reading_it(tmp_path):
    port = free_port()
    workdir = tmp_path / "broker"
    broker = Mosquitto(workdir, port, listener=False, extra_config=_for_a_test(_template(), port))
    broker.start()
    try:
        # MQTT 5 clients are told the limit in the CONNACK
        told: dict = {}
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="probe", protocol=mqtt.MQTTv5)
        client.on_connect = lambda _c, _u, _f, _r, props: told.update(props.json())
        client.connect("127.0.0.1", port)
        deadline = time.monotonic() + 5
        while not told and time.monotonic() < deadline:
            client.loop(0.1)
        client.disconnect()
        assert told.get("MaximumPacketSize") == BROKER_MAX_PACKET

        peak = PeakRss(broker.proc.pid).start()
        publisher = StreamingPublisher("127.0.0.1", port)
        started = time.monotonic()
        accepted = publisher.publish("kassa/v1/S001/R1/receipts", 200 * MIB)
        took = time.monotonic() - started
        publisher.close()
        growth = peak.growth
        log = broker.log_path.read_text()
        # still serving: the largest legitimate message (the signed 4 MiB catalog envelope) goes through
        small = StreamingPublisher("127.0.0.1", port, client_id="catalog-publisher")
        assert small.publish("kassa/v1/S001/catalog", BROKER_MAX_PAYLOAD - 1024)
        small.close()
    finally:
        broker.kill()
    assert not accepted
    assert publisher.sent < 200 * MIB
    assert re.search(r"disconnected due to oversize packet|oversize", log), log[-2000:]
    assert growth < 16 * MIB, f"the broker grew by {growth / MIB:.1f} MiB"
    print(f"\n200 MiB publish refused after {publisher.sent / MIB:.1f} MiB had left the sender ({took:.2f}s); "
          f"broker peak RSS growth {growth / MIB:.1f} MiB")
