"""The real register, a real broker and the fleet's real ingest: a restored data dir and a deleted journal.

Ends like every ledger test: nothing is lost without an alarm that names it, nothing forged is confirmed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.contract.receipt_id import parse_receipt_id
from tests.fleet.kassa_fleet_support import ROOT, IngestProcess, db_query
from tests.support.mosquitto import Mosquitto
from tests.test_end_to_end import PENCIL, pump_until

pytestmark = pytest.mark.slow  # whole appliance: register, brokers and ingest in processes


def sell(reg, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        reg.scan(PENCIL)
        assert reg.tender("cash", 200).ok
        reg.wait_idle()
        ids.append(reg.view().last_receipt.to_doc()["receipt_id"])
        reg.new_sale()
    return ids


def fleet_status(db) -> dict:
    out = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", str(db), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {(r["store"], r["register"]): r for r in json.loads(out.stdout)}


def start(config, pins):
    reg = bootstrap(config, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    return reg


def test_a_restored_copy_opens_a_new_epoch_and_never_reuses_an_id(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    ingest = IngestProcess(broker.url, db, tmp_path).start()
    data, copy = tmp_path / "data", tmp_path / "copy"
    pins = seed_demo(data)
    config = demo_config(data, broker_url=broker.url, hardware={"scanner": "simulated:memory"},
                         broker={"url": broker.url, "keepalive": 5, "backoff_cap": 1})
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
    row = next(iter(fleet_status(db).values()))
    assert any(a.startswith("rollback:") for a in row["alarms"]), row["alarms"]
    assert row["lost"] == [] and row["gaps"] == []


def test_sales_on_a_restored_copy_before_it_reconnects_are_conflicts_not_confirmations(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    ingest = IngestProcess(broker.url, db, tmp_path).start()
    data, copy = tmp_path / "data", tmp_path / "copy"
    pins = seed_demo(data)
    online = demo_config(data, broker_url=broker.url, hardware={"scanner": "simulated:memory"},
                         broker={"url": broker.url, "keepalive": 5, "backoff_cap": 1})
    offline_url = "mqtt://127.0.0.1:9"  # nothing listens: the shop's network is down
    offline = demo_config(data, broker_url=offline_url, hardware={"scanner": "simulated:memory"},
                          broker={"url": offline_url, "keepalive": 5, "backoff_cap": 1})
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
    row = next(iter(fleet_status(db).values()))
    assert sum(a.startswith("conflict:") for a in row["alarms"]) == 3


def test_a_deleted_journal_and_high_water_mark_show_as_a_restart_at_the_fleet(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    ingest = IngestProcess(broker.url, db, tmp_path).start()
    data = tmp_path / "data"
    pins = seed_demo(data)
    config = demo_config(data, broker_url=broker.url, hardware={"scanner": "simulated:memory"},
                         broker={"url": broker.url, "keepalive": 5, "backoff_cap": 1})
    reg = start(config, pins)
    try:
        sell(reg, 2)
        pump_until(reg, lambda: reg.view().sync.pending == 0, what="2 confirmed")
        reg.shutdown()
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
    row = next(iter(fleet_status(db).values()))
    assert any(a.startswith("journal restarted: epoch") for a in row["alarms"]), row["alarms"]
