"""A test-side MQTT observer that checks every contract message on the wire against the JSON Schemas."""

from __future__ import annotations

import json
import threading
from typing import Any

import jsonschema
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.contract import load_schema, schema_for_topic


class SchemaRecorder:
    """Subscribes to `{prefix}/#` and validates each message; `problems` lists the ones that do not fit.

    Messages a test injects on purpose (malformed downlink) are excluded by topic via `ignore`.
    """

    def __init__(self, url: str, prefix: str = "kassa/v1") -> None:
        host, port = url.removeprefix("mqtt://").split(":")
        self.prefix = prefix
        self.counts: dict[str, int] = {}
        self.problems: list[str] = []
        self.ignore: set[str] = set()
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *_a: c.subscribe(f"{prefix}/#", options=SubscribeOptions(qos=1))
        self.client.on_subscribe = lambda *_a: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, int(port))
        self.client.loop_start()
        assert self._ready.wait(10), "recorder could not subscribe"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        name = schema_for_topic(msg.topic, self.prefix, msg.payload)
        if msg.topic in self.ignore or (not msg.payload and name in ("status", "catalog", "clerks")):
            return  # an empty message is how MQTT clears a retained topic
        with self._lock:
            if name is None:
                self.problems.append(f"{msg.topic}: not a contract topic")
                return
            self.counts[name] = self.counts.get(name, 0) + 1
            try:
                validator = self._validators.get(name)
                if validator is None:
                    validator = self._validators[name] = jsonschema.Draft202012Validator(load_schema(name))
                validator.validate(json.loads(msg.payload))
            except (ValueError, jsonschema.ValidationError) as exc:
                self.problems.append(f"{msg.topic}: {str(exc).splitlines()[0]}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
