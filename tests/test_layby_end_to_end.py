"""Layby through the fleet (docs/layby.md): two real registers (journals on disk), a real Mosquitto, the fleet's real
ingest (SQLite) and its CLI.

Register R1 opens a layby; its receipt reaches the fleet; `kassa-fleet publish-accounts` publishes the signed
snapshot with the open layby; register R2 recalls it from that snapshot and takes an instalment; the next snapshot
shows R1 the instalment taken on R2. Then, while each still knows only that snapshot, both take the last
instalment: the fleet holds both, and `kassa-fleet status` flags the layby paid past its total on both registers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from firmware.bootstrap import bootstrap, seed_demo
from firmware.contract.signing import new_key_pair
from firmware.register.commands import FindLaybys, NewSale, OpenLayby, PayLayby, SetCustomer
from tests.fleet.kassa_fleet_support import ROOT, IngestProcess, db_query
from tests.support.mosquitto import Mosquitto
from tests.test_end_to_end import pump_until
from tests.test_timeclock_mail_end_to_end import broker_config

pytestmark = pytest.mark.slow  # a broker, the ingest, two registers

COFFEE = "4006380135079"  # 7.99


def register(data, url, key_file, name):
    pins = seed_demo(data)
    config = broker_config(data, url, broker={"fleet_key_file": str(key_file)}, device={"register": name})
    reg = bootstrap(config, demo_pins=pins)
    assert reg.login("c1", "1111").ok
    return reg


def saved_and_sent(reg) -> dict:
    reg.wait_idle()
    view = reg.view()
    assert view.phase == "done", view.message
    doc = view.last_receipt.to_doc()
    assert reg.handle(NewSale()).ok
    pump_until(reg, lambda: reg.view().sync.pending == 0, timeout=30, what="the receipt confirmed by the fleet")
    return doc


def publish(db, url, signing) -> str:
    out = subprocess.run([sys.executable, "-m", "fleet.cli", "publish-accounts", "--store", "DEMO", "--db",
                          f"sqlite:///{db}", "--broker", url, "--signing-key", str(signing), "--currency", "EUR"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def known(reg, text: str):
    found = reg.handle(FindLaybys(text)).data
    return found[0] if found else None


def test_a_layby_opened_on_one_register_is_recalled_and_paid_on_another_and_overpayment_is_flagged(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    ingest = IngestProcess(broker.url, db, tmp_path, args=("--unsigned",)).start()
    private, public, _ = new_key_pair()
    key_file, signing = tmp_path / "fleet-key.pem", tmp_path / "signing.pem"
    key_file.write_bytes(public)
    signing.write_bytes(private)
    signing.chmod(0o600)
    r1 = register(tmp_path / "r1", broker.url, key_file, "R1")
    r2 = register(tmp_path / "r2", broker.url, key_file, "R2")
    try:
        assert r1.scan(COFFEE).ok and r1.scan(COFFEE).ok
        assert r1.handle(SetCustomer("C-3003")).ok
        assert r1.handle(OpenLayby(500)).ok
        assert r1.tender("cash").ok
        opening = saved_and_sent(r1)
        layby_id = f"LB-DEMO-R1-{opening['seq']}"
        assert db_query(db, "SELECT account FROM account_movements WHERE type='layby_open'") == [(layby_id,)]
        assert known(r2, "C-3003") is None  # R2 has not heard of it yet

        assert "published accounts version 1" in publish(db, broker.url, signing)
        pump_until(r2, lambda: known(r2, "C-3003") is not None, what="the layby recalled on R2")
        recalled = known(r2, "C-3003")
        assert (recalled.layby_id, recalled.total, recalled.paid) == (layby_id, 1598, 500)
        assert r2.handle(PayLayby(layby_id, 600)).ok
        assert r2.tender("card").ok
        saved_and_sent(r2)
        assert known(r2, layby_id).paid == 1100

        publish(db, broker.url, signing)
        pump_until(r1, lambda: known(r1, layby_id).paid == 1100, what="R2's instalment shown on R1")
        pump_until(r2, lambda: r2.view().sync.pending == 0, what="R2 settled")
        assert known(r2, layby_id).paid == 1100  # R2's own instalment, now in the snapshot: counted once

        # both registers take the last 4.98 while each knows only that snapshot: the fleet sees 20.96 of 15.98
        for reg in (r1, r2):
            assert reg.handle(PayLayby(layby_id)).ok
            assert reg.tender("cash").ok
            saved_and_sent(reg)
        assert db_query(db, "SELECT COUNT(*) FROM account_movements WHERE type='layby_payment'") == [(3,)]
        out = subprocess.run([sys.executable, "-m", "fleet.cli", "reconcile-accounts", "--db", f"sqlite:///{db}",
                              "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        flags = json.loads(out.stdout)
        assert {"kind": "layby_overpaid", "account": layby_id, "balance": 2096, "limit": 1598, "last4": None,
                "registers": ["DEMO:R1", "DEMO:R2"], "approved_by": []} in flags
        status = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", f"sqlite:///{db}", "--json"],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert status.returncode == 0, status.stderr
        # an alarm on both registers that paid into it, in one line
        alarm = (f"layby_overpaid: layby {layby_id} paid past its total: €20.96 paid of €15.98 "
                 "(by DEMO:R1, DEMO:R2)")
        rows = json.loads(status.stdout)
        rows = rows if isinstance(rows, list) else rows.get("devices", rows)
        assert {r["register"] for r in rows if alarm in r["alarms"]} == {"R1", "R2"}
    finally:
        r1.shutdown()
        r2.shutdown()
        ingest.stop()
        broker.kill()


def test_the_ingests_leader_publishes_the_accounts_snapshot_so_another_register_recalls_the_layby_unasked(tmp_path):
    broker = Mosquitto(tmp_path / "broker").start()
    db = tmp_path / "fleet.db"
    private, public, _ = new_key_pair()
    key_file, signing = tmp_path / "fleet-key.pem", tmp_path / "signing.pem"
    key_file.write_bytes(public)
    signing.write_bytes(private)
    signing.chmod(0o600)
    # the leader reconciles every second and publishes each store's snapshot, signed, when it says something new
    ingest = IngestProcess(broker.url, db, tmp_path, args=("--signing-key", str(signing), "--accounts-currency", "EUR",
                                                           "--accounts-every", "1")).start()
    r1 = register(tmp_path / "r1", broker.url, key_file, "R1")
    r2 = register(tmp_path / "r2", broker.url, key_file, "R2")
    try:
        assert r1.scan(COFFEE).ok
        assert r1.handle(SetCustomer("C-3003")).ok
        assert r1.handle(OpenLayby(300)).ok
        assert r1.tender("cash").ok
        opening = saved_and_sent(r1)
        layby_id = f"LB-DEMO-R1-{opening['seq']}"
        pump_until(r2, lambda: known(r2, "C-3003") is not None, timeout=45, what="the layby recalled on R2, unasked")
        assert (known(r2, "C-3003").layby_id, known(r2, "C-3003").paid) == (layby_id, 300)
        published = db_query(db, "SELECT COUNT(*) FROM account_snapshots WHERE store='DEMO'")[0][0]
        time.sleep(3)  # three more passes with nothing new: nothing more published
        assert db_query(db, "SELECT COUNT(*) FROM account_snapshots WHERE store='DEMO'")[0][0] == published
        assert r2.sync.state().downlink_rejected == 0  # signed by the key the registers pin
    finally:
        r1.shutdown()
        r2.shutdown()
        ingest.stop()
        broker.kill()
    assert "published accounts snapshot version" in (tmp_path / "ingest-1.log").read_text()
