"""The real register, a real broker and the fleet's real ingest: a restored data dir and a deleted journal.

The broker runs the documented per-device ACL (docs/technician.md "Broker side"): the register logs in as its
own user (`DEMO-R1`), the ingest as `fleet`. Ends like every ledger test, with `assert_ledger_sound` over
every journal the register wrote: nothing is lost without an alarm that names it, nothing forged is confirmed.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.contract import DeviceTopics
from firmware.contract.receipt_id import parse_receipt_id
from tests.fleet.kassa_fleet_support import (
    IngestProcess,
    assert_ledger_sound,
    db_query,
    fleet_status_json,
    journal_sold,
)
from tests.support.broker_acl import FLEET_USER, AclBroker, device_user, password
from tests.support.proxy import TcpProxy
from tests.test_end_to_end import PENCIL, pump_until

pytestmark = pytest.mark.slow  # whole appliance: register, brokers and ingest in processes

DEVICE = ("DEMO", "R1")  # demo_config's store and register
USER = device_user(*DEVICE)


def sell(reg, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        reg.scan(PENCIL)
        assert reg.tender("cash", 200).ok
        reg.wait_idle()
        ids.append(reg.view().last_receipt.to_doc()["receipt_id"])
        reg.new_sale()
    return ids


def start(config, pins):
    reg = bootstrap(config, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    return reg


def secured_broker(tmp_path: Path) -> AclBroker:
    """Mosquitto with the documented ACL: the register's own user, the fleet's users, nobody anonymous."""
    return AclBroker(tmp_path / "broker", [DEVICE]).start()


def register_config(data: Path, broker: AclBroker, url: str | None = None):
    """The demo register logged in as its own broker user (`url`: another address, e.g. one nobody serves)."""
    url = url or broker.url
    return demo_config(data, broker_url=url, hardware={"scanner": "simulated:memory"},
                       broker={"url": url, "keepalive": 5, "backoff_cap": 1, "username": USER,
                               "password_file": str(broker.password_file(USER))})


def fleet_ingest(broker: AclBroker, db: Path, workdir: Path) -> IngestProcess:
    """`kassa-fleet ingest` logged in as `fleet`; unsigned resend commands: the demo register pins no key."""
    return IngestProcess(broker.url, db, workdir, args=(
        "--unsigned", "--username", FLEET_USER, "--password-file", str(broker.password_file(FLEET_USER))))


def test_a_restored_copy_opens_a_new_epoch_and_never_reuses_an_id(tmp_path):
    broker = secured_broker(tmp_path)
    db = tmp_path / "fleet.db"
    ingest = fleet_ingest(broker, db, tmp_path).start()
    data, copy = tmp_path / "data", tmp_path / "copy"
    pins = seed_demo(data)
    config = register_config(data, broker)
    reg = start(config, pins)
    try:
        first = sell(reg, 3)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="3 confirmed")
        reg.shutdown()
        shutil.copytree(data, copy)  # the technician's backup
        reg = start(config, pins)
        second = sell(reg, 3)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="6 confirmed")
        reg.shutdown()
        replaced = journal_sold(data, *DEVICE)  # the journal the restore throws away
        shutil.rmtree(data)
        shutil.copytree(copy, data)  # the disk is replaced and the old backup restored
        reg = start(config, pins)
        pump_until(reg, lambda: reg.view().sync.rollbacks == 1, what="the rollback to be found")
        third = sell(reg, 3)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="the new sales confirmed")
    finally:
        reg.shutdown()
        ingest.kill()
        broker.kill()
    keys = [parse_receipt_id(i) for i in first + second + third]
    assert len({(k.epoch, k.seq) for k in keys}) == 9  # no id was ever reused
    assert {k.epoch for k in keys[6:]} != {keys[0].epoch}  # the new sales are in a new epoch
    rows = db_query(db, "SELECT receipt_id FROM receipts ORDER BY epoch, seq")
    assert sorted(r[0] for r in rows) == sorted(first + second + third)
    assert db_query(db, "SELECT COUNT(*) FROM conflicts") == [(0,)]
    row = next(iter(fleet_status_json(db).values()))
    assert any(a.startswith("rollback:") for a in row["alarms"]), row["alarms"]
    assert row["lost"] == [] and row["gaps"] == []
    assert_ledger_sound(db, [replaced, journal_sold(data, *DEVICE)])


def test_sales_on_a_restored_copy_before_it_reconnects_are_conflicts_not_confirmations(tmp_path):
    broker = secured_broker(tmp_path)
    db = tmp_path / "fleet.db"
    ingest = fleet_ingest(broker, db, tmp_path).start()
    data, copy = tmp_path / "data", tmp_path / "copy"
    pins = seed_demo(data)
    online = register_config(data, broker)
    offline = register_config(data, broker, "mqtt://127.0.0.1:9")  # nothing listens: the shop's network is down
    reg = start(online, pins)
    try:
        sell(reg, 3)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="3 confirmed")
        reg.shutdown()
        shutil.copytree(data, copy)
        reg = start(online, pins)
        sell(reg, 3)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="6 confirmed")
        reg.shutdown()
        replaced = journal_sold(data, *DEVICE)
        shutil.rmtree(data)
        shutil.copytree(copy, data)
        reg = start(offline, pins)
        reused = sell(reg, 3)  # made offline on the restored copy: they reuse seqs 4..6 of the old epoch
        reg.shutdown()
        reg = start(online, pins)
        pump_until(reg, lambda: reg.view().sync.conflicts == 3, what="3 conflicts reported by the fleet")
        assert reg.view().sync.rollbacks == 1
        after = sell(reg, 1)
        pump_until(reg, lambda: reg.view().sync.pending == 0 and reg.view().sync.quarantined == 3,
                   what="the new sale confirmed")
    finally:
        reg.shutdown()
        ingest.kill()
        broker.kill()
    conflicts = db_query(db, "SELECT receipt_id FROM conflicts ORDER BY seq")
    assert [c[0] for c in conflicts] == reused  # kept at the fleet, never confirmed, never lost
    assert parse_receipt_id(after[0]).epoch != parse_receipt_id(reused[0]).epoch
    row = next(iter(fleet_status_json(db).values()))
    assert sum(a.startswith("conflict:") for a in row["alarms"]) == 3
    restored = journal_sold(data, *DEVICE)
    assert not restored.confirmed & set(reused)
    assert assert_ledger_sound(db, [replaced, restored])["alarmed"] == 3  # the reused ids, named as conflicts


def test_a_deleted_journal_and_high_water_mark_show_as_a_restart_at_the_fleet(tmp_path):
    broker = secured_broker(tmp_path)
    db = tmp_path / "fleet.db"
    ingest = fleet_ingest(broker, db, tmp_path).start()
    data = tmp_path / "data"
    pins = seed_demo(data)
    config = register_config(data, broker)
    reg = start(config, pins)
    try:
        sell(reg, 2)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="2 confirmed")
        reg.shutdown()
        deleted = journal_sold(data, *DEVICE)
        shutil.rmtree(data / "journal")
        (data / ".kassa-hwm").unlink()
        reg = start(config, pins)
        fresh = sell(reg, 1)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="the fresh sale confirmed")
    finally:
        reg.shutdown()
        ingest.kill()
        broker.kill()
    assert parse_receipt_id(fresh[0]).seq == 1
    row = next(iter(fleet_status_json(db).values()))
    assert any(a.startswith("journal restarted: epoch") for a in row["alarms"]), row["alarms"]
    assert_ledger_sound(db, [deleted, journal_sold(data, *DEVICE)])


class StatusWatcher:
    """The fleet's user reading one register's retained status off the broker (the last one seen)."""

    def __init__(self, broker: AclBroker, store: str, register: str) -> None:
        self.topic = DeviceTopics(store, register).status
        self.last: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []  # every status seen, oldest first
        self.lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-status-watcher", protocol=mqtt.MQTTv5)
        self.client.username_pw_set(FLEET_USER, password(FLEET_USER))
        self.client.on_connect = lambda c, *_a: c.subscribe(self.topic, qos=1)
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert ready.wait(10), "the status watcher could not subscribe"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.last = json.loads(msg.payload) if msg.payload else None
            if self.last is not None:
                self.history.append(self.last)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.last or {})

    def wills(self) -> list[dict[str, Any]]:
        """The last wills seen (offline, no `at`), oldest first."""
        with self.lock:
            return [dict(s) for s in self.history if s.get("state") == "offline" and "at" not in s]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_journal_deleted_before_the_fleet_ever_heard_of_it_shows_as_lost_receipts(tmp_path):
    """Sales while no ingest runs (the register's retained status says head seq 3), then the journal and its
    high-water mark are deleted and the register starts a new epoch; only then does the ingest start. The loss
    of those 3 receipts must show in `kassa-fleet status --json`, naming register and epoch.

    Contract 1.2: the new journal's register reads its own retained status back on connect, finds an epoch it
    does not hold, and names it with its head in `ended_epochs` of its new status, which the fleet records."""
    broker = secured_broker(tmp_path)
    db = tmp_path / "fleet.db"
    data = tmp_path / "data"
    pins = seed_demo(data)
    config = register_config(data, broker)
    watcher = StatusWatcher(broker, *DEVICE)
    ingest = fleet_ingest(broker, db, tmp_path)
    reg = start(config, pins)
    try:
        sold = sell(reg, 3)
        old_epoch = parse_receipt_id(sold[0]).epoch
        pump_until(reg, lambda: (watcher.status().get("epoch"), watcher.status().get("head_seq")) == (old_epoch, 3),
                   what="the retained status announcing head seq 3")
        reg.shutdown()
        assert (watcher.status().get("epoch"), watcher.status().get("head_seq")) == (old_epoch, 3)
        deleted = journal_sold(data, *DEVICE)
        assert [r["receipt_id"] for r in deleted.receipts] == sold and deleted.confirmed == set()
        shutil.rmtree(data / "journal")
        (data / ".kassa-hwm").unlink()
        reg = start(config, pins)  # a fresh journal: a new epoch from seq 1
        new_epoch = the_lost_epoch_named(reg, watcher, old_epoch, 3)
        ingest.start()
        fleet_sees_epoch(reg, db, new_epoch)
    finally:
        reg.shutdown()
        ingest.kill()
        watcher.close()
        broker.kill()
    row = fleet_status_json(db)[DEVICE]
    assert row["lost"] == [{"epoch": old_epoch, "head_seq": 3, "missing": 3}], row
    assert f"lost: 3 receipt(s) of epoch {old_epoch} up to seq 3 never arrived" in row["alarms"]
    assert_ledger_sound(db, [deleted, journal_sold(data, *DEVICE)])


def test_a_crash_keeps_the_epoch_in_the_last_will_and_a_later_lost_journal_shows_as_lost_receipts(tmp_path):
    """The register crashes (its link drops without a DISCONNECT, nothing more is said): the broker publishes
    its last will, which (contract 1.2) names the epoch and the head as of the connect instead of wiping them.
    Then its journal and high-water mark are deleted, it starts a new epoch, and only then does the ingest
    start: the 3 receipts it never received show as lost, as after a clean stop."""
    broker = secured_broker(tmp_path)
    proxy = TcpProxy(broker.port)  # the register's link, to be cut like a crash cuts it
    db = tmp_path / "fleet.db"
    data = tmp_path / "data"
    pins = seed_demo(data)
    watcher = StatusWatcher(broker, *DEVICE)
    ingest = fleet_ingest(broker, db, tmp_path)
    reg = start(register_config(data, broker, proxy.url), pins)
    try:
        sold = sell(reg, 3)
        old_epoch = parse_receipt_id(sold[0]).epoch
        pump_until(reg, lambda: (watcher.status().get("state"), watcher.status().get("head_seq")) == ("online", 3),
                   what="the retained status announcing head seq 3")
        proxy.cut()  # the will of that connection names head 0: set when it connected, before the sales
        pump_until(reg, lambda: watcher.wills(), what="the first will")
        assert [(w["epoch"], w["head_seq"]) for w in watcher.wills()] == [(old_epoch, 0)]
        pump_until(reg, lambda: (watcher.status().get("state"), watcher.status().get("head_seq")) == ("online", 3),
                   timeout=30, what="the register back online")
        proxy.close()  # the crash: the link goes and the register says nothing more
        pump_until(reg, lambda: len(watcher.wills()) == 2, what="the last will")
        will = watcher.status()
        assert will == watcher.wills()[-1] and (will["epoch"], will["head_seq"]) == (old_epoch, 3), will
        reg.shutdown()  # offline: no clean "offline" status replaces the will
        assert watcher.status() == will
        deleted = journal_sold(data, *DEVICE)
        assert [r["receipt_id"] for r in deleted.receipts] == sold and deleted.confirmed == set()
        shutil.rmtree(data / "journal")
        (data / ".kassa-hwm").unlink()
        reg = start(register_config(data, broker), pins)  # a fresh journal: a new epoch from seq 1
        new_epoch = the_lost_epoch_named(reg, watcher, old_epoch, 3)
        ingest.start()
        fleet_sees_epoch(reg, db, new_epoch)
    finally:
        reg.shutdown()
        ingest.kill()
        watcher.close()
        proxy.close()
        broker.kill()
    row = fleet_status_json(db)[DEVICE]
    assert row["lost"] == [{"epoch": old_epoch, "head_seq": 3, "missing": 3}], row
    assert f"lost: 3 receipt(s) of epoch {old_epoch} up to seq 3 never arrived" in row["alarms"]
    assert_ledger_sound(db, [deleted, journal_sold(data, *DEVICE)])


def the_lost_epoch_named(reg, watcher: StatusWatcher, old_epoch: str, head_seq: int) -> str:
    """Wait for the new journal's retained status naming the lost epoch and its head in `ended_epochs`; its epoch.

    (It may name a lower head first: an older will of that epoch queued in the register's broker session arrives
    too, and the head only grows.)"""
    def named() -> bool:
        status = watcher.status()
        return status.get("epoch") not in (None, old_epoch) and [
            (e["epoch"], e["head_seq"]) for e in status.get("ended_epochs") or ()] == [(old_epoch, head_seq)]
    pump_until(reg, named, what=f"the new epoch's status naming epoch {old_epoch} ended at seq {head_seq}")
    return watcher.status()["epoch"]


def fleet_sees_epoch(reg, db: Path, epoch: str) -> None:
    """Wait until the ingest has read the register's retained status of `epoch`."""
    deadline = time.monotonic() + 30
    while fleet_status_json(db).get(DEVICE, {}).get("epoch") != epoch:
        assert time.monotonic() < deadline, "the fleet never recorded the register's status"
        reg.pump()
        time.sleep(0.2)
    reg.pump()
