"""MQTT 5 Maximum Packet Size: derived from the contract, sent in every CONNECT of ours, enforced when a broker
ignores it (a fake broker streaming a 50 MiB packet at the device's link)."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.contract.customers import CustomerList, device_max_packet_with_customers
from firmware.contract.limits import (
    BROKER_MAX_PACKET,
    DEVICE_MAX_PACKET,
    FLEET_MAX_PACKET,
    INGEST_MAX_PACKET,
    PACKET_OVERHEAD,
    SELFTEST_MAX_PACKET,
)
from firmware.contract.payloads import KIB, Acks, CatalogMessage, Receipt
from firmware.contract.signing import envelope_limit
from firmware.contract.wire import LeanClient
from firmware.sync.mqtt_adapter import Connected, Disconnected, LinkSettings, MqttLink
from fleet.broker import BrokerSettings, connect, make_client
from provisioning.broker_check import check_broker
from tests.firmware.sync.kassa_sync_support import device_config, wait_for
from tests.support.rawmqtt import ConnectRecorder, OversizeBroker, PeakRss, connect_properties

MIB = 1024 * KIB


def test_limits_follow_the_largest_payload_each_client_receives():
    # the register's largest is the store's 32 MiB customer list (docs/customers.md), in its signed envelope
    # (4/3 + 1 KiB); the 4 MiB catalog's envelope fits well inside
    assert DEVICE_MAX_PACKET == envelope_limit(CustomerList.MAX_BYTES) + PACKET_OVERHEAD
    assert DEVICE_MAX_PACKET == device_max_packet_with_customers(envelope_limit(CatalogMessage.MAX_BYTES))
    assert 42 * MIB < DEVICE_MAX_PACKET < 43 * MIB
    assert INGEST_MAX_PACKET == Receipt.MAX_BYTES + PACKET_OVERHEAD == 256 * KIB + PACKET_OVERHEAD
    assert SELFTEST_MAX_PACKET == Acks.MAX_BYTES + PACKET_OVERHEAD
    assert FLEET_MAX_PACKET == BROKER_MAX_PACKET == DEVICE_MAX_PACKET


def _announced(connect_once) -> dict:
    recorder = ConnectRecorder()
    try:
        connect_once(recorder.port)
        assert recorder.got.wait(10), "no CONNECT arrived"
        return connect_properties(recorder.connects[0])
    finally:
        recorder.close()


@pytest.mark.slow
def test_every_client_announces_its_maximum_packet_size(tmp_path):
    def device(port: int) -> None:
        link = MqttLink(LinkSettings("127.0.0.1", port, "S001-R1"), lambda _e: None)
        link.start()
        try:
            time.sleep(0.5)
        finally:
            link.stop()

    props = _announced(device)
    assert props["MaximumPacketSize"] == DEVICE_MAX_PACKET
    assert props["SessionExpiryInterval"] > 0 and props["ReceiveMaximum"] == 100  # the rest as before

    def fleet(max_packet_size=None):
        def run(port: int) -> None:
            settings = BrokerSettings(f"mqtt://127.0.0.1:{port}")
            kwargs = {"max_packet_size": max_packet_size} if max_packet_size else {}
            client = make_client(settings, "fleet-test", **kwargs)
            connect(client, settings)
            client.loop(0.2)
            client.disconnect()
        return run

    assert _announced(fleet())["MaximumPacketSize"] == FLEET_MAX_PACKET
    assert _announced(fleet(INGEST_MAX_PACKET))["MaximumPacketSize"] == INGEST_MAX_PACKET

    def selftest(port: int) -> None:
        check_broker(device_config(f"mqtt://127.0.0.1:{port}", tmp_path / "dev"), timeout=1.0, ack_timeout=0.5)

    assert _announced(selftest)["MaximumPacketSize"] == SELFTEST_MAX_PACKET

    def bare_lean(port: int) -> None:  # LeanClient adds it to properties given by the caller, or makes some
        client = LeanClient(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, max_packet_size=12345)
        client.connect("127.0.0.1", port)
        client.disconnect()

    assert _announced(bare_lean)["MaximumPacketSize"] == 12345


def test_a_packet_announced_over_the_limit_closes_the_link_before_its_body_is_read():
    """A broker that ignores our Maximum Packet Size: the register's link hangs up on the length alone."""
    size = 50 * MIB
    broker = OversizeBroker(size)
    events: list = []
    link = MqttLink(LinkSettings("127.0.0.1", broker.port, "S001-R1", keepalive=5), events.append)
    peak = PeakRss().start()
    link.start()
    try:
        assert broker.hung_up.wait(30), "the link kept reading a 50 MiB packet"
        wait_for(lambda: any(isinstance(e, Disconnected) for e in events), 10, "disconnected")
        growth = peak.growth
    finally:
        link.stop()
        broker.close()
    assert any(isinstance(e, Connected) for e in events)
    assert "Maximum Packet Size" in (link.last_error or ""), link.last_error
    assert broker.streamed < size  # it hung up: the rest was never sent
    # paho alone would hold the packet (50 MiB), then a copy of the payload, then our Received event: ~150 MiB
    assert growth < 2 * DEVICE_MAX_PACKET, f"RSS grew by {growth / MIB:.1f} MiB"
    print(f"\nlink hung up after the broker streamed {broker.streamed / MIB:.1f} MiB; "
          f"peak RSS growth {growth / MIB:.1f} MiB")
