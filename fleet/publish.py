"""Publishing the store's catalog and clerk roster: validated whole, retained, never an older version."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.contract import Catalog, Clerks, DeviceTopics, PayloadRejected, decode
from fleet.broker import BrokerSettings, connect, default_client_id, make_client
from fleet.errors import FleetError, FleetUsageError


def read_document(path: Path, kind: str) -> tuple[bytes, int]:
    """The file's bytes (compact JSON) and version, validated against the contract; FleetUsageError if bad."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FleetUsageError(f"{path}: cannot read ({exc.strerror})") from None
    model = Catalog if kind == "catalog" else Clerks
    try:
        doc = decode(model, raw)
    except PayloadRejected as exc:
        raise FleetUsageError(f"{path}: not a valid {kind} ({exc}); fix the file and publish again") from None
    compact = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return compact, doc.version


class _Session:
    def __init__(self) -> None:
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.published = threading.Event()
        self.connect_reason: Any = None
        self.publish_reason: Any = None
        self.retained: bytes | None = None


def publish_document(broker: BrokerSettings, *, prefix: str, store: str, kind: str, payload: bytes, version: int,
                     force: bool = False, timeout: float = 10.0) -> int | None:
    """Publish retained at QoS 1 and wait for a successful PUBACK; return the version it replaced (or None)."""
    topic = getattr(DeviceTopics(store, "-", prefix), kind)
    s = _Session()
    client = make_client(broker, default_client_id(f"publish-{kind}"))

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        s.connect_reason = reason
        s.connected.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *_a: s.subscribed.set()
    client.on_message = lambda _c, _u, msg: setattr(s, "retained", msg.payload) if msg.retain else None

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
        s.publish_reason = reason
        s.published.set()

    client.on_publish = on_publish
    connect(client, broker)
    client.loop_start()
    try:
        if not s.connected.wait(timeout) or s.connect_reason.is_failure:
            raise FleetError(f"the broker at {broker.url} did not accept the connection ({s.connect_reason})")
        client.subscribe(topic, options=SubscribeOptions(qos=1))
        s.subscribed.wait(timeout)
        time.sleep(0.3)  # a retained message follows the SUBACK
        previous = None
        if s.retained:
            try:
                previous = decode(Catalog if kind == "catalog" else Clerks, s.retained).version
            except PayloadRejected:
                previous = None
        if previous is not None and version <= previous and not force:
            raise FleetUsageError(f"{kind} version {version} is not newer than version {previous} on {topic}; "
                                  "devices would ignore it. Raise `version` (or pass --force)")
        client.publish(topic, payload, qos=1, retain=True)
        if not s.published.wait(timeout):
            raise FleetError(f"no PUBACK from the broker for {topic} within {timeout:.0f}s")
        if s.publish_reason.is_failure:
            raise FleetError(f"the broker refused {topic}: {s.publish_reason} (check its ACL for this user)")
        return previous
    finally:
        client.disconnect()
        client.loop_stop()
