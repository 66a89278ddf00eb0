"""Stock end to end (docs/stock.md): two real registers (journal, stock index, sync), a real Mosquitto, the fleet's
real ingest (SQLite) and its CLI.

The issue's scenario: one pencil is counted on the shelf and both tills get the leader's snapshot; the network goes;
each till sells "the last pencil" (each warns, neither refuses); the network comes back; the fleet flags the
oversell in `kassa-fleet status`, and its next snapshot (the leader's, unasked) makes both tills agree on -1 and
confirms (so drops) every stock record they journaled; with the shop's policy set to ask for a manager and a
snapshot published by hand (`kassa-fleet publish-stock`), the next pencil needs one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
from firmware.fleet_records import STOCK
from firmware.register.commands import CountStock, Logout
from tests.fleet.kassa_fleet_support import ROOT, IngestProcess, db_query
from tests.support.mosquitto import Mosquitto
from tests.test_end_to_end import PENCIL

pytestmark = pytest.mark.slow  # two registers, a broker killed and restarted, the ingest, the fleet CLI


def fleet(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def pump_all(registers, predicate, timeout=45.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for reg in registers:
            reg.pump()
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; " + "; ".join(str(r.view().sync) for r in registers))


def till(tmp_path, register: str, url: str):
    data = tmp_path / register
    pins = seed_demo(data)
    config = demo_config(data, broker_url=url, device={"register": register}, hardware={"scanner": "simulated:memory"},
                         broker={"url": url, "resend_after": 5, "keepalive": 5, "backoff_cap": 1})
    return bootstrap(config, demo_pins=pins)


def message(reg) -> str:
    shown = reg.view().message
    return "" if shown is None else shown.text


def test_two_tills_sell_the_last_pencil_offline_the_fleet_flags_it_and_both_converge(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    url = f"sqlite:///{db}"
    # the ingest's leader publishes each store's next stock snapshot when deltas arrived (looks every second, within
    # its gap-check cycle)
    ingest = IngestProcess(broker.url, db, tmp_path, args=("--unsigned", "--stock-every", "1")).start()
    r1, r2 = till(tmp_path, "R1", broker.url), till(tmp_path, "R2", broker.url)
    tills = (r1, r2)

    def publish_stock() -> None:
        fleet("publish-stock", "--store", "DEMO", "--db", url, "--broker", broker.url, "--unsigned",
              "--state-file", str(tmp_path / "published.json"))

    try:
        assert r1.login("m1", "9999").ok
        assert r1.handle(CountStock(((PENCIL, 1),))).ok  # a manager counts one pencil on the shelf
        pump_all(tills, lambda: r1.stock.on_hand(PENCIL) == 1 and r2.stock.on_hand(PENCIL) == 1,
                 what="the leader's first snapshot on both tills")
        pump_all(tills, lambda: r1.journal.states(STOCK) == {}, what="the count confirmed by the snapshot")
        r1.handle(Logout())

        broker.kill()  # the shop's network goes
        pump_all(tills, lambda: all(r.view().sync.online is False for r in tills), what="both tills offline")
        for reg in tills:
            assert reg.login("c1", "1111").ok
            assert reg.scan(PENCIL).ok
            assert message(reg) == "Last of Pencil HB in stock: stock is now 0"  # a warning, never a refusal
            assert reg.tender("cash").ok
            reg.wait_idle()
            assert reg.view().phase == "done" and reg.stock.on_hand(PENCIL) == 0
            assert len(reg.journal.states(STOCK)) == 1  # the sale's delta, journaled, waiting for the network

        broker.start()  # the network comes back
        pump_all(tills, lambda: r1.stock.on_hand(PENCIL) == -1 and r2.stock.on_hand(PENCIL) == -1,
                 what="both tills on the fleet's level")
        pump_all(tills, lambda: all(r.journal.states(STOCK) == {} for r in tills),
                 what="every stock record confirmed and dropped")
        assert db_query(db, "SELECT COUNT(*) FROM stock_deltas") == [(3,)]
        status = json.loads(fleet("status", "--db", url, "--json"))
        alarms = {row["register"]: row["alarms"] for row in status if row["store"] == "DEMO"}
        oversold = [a for a in alarms["R1"] + alarms["R2"] if a.startswith("stock oversold")]
        assert oversold and all(f"{PENCIL} down to -1" in a for a in oversold), alarms
        assert all("R1 sold 1, R2 sold 1" in a for a in oversold)

        version = r2.stock.index.version
        fleet("stock-policy", "--store", "DEMO", "--db", url, "--past-zero", "manager")  # the shop's rule from now
        publish_stock()  # at once, by hand (the leader would within ten looks)
        pump_all(tills, lambda: r2.stock.index.version > version, what="the snapshot with the policy")
        refused = r2.scan(PENCIL)
        assert not refused.ok and refused.message.endswith("a manager must approve")
        assert r2.sync.state().downlink_rejected == 0 and r1.sync.state().downlink_rejected == 0
    finally:
        for reg in tills:
            reg.shutdown()
        ingest.stop()
        broker.kill()
    assert db_query(db, "SELECT register, seq, kind, qty FROM stock_deltas ORDER BY register, seq") == [
        ("R1", 1, "count", 1), ("R1", 2, "sale", -1), ("R2", 1, "sale", -1)]
    assert db_query(db, "SELECT COUNT(*) FROM stock_conflicts") == [(0,)]
