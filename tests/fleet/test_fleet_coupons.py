"""Single-use coupons through the fleet (docs/promotions.md#on-the-fleet): receipts' `coupons` over a real Mosquitto
into a real ingest on SQLite and PostgreSQL, and the reuse alarm in `kassa-fleet status`.

A code redeemed by two sales (two registers during an outage, or one register twice) is flagged, never refused:
both receipts are stored and confirmed. A refund is not another use, and a code on one sale only is no alarm.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from firmware.contract import Receipt, decode
from firmware.contract.errors import PayloadRejected
from firmware.contract.promotions import coupons_of
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.report import status_rows
from tests.contract.kassa_samples import make_receipt
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, db_query, ingest_thread, wait_for

pytestmark = pytest.mark.slow  # real broker, real ingest, both databases


def chain(register: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Receipts seq 1.. of `register`, each linked to the one before, with the given extra fields."""
    out: list[dict[str, Any]] = []
    for seq, fields in enumerate(bodies, start=1):
        out.append(make_receipt(register=register, seq=seq, id_store="S001",
                                **({"prev_hash": out[-1]["hash"]} if out else {}), **fields))
    return out


@pytest.fixture
def worker(mosquitto, fleet_url):
    with ingest_thread(mosquitto.url, fleet_url, IngestOptions(client_id="ingest-coupons")) as w:
        yield w


def status(url: str) -> dict[tuple[str, str], dict[str, Any]]:
    db = FleetDb(url)
    try:
        return {(r["store"], r["register"]): r for r in status_rows(db)}
    finally:
        db.close()


def test_a_coupon_two_sales_redeemed_is_flagged_on_both_registers_and_nothing_is_refused(mosquitto, fleet_url,
                                                                                          worker):
    r1, r2 = BareDevice(mosquitto.url, register="R1"), BareDevice(mosquitto.url, register="R2")
    one = chain("R1", [{"coupons": ["C-0001"]}, {}, {"coupons": ["C-0002"]}])
    refund = make_receipt(register="R1", seq=4, id_store="S001", prev_hash=one[-1]["hash"], kind="refund",
                          refund_of=one[0]["receipt_id"], coupons=["C-0001"])  # a refund is never a use
    one.append(refund)
    two = chain("R2", [{"coupons": ["c-0001"]}, {"coupons": ["C-0003"]}])  # codes compare upper case
    again = make_receipt(register="R2", seq=3, id_store="S001", prev_hash=two[-1]["hash"], coupons=["C-0003"])
    two.append(again)  # one register redeeming its own coupon twice (a journal restored, say): flagged too
    r1.send(one)
    r2.send(two)
    r1.send(one[:1])  # a re-send is the same use, not another
    try:
        assert r1.wait_acked({r["receipt_id"] for r in one}) == set()  # every receipt stored and confirmed
        assert r2.wait_acked({r["receipt_id"] for r in two}) == set()
    finally:
        r1.close()
        r2.close()
    assert db_query(fleet_url, "SELECT COUNT(*) FROM receipts") == [(7,)]
    assert db_query(fleet_url, "SELECT code, register, seq FROM coupon_uses ORDER BY code, register, seq") == [
        ("C-0001", "R1", 1), ("C-0001", "R2", 1), ("C-0002", "R1", 3), ("C-0003", "R2", 2), ("C-0003", "R2", 3)]
    rows = status(fleet_url)
    first = {"C-0001": [one[0]["receipt_id"], two[0]["receipt_id"]],
             "C-0003": [two[1]["receipt_id"], again["receipt_id"]]}
    assert [(c["code"], c["receipt_ids"], c["registers"]) for c in rows[("S001", "R1")]["coupons"]] == [
        ("C-0001", first["C-0001"], ["S001:R1", "S001:R2"])]
    assert [(c["code"], c["receipt_ids"]) for c in rows[("S001", "R2")]["coupons"]] == sorted(first.items())
    alarm = [a for a in rows[("S001", "R1")]["alarms"] if a.startswith("coupon reused:")]
    assert alarm == [f"coupon reused: single-use code C-0001 redeemed 2x: S001:R1 receipt {one[0]['receipt_id']}, "
                     f"S001:R2 receipt {two[0]['receipt_id']}"]
    assert sum(a.startswith("coupon reused:") for a in rows[("S001", "R2")]["alarms"]) == 2
    assert not any("C-0002" in a for r in rows.values() for a in r["alarms"])  # used once: no alarm

    out = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", fleet_url], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "coupon reused: single-use code C-0001 redeemed 2x" in out.stdout
    assert one[0]["receipt_id"] in out.stdout and two[0]["receipt_id"] in out.stdout
    as_json = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", fleet_url, "--json"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    got = {(r["store"], r["register"]): r for r in json.loads(as_json.stdout)}
    assert got[("S001", "R1")]["coupons"][0]["code"] == "C-0001"
    assert got[("S001", "R1")]["coupons"][0]["uses"][1]["register"] == "R2"


def test_a_malformed_coupons_list_rejects_the_receipt_like_a_malformed_accounts_list(mosquitto, fleet_url, worker):
    device = BareDevice(mosquitto.url, register="R1")
    bad = make_receipt(register="R1", seq=1, id_store="S001", coupons=["no spaces allowed"])
    try:
        device.send([bad])
        wait_for(lambda: db_query(fleet_url, "SELECT COUNT(*) FROM rejects") == [(1,)], what="the reject")
    finally:
        device.close()
    assert "coupons.0" in db_query(fleet_url, "SELECT reason FROM rejects")[0][0]
    assert db_query(fleet_url, "SELECT COUNT(*) FROM receipts") == [(0,)]


def test_coupons_of_reads_the_receipts_field():
    def receipt(**fields: Any) -> Receipt:
        return decode(Receipt, json.dumps(make_receipt(id_store="S001", **fields)).encode())

    assert coupons_of(receipt()) == ()
    assert coupons_of(receipt(coupons=["c-2", "C-1", "C-2"])) == ("C-1", "C-2")
    for wrong in (["ab"], "C-1", [1], ["C-1"] * 51):
        with pytest.raises(PayloadRejected, match="coupons"):
            coupons_of(receipt(coupons=wrong))


def test_two_real_registers_redeem_one_coupon_during_an_outage_and_the_fleet_flags_it(tmp_path):
    """The issue's case end to end: two real registers (real journals), the broker down, both sell with the same
    single-use coupon and the same multi-use promo code, one sale is refunded; then the network comes back."""
    from firmware.bootstrap import bootstrap, demo_config, seed_demo
    from firmware.register.core.commands import EnterCode, Refund, Scan
    from firmware.sync.events import CatalogReceived
    from tests.firmware.register.test_register_promotions_park import coupon_catalog
    from tests.fleet.kassa_fleet_support import IngestProcess, fleet_status_json
    from tests.support.mosquitto import Mosquitto
    from tests.test_end_to_end import PENCIL, pump_until

    broker = Mosquitto(tmp_path / "broker")  # port chosen now, broker not started: the shop is offline
    registers, ingest = {}, None
    try:
        for name in ("R1", "R2"):
            data = tmp_path / name
            pins = seed_demo(data)
            config = demo_config(data, broker_url=broker.url, device={"register": name},
                                 hardware={"scanner": "simulated:memory"},
                                 broker={"url": broker.url, "resend_after": 5, "keepalive": 5, "backoff_cap": 1})
            reg = registers[name] = bootstrap(config, demo_pins=pins)
            reg.events.put(CatalogReceived(coupon_catalog()))
            reg.pump()
            assert reg.login("c1", "1111").ok
        sales = {}
        for name, reg in registers.items():
            for step in (Scan(PENCIL), Scan(PENCIL), EnterCode("C-0001"), EnterCode("welcome-1")):
                out = reg.handle(step)
                assert out.ok, out.message
            assert reg.tender("cash", None).ok
            reg.wait_idle()
            sales[name] = reg.view().last_receipt.to_doc()
            assert sales[name]["offline"] is True and sales[name]["coupons"] == ["C-0001"]
            assert sales[name]["totals"]["total"] == 258 - 30 - 50
            reg.new_sale()
        r1 = registers["R1"]
        refunded = r1.handle(Refund(sales["R1"]["receipt_id"], {1: 2}, "cash", manager_pin="9999"))
        assert refunded.ok, refunded.message
        r1.wait_idle()
        refund_id = r1.view().last_receipt.to_doc()["receipt_id"]
        for reg in registers.values():
            pump_until(reg, lambda reg=reg: not reg.view().sync.online and reg.view().sync.pending >= 1,
                       what="offline, receipts pending")

        broker.start()
        db = tmp_path / "fleet.db"
        ingest = IngestProcess(broker.url, db, tmp_path, args=("--unsigned",)).start()  # the registers pin no key
        for reg in registers.values():  # a flag, never a refusal: every receipt is confirmed
            pump_until(reg, lambda reg=reg: reg.view().sync.online and reg.view().sync.pending == 0,
                       what="all receipts confirmed")
            assert reg.view().sync.quarantined == 0 and reg.view().sync.conflicts == 0
    finally:
        if ingest is not None:
            ingest.kill()
        for reg in registers.values():
            reg.shutdown()
        broker.kill()
    held = {r[0] for r in db_query(db, "SELECT receipt_id FROM receipts")}
    assert held == {sales["R1"]["receipt_id"], sales["R2"]["receipt_id"], refund_id}
    rows = fleet_status_json(db)
    both = [sales["R1"]["receipt_id"], sales["R2"]["receipt_id"]]
    for name in ("R1", "R2"):
        row = rows[("DEMO", name)]
        assert [(c["code"], sorted(c["receipt_ids"]), c["registers"]) for c in row["coupons"]] == [
            ("C-0001", sorted(both), ["DEMO:R1", "DEMO:R2"])]
        (alarm,) = [a for a in row["alarms"] if a.startswith("coupon reused:")]
        assert "C-0001 redeemed 2x" in alarm and all(rid in alarm for rid in both) and refund_id not in alarm
        assert not any("WELCOME" in a for a in row["alarms"])  # a multi-use promo code is no reuse
