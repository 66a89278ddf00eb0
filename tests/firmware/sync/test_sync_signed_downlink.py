"""Signed downlink on a real register SyncService over a real Mosquitto with the ACL of docs/technician.md.

Anyone holding the fleet's publish credentials (`fleet-publish` for catalogs and rosters, `fleet` for commands)
is exactly the hole: once the register pins the fleet's key, nothing they publish unsigned, tampered, signed by
another key or for another topic is applied or carried out; what the register holds stays, and documents signed
with the fleet's key still go through.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.clock import SystemClock
from firmware.config import Config
from firmware.contract.signing import Signer, parse_private_key
from firmware.stores import catalog_store, clerk_store
from firmware.sync import CatalogReceived, ClerksReceived, SyncService
from fleet.keys import keygen
from tests.contract.kassa_samples import CATALOG, CLERKS
from tests.firmware.sync.kassa_sync_support import device_config, drain, open_journal, wait_for
from tests.support.broker_acl import documented_acl, grants, password
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real Mosquitto brokers, waits on the network

ACL = documented_acl()
PASSWORDS = {user: password(user) for user in grants(ACL)}
SIGNED_CATALOG = {**CATALOG, "tax_rates": {"A": "19.00", "B": "7.00"}}


class Client:
    """A bare MQTT 5 client logged in as one broker user; records what arrives on its subscriptions."""

    def __init__(self, broker: Mosquitto, user: str, subscribe: tuple[str, ...] = (), name: str = "") -> None:
        self.got: list[dict] = []
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{user}-{name}", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(user, PASSWORDS[user])
        self.client.on_connect = lambda c, *_a: (c.subscribe([(t, 1) for t in subscribe]) if subscribe
                                                 else ready.set())
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = lambda _c, _u, m: self.got.append(json.loads(m.payload))
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert ready.wait(10), f"{user} could not connect"

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        assert not info.rc, f"publish to {topic} failed ({info.rc})"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _keys(where: Path) -> tuple[Signer, Path]:
    private, public, _fp = keygen(where)
    return Signer(parse_private_key(private.read_bytes())), public


def pinned_config(broker: Mosquitto, tmp_path: Path) -> tuple[Config, Signer, Signer]:
    """The config of a register that pins a new fleet key, logged in as S001-R1 (data in tmp_path/dev); the
    fleet's signer; another key's signer."""
    fleet_signer, public = _keys(tmp_path / "fleet-keys")
    rogue_signer, _ = _keys(tmp_path / "rogue-keys")
    pw = tmp_path / "r1.pass"
    pw.write_text(PASSWORDS["S001-R1"] + "\n")
    pw.chmod(0o600)
    config = device_config(broker.url, tmp_path / "dev", username="S001-R1", password_file=str(pw),
                           fleet_key_file=str(public))
    return config, fleet_signer, rogue_signer


@pytest.fixture
def pinned(secured, tmp_path):
    """A register that pins the fleet key, logged in as S001-R1; the fleet's signer; another key's signer."""
    config, fleet_signer, rogue_signer = pinned_config(secured, tmp_path)
    journal = open_journal(tmp_path / "dev")
    events: queue.Queue = queue.Queue()
    service = SyncService(config, journal, SystemClock(), events)
    service.start()
    wait_for(lambda: service.state().online, 10, "online")
    yield service, events, fleet_signer, rogue_signer
    service.stop()
    journal.close()


def _applied(events: queue.Queue) -> list:
    return [e for e in drain(events) if isinstance(e, (CatalogReceived, ClerksReceived))]


def test_once_a_key_is_pinned_only_signed_catalogs_rosters_and_commands_count(secured, pinned, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="kassa.sync")
    service, events, fleet_signer, rogue_signer = pinned
    t = service.topics
    data = tmp_path / "dev"
    fleet = Client(secured, "fleet", subscribe=(t.command_results,))  # the ingest's user: commands
    publisher = Client(secured, "fleet-publish")  # catalogs and rosters
    # the same credentials without the fleet's private key (leaked, or another tool that has them)
    ops = {"catalog": Client(secured, "fleet-publish", name="ops"), "commands": Client(secured, "fleet", name="ops")}
    try:
        catalog_v3 = json.dumps(SIGNED_CATALOG, separators=(",", ":")).encode()
        publisher.publish(t.catalog, fleet_signer.wrap(t.catalog, catalog_v3), retain=True)
        publisher.publish(t.clerks, fleet_signer.wrap(t.clerks, json.dumps(CLERKS).encode()), retain=True)
        wait_for(lambda: catalog_store(data).version == 3 and clerk_store(data).version == 2, 10, "signed applied")
        # the store is written before the register is told, so collect the two events as they come
        seen: set[type] = set()
        wait_for(lambda: seen.update(type(e) for e in _applied(events)) or seen >= {CatalogReceived, ClerksReceived},
                 10, "both applied events")
        assert seen == {CatalogReceived, ClerksReceived}

        # what someone with publish rights but without the fleet's private key can try
        everyone_manager = {"version": 9, "clerks": [{**c, "role": "manager"} for c in CLERKS["clerks"]]}
        cheap = json.dumps({**SIGNED_CATALOG, "version": 9,
                            "items": [{**i, "price": 1} for i in SIGNED_CATALOG["items"]]}).encode()
        signed_env = json.loads(fleet_signer.wrap(t.catalog, json.dumps({**SIGNED_CATALOG, "version": 9}).encode()))
        tampered = json.dumps({**signed_env, "signed": base64.b64encode(cheap).decode()}).encode()
        other_store = "kassa/v1/S002/catalog"
        attacks = [
            (t.catalog, cheap),                                                       # unsigned
            (t.clerks, json.dumps(everyone_manager).encode()),                        # unsigned
            (t.catalog, tampered),                                                    # bytes changed after signing
            (t.catalog, rogue_signer.wrap(t.catalog, cheap)),                         # another key
            (t.clerks, rogue_signer.wrap(t.clerks, json.dumps(everyone_manager).encode())),
            (t.catalog, fleet_signer.wrap(other_store, cheap)),                       # signed for another store
            (t.commands, json.dumps({"command_id": "u1", "command": "sync_now", "args": {}}).encode()),
            (t.commands, rogue_signer.wrap(t.commands, json.dumps(
                {"command_id": "u2", "command": "sync_now", "args": {}}).encode())),
        ]
        for topic, payload in attacks:
            if topic == t.commands:
                ops["commands"].publish(topic, payload)
            else:
                ops["catalog"].publish(topic, payload, retain=True)
        wait_for(lambda: service.signature_refused >= len(attacks), 10, "every attack refused")
        assert service.signature_refused == len(attacks)
        wait_for(lambda: service.state().downlink_rejected >= len(attacks), 5, "refusals on the status snapshot")
        refusals = [r for r in caplog.records if "rejected a message" in r.getMessage()]
        assert len(refusals) == len(attacks) and all("\n" not in r.getMessage() for r in refusals)
        assert catalog_store(data).load()["items"][0]["price"] == 129  # what it held stays
        assert {c["role"] for c in clerk_store(data).load()["clerks"]} == {"cashier", "manager"}
        assert clerk_store(data).version == 2 and catalog_store(data).version == 3
        assert _applied(events) == []

        # the fleet's own signed command is carried out and answered; the unsigned ones never were
        fleet.publish(t.commands, fleet_signer.wrap(t.commands, json.dumps(
            {"command_id": "s1", "command": "sync_now", "args": {}}).encode()))
        wait_for(lambda: any(r["command_id"] == "s1" for r in fleet.got), 10, "signed command answered")
        assert {r["command_id"] for r in fleet.got} == {"s1"} and fleet.got[0]["ok"] is True

        # a signed document still has to pass the gate: no version the register could never move past
        for version in (2**53, 10**4000):
            doc = json.dumps({**SIGNED_CATALOG, "version": version}).encode()
            before = service._downlink_rejected
            publisher.publish(t.catalog, fleet_signer.wrap(t.catalog, doc), retain=True)
            wait_for(lambda b=before: service._downlink_rejected > b, 10, f"version {version} refused")
        empty = json.dumps({**SIGNED_CATALOG, "version": 20, "items": [], "quick_keys": []}).encode()
        before = service._downlink_rejected
        publisher.publish(t.catalog, fleet_signer.wrap(t.catalog, empty), retain=True)
        wait_for(lambda: service._downlink_rejected > before, 10, "empty catalog refused")
        weak = {"version": 20, "clerks": [{**CLERKS["clerks"][1], "pin_hash": CLERKS["clerks"][1]["pin_hash"].replace(
            "$16384$", "$2$", 1)}]}
        before = service._downlink_rejected
        publisher.publish(t.clerks, fleet_signer.wrap(t.clerks, json.dumps(weak).encode()), retain=True)
        wait_for(lambda: service._downlink_rejected > before, 10, "n=2 roster refused")
        assert service.signature_refused == len(attacks)  # those were signed: refused by the gate, not the key
        assert catalog_store(data).version == 3 and clerk_store(data).version == 2

        publisher.publish(t.catalog, fleet_signer.wrap(
            t.catalog, json.dumps({**SIGNED_CATALOG, "version": 4}).encode()), retain=True)
        wait_for(lambda: catalog_store(data).version == 4, 10, "the next signed version is not blocked")
    finally:
        for client in (fleet, publisher, *ops.values()):
            client.close()


def test_the_retained_copy_is_checked_again_on_every_start(secured, tmp_path):
    """A register that pins the key later (re-provisioned) refuses an unsigned retained catalog it is sent."""
    fleet_signer, public = _keys(tmp_path / "fleet-keys")
    ops = Client(secured, "fleet-publish", name="ops")
    ops.publish("kassa/v1/S001/catalog", json.dumps(SIGNED_CATALOG).encode(), retain=True)
    ops.close()
    pw = tmp_path / "r1.pass"
    pw.write_text(PASSWORDS["S001-R1"] + "\n")
    pw.chmod(0o600)
    for key, expected in ((str(public), -1), (None, 3)):  # pinned: refused; a lab without a key: applied
        data = tmp_path / f"dev-{expected}"
        config = device_config(secured.url, data, username="S001-R1", password_file=str(pw), fleet_key_file=key)
        journal = open_journal(data)
        service = SyncService(config, journal, SystemClock(), queue.Queue())
        service.start()
        try:
            wait_for(lambda s=service, d=data: s.state().downlink_rejected or catalog_store(d).version == 3, 10,
                     "retained catalog handled")
            assert catalog_store(data).version == expected
            assert service.signature_refused == (1 if key else 0)
        finally:
            service.stop()
            journal.close()


def test_a_register_whose_held_version_is_too_big_takes_the_next_valid_one(mosquitto, tmp_path):
    """A catalog of version 10**4000 stored before the gate existed no longer blocks every later catalog."""
    data = tmp_path / "dev"
    data.mkdir()
    (data / "catalog.json").write_text(json.dumps({**SIGNED_CATALOG, "version": 10**4000}))
    journal = open_journal(data)
    service = SyncService(device_config(mosquitto.url, data), journal, SystemClock(), queue.Queue())
    service.start()
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sender.connect("127.0.0.1", mosquitto.port)
    sender.loop_start()
    try:
        wait_for(lambda: service.state().online, 10, "online")
        # retained, as the fleet publishes catalogs: "online" may come before the subscriptions are granted
        sender.publish(service.topics.catalog, json.dumps({**CATALOG, "version": 5}), qos=1,
                       retain=True).wait_for_publish(5)
        wait_for(lambda: catalog_store(data).version == 5, 10, "version 5 replaces the poisoned one")
    finally:
        sender.disconnect()
        sender.loop_stop()
        service.stop()
        journal.close()
