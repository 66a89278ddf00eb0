"""Stock deltas through the fleet (docs/stock.md): a real Mosquitto, the real ingest on SQLite and PostgreSQL.

The spec's scenario over the wire: one pencil counted, R1 and R2 each sell "the last pencil" offline, R2's deltas
arrive first and R1's twice; the fleet's level is -1, one oversell naming both registers is an alarm in
`kassa-fleet status`. A re-used seq with other content is a conflict whatever arrived first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from firmware.contract import DeviceTopics, decode
from firmware.contract.stock import StockSnapshot
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.report import status_rows
from tests.fleet.kassa_fleet_support import BareDevice, ingest_thread, wait_for
from tests.fleet.test_fleet_accounts_ingest import cli, retained

pytestmark = pytest.mark.slow  # real broker, real ingest, both databases


def delta(seq: int, sku: str, kind: str, qty: int, minute: int, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "sku": sku, "kind": kind, "qty": qty, "at": f"2026-11-25T10:{minute:02d}:00Z", **extra}


def batch(register: str, deltas: list[dict[str, Any]], store: str = "S001") -> str:
    return json.dumps({"store": store, "register": register, "deltas": deltas})


@pytest.fixture
def worker(mosquitto, fleet_url):
    with ingest_thread(mosquitto.url, fleet_url, IngestOptions(client_id="ingest-stock")) as w:
        yield w


def test_two_registers_selling_the_last_item_offline_is_flagged_in_status(mosquitto, worker, tmp_path):
    devices = {r: BareDevice(mosquitto.url, register=r) for r in ("R0", "R1", "R2")}
    devices["R0"].publish(devices["R0"].topics.stock, batch("R0", [delta(1, "PENCIL", "count", 1, 0, basis={})]))
    wait_for(lambda: worker.stats.stock_deltas == 1, what="the count")
    devices["R2"].publish(devices["R2"].topics.stock, batch("R2", [delta(1, "PENCIL", "sale", -1, 11)]))
    for _ in range(2):  # R1's batch twice: a re-send
        devices["R1"].publish(devices["R1"].topics.stock, batch("R1", [delta(1, "PENCIL", "sale", -1, 10)]))
    wait_for(lambda: worker.stats.messages >= 4, what="every batch")
    db = FleetDb(worker.db.url, migrate=False)
    try:
        wait_for(lambda: db.stock_levels("S001") == {"PENCIL": -1}, what="the level")
        assert db.stock_upto("S001") == {"R0": 1, "R1": 1, "R2": 1}
        [flag] = db.stock_oversells()
        assert (flag["sku"], flag["lowest"], flag["sold"], flag["since_register"], flag["first_register"]) == (
            "PENCIL", -1, {"R1": 1, "R2": 1}, "R0", "R2")
        rows = {r["register"]: r for r in status_rows(db)}
        for register in ("R1", "R2"):
            assert rows[register]["alarms"] == [
                "stock oversold: PENCIL down to -1 since the count R0:1 (R1 sold 1, R2 sold 1)"]
        assert "R0" not in rows  # the counting till spent nothing: no alarm, no row
    finally:
        db.close()
    # the next snapshot holds both sales: both tills converge on -1
    out = cli("publish-stock", "--store", "S001", "--db", worker.db.url, "--broker", mosquitto.url, "--unsigned",
              "--state-file", str(tmp_path / "published.json"))
    assert out.returncode == 0, out.stderr
    assert "published stock snapshot version 1 for store S001" in out.stdout
    snap = decode(StockSnapshot, retained(mosquitto.url, DeviceTopics("S001", "R1").stock_snapshot))
    assert (snap.version, snap.upto, snap.levels) == (1, {"R0": 1, "R1": 1, "R2": 1}, {"PENCIL": -1})
    for device in devices.values():
        device.close()


def test_a_reused_seq_is_a_conflict_and_the_same_delta_counts_whatever_came_first(mosquitto, worker):
    device = BareDevice(mosquitto.url)
    a, b = delta(2, "P1", "sale", -1, 5), delta(2, "P1", "sale", -2, 5)  # b sorts first by content: it counts
    device.publish(device.topics.stock, batch("R1", [delta(1, "P1", "adjust", 10, 0), a]))
    device.publish(device.topics.stock, batch("R1", [b]))
    device.publish(device.topics.stock, batch("R1", [a]))  # the one kept aside, again: no new conflict
    device.publish(device.topics.stock, batch("S999", [a]))  # another register's name: rejected
    wait_for(lambda: worker.stats.messages >= 4, what="every batch")
    db = FleetDb(worker.db.url, migrate=False)
    try:
        assert db.stock_levels("S001") == {"P1": 8}
        [conflict] = db.stock_conflicts()
        assert (conflict["register"], conflict["seq"], json.loads(conflict["body"])["qty"]) == ("R1", 2, -1)
        [row] = [r for r in status_rows(db) if r["register"] == "R1"]
        assert "stock conflict: seq 2 sent 1x with other content than the delta held" in row["alarms"]
        assert row["rejected"] == 1
    finally:
        db.close()
    device.close()


def test_the_leader_publishes_the_next_snapshot_when_stock_changed_and_only_then(mosquitto, fleet_url, tmp_path):
    from fleet.stockdb import next_snapshot, snapshot_due

    options = IngestOptions(client_id="ingest-stock-leader", gap_check_every=0.2, stock_every=0.2)
    with ingest_thread(mosquitto.url, fleet_url, options) as worker:
        device = BareDevice(mosquitto.url, register="R1")
        device.publish(device.topics.stock, batch("R1", [delta(1, "PENCIL", "count", 5, 0, basis={})]))
        topic = DeviceTopics("S001", "R1").stock_snapshot
        first = decode(StockSnapshot, retained(mosquitto.url, topic))
        assert (first.version, first.upto, first.levels) == (1, {"R1": 1}, {"PENCIL": 5})
        db = FleetDb(worker.db.url, migrate=False)
        try:
            wait_for(lambda: db.last_stock_version("S001") == 1, what="the snapshot recorded")
            assert snapshot_due(db) == []  # nothing arrived since: no new one
            assert next_snapshot(db, "S001", "2026-11-25T11:00:00.000Z") is None  # and the same content is none
            assert snapshot_due(db, every_store=True) == ["S001"]
            device.publish(device.topics.stock, batch("R1", [delta(2, "PENCIL", "sale", -2, 1)]))
            wait_for(lambda: db.last_stock_version("S001") == 2, what="the next snapshot")
            second = decode(StockSnapshot, retained(mosquitto.url, topic))
            assert (second.version, second.upto, second.levels) == (2, {"R1": 2}, {"PENCIL": 3})
            db.set_stock_policy("S001", "", low=2, past_zero="manager", track=True)  # no delta announces it
            made = next_snapshot(db, "S001", "2026-11-25T11:00:00.000Z")
            assert made is not None and made[0] == 3
            assert json.loads(made[1])["policy"] == {"low": 2, "past_zero": "manager", "track": True}
            assert worker.stats.store_documents == 2
        finally:
            db.close()
            device.close()
