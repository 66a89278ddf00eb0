"""The broker ACL of docs/technician.md ("Broker side"), loaded verbatim into a real Mosquitto.

Acks and commands are written only by the fleet: a device that publishes to its own acks or commands gets
PUBACK 0x87 "Not authorized" (MQTT 5) and nobody receives the message. The ACL block is read out of the
doc, so the test and the doc cannot drift; its device block is also checked against the contract's topics.
"""

from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.config import parse_config
from firmware.contract import DeviceTopics, ingest_filters
from firmware.contract.topics import DEVICE_LEAVES, STORE_LEAVES
from provisioning.broker_check import check_broker
from tests.fleet.kassa_fleet_support import IngestProcess
from tests.support.broker_acl import AclBroker, acl_for, documented_acl, grants, password
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.slow  # real brokers and kassa-fleet processes

NOT_AUTHORIZED = 0x87  # PUBACK reason codes below 0x80 are success (0x10: "no matching subscribers")
DEVICE = DeviceTopics("S001", "R1")


def _topics(granted: set[tuple[str, str]], access: str) -> set[str]:
    return {t for a, t in granted if a in (access, "readwrite")}


PASSWORDS = {user: password(user) for user in grants(documented_acl())}


def test_documented_device_grants_are_the_contracts_topics_and_no_wildcards():
    acl = grants(documented_acl())
    device = acl["S001-R1"]
    assert _topics(device, "write") == {DEVICE.receipts, DEVICE.reports, DEVICE.status, DEVICE.command_results,
                                        DEVICE.selftest, DEVICE.punches, DEVICE.mail_requests, DEVICE.stock,
                                        DEVICE.customers}
    # its own status too: read back on connect (contract 1.2, an epoch its journal lost)
    # and its store's item pictures, one filter (docs/item-images.md)
    assert _topics(device, "read") == set(DEVICE.downlink) | {DEVICE.status, DEVICE.images}
    assert not {DEVICE.acks, DEVICE.commands, DEVICE.catalog, DEVICE.clerks, DEVICE.accounts, DEVICE.punch_acks,
                DEVICE.mail_acks, DEVICE.stock_snapshot, DEVICE.customer_list} & _topics(device, "write")
    assert not any("#" in t or "+" in t for _, t in device if t != DEVICE.images)
    # every contract topic is either sent or received by the device: a new leaf needs a line in the doc
    leaves = {t.rsplit("/", 1)[1] for _, t in device if t != DEVICE.images}
    assert leaves == set(DEVICE_LEAVES) | set(STORE_LEAVES)
    fleet = acl["fleet"]
    assert {f.split("/", 2)[2] for f in ingest_filters()} <= _topics(fleet, "read")
    assert {"kassa/v1/+/+/punches", "kassa/v1/+/+/mail_requests"} <= _topics(fleet, "read")
    assert _topics(fleet, "write") == {"kassa/v1/+/+/acks", "kassa/v1/+/+/commands", "kassa/v1/+/+/punch_acks",
                                       "kassa/v1/+/+/mail_acks", "kassa/v1/+/customers",
                                       "kassa/v1/+/stock_snapshot",  # the leader's snapshots (docs/stock.md)
                                       "kassa/v1/+/accounts"}  # and docs/accounts.md
    assert _topics(acl["fleet-publish"], "write") == {"kassa/v1/+/catalog", "kassa/v1/+/clerks", "kassa/v1/+/accounts",
                                                      "kassa/v1/+/stock_snapshot", "kassa/v1/+/customers",
                                                      "kassa/v1/+/images/+"}


def test_the_documented_block_gives_each_further_register_its_own_topics_only():
    """Tests with more registers (tests/fleet/test_fleet_ledger.py) repeat the doc's block per register."""
    acl = grants(acl_for([("S001", "R1"), ("S002", "R9")]))
    other = DeviceTopics("S002", "R9")
    assert _topics(acl["S002-R9"], "write") == {other.receipts, other.reports, other.status, other.command_results,
                                                other.selftest, other.punches, other.mail_requests, other.stock,
                                                other.customers}
    assert _topics(acl["S002-R9"], "read") == set(other.downlink) | {other.status, other.images}
    assert not any("S001" in t for _, t in acl["S002-R9"])
    assert acl["S001-R1"] == grants(documented_acl())["S001-R1"]  # the doc's own block is loaded as it stands


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    b = AclBroker(tmp_path_factory.mktemp("acl-broker")).start()  # the doc's ACL as it stands, S001-R1 only
    yield b
    b.kill()


def until(cond, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Peer:
    """A raw MQTT 5 client logged in as one ACL user; records PUBACK reason codes and what it receives."""

    def __init__(self, broker: Mosquitto, user: str, client_id: str) -> None:
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.c.username_pw_set(user, PASSWORDS[user])
        self.connack = None
        self.pubacks: dict[int, object] = {}
        self.subacks: dict[int, list] = {}
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.c.on_connect = lambda c, u, f, rc, p: setattr(self, "connack", rc)
        self.c.on_publish = lambda c, u, mid, rc, p: self.pubacks.__setitem__(mid, rc)
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.__setitem__(mid, list(rcs))
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", broker.port)
        self.c.loop_start()
        until(lambda: self.connack is not None, what=f"CONNACK for {user}")
        assert not self.connack.is_failure, f"{user}: {self.connack}"

    def _on_message(self, _c, _u, m) -> None:
        with self.lock:
            self.messages.append((m.topic, m.payload, m.retain))

    def received(self) -> list[tuple[str, bytes]]:
        with self.lock:
            return [(t, p) for t, p, _r in self.messages]

    def publish(self, topic: str, payload: str, retain: bool = False) -> int:
        """The PUBACK's reason code (MQTT 5): below 0x80 accepted, 0x87 not authorized."""
        mid = self.c.publish(topic, payload, qos=1, retain=retain).mid
        until(lambda: mid in self.pubacks, what=f"PUBACK for {topic}")
        return self.pubacks[mid].value

    def subscribe(self, *topics: str) -> None:
        for topic in topics:
            mid = self.c.subscribe(topic, qos=1)[1]
            until(lambda m=mid: m in self.subacks, what=f"SUBACK for {topic}")

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def peer(broker):
    made: list[Peer] = []

    def make(user: str, client_id: str) -> Peer:
        made.append(Peer(broker, user, client_id))
        return made[-1]

    yield make
    for p in made:
        p.close()


def test_a_device_cannot_write_its_own_acks_or_commands(peer):
    watcher = peer("S001-R1", "kassa-S001-R1-watch")  # the register's own downlink subscription
    watcher.subscribe(DEVICE.acks, DEVICE.commands)
    device = peer("S001-R1", "kassa-S001-R1")
    forged_ack = json.dumps({"receipt_ids": ["S001:R1:e1:1"]})
    forged_command = json.dumps({"command_id": "forged", "command": "sync_now"})
    assert device.publish(DEVICE.acks, forged_ack) == NOT_AUTHORIZED
    assert device.publish(DEVICE.commands, forged_command) == NOT_AUTHORIZED

    # The fleet's own messages on the same topics do arrive (so "nothing received" above means denied).
    fleet = peer("fleet", "ingest-acl")
    real_ack = json.dumps({"receipt_ids": ["S001:R1:e1:2"]})
    real_command = json.dumps({"command_id": "c1", "command": "sync_now"})
    assert fleet.publish(DEVICE.acks, real_ack) < 0x80
    assert fleet.publish(DEVICE.commands, real_command) < 0x80
    until(lambda: len(watcher.received()) >= 2, what="the fleet's ack and command")
    time.sleep(0.2)
    assert sorted(watcher.received()) == sorted([(DEVICE.acks, real_ack.encode()),
                                                 (DEVICE.commands, real_command.encode())])


def test_a_device_publishes_its_own_receipts_and_not_another_registers(peer):
    fleet = peer("fleet", "ingest-acl-2")
    fleet.subscribe("$share/kassa-ingest/kassa/v1/+/+/receipts")  # as the ingest workers subscribe
    device = peer("S001-R1", "kassa-S001-R1")
    assert device.publish(DeviceTopics("S001", "R2").receipts, '{"n": "as R2"}') == NOT_AUTHORIZED
    assert device.publish(DeviceTopics("S002", "R1").receipts, '{"n": "as S002"}') == NOT_AUTHORIZED
    assert device.publish(DEVICE.receipts, '{"n": "own"}') < 0x80
    until(lambda: fleet.received(), what="the device's own receipt")
    time.sleep(0.2)
    assert fleet.received() == [(DEVICE.receipts, b'{"n": "own"}')]


def test_only_the_fleet_publisher_writes_catalogs_and_the_ingest_cannot_forge_receipts(peer):
    device = peer("S001-R1", "kassa-S001-R1")
    assert device.publish(DEVICE.catalog, '{"version": 99}', retain=True) == NOT_AUTHORIZED
    assert device.publish(DEVICE.clerks, '{"version": 99}', retain=True) == NOT_AUTHORIZED
    fleet = peer("fleet", "ingest-acl-3")
    assert fleet.publish(DEVICE.receipts, '{"n": "forged by the ingest"}') == NOT_AUTHORIZED
    assert fleet.publish(DEVICE.catalog, '{"version": 98}') == NOT_AUTHORIZED
    publisher = peer("fleet-publish", "publish-acl")
    assert publisher.publish(DEVICE.catalog, '{"version": 7}', retain=True) < 0x80
    device.subscribe(DEVICE.catalog)
    until(lambda: device.received(), what="the retained catalog")
    assert device.received() == [(DEVICE.catalog, b'{"version": 7}')]
    assert publisher.publish(DEVICE.catalog, "", retain=True) < 0x80  # clear the retained message again


def test_the_real_ingest_and_self_test_round_trip_under_the_documented_accounts(broker, tmp_path):
    """The doc's grants are enough: a device's self-test reaches the ingest, whose answer reaches the device."""
    secrets = {user: broker.password_file(user) for user in ("fleet", "S001-R1")}
    ingest = IngestProcess(broker.url, tmp_path / "fleet.db", tmp_path, client_id="ingest-acl-e2e",
                           args=("--unsigned", "--username", "fleet", "--password-file",
                                 str(secrets["fleet"]))).start()
    try:
        config = parse_config({"device": {"store": "S001", "register": "R1", "data_dir": str(tmp_path / "data")},
                               "broker": {"url": broker.url, "username": "S001-R1",
                                          "password_file": str(secrets["S001-R1"])}})
        checks = check_broker(config, timeout=5, ack_timeout=10)
        assert [(c.name, c.ok) for c in checks] == [("broker connect", True), ("broker publish", True),
                                                    ("fleet ack", True)], checks
    finally:
        ingest.stop()
