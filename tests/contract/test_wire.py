"""firmware.contract.wire.LeanClient: its fast paths give what stock paho gives, on the wire and in decoding."""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings, strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from firmware.contract.wire import Inbound, LeanClient
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real Mosquitto brokers, waits on the network

V2 = CallbackAPIVersion.VERSION2


def _lean(**kwargs):
    return LeanClient(V2, protocol=mqtt.MQTTv5, **kwargs)


def _stock():
    return mqtt.Client(V2, protocol=mqtt.MQTTv5)


def _publish_packet(topic: bytes, mid: int, payload: bytes, props: Properties | None) -> bytes:
    """A QoS-1 PUBLISH's variable header and payload, as paho hands it to `_handle_publish`."""
    packed = props.pack() if props is not None else b"\x00"
    return len(topic).to_bytes(2, "big") + topic + mid.to_bytes(2, "big") + packed + payload


def _feed(client: LeanClient, header: int, packet: bytes) -> list:
    got: list = []
    client.on_message = lambda _c, _u, msg: got.append(msg)
    client._in_packet = {"command": header, "packet": bytearray(packet)}
    assert client._handle_publish() == mqtt.MQTT_ERR_SUCCESS
    return got


@settings(max_examples=300, deadline=None)
@given(topic=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00+#"), min_size=1,
                     max_size=60),
       mid=st.integers(1, 65535), payload=st.binary(max_size=3000), retain=st.booleans(), dup=st.booleans(),
       expiry=st.none() | st.integers(1, 2**31))
def test_a_qos1_publish_decodes_as_paho_decodes_it(topic, mid, payload, retain, dup, expiry):
    props = None
    if expiry is not None:
        props = Properties(PacketTypes.PUBLISH)
        props.MessageExpiryInterval = expiry
    raw = _publish_packet(topic.encode("utf-8"), mid, payload, props)
    header = 0x30 | 0x02 | (0x08 if dup else 0) | (0x01 if retain else 0)
    expected = _packet.decode_publish(header, bytearray(raw), MQTTProtocolVersion.MQTTv5)

    [msg] = _feed(_lean(manual_ack=True), header, raw)

    assert (msg.topic, msg.payload, msg.mid, msg.qos, bool(msg.retain)) == \
        (expected.topic.decode("utf-8"), bytes(expected.payload), expected.mid, 1, expected.retain)
    # without properties the fast path answers; with them paho's own MQTTMessage carries them
    assert isinstance(msg, Inbound) == (props is None)
    if props is not None:
        assert msg.properties.MessageExpiryInterval == expiry


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from([None, 0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
       props=st.sampled_from(["none", "empty", "reason string"]))
def test_a_puback_decodes_as_paho_decodes_it(code, props):
    client = _lean()
    mid = client.publish("t/1", b"x", qos=1).mid  # not connected: paho keeps it as awaiting its PUBACK
    raw = mid.to_bytes(2, "big")
    if code is not None:
        raw += bytes([code])
        if props == "empty":
            raw += b"\x00"
        elif props == "reason string":
            reason_props = Properties(PacketTypes.PUBACK)
            reason_props.ReasonString = "because"
            raw += reason_props.pack()
    expected = _packet.decode_puback(0x40, bytearray(raw), MQTTProtocolVersion.MQTTv5)
    got = []
    client.on_publish = lambda _c, _u, m, reason, p: got.append((m, reason.value, reason.is_failure, p))
    client._in_packet = {"command": 0x40, "packet": bytearray(raw)}

    assert client._handle_pubackcomp("PUBACK") == mqtt.MQTT_ERR_SUCCESS

    [(m, value, failed, got_props)] = got
    assert (m, value, failed) == (mid, expected.reason.value, expected.reason.is_failure)
    assert getattr(got_props, "ReasonString", None) == getattr(expected.properties, "ReasonString", None)
    assert mid not in client._out_messages  # accounted for once, as paho does


def test_a_topic_that_is_not_utf8_takes_pahos_path():
    raw = _publish_packet(b"t/\xff", 7, b"x", None)
    [msg] = _feed(_lean(manual_ack=True), 0x32, raw)
    assert isinstance(msg, mqtt.MQTTMessage) and msg.payload == b"x"
    with pytest.raises(UnicodeDecodeError):
        msg.topic  # noqa: B018 - paho raises on access; the ingest rejects such a message


# ---- on a real broker ----

class Subscriber:
    """A LeanClient subscriber with manual acks, driven by explicit loop() calls."""

    def __init__(self, port: int, topic: str, *, receive_maximum: int = 1000, read_batch: int = 1000) -> None:
        self.got: list = []
        self.client = _lean(manual_ack=True, read_batch=read_batch)
        self.client.on_message = lambda _c, _u, msg: self.got.append(msg)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_a: subscribed.set()
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = receive_maximum
        self.client.connect("127.0.0.1", port, properties=props)
        deadline = time.monotonic() + 10
        while not subscribed.is_set() and time.monotonic() < deadline:
            self.client.loop(0.05)
        assert subscribed.is_set(), "no SUBACK"

    def pump(self, until: int, *, ack: bool, rounds: int = 400) -> None:
        """Loop (acking each round's messages when `ack`) until `until` messages came or the rounds ran out."""
        acked = 0
        for _ in range(rounds):
            if len(self.got) >= until:
                break
            self.client.loop(0.02)
            if ack and acked < len(self.got):
                self.client.ack_many(m.mid for m in self.got[acked:])
                acked = len(self.got)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop(0.1)


def _publish_all(port: int, topic: str, payloads: list[bytes], *, props: Properties | None = None) -> None:
    pub = _stock()
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    try:
        infos = [pub.publish(topic, p, qos=1, properties=props) for p in payloads]
        for info in infos:
            info.wait_for_publish(10)
            assert info.is_published()
    finally:
        pub.loop_stop()
        pub.disconnect()


def test_ack_many_acknowledges_a_batch_so_the_broker_keeps_sending(mosquitto):
    # Receive Maximum 5: the broker sends a sixth message only after PUBACKs; 60 arrive only if ack_many works
    sub = Subscriber(mosquitto.port, "w/acks", receive_maximum=5)
    try:
        payloads = [f"m{i}".encode() for i in range(60)]
        threading.Thread(target=_publish_all, args=(mosquitto.port, "w/acks", payloads), daemon=True).start()
        sub.pump(60, ack=True)
        assert [m.payload for m in sub.got] == payloads
        assert all(isinstance(m, Inbound) for m in sub.got)
    finally:
        sub.close()


def test_without_acks_the_broker_stops_at_the_receive_maximum(mosquitto):
    # the control for the test above: unacknowledged, only five messages come
    sub = Subscriber(mosquitto.port, "w/noack", receive_maximum=5)
    try:
        _publish_all(mosquitto.port, "w/noack", [f"m{i}".encode() for i in range(20)])
        sub.pump(20, ack=False, rounds=50)
        assert len(sub.got) == 5
    finally:
        sub.close()


def test_buffered_packets_are_handled_without_waiting_for_more_data(mosquitto):
    # 40 messages reach the socket at once; read_batch 3 leaves most in LeanClient's buffer after a round,
    # and later rounds must handle them although the socket has nothing new (select() would not wake)
    sub = Subscriber(mosquitto.port, "w/burst", read_batch=3)
    try:
        _publish_all(mosquitto.port, "w/burst", [f"b{i}".encode() for i in range(40)])
        deadline = time.monotonic() + 10
        while not sub.got and time.monotonic() < deadline:
            sub.client.loop(0.05)
        # no waiting in select(): only rounds of loop(0). Without the buffered-packet handling a round that
        # finds the socket empty handles nothing, and the buffer never drains (3 per new arrival at most).
        for _ in range(400):
            if len(sub.got) == 40:
                break
            sub.client.loop(0.0)
            time.sleep(0.005)
        assert len(sub.got) == 40 and sub.client.buffered == 0
        assert [m.payload for m in sub.got] == [f"b{i}".encode() for i in range(40)]
    finally:
        sub.close()


def test_payloads_larger_than_the_read_buffer_arrive_whole(mosquitto):
    big = [bytes([i]) * (3 * LeanClient.READ_SIZE + 17 * i) for i in range(1, 4)]
    sub = Subscriber(mosquitto.port, "w/big")
    try:
        _publish_all(mosquitto.port, "w/big", big)
        sub.pump(3, ack=True)
        assert [m.payload for m in sub.got] == big
    finally:
        sub.close()


def test_a_publish_with_properties_arrives_through_pahos_path(mosquitto):
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("origin", "test")
    sub = Subscriber(mosquitto.port, "w/props")
    try:
        _publish_all(mosquitto.port, "w/props", [b"with props"], props=props)
        sub.pump(1, ack=True)
        [msg] = sub.got
        assert isinstance(msg, mqtt.MQTTMessage) and msg.payload == b"with props"
        assert ("origin", "test") in msg.properties.UserProperty
    finally:
        sub.close()


def test_pubacks_reach_on_publish_once_each_with_success(mosquitto):
    acks: list[tuple[int, int, bool]] = []
    done = threading.Event()
    client = _lean()
    client.max_inflight_messages_set(0)
    client.on_publish = lambda _c, _u, mid, reason, _p: (acks.append((mid, reason.value, reason.is_failure)),
                                                          len(acks) == 500 and done.set())
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    try:
        infos = [client.publish("w/pub", b"p%d" % i, qos=1) for i in range(500)]
        assert done.wait(20)
        assert sorted(mid for mid, _v, _f in acks) == sorted(info.mid for info in infos)
        assert {(v, f) for _m, v, f in acks} == {(0x10, False)}  # Success, "no matching subscribers"
        assert all(info.is_published() for info in infos)
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_refused_puback_keeps_its_reason(tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite ok/#\n")
    broker = Mosquitto(tmp_path / "broker", extra_config=f"acl_file {acl}").start()
    reasons: dict[str, tuple[int, bool]] = {}
    done = threading.Event()
    client = _lean()
    names = {}

    def on_publish(_c, _u, mid, reason, _p):
        reasons[names[mid]] = (reason.value, reason.is_failure)
        if len(reasons) == 2:
            done.set()

    client.on_publish = on_publish
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        names[client.publish("ok/1", b"x", qos=1).mid] = "allowed"
        names[client.publish("denied/1", b"x", qos=1).mid] = "denied"
        assert done.wait(10)
        assert reasons == {"allowed": (0x10, False), "denied": (0x87, True)}
    finally:
        client.loop_stop()
        client.disconnect()
        broker.kill()


def test_per_topic_callbacks_are_refused():
    with pytest.raises(NotImplementedError):
        _lean().message_callback_add("a/#", lambda *_a: None)
