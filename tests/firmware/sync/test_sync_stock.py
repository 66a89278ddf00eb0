"""The stock lane and the stock snapshot on a real SyncService over a real Mosquitto with the ACL of
docs/technician.md, the register pinning the fleet's key (docs/stock.md).

The till's journaled stock records go out on its `stock` topic as the contract's `StockDeltas` (the ingest's user
reads them); only a snapshot signed by the fleet's key for this store's topic is applied: unsigned, another key's,
one signed for another store's topic, one naming another store, a malformed one and an older version change
nothing and are counted. The good one sets the till's stock and settles exactly the records its `upto` holds.
"""

from __future__ import annotations

import json
import queue

import pytest

from firmware.clock import SystemClock
from firmware.contract import decode
from firmware.contract.stock import StockDeltas
from firmware.fleet_records import STOCK
from firmware.stock_keeper import StockKeeper
from firmware.sync import SyncService
from tests.firmware.sync.kassa_sync_support import commit, open_journal, wait_for
from tests.firmware.sync.test_sync_signed_downlink import Client, pinned_config

pytestmark = pytest.mark.slow  # a real Mosquitto, waits on the network

PENCIL = "4006381333931"


def snapshot(version: int, upto: int, level: int, store: str = "S001") -> bytes:
    return json.dumps({"version": version, "store": store, "at": "2026-11-25T10:00:00.000Z", "upto": {"R1": upto},
                       "levels": {PENCIL: level}, "policy": {"low": 3, "past_zero": "manager"}}).encode()


def test_stock_records_go_out_and_only_the_fleets_snapshot_for_this_store_settles_them(secured, tmp_path):
    config, fleet_signer, rogue_signer = pinned_config(secured, tmp_path)
    journal = open_journal(tmp_path / "dev")
    keeper = StockKeeper(journal, tmp_path / "dev" / "stock")
    commit(journal, 2)  # two sales of 2 pencils each, committed after the keeper began: both get deltas
    assert keeper.catch_up() == 2
    ingest = Client(secured, "fleet", subscribe=("kassa/v1/+/+/stock",))
    publisher = Client(secured, "fleet-publish")
    service = SyncService(config, journal, SystemClock(), queue.Queue(), stock=keeper)
    service.start()
    try:
        wait_for(lambda: len(ingest.got) >= 2, 20, "both stock records sent")
        sent = sorted((decode(StockDeltas, json.dumps(doc).encode()) for doc in ingest.got),
                      key=lambda b: b.deltas[0].seq)
        assert [(b.store, b.register, [(d.seq, d.sku, d.kind, d.qty) for d in b.deltas]) for b in sent[:2]] == [
            ("S001", "R1", [(1, PENCIL, "sale", -2)]), ("S001", "R1", [(2, PENCIL, "sale", -2)])]

        t = service.topics
        attacks = [
            snapshot(5, 2, 100),                                                    # unsigned
            rogue_signer.wrap(t.stock_snapshot, snapshot(5, 2, 100)),               # another key
            fleet_signer.wrap("kassa/v1/S002/stock_snapshot", snapshot(5, 2, 100)),  # signed for another store
            fleet_signer.wrap(t.stock_snapshot, snapshot(5, 2, 100, store="S002")),  # names another store
            fleet_signer.wrap(t.stock_snapshot, b'{"version": 5, "levels": "all"}'),  # malformed
        ]
        for n, payload in enumerate(attacks, start=1):
            publisher.publish(t.stock_snapshot, payload, retain=True)
            wait_for(lambda n=n: service.state().downlink_rejected == n, 10, f"attack {n} refused")
        assert keeper.on_hand(PENCIL) is None and keeper.index.version == 0
        assert len(journal.states(STOCK)) == 2

        publisher.publish(t.stock_snapshot, fleet_signer.wrap(t.stock_snapshot, snapshot(3, 1, 10)), retain=True)
        wait_for(lambda: keeper.index.version == 3, 10, "the fleet's snapshot applied")
        assert keeper.on_hand(PENCIL) == 8  # 10 with the first sale in it, the second still this till's own
        assert keeper.policy(PENCIL).past_zero == "manager" and keeper.policy(PENCIL).low == 3
        wait_for(lambda: sorted(journal.states(STOCK)) == ["000000000002"], 10, "the first record settled")

        publisher.publish(t.stock_snapshot, fleet_signer.wrap(t.stock_snapshot, snapshot(2, 0, 50)), retain=True)
        publisher.publish(t.stock_snapshot, fleet_signer.wrap(t.stock_snapshot, snapshot(4, 2, 6)), retain=True)
        wait_for(lambda: keeper.index.version == 4, 10, "the next one")
        assert keeper.on_hand(PENCIL) == 6  # version 2 (older) changed nothing; 4 holds both sales
        wait_for(lambda: journal.states(STOCK) == {}, 10, "every record settled")
        assert service.state().downlink_rejected == len(attacks)
    finally:
        service.stop()
        ingest.close()
        publisher.close()
        journal.close()
