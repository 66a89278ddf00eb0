"""Accounts through the fleet (docs/accounts.md): receipts' `accounts` entries over a real Mosquitto into a real
ingest on SQLite and PostgreSQL, the reconcile pass's flags in `kassa-fleet status`, and the published snapshot.

The case: a card sold on R1, then spent on R1 and on R2 during an outage, each within what its register knew.
The fleet flags `giftcard_overspent` naming both registers and loses none of the movements.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from firmware.contract import DeviceTopics, decode
from firmware.contract.accounts import AccountsSnapshot
from fleet.db import FleetDb
from fleet.ingest import IngestOptions
from fleet.report import status_rows
from tests.contract.kassa_samples import make_receipt
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, ingest_thread, wait_for

pytestmark = pytest.mark.slow  # real broker, real ingest, both databases

CARD = "a1" * 32
EPOCH = "7f3a9c2e"


def sell(amount: int) -> dict[str, Any]:
    return {"type": "giftcard_sell", "card_hash": CARD, "last4": "1111", "amount": amount}


def redeem(amount: int) -> dict[str, Any]:
    return {"type": "giftcard_redeem", "card_hash": CARD, "last4": "1111", "amount": amount}


def receipts_of(register: str, entries: list[list[dict[str, Any]] | None]) -> list[dict[str, Any]]:
    out, prev = [], None
    for seq, accounts in enumerate(entries, start=1):
        extra = {"accounts": accounts} if accounts is not None else {}
        receipt = make_receipt(register=register, seq=seq, id_store="S001",
                               **({"prev_hash": prev} if prev else {}), **extra)
        out.append(receipt)
        prev = receipt["hash"]
    return out


@pytest.fixture
def worker(mosquitto, fleet_url):
    options = IngestOptions(client_id="ingest-accounts", gap_check_every=0.1, accounts_every=0.1)
    with ingest_thread(mosquitto.url, fleet_url, options) as w:
        yield w


def rows(url: str) -> dict[tuple[str, str], dict[str, Any]]:
    db = FleetDb(url)
    try:
        return {(r["store"], r["register"]): r for r in status_rows(db)}
    finally:
        db.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_a_card_spent_on_two_registers_during_an_outage_is_flagged_and_nothing_is_lost(mosquitto, worker):
    r1, r2 = BareDevice(mosquitto.url, register="R1"), BareDevice(mosquitto.url, register="R2")
    one = receipts_of("R1", [[sell(5000)], [redeem(4000)], None])
    two = receipts_of("R2", [[redeem(4000)]])
    r1.send(one)
    r2.send(two)
    assert r1.wait_acked({r["receipt_id"] for r in one}) == set()
    assert r2.wait_acked({r["receipt_id"] for r in two}) == set()
    url = worker.db.url
    wait_for(lambda: rows(url)[("S001", "R2")]["accounts"], what="the reconcile pass's flag")
    status = rows(url)
    for register in ("R1", "R2"):
        [flag] = status[("S001", register)]["accounts"]
        assert flag["kind"] == "giftcard_overspent"
        assert flag["balance"] == 5000 - 8000
        assert flag["registers"] == ["S001:R1", "S001:R2"]
        assert any(a.startswith("giftcard_overspent: gift card **** 1111 overspent") for a in
                   status[("S001", register)]["alarms"])
    stored = FleetDb(url, migrate=False)
    try:
        assert [(s, r, q, i) for s, r, q, i, _b in stored.account_movements()] == [
            ("S001", "R1", 1, 0), ("S001", "R1", 2, 0), ("S001", "R2", 1, 0)]
    finally:
        stored.close()
    out = cli("status", "--db", url, "--json")
    assert out.returncode == 0, out.stderr
    assert any(a.startswith("giftcard_overspent") for r in json.loads(out.stdout) for a in r["alarms"])
    table = cli("status", "--db", url)
    assert "giftcard_overspent" in table.stdout and "2 alarm(s)" in table.stdout
    r1.close()
    r2.close()


def test_a_malformed_accounts_list_is_rejected_never_confirmed(mosquitto, worker):
    device = BareDevice(mosquitto.url)
    bad = receipts_of("R1", [[{"type": "giftcard_redeem", "card_hash": "not-a-hash", "last4": "1", "amount": 5}]])
    good = receipts_of("R1", [[sell(100)]])
    device.send(bad)
    wait_for(lambda: worker.stats.rejected == 1, what="the reject")
    device.send(good)
    assert device.wait_acked({good[0]["receipt_id"]}) == set()
    assert bad[0]["receipt_id"] == good[0]["receipt_id"]  # same id: only the well-formed one was stored
    db = FleetDb(worker.db.url, migrate=False)
    try:
        assert len(db.account_movements()) == 1
        assert db.reject_counts() == [(DeviceTopics("S001", "R1").receipts, 1)]
    finally:
        db.close()
    device.close()


def retained(url: str, topic: str) -> bytes:
    host, port = url.removeprefix("mqtt://").split(":")
    got: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="accounts-reader", protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, *_a: c.subscribe([(topic, SubscribeOptions(qos=1))])
    client.on_message = lambda _c, _u, m: got.append(m.payload)
    client.connect(host, int(port))
    client.loop_start()
    try:
        wait_for(lambda: bool(got), 10, "the retained snapshot")
    finally:
        client.disconnect()
        client.loop_stop()
    return got[-1]


def test_publish_accounts_publishes_the_reconciled_snapshot_retained_and_numbered(mosquitto, worker, tmp_path):
    r1, r2 = BareDevice(mosquitto.url, register="R1"), BareDevice(mosquitto.url, register="R2")
    one = receipts_of("R1", [[sell(5000)], [redeem(1000)]])
    two = receipts_of("R2", [None, [redeem(500)]])
    r1.send(one)
    r2.send(two[1:])  # R2's seq 1 has not arrived: its movement at seq 2 stays out of the snapshot
    assert r1.wait_acked({r["receipt_id"] for r in one}) == set()
    assert r2.wait_acked({two[1]["receipt_id"]}) == set()
    url, state = worker.db.url, str(tmp_path / "published.json")
    out = cli("publish-accounts", "--store", "S001", "--db", url, "--broker", mosquitto.url, "--unsigned",
              "--state-file", state)
    assert out.returncode == 0, out.stderr
    assert "published accounts version 1 for store S001" in out.stdout
    topic = DeviceTopics("S001", "R1").accounts
    snap = decode(AccountsSnapshot, retained(mosquitto.url, topic))
    assert snap.version == 1
    assert {(t.register, t.seq) for t in snap.through} == {("R1", 2), ("R2", 0)}
    assert [(c.card_hash, c.balance, c.last4) for c in snap.gift_cards] == [(CARD, 4000, "1111")]
    r2.send(two[:1])
    assert r2.wait_acked({two[0]["receipt_id"]}) == set()
    again = cli("publish-accounts", "--store", "S001", "--db", url, "--broker", mosquitto.url, "--unsigned",
                "--state-file", state)
    assert again.returncode == 0, again.stderr
    assert "version 2" in again.stdout and "replacing version 1" in again.stdout
    snap = decode(AccountsSnapshot, retained(mosquitto.url, topic))
    assert {(t.register, t.seq) for t in snap.through} == {("R1", 2), ("R2", 2)}
    assert [c.balance for c in snap.gift_cards] == [3500]
    refused = cli("publish-accounts", "--store", "S001", "--db", url, "--broker", mosquitto.url)
    assert refused.returncode == 2 and "--signing-key" in refused.stderr
    r1.close()
    r2.close()
