"""Stock attacked (docs/stock.md): the fleet's ingest of delta batches at the contract's bounds (1000 deltas,
qty +-10^9, seq 2^53, a count's basis at 2^53 for 256 registers, a seq re-used with other content, a batch naming
another store) on SQLite and PostgreSQL; the till's snapshot handling (100,000 levels, version 2^53, an older
version replayed) and the manager's stock-take with odd counts. Each defence holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from firmware.contract.stock import MAX_BATCH, StockDeltas
from firmware.domain.stock import PolicyBook, StockPolicy, StockSnapshot
from firmware.fleet_records import STOCK
from firmware.register.commands import CountStock
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from tests.firmware.register.conftest import PENCIL, RegisterRig
from tests.fleet.kassa_fleet_support import BareDevice, ingest_thread, wait_for

AT = "2026-11-25T10:00:00Z"


def delta(seq: int, sku: str, kind: str, qty: int, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "sku": sku, "kind": kind, "qty": qty, "at": AT, **extra}


def batch(deltas: list[dict[str, Any]], store: str = "S001", register: str = "R1") -> StockDeltas:
    return StockDeltas.model_validate({"store": store, "register": register, "deltas": deltas})


def test_the_contract_refuses_a_batch_past_its_bounds():
    for bad in ([delta(s, "P", "adjust", 1) for s in range(1, MAX_BATCH + 2)],  # 1001 deltas
                [delta(1, "P", "adjust", 10**9 + 1)], [delta(1, "P", "sale", -(10**9) - 1)],
                [delta(2**53 + 1, "P", "adjust", 1)], [delta(1, "P", "count", -1, basis={})],
                [delta(1, "P", "count", 1, basis={"R1": 2**53 + 1})],
                [delta(1, "P", "sale", 1)], [delta(1, "P", "adjust", 1, basis={})],
                [delta(1, "P", "adjust", 1), delta(1, "P", "adjust", 2)]):  # a seq twice in one batch
        with pytest.raises(ValidationError):
            batch(bad)


@pytest.mark.slow
def test_a_batch_at_every_bound_is_stored_and_a_reused_seq_is_a_conflict_whatever_came_first(fleet_url):
    from fleet.stockdb import next_snapshot, store_stock

    db = FleetDb(fleet_url)
    try:
        full = [delta(s, "P", "adjust", 10**9 if s % 2 else -(10**9)) for s in range(1, MAX_BATCH + 1)]
        basis = {f"R{n}": 2**53 for n in range(256)}
        edges = [delta(1, "Q", "count", 10**9, basis=basis), delta(2**53, "Q", "sale", -(10**9))]
        with db.db.transaction() as tx:
            assert store_stock(tx, [("S001", "R1", batch(full).deltas)], AT)["new"] == MAX_BATCH
            assert store_stock(tx, [("S001", "R2", batch(edges, register="R2").deltas)], AT)["new"] == 2
        assert db.stock_levels("S001") == {"P": 0, "Q": 0}
        assert db.stock_upto("S001") == {"R1": MAX_BATCH, "R2": 1}  # seq 2^53 is held, not contiguous
        made = next_snapshot(db, "S001", "2026-11-25T11:00:00.000Z")
        assert made is not None and json.loads(made[1])["levels"] == {"P": 0, "Q": 10**9}
        # the same seq twice with other content, in both orders on two stores: the same one counts
        a, b = delta(1, "X", "sale", -1), delta(1, "X", "sale", -5)
        for store, first, second in (("S002", a, b), ("S003", b, a)):
            with db.db.transaction() as tx:
                store_stock(tx, [(store, "R1", batch([first], store=store).deltas)], AT)
            with db.db.transaction() as tx:
                counts = store_stock(tx, [(store, "R1", batch([second], store=store).deltas)], AT)
            assert counts == {"new": 0, "duplicates": 0, "conflicts": 1}
        assert db.stock_rows("S002") == db.stock_rows("S003")
        assert len(db.stock_conflicts()) == 2
    finally:
        db.close()


@pytest.mark.slow
def test_a_batch_naming_another_store_or_register_is_rejected_on_the_wire(mosquitto, fleet_url):
    with ingest_thread(mosquitto.url, fleet_url, IngestOptions(client_id="ingest-attack-stock")) as worker:
        device = BareDevice(mosquitto.url, register="R1")
        try:
            for store, register in (("S002", "R1"), ("S001", "R2")):
                device.publish(device.topics.stock, json.dumps(
                    {"store": store, "register": register, "deltas": [delta(1, "P", "adjust", 7)]}))
            device.publish(device.topics.stock, json.dumps(
                {"store": "S001", "register": "R1", "deltas": [delta(1, "P", "adjust", 3)]}))
            wait_for(lambda: worker.stats.messages >= 3, what="every batch")
            wait_for(lambda: worker.stats.stock_deltas == 1, what="the good batch")
            assert worker.stats.rejected == 2
            db = FleetDb(worker.db.url, migrate=False)
            try:
                assert (db.stock_levels("S001"), db.stock_levels("S002")) == ({"P": 3}, {})
                assert db.stock_upto("S001") == {"R1": 1}
            finally:
                db.close()
        finally:
            device.close()


@pytest.fixture
def till(tmp_path):
    rig = RegisterRig(tmp_path / "data")
    reg = rig.start()
    yield reg
    rig.stop()


@pytest.mark.slow
def test_a_snapshot_of_100000_levels_and_version_2_53_is_taken_and_an_older_one_replayed_is_not(till):
    levels = {f"SKU{n:06d}": n - 50_000 for n in range(100_000)}
    levels[PENCIL] = 4
    odd = PolicyBook(StockPolicy(low=10**9, past_zero="manager"), {PENCIL: StockPolicy(track=False)})
    assert till.stock.apply_snapshot(StockSnapshot(2**53, levels, {"R1": 0}, AT), odd)
    assert till.stock.on_hand("SKU000000") == -50_000 and till.stock.on_hand("SKU099999") == 49_999
    assert till.stock.apply_snapshot(StockSnapshot(2**53 - 1, {PENCIL: 99}, {"R1": 0}, AT), PolicyBook()) is False
    assert till.stock.on_hand("SKU099999") == 49_999 and till.stock.policy("SKU000001").low == 10**9


@pytest.mark.slow
def test_a_stock_take_refuses_negative_counts_and_reads_spaced_digits_and_an_sku_twice_keeps_the_last(till):
    assert till.login("m1", "9999").ok
    for bad in (-1, "-3", "2.5", "five", True):
        out = till.handle(CountStock(((PENCIL, bad),)))
        assert not out.ok and "went wrong" not in out.message, (bad, out.message)
    assert till.journal.states(STOCK) == {}  # nothing journaled for a refused count
    assert till.handle(CountStock(((PENCIL, " 5 "),))).ok and till.stock.on_hand(PENCIL) == 5
    out = till.handle(CountStock(((PENCIL, 3), (PENCIL, 7))))
    assert out.ok and till.stock.on_hand(PENCIL) == 7  # two counts of one sku in one take: the last one counts
    [_first, take] = [till.journal.states(STOCK)[k]["deltas"] for k in sorted(till.journal.states(STOCK))]
    assert [(d["seq"], d["qty"]) for d in take] == [(2, 3), (3, 7)]  # the fleet orders them the same way (seq)
