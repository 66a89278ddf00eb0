"""The fleet ledger attacked: forged identity, conflicts, broken chains, rollbacks, losses, odd receipts, floods.

Real Mosquitto with the documented per-device ACL (docs/technician.md "Broker side": no anonymous access, each
register logged in as its own user, the ingest as `fleet`), the real ingest worker, real SQLite and PostgreSQL.
Each test ends with the same check, `assert_ledger_sound`: nothing is lost without an alarm that names it, and
nothing forged is confirmed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from firmware.chain import GENESIS, canonical_json, seal
from fleet.broker import BrokerSettings
from fleet.db import FleetDb
from fleet.ingest import IngestOptions, IngestWorker
from fleet.plausibility import MAX_TOTAL
from fleet.report import status_rows
from tests.contract.kassa_samples import make_chain, make_receipt
from tests.fleet.kassa_fleet_support import ROOT, BareDevice, Sold, assert_ledger_sound, db_execute, db_query
from tests.support.broker_acl import FLEET_USER, AclBroker, device_user, password

pytestmark = pytest.mark.slow  # real brokers and ingest processes, many receipts

EPOCH = "7f3a9c2e"
DEVICES = (("S001", "R1"), ("S002", "R1"), ("S009", "R9"))  # every register these tests sell on, one user each


@pytest.fixture
def broker(tmp_path):
    """Mosquitto with the documented ACL and a user per register of DEVICES, plus the fleet's users."""
    b = AclBroker(tmp_path / "mosquitto", DEVICES).start()
    yield b
    b.kill()


def login(broker: AclBroker, store: str = "S001", register: str = "R1") -> BareDevice:
    """A bare register logged in as its own user: the ACL lets it write only its own topics."""
    user = device_user(store, register)
    return BareDevice(broker.url, store, register, username=user, password=password(user))


@pytest.fixture
def worker(broker, fleet_url):
    """The ingest worker in-process, logged in as the fleet's user, on SQLite and on PostgreSQL."""
    db = FleetDb(fleet_url)
    w = IngestWorker(BrokerSettings(broker.url, username=FLEET_USER, password_file=broker.password_file(FLEET_USER)),
                     db,
                     IngestOptions(client_id="ingest-ledger", gap_check_every=0.2, gap_grace=0.3, resend_every=1.0,
                                   head_every=0.0))
    stop = threading.Event()
    thread = threading.Thread(target=w.run, args=(stop,), daemon=True)
    thread.start()
    assert w.subscribed.wait(10)
    w.db_path = fleet_url
    yield w
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def report(worker: IngestWorker) -> dict[tuple[str, str], dict[str, Any]]:
    db = FleetDb(worker.db_path)
    try:
        return {(r["store"], r["register"]): r for r in status_rows(db)}
    finally:
        db.close()


def status_msg(epoch: str, head_seq: int, head_hash: str | None, *, at: str, first_seq: int = 1) -> str:
    doc = {"state": "online", "at": at, "pending": 0, "epoch": epoch, "epoch_first_seq": first_seq,
           "head_seq": head_seq}
    if head_hash:
        doc["head_hash"] = head_hash
    return json.dumps(doc)


def test_a_device_of_another_store_cannot_forge_a_victims_receipts(broker, worker):
    victim = login(broker, "S001", "R1")
    attacker = login(broker, "S002", "R1")  # valid credentials, its own topic, the victim's ids
    real = make_chain(3, id_store="S001")
    forged = [make_receipt(store="S001", register="R1", seq=q, id_store="S001", offline=True) for q in (1, 2, 3)]
    forged += [make_receipt(store="S002", register="R1", seq=q, id_store="S001") for q in (1, 2, 3)]
    forged += [make_receipt(store="S002", register="R1", seq=q) for q in (4, 5)]  # 1.0 ids: same register name
    attacker.send(forged)
    wait_for(lambda: worker.stats.rejected >= 6)
    # the victim's own topic is closed to it: the broker refuses (0x87) and the fleet never sees the message
    attacker.publish(victim.topics.receipts, canonical_json(forged[0]))
    victim.send(real)
    assert victim.wait_acked({r["receipt_id"] for r in real}) == set()
    # the victim's real sales are new rows, not "duplicates" of the forged ones
    assert worker.stats.receipts_new == 5 and worker.stats.receipts_duplicate == 0
    assert attacker.acked == {"R1:7f3a9c2e:4", "R1:7f3a9c2e:5"}  # only its own receipts, under its own store
    rows = db_query(worker.db_path, "SELECT store, register, seq, hash FROM receipts ORDER BY store, seq")
    assert [(s, r, q) for s, r, q, _h in rows] == [("S001", "R1", 1), ("S001", "R1", 2), ("S001", "R1", 3),
                                                   ("S002", "R1", 4), ("S002", "R1", 5)]
    assert {h for s, _r, _q, h in rows if s == "S001"} == {r["hash"] for r in real}
    alarms = report(worker)[("S002", "R1")]["alarms"]
    assert any(a.startswith("rejected: 6 message(s)") for a in alarms), alarms
    assert_ledger_sound(worker.db_path, [Sold("S001", "R1", real, victim.acked),
                                         Sold("S002", "R1", forged[6:], attacker.acked)])  # its own two sales
    victim.close()
    attacker.close()


def test_the_same_id_with_other_content_is_a_conflict_never_a_confirmation(broker, worker):
    device = login(broker)
    chain = make_chain(3, id_store="S001")
    device.send(chain)
    assert device.wait_acked({r["receipt_id"] for r in chain}) == set()
    first_journal = Sold("S001", "R1", chain, set(device.acked))
    device.acked.clear()
    other = make_receipt(seq=2, prev_hash=chain[0]["hash"], id_store="S001",
                         tenders=[{"type": "cash", "amount": 9999, "change": 9741}])
    device.send([other])
    wait_for(lambda: other["receipt_id"] in device.conflicted)
    device.send([other])  # sent again: still a conflict, counted, never confirmed
    wait_for(lambda: worker.stats.conflicts >= 2)
    assert other["receipt_id"] not in device.acked
    held = db_query(worker.db_path, "SELECT hash FROM receipts WHERE seq=2")
    assert held == [(chain[1]["hash"],)]  # the first receipt stays; the other is kept beside it
    kept = db_query(worker.db_path, "SELECT receipt_id, hash, held_hash, times, body FROM conflicts")
    assert [(k[0], k[1], k[2], k[3]) for k in kept] == [(other["receipt_id"], other["hash"], chain[1]["hash"], 2)]
    assert json.loads(kept[0][4]) == other
    row = report(worker)[("S001", "R1")]
    assert row["alarms"] == [f"conflict: {other['receipt_id']} sent 2x with another hash than the one held "
                             "(not confirmed)"]
    # the other content comes from another journal of the same register (a restored copy, say)
    assert_ledger_sound(worker.db_path, [first_journal, Sold("S001", "R1", [chain[0], other], device.acked)])
    device.close()


def test_the_chain_is_checked_as_receipts_arrive_in_any_order(broker, worker):
    device = login(broker)
    chain = make_chain(8, id_store="S001")
    spliced = seal({k: v for k, v in chain[5].items() if k != "hash"}, "ab" * 32)  # seq 6 points elsewhere
    send = [chain[7], chain[6], spliced, chain[0], chain[2], chain[1], chain[4], chain[3]]
    for receipt in send:  # one by one, in this order: links are checked in both directions
        device.send([receipt])
        wait_for(lambda r=receipt: r["receipt_id"] in device.acked)
    breaks = db_query(worker.db_path, "SELECT seq, detail FROM chain_breaks ORDER BY seq")
    assert breaks == [(6, "prev_hash does not match the hash of seq 5"),
                      (7, "prev_hash does not match the hash of seq 6")]
    row = report(worker)[("S001", "R1")]
    assert [a for a in row["alarms"] if a.startswith("chain break")] == [
        f"chain break: epoch {EPOCH} seq 6: prev_hash does not match the hash of seq 5",
        f"chain break: epoch {EPOCH} seq 7: prev_hash does not match the hash of seq 6"]
    assert_ledger_sound(worker.db_path, [Sold("S001", "R1", send, device.acked)])
    device.close()


AN_HOUR_AHEAD = "<an hour after now>"  # filled in when the test runs: the fleet compares with its own clock
ABOVE = MAX_TOTAL + 1  # one cent over the amount bound


@pytest.mark.parametrize(("fields", "seq", "flag"), [
    pytest.param({"totals": {"subtotal": -500, "tax": 0, "total": -500, "rounding": 0},
                  "tenders": [{"type": "cash", "amount": -500, "change": 0}]}, 1, "amount", id="negative-sale"),
    pytest.param({"totals": {"subtotal": ABOVE, "tax": 0, "total": ABOVE, "rounding": 0},
                  "tenders": [{"type": "cash", "amount": ABOVE, "change": 0}]}, 1, "amount", id="above-amount-bound"),
    pytest.param({"kind": "no_sale", "lines": [], "taxes": [], "tenders": []}, 1, "amount",  # totals stay 2.58
                 id="no-sale-with-a-total"),
    pytest.param({"tenders": [{"type": "cash", "amount": 100, "change": 0}]}, 1, "tenders", id="tenders-not-total"),
    pytest.param({"created_at": "9999-01-01T00:00:00Z"}, 1, "date", id="year-9999"),
    pytest.param({"created_at": "1970-01-01T00:00:00Z"}, 1, "date", id="year-1970"),
    pytest.param({"created_at": "2099-01-01T00:00:00Z", "clock_trusted": True}, 1, "date", id="year-2099"),
    pytest.param({"created_at": AN_HOUR_AHEAD, "clock_trusted": True}, 1, "clock_skew", id="clock-ahead"),
    pytest.param({"clock_trusted": False}, 1, "clock_untrusted", id="clock-untrusted"),
    pytest.param({}, 2**53, "seq_bound", id="seq-2^53"),
])
def test_implausible_receipts_are_stored_flagged_and_counted(broker, worker, fields, seq, flag):
    device = login(broker)
    if fields.get("created_at") == AN_HOUR_AHEAD:
        fields = {**fields, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))}
    receipt = make_receipt(seq=seq, id_store="S001", **fields)
    device.send([receipt])
    assert device.wait_acked({receipt["receipt_id"]}) == set()  # nothing is dropped for being odd
    assert db_query(worker.db_path, "SELECT flags FROM receipts") == [(flag,)]
    row = report(worker)[("S001", "R1")]
    assert row["flags"] == {flag: 1} and f"flagged: 1 receipt(s) {flag}" in row["alarms"]
    if flag == "seq_bound":  # a seq far beyond the stream leaves no gap to resend forever
        time.sleep(1.0)
        assert worker.stats.resends_requested == 0 and row["gaps"] == []
    assert_ledger_sound(worker.db_path, [Sold("S001", "R1", [receipt], device.acked)])
    device.close()


def test_a_rolled_back_journal_is_recorded_and_the_device_told_the_fleets_head(broker, worker):
    device = login(broker)
    chain = make_chain(6, id_store="S001")
    device.send(chain)
    assert device.wait_acked({r["receipt_id"] for r in chain}) == set()
    # a copy restored from before seqs 4..6: the device says its head is 3, later than the receipts were made
    device.publish(device.topics.status, status_msg(EPOCH, 3, chain[2]["hash"], at="2026-11-26T09:00:00Z"))
    wait_for(lambda: any(h["seq"] == 6 for h in device.heads))
    assert device.heads[-1] == {"epoch": EPOCH, "seq": 6, "hash": chain[5]["hash"]}
    wait_for(lambda: worker.stats.rollbacks == 1)
    rolled = db_query(worker.db_path, "SELECT epoch, device_seq, fleet_seq FROM rollbacks")
    assert rolled == [(EPOCH, 3, 6)]
    alarms = report(worker)[("S001", "R1")]["alarms"]
    assert len(alarms) == 1 and alarms[0].startswith(f"rollback: epoch {EPOCH}: device reported head seq 3")
    assert_ledger_sound(worker.db_path, [Sold("S001", "R1", chain, device.acked)])
    device.close()


def test_a_head_that_diverged_is_a_rollback_too(broker, worker):
    device = login(broker)
    chain = make_chain(4, id_store="S001")
    device.send(chain)
    assert device.wait_acked({r["receipt_id"] for r in chain}) == set()
    device.publish(device.topics.status, status_msg(EPOCH, 4, "cd" * 32, at="2026-11-26T09:00:00Z"))
    wait_for(lambda: worker.stats.rollbacks == 1)
    assert "diverged" in report(worker)[("S001", "R1")]["alarms"][0]
    assert_ledger_sound(worker.db_path, [Sold("S001", "R1", chain, device.acked)])
    device.close()


def test_a_status_older_than_the_receipts_is_not_a_rollback(broker, worker):
    device = login(broker)
    chain = make_chain(4, id_store="S001")  # created 2026-11-25T14:03:11
    device.send(chain)
    assert device.wait_acked({r["receipt_id"] for r in chain}) == set()
    # a retained status from before the last two sales, read again by a restarted ingest
    device.publish(device.topics.status, status_msg(EPOCH, 2, chain[1]["hash"], at="2026-11-25T14:00:00Z"))
    wait_for(lambda: any(h["seq"] == 4 for h in device.heads))
    assert worker.stats.rollbacks == 0 and report(worker)[("S001", "R1")]["alarms"] == []
    assert_ledger_sound(worker.db_path, [Sold("S001", "R1", chain, device.acked)])
    device.close()


def test_a_deleted_journal_shows_as_lost_receipts_and_a_restart(broker, worker):
    device = login(broker)
    chain = make_chain(10, id_store="S001")
    device.publish(device.topics.status, status_msg(EPOCH, 10, chain[9]["hash"], at="2026-11-25T15:00:00Z"))
    device.send(chain[:7])  # 8..10 were never sent when the journal and its high-water mark were deleted
    assert device.wait_acked({r["receipt_id"] for r in chain[:7]}) == set()
    fresh = make_chain(2, epoch="0badc0de", id_store="S001")
    device.publish(device.topics.status, status_msg("0badc0de", 2, fresh[1]["hash"], at="2026-11-26T08:00:00Z"))
    device.send(fresh)
    assert device.wait_acked({r["receipt_id"] for r in fresh}) == set()
    row = report(worker)[("S001", "R1")]
    assert row["lost"] == [{"epoch": EPOCH, "head_seq": 10, "missing": 3}]
    assert row["alarms"] == [f"lost: 3 receipt(s) of epoch {EPOCH} up to seq 10 never arrived",
                             "journal restarted: epoch 0badc0de began from nothing while the register had "
                             "earlier epochs"]
    assert row["gaps"] == []  # an ended epoch is a loss, not a gap to ask resends for forever
    # two journals of one register: the deleted one (seqs 8..10 named by the loss) and the fresh one
    old_ids, fresh_ids = {r["receipt_id"] for r in chain}, {r["receipt_id"] for r in fresh}
    counts = assert_ledger_sound(worker.db_path, [Sold("S001", "R1", chain, device.acked - fresh_ids),
                                                  Sold("S001", "R1", fresh, device.acked - old_ids)])
    assert counts["alarmed"] == 3
    device.close()


def test_status_shows_alarms_in_the_table_and_json(broker, worker):
    device = login(broker)
    chain = make_chain(2, id_store="S001")
    device.send(chain)
    assert device.wait_acked({r["receipt_id"] for r in chain}) == set()
    first_journal = Sold("S001", "R1", chain, set(device.acked))
    device.acked.clear()
    other = make_receipt(seq=2, prev_hash=chain[0]["hash"], id_store="S001", clerk_id="c9")
    device.send([other])
    wait_for(lambda: worker.stats.conflicts == 1)
    out = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", str(worker.db_path), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows[0]["alarms"][0].startswith("conflict: S001:R1:7f3a9c2e:2")
    assert rows[0]["conflicts"][0]["held_hash"] == chain[1]["hash"]
    table = subprocess.run([sys.executable, "-m", "fleet.cli", "status", "--db", str(worker.db_path)],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "conflict: S001:R1:7f3a9c2e:2" in table.stdout and "1 alarm(s)" in table.stdout
    assert_ledger_sound(worker.db_path, [first_journal, Sold("S001", "R1", [chain[0], other], device.acked)])
    device.close()


def test_one_device_flooding_epochs_does_not_stall_the_others(broker, worker):
    """20,000 new epochs, each with a gap: one resend a cycle for that device; the other is confirmed."""
    flooder = login(broker, "S009", "R9")
    other = login(broker, "S001", "R1")
    flood_receipts = [make_receipt(store="S009", register="R9", epoch=f"e{i:05d}", seq=5, id_store="S009",
                                   prev_hash=GENESIS) for i in range(20_000)]
    payloads = [canonical_json(r) for r in flood_receipts]
    done = threading.Event()

    def flood() -> None:
        for p in payloads:
            flooder.client.publish(flooder.topics.receipts, p, qos=1)
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    chain = make_chain(200, id_store="S001")
    for i in range(0, 200, 20):
        other.send(chain[i:i + 20])
        time.sleep(0.05)
    assert other.wait_acked({r["receipt_id"] for r in chain}, timeout=60) == set()
    assert done.wait(120)
    wait_for(lambda: worker.stats.receipts_new >= 20_200, timeout=120)
    cycles = worker.stats.gap_cycles
    wait_for(lambda: worker.stats.gap_cycles >= cycles + 5, timeout=60)  # cycles over 20,000 gappy epochs
    time.sleep(0.3)
    assert 1 <= len(flooder.commands) <= worker.stats.gap_cycles  # at most one resend per cycle for that device
    assert {c["args"]["to_seq"] for c in flooder.commands} == {4}
    assert other.commands == []
    assert_ledger_sound(worker.db_path, [Sold("S009", "R9", flood_receipts, flooder.acked),
                                         Sold("S001", "R1", chain, other.acked)])
    flooder.close()
    other.close()


@pytest.mark.parametrize("fault", ["head row deleted", "stored hash replaced"])
def test_the_final_check_catches_a_planted_fault(broker, worker, fault):
    """`assert_ledger_sound` can fail: a row taken out behind the ingest's back (no gap is left below the head
    to name it), or a confirmed receipt whose stored hash is not the one sold."""
    device = login(broker)
    chain = make_chain(3, id_store="S001")
    device.send(chain)
    assert device.wait_acked({r["receipt_id"] for r in chain}) == set()
    sold = [Sold("S001", "R1", chain, device.acked)]
    assert assert_ledger_sound(worker.db_path, sold) == {"stored": 3, "alarmed": 0, "confirmed": 3}
    if fault == "head row deleted":
        db_execute(worker.db_path, "DELETE FROM receipts WHERE seq=3")
        expected = f"lost without an alarm naming it: S001/R1 {chain[2]['receipt_id']}: not at the fleet"
    else:
        db_execute(worker.db_path, "UPDATE receipts SET hash=? WHERE seq=2", "ab" * 32)
        expected = (f"forged confirmed: S001/R1 was confirmed {chain[1]['receipt_id']}, but the fleet holds hash "
                    f"abababababab under it, not the {chain[1]['hash'][:12]} it sold")
    with pytest.raises(AssertionError) as caught:
        assert_ledger_sound(worker.db_path, sold)
    assert expected in str(caught.value)
    device.close()
