"""paho's MQTT 5 client with lean hot paths, shared by the device's link and the fleet's ingest.

paho 2.2 spends most of a receipt's CPU outside the network: every PUBACK
and every PUBLISH it receives builds a `Properties` object (two dicts of
some 30 entries each) and a `ReasonCode`, every inbound PUBLISH an
`MQTTMessage` with its own `threading.Condition`, every packet costs three
`recv` calls (command byte, length byte, body), and a client with no QoS-2
or outgoing queue reads one packet per `select()`. `LeanClient` keeps
paho's protocol handling (connect, keepalive, subscribe, outgoing queue,
QoS 2, anything unusual) and changes only these paths:

- Reads go through a buffer (`_sock_recv` asks the socket for up to
  `READ_SIZE` bytes), and one network round handles every packet already
  received, up to `read_batch`; buffered packets are handled before the next
  `select()`, which then does not wait.
- A PUBACK without properties (what a broker sends, with or without a
  reason code) reaches `on_publish` with a shared `ReasonCode` per code
  and one shared empty `Properties`; callbacks must not change them.
- A QoS-1 PUBLISH without properties whose topic is UTF-8 reaches
  `on_message` as an `Inbound` (topic, payload, mid, qos, retain) decoded
  straight from the packet; any other PUBLISH takes paho's own path and
  arrives as an `MQTTMessage`, which has the same attributes.
- `ack_many(mids)` (with `manual_ack`) queues the PUBACKs of a batch as one
  write instead of one `send()` each, in the order given (MQTT requires the
  order of arrival).
- `max_packet_size` (firmware.contract.limits) goes into every CONNECT as
  the MQTT 5 Maximum Packet Size, so the broker drops what is larger instead
  of sending it; a packet announced larger anyway (a broker that ignores the
  property) closes the connection as soon as its length is read, before any
  of its body is buffered (paho itself would read up to 256 MiB).

Per-topic callbacks (`message_callback_add`) are not supported. The
overridden methods are paho 2.2 internals (`_sock_recv`, `_sock_close`,
`_loop`, `_handle_publish`, `_handle_pubackcomp`, `_do_on_publish`,
`_packet_queue`); pyproject.toml pins paho-mqtt to 2.2.x, and
tests/contract/test_wire.py checks each path against stock paho on a real
broker.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

_PUBACK = 0x40
_SUCCESS = MQTTErrorCode.MQTT_ERR_SUCCESS
PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)  # value 0: Success
def new_properties(packet_type: int) -> Properties:
    """paho's MQTT 5 property set for one packet type (paho's constructor is untyped: typed here, once)."""
    return Properties(packet_type)  # type: ignore[no-untyped-call]


NO_PROPERTIES = new_properties(PacketTypes.PUBACK)
_PUBACK_REASONS: dict[int, ReasonCode] = {0: PUBACK_SUCCESS}


def _puback_reason(value: int) -> ReasonCode | None:
    """The shared ReasonCode of a PUBACK code (paho builds one, with a copy of its name table, per packet)."""
    reason = _PUBACK_REASONS.get(value)
    if reason is None:
        try:
            reason = _PUBACK_REASONS[value] = ReasonCode(PacketTypes.PUBACK, identifier=value)
        except KeyError:  # not a PUBACK reason code: paho's own path reports the malformed packet
            return None
    return reason


class Inbound(NamedTuple):
    """A received QoS-1 PUBLISH, as `on_message` gets it from the fast path."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool


class PacketTooLarge(ConnectionError):
    """The broker announced a packet over our Maximum Packet Size: the connection is closed unread."""


class LeanClient(mqtt.Client):
    """A paho `Client` (MQTT 5) with buffered reads and lean PUBACK/PUBLISH handling; see the module doc."""

    READ_SIZE = 64 * 1024

    def __init__(self, *args: Any, read_batch: int = 1000, max_packet_size: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_batch = read_batch
        self.max_packet_size = max_packet_size
        self.oversize_packets = 0  # packets refused by length (the connection was closed each time)
        self._rbuf = b""
        self._rpos = 0

    def connect(self, host: str, port: int = 1883, keepalive: int = 60, bind_address: str = "",
                bind_port: int = 0, clean_start: Any = mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                properties: Properties | None = None) -> MQTTErrorCode:
        """paho's connect; with `max_packet_size` set, the CONNECT carries it as Maximum Packet Size."""
        if self.max_packet_size and self._protocol == MQTTProtocolVersion.MQTTv5:
            if properties is None:
                properties = new_properties(PacketTypes.CONNECT)
            properties.MaximumPacketSize = self.max_packet_size
        return super().connect(host, port, keepalive, bind_address, bind_port, clean_start, properties)

    def message_callback_add(self, sub: str, callback: Any) -> None:
        raise NotImplementedError("LeanClient hands every message to on_message; dispatch there")

    # ---- reading ----

    @property
    def buffered(self) -> int:
        """Bytes received from the socket and not yet handled."""
        return len(self._rbuf) - self._rpos

    def _sock_recv(self, bufsize: int) -> bytes:
        limit = self.max_packet_size
        if limit and bufsize > limit:  # maybe the first read of an oversize body: check its announced length
            self._check_size()
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf = super()._sock_recv(self.READ_SIZE)  # BlockingIOError when there is nothing; b"" at EOF
            if not buf:
                return buf
            self._rbuf, pos = buf, 0
        self._rpos = pos + bufsize
        return buf[pos:pos + bufsize]

    def _check_size(self) -> None:
        packet = self._in_packet
        if not packet["have_remaining"] or packet["to_process"] != packet["remaining_length"]:
            return  # not the first read of a body
        # Compared as Mosquitto 2.0 does, without the fixed header (at most 5 bytes): a packet it sends is
        # never refused here, else each reconnect would bring the same packet back.
        size = packet["remaining_length"]
        assert self.max_packet_size is not None
        if size > self.max_packet_size:
            self.oversize_packets += 1
            self._easy_log(mqtt.MQTT_LOG_ERR, "the broker sent a %d-byte packet, over our Maximum Packet Size "
                           "of %d: closing the connection", size, self.max_packet_size)
            raise PacketTooLarge(f"a {size}-byte packet is over the Maximum Packet Size of {self.max_packet_size}")

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle every packet the socket has, up to `read_batch` (paho reads as many as it has queued)."""
        for _ in range(max(max_packets, self.read_batch)):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return _SUCCESS

    def _loop(self, timeout: float = 1.0) -> MQTTErrorCode:
        if self._rpos < len(self._rbuf):  # packets already read: handle them now, and do not wait in select()
            rc = self.loop_read()
            if rc or self._sock is None:
                return rc
            timeout = 0.0
        return super()._loop(timeout)

    # ---- PUBACK (the device's hot path) ----

    def _plain_puback(self, cmd: Any, packet: bytearray) -> ReasonCode | None:
        """The reason of an MQTT 5 PUBACK that is a mid, maybe a code, no properties; None for anything else."""
        if cmd != "PUBACK" or self._protocol != MQTTProtocolVersion.MQTTv5:
            return None
        size = len(packet)
        if size == 2:
            return PUBACK_SUCCESS
        if size == 3 or (size == 4 and packet[3] == 0):
            return _puback_reason(packet[2])
        return None

    def _handle_pubackcomp(self, cmd: Any) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        reason = self._plain_puback(cmd, packet)
        if reason is None:
            return super()._handle_pubackcomp(cmd)
        mid = (packet[0] << 8) | packet[1]
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, reason, NO_PROPERTIES)
        return _SUCCESS

    # ---- PUBLISH (the fleet's hot path) ----

    def _handle_publish(self) -> MQTTErrorCode:
        header = self._in_packet["command"]
        packet = self._in_packet["packet"]
        size = len(packet)
        if header & 0x06 != 0x02 or self._protocol != MQTTProtocolVersion.MQTTv5 or size < 5:
            return super()._handle_publish()
        at = 2 + ((packet[0] << 8) | packet[1])  # after the topic
        if at == 2 or size < at + 3 or packet[at + 2] != 0:  # topic alias, or properties: paho's way
            return super()._handle_publish()
        try:
            topic = packet[2:at].decode("utf-8")
        except UnicodeDecodeError:
            return super()._handle_publish()
        mid = (packet[at] << 8) | packet[at + 1]
        on_message = self._on_message
        if on_message is not None:
            message = Inbound(topic, bytes(memoryview(packet)[at + 3:]), mid, 1, bool(header & 0x01))
            with self._in_callback_mutex:
                try:
                    on_message(self, self._userdata, message)  # type: ignore[arg-type]  # the lean Inbound
                except Exception as err:
                    self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                    if not self.suppress_exceptions:
                        raise
        if self._manual_ack:
            return _SUCCESS
        return self._send_puback(mid)

    def ack_many(self, mids: Iterable[int]) -> MQTTErrorCode:
        """PUBACK these QoS-1 messages (manual_ack) in one write, in the order given."""
        packet = b"".join(struct.pack("!BBH", _PUBACK, 2, mid) for mid in mids)
        if not packet or not self._manual_ack:  # without manual_ack paho has acknowledged them already
            return _SUCCESS
        return self._packet_queue(_PUBACK, packet, 0, 0)
