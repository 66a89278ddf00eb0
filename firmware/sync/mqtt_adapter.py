"""The device's only user of paho: one MQTT 5 link on its own thread, paho callbacks turned into events.

Design (docs/pitfalls.md#paho-mqtt-2x):

- The client is `firmware.contract.wire.LeanClient`: paho's, with buffered
  reads and PUBACKs handled without building paho's Properties and
  ReasonCode objects per packet, built and connected by
  `firmware.contract.mqtt` (TLS, credentials, MQTT 5 properties, last will),
  the one builder the fleet's ingest and the technician's self-test use too.
- A fresh paho `Client` per connection attempt. paho keeps unacknowledged
  QoS-1 messages only in memory and replays its whole queue on reconnect
  (paho#492); dropping the client with the connection drops that queue, and
  the journal, which is the real outbox, decides what is sent again.
- `publish()` refuses (returns None) unless the link is up, so nothing is ever
  left in paho's NO_CONN limbo. The caller bounds its own in-flight window;
  paho's limit is switched off (`max_inflight_messages_set(0)` means
  "unlimited" in paho 2.2, which also spares it a walk over its queue on every
  PUBACK).
- paho callbacks append events to a deque; after each `loop()` the link
  thread hands them, then a `Tick`, to the handler. PUBACKs are the
  exception: handed over inside paho's callback (to `on_ack(mid, ok, reason)`
  when given, else as `Acked` to the handler) so the sender can top up its
  window there; paho then writes the new publishes out in one batch at the
  end of the network round. Handlers run on the link thread, may call
  `publish()`, and must not block for long.
- Reconnects wait `Backoff.next()` (full jitter); `wake()` cuts a wait short.
- The last will is fixed at CONNECT: with `will` given, its payload is asked
  for anew at every connection attempt, so it names the register's state as
  of that connect (contract 1.2: the journal's epoch and head).
- Bounded input: the CONNECT announces `max_packet_size` (DEVICE_MAX_PACKET,
  the 4 MiB catalog plus overhead) so the broker drops anything larger
  instead of sending it, and LeanClient closes the connection on a packet
  announced larger anyway. Received messages wait in the event deque at most
  until MAX_QUEUED_MESSAGES of them or `max_packet_size` bytes of payload are
  queued; then they are handed to the handler at once, inside paho's callback,
  so one network round never holds more than that.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.client import ConnectFlags, DisconnectFlags
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.config import Config
from firmware.contract.errors import BrokerSetupError
from firmware.contract.limits import DEVICE_MAX_PACKET
from firmware.contract.mqtt import ClientSpec, build_client, connect_spec
from firmware.contract.secrets import read_secret
from firmware.contract.wire import LeanClient
from firmware.sync.backoff import Backoff, Reconnect

log = logging.getLogger("kassa.sync.mqtt")

MAX_QUEUED_MESSAGES = 100  # received messages held for the end of a network round before they are handed over


@dataclass(frozen=True)
class LinkSettings:
    """Everything needed to connect; built from the config by `from_config` (reads the password file)."""

    host: str
    port: int
    client_id: str
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive: int = 30
    session_expiry: int = 7 * 24 * 3600
    will_topic: str | None = None
    will_payload: bytes = b'{"state":"offline"}'
    subscriptions: tuple[str, ...] = ()
    receive_maximum: int | None = 100
    max_packet_size: int = DEVICE_MAX_PACKET
    clean_start: bool = False  # the register's session outlives a connection (session_expiry)

    @classmethod
    def from_config(cls, config: Config, *, will_topic: str | None, subscriptions: tuple[str, ...],
                    **overrides: Any) -> LinkSettings:  # Any: LinkSettings fields by name, each of its own type
        """The register's link from `[broker]`; the self-test passes `overrides` (client_id, clean_start...)."""
        b = config.broker
        parts = urlsplit(b.url)
        tls = parts.scheme == "mqtts"
        password = read_secret(b.password_file, "broker password") if b.password_file else None
        if tls and b.ca_file is None:
            log.info("mqtts without broker.ca_file: the system's CA certificates are used")
        fields: dict[str, Any] = dict(  # Any: LinkSettings fields by name, as `overrides`
            host=parts.hostname or "127.0.0.1", port=parts.port or (8883 if tls else 1883),
            client_id=config.client_id, tls=tls, username=b.username, password=password,
            ca_file=b.ca_file, cert_file=b.cert_file, key_file=b.key_file, keepalive=b.keepalive,
            session_expiry=b.session_expiry, will_topic=will_topic, subscriptions=subscriptions)
        return cls(**{**fields, **overrides})

    def client_spec(self) -> ClientSpec:
        """What firmware.contract.mqtt builds and connects: the same for the link and the self-test."""
        return ClientSpec(host=self.host, port=self.port, client_id=self.client_id,
                          max_packet_size=self.max_packet_size, tls=self.tls, username=self.username,
                          password=self.password, ca_file=self.ca_file, cert_file=self.cert_file,
                          key_file=self.key_file, keepalive=self.keepalive, clean_start=self.clean_start,
                          session_expiry=self.session_expiry, receive_maximum=self.receive_maximum,
                          max_inflight=0, will_topic=self.will_topic, will_payload=self.will_payload,
                          connect_timeout=float(min(10, self.keepalive)))


# ---- what the link reports to its handler (all on the link thread) ----

@dataclass(frozen=True)
class Connected:
    receive_maximum: int
    session_present: bool
    maximum_packet_size: int | None = None


@dataclass(frozen=True)
class Disconnected:
    reason: str


@dataclass(frozen=True)
class Acked:
    mid: int
    ok: bool
    reason: str


@dataclass(frozen=True)
class Received:
    """A message arrived on a subscribed topic."""

    topic: str
    payload: bytes
    retained: bool


@dataclass(frozen=True)
class Tick:
    """After every network round; the handler's chance to publish, run timers and take requests."""


LinkEvent = Connected | Disconnected | Acked | Received | Tick


class MqttLink:
    """One MQTT 5 connection kept up on a daemon thread; `handler(event)` runs on that thread."""

    def __init__(self, settings: LinkSettings, handler: Callable[[LinkEvent], None], *,
                 backoff: Backoff | None = None, tick: float = 0.05,
                 on_ack: Callable[[int, bool, str], None] | None = None,
                 will: Callable[[], bytes] | None = None) -> None:
        self.settings = settings
        self.handler = handler
        self.on_ack = on_ack
        self.will = will  # the last will's payload, built at each connection attempt (else settings.will_payload)
        self.backoff = backoff or Backoff()
        self.tick = tick
        self.connected = False
        self.last_error: str | None = None
        self._client: mqtt.Client | None = None
        self._events: deque[LinkEvent] = deque()
        self._queued_messages = 0
        self._queued_bytes = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closing: Callable[[], int | None] | None = None

    # ---- control (any thread) ----

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kassa-sync", daemon=True)
        self._thread.start()

    def stop(self, before_disconnect: Callable[[], int | None] | None = None, timeout: float = 5.0) -> None:
        """Stop the thread; `before_disconnect` runs on it while still connected and may return a mid to await."""
        self._closing = before_disconnect
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        """End a reconnect wait now (Sync now)."""
        self._wake.set()

    # ---- publishing (link thread only) ----

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> int | None:
        """QoS-1 publish on the live connection; None (and nothing kept anywhere) when the link is down."""
        client = self._client
        if client is None or not self.connected:
            return None
        info = client.publish(topic, payload, 1, retain)
        if info.rc:  # MQTT_ERR_SUCCESS is 0
            return None
        return info.mid

    def subscribe_again(self, topic: str) -> None:
        """Subscribe to `topic` once more on the live connection (link thread only): the broker sends its
        retained messages again (retain handling 0). Nothing when the link is down: a connect subscribes anyway."""
        client = self._client
        if client is not None and self.connected:
            client.subscribe([(topic, SubscribeOptions(qos=1))])

    # ---- paho callbacks: events only ----

    def _on_connect(self, _c: mqtt.Client, _u: object, flags: ConnectFlags, reason: ReasonCode,
                    props: Properties | None) -> None:
        if reason.is_failure:
            self._events.append(Disconnected(f"broker refused the connection: {reason}"))
            return
        rm = getattr(props, "ReceiveMaximum", 65535) if props is not None else 65535
        mps = getattr(props, "MaximumPacketSize", None) if props is not None else None
        self._events.append(Connected(int(rm), bool(getattr(flags, "session_present", False)),
                                      int(mps) if mps else None))

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: DisconnectFlags, reason: ReasonCode,
                       _p: Properties | None) -> None:
        self._events.append(Disconnected(f"connection lost: {reason}"))

    def _on_publish(self, _c: mqtt.Client, _u: object, mid: int, reason: ReasonCode, _p: Properties) -> None:
        # Handed over at once, inside paho's callback: what the handler publishes now is written out in one
        # batch at the end of this network round instead of one send() per message. Hot path: one call per
        # PUBACK, the reason's text only for a failure.
        failed = reason.value >= 0x80
        on_ack = self.on_ack
        if on_ack is None:
            self._emit(Acked(mid, not failed, str(reason) if failed else "Success"))
            return
        try:
            on_ack(mid, not failed, str(reason) if failed else "Success")
        except Exception:  # noqa: BLE001 - a bug in handling one PUBACK must not take the link down
            log.exception("sync PUBACK handler failed")

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        payload = msg.payload
        self._events.append(Received(msg.topic, bytes(payload), bool(msg.retain)))  # bytes as is; a bytearray copied
        self._queued_messages += 1
        self._queued_bytes += len(payload)
        if self._queued_messages >= MAX_QUEUED_MESSAGES or self._queued_bytes >= self.settings.max_packet_size:
            self._drain(tick=False)  # a flood: hand over what is queued now instead of holding the whole round

    # ---- the thread ----

    def _new_client(self) -> LeanClient:
        """A fresh client from the one builder (firmware.contract.mqtt); paho's callbacks become events."""
        spec = self.settings.client_spec()
        if self.will is not None and spec.will_topic:
            try:
                spec = replace(spec, will_payload=self.will())
            except Exception:  # noqa: BLE001 - a will that cannot be built must not keep the link down
                log.exception("last will not built; the plain one is set")
        try:
            client = build_client(spec)
        except BrokerSetupError as exc:
            raise BrokerSetupError(f"broker {exc}; check broker.ca_file, cert_file and key_file") from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _emit(self, event: LinkEvent) -> None:
        try:
            self.handler(event)
        except Exception:  # noqa: BLE001 - a bug in handling one event must not take the link down
            log.exception("sync handler failed on %s", type(event).__name__)

    def _drain(self, tick: bool = True) -> None:
        self._queued_messages = self._queued_bytes = 0
        while self._events:
            event = self._events.popleft()
            if isinstance(event, Connected):
                self.connected = True
                self.backoff.reset()
                self._subscribe()
            elif isinstance(event, Disconnected):
                self.connected = False
                self.last_error = event.reason
            self._emit(event)
        if tick:
            self._emit(Tick())

    def _subscribe(self) -> None:
        if self._client and self.settings.subscriptions:
            self._client.subscribe([(t, SubscribeOptions(qos=1)) for t in self.settings.subscriptions])

    def _connect(self) -> LeanClient | None:
        s = self.settings
        try:
            client = self._new_client()
        except BrokerSetupError as exc:  # a TLS file the link cannot use: shown and retried, never kills the thread
            self.last_error = str(exc)
            return None
        try:
            connect_spec(client, s.client_spec())
        except ssl.SSLCertVerificationError as exc:
            self.last_error = (f"TLS: the broker at {s.host}:{s.port} is not trusted ({exc.verify_message}); "
                               f"check that broker.ca_file ({s.ca_file or 'system CAs'}) is the fleet CA and that "
                               f"broker.url names the host its certificate was issued for")
            return None
        except ssl.SSLError as exc:
            self.last_error = (f"TLS handshake with the broker at {s.host}:{s.port} failed ({exc.reason or exc}); "
                               f"check that broker.url is the broker's mqtts port and the client certificate")
            return None
        except OSError as exc:
            self.last_error = f"cannot reach the broker at {s.host}:{s.port} ({exc})"
            return None
        return client

    def _run(self) -> None:
        while not self._stop.is_set():
            client = self._connect()
            if client is None:
                self._emit(Disconnected(self.last_error or "cannot reach the broker"))
                self._emit(Tick())
                self._pause()
                continue
            self._client = client
            self._serve(client)
            self._client = None
            if not self._stop.is_set():
                self._pause()

    def _pause(self) -> None:
        """Wait for the next connect by the shared rule (firmware.sync.backoff.Reconnect): the backoff, TCP
        probes of the broker's port meanwhile, and once one finds it listening a random 0..RETURN_SPREAD s
        before connecting: back within 15 s of the broker returning, and a thousand registers spread their
        reconnects over seconds instead of stampeding it."""
        wait = Reconnect(self.backoff)
        delay = wait.lost(time.monotonic())
        log.info("reconnecting in %.2fs or later (%s)", delay, self.last_error)
        self._wake.clear()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= wait.due:
                if wait.connecting:
                    return
                wait.probed(now, self._broker_answers())
                if wait.connecting:
                    log.info("the broker answers; connecting in %.1fs", wait.due - now)
                continue
            if self._wake.wait(min(wait.due - now, self.tick)):
                return
            self._emit(Tick())  # timers and requests keep running while offline

    def _broker_answers(self) -> bool:
        """A TCP connect to the broker's port (no MQTT, no TLS): is anything listening there now?"""
        try:
            with socket.create_connection((self.settings.host, self.settings.port), timeout=1.0):
                return True
        except OSError:
            return False

    def _serve(self, client: mqtt.Client) -> None:
        started = time.monotonic()
        connack_timeout = max(5.0, float(self.settings.keepalive))
        while not self._stop.is_set():
            rc = client.loop(self.tick)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                if getattr(client, "oversize_packets", 0):
                    self._events.append(Disconnected(
                        f"the broker sent a packet over the {self.settings.max_packet_size}-byte Maximum Packet "
                        f"Size this register announced; connection closed unread"))
                elif not any(isinstance(e, Disconnected) for e in self._events):
                    self._events.append(Disconnected(f"connection lost: {mqtt.error_string(rc)}"))
            elif not self.connected and time.monotonic() - started > connack_timeout and \
                    not any(isinstance(e, Connected) for e in self._events):
                self._events.append(Disconnected("no answer from the broker (CONNACK) in time"))
                rc = mqtt.MQTT_ERR_CONN_LOST
            self._drain()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                break
        if self._stop.is_set() and self.connected:
            if self._closing:
                self._emit_closing()
            client.disconnect()
            client.loop(0.2)
        else:
            try:
                client.disconnect()
            except Exception:  # noqa: BLE001 - the socket may already be gone
                pass
        self.connected = False

    def _emit_closing(self) -> None:
        """Run the closing handler, then wait (briefly) for the PUBACK of what it published."""
        try:
            assert self._closing is not None
            mid = self._closing()
            client = self._client
            deadline = time.monotonic() + 1.0
            while mid is not None and client is not None and time.monotonic() < deadline:
                if client.loop(0.05) != mqtt.MQTT_ERR_SUCCESS:
                    break
                if any(isinstance(e, Acked) and e.mid == mid for e in self._events):
                    break
        except Exception:  # noqa: BLE001
            log.exception("closing handler failed")
