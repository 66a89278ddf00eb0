"""The journal API of docs/interfaces.md: commit, read back, idempotency, delivery state, state records, health."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from tinydb.storages import Storage

from firmware.chain import GENESIS, canonical_json, seal, verify_chain
from firmware.errors import JournalError, JournalMismatch
from firmware.journal import CONFIRMED, DELIVERED, PENDING, QUARANTINED
from firmware.journal.meta import META
from firmware.journal.storage import KassaStorage, KassaTable
from tests.support.journal_sample import make_receipt


def commit_n(journal, n, **kw):
    return [journal.commit_receipt(make_receipt(journal, **kw)) for _ in range(n)]


def test_fresh_journal_has_epoch_and_starts_at_seq_1(open_journal):
    j = open_journal()
    assert len(j.epoch) == 8 and int(j.epoch, 16) >= 0
    assert j.next_seq == 1 and j.last_hash == GENESIS and j.recovery == []


def test_commit_reads_back_by_seq_id_sale_and_payload(open_journal):
    j = open_journal()
    r = j.commit_receipt(make_receipt(j, sale_id="sale-1"))
    assert r["seq"] == 1 and r["receipt_id"] == f"S001:R1:{j.epoch}:1"  # contract 1.1: store:register:epoch:seq
    assert j.get_seq(1) == r
    assert j.get(r["receipt_id"]) == r
    assert j.get(f"R1:{j.epoch}:1") == r  # the 1.0 form names the same receipt
    assert j.get(f"S002:R1:{j.epoch}:1") is None and j.get(f"S001:R2:{j.epoch}:1") is None
    assert j.find_by_sale_id("sale-1") == r
    assert j.payload(1) == canonical_json(r)
    assert j.next_seq == 2 and j.last_hash == r["hash"]
    assert j.get_seq(2) is None and j.get("R1:other:1") is None and j.find_by_sale_id("nope") is None
    with pytest.raises(KeyError):
        j.payload(2)


def test_receipts_survive_reopen_across_many_segments(open_journal):
    j = open_journal()
    committed = commit_n(j, 50)
    j.close()
    j2 = open_journal()
    assert (
        j2.next_seq == 51
        and j2.last_hash == committed[-1]["hash"]
        and j2.epoch == committed[0]["receipt_id"].split(":")[2]
    )
    assert list(j2.iter_receipts()) == committed
    assert verify_chain(j2.iter_receipts()) == committed[-1]["hash"]
    assert [r["seq"] for r in j2.recent(3)] == [50, 49, 48]
    assert [r["seq"] for r in j2.iter_receipts(10, 12)] == [10, 11, 12]
    assert j2.find_by_sale_id(committed[3]["sale_id"])["seq"] == 4  # sale ids of sealed segments are indexed too


def test_retried_commit_returns_the_committed_receipt_and_writes_nothing(open_journal, tmp_path):
    j = open_journal()
    first = j.commit_receipt(make_receipt(j, sale_id="s-42"))
    size = sum(p.stat().st_size for p in (tmp_path / "data" / "journal").glob("seg-*.log"))
    appended = j._log.bytes_appended
    retry = make_receipt(j, sale_id="s-42")  # the register retrying after e.g. a timeout: finalized again
    assert j.commit_receipt(retry) == first
    assert j.next_seq == 2 and j._log.bytes_appended == appended
    assert sum(p.stat().st_size for p in (tmp_path / "data" / "journal").glob("seg-*.log")) == size


@pytest.mark.parametrize("breakage", ["seq", "prev_hash", "receipt_id", "tampered", "no_sale_id"])
def test_commit_refuses_receipts_that_do_not_continue_the_chain(open_journal, breakage):
    j = open_journal()
    commit_n(j, 2)
    r = make_receipt(j)
    if breakage == "seq":
        r = make_receipt(j, seq=j.next_seq + 1)
    elif breakage == "prev_hash":
        r = make_receipt(j, prev_hash=GENESIS)
    elif breakage == "receipt_id":
        r = seal({**r, "receipt_id": "R1:other:3"}, j.last_hash)
    elif breakage == "tampered":
        r = {**r, "totals": {**r["totals"], "total": 1}}
    else:
        r = seal({k: v for k, v in r.items() if k != "sale_id"}, j.last_hash)
    with pytest.raises(JournalError) as err:
        j.commit_receipt(r)
    assert str(err.value)
    assert j.next_seq == 3
    j.commit_receipt(make_receipt(j))  # the journal stays usable
    assert j.next_seq == 4


def test_tinydb_is_the_api_with_our_storage_and_table(open_journal):
    j = open_journal()
    commit_n(j, 3)
    table = j.db.table("receipts")
    assert (
        isinstance(table, KassaTable) and isinstance(j.db.storage, KassaStorage) and isinstance(j.db.storage, Storage)
    )
    assert len(table) == 3 and table.get(doc_id=2)["seq"] == 2
    assert [d["seq"] for d in table.search(lambda doc: doc["seq"] > 1)] == [2, 3]
    with pytest.raises(JournalError):
        table.update({"kind": "refund"}, doc_ids=[1])
    with pytest.raises(JournalError):
        table.remove(doc_ids=[1])
    assert j.get_seq(1)["kind"] == "sale"


def test_other_register_or_store_is_refused_untouched(open_journal, tmp_path):
    open_journal().close()
    before = {p.name: p.read_bytes() for p in (tmp_path / "data" / "journal").iterdir()}
    with pytest.raises(JournalMismatch, match="R1"):
        open_journal(register="R2")
    with pytest.raises(JournalMismatch):
        open_journal(store="S999")
    assert {p.name: p.read_bytes() for p in (tmp_path / "data" / "journal").iterdir()} == before


def test_newer_format_is_refused(open_journal, tmp_path):
    open_journal().close()
    meta_path = tmp_path / "data" / "journal" / META
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "format": meta["format"] + 1}))
    with pytest.raises(JournalMismatch, match="newer"):
        open_journal()


def test_no_journal_and_create_false_is_an_error(open_journal):
    with pytest.raises(JournalError, match="provision"):
        open_journal(create=False)


def test_delivery_lifecycle_and_persistence(open_journal, clock):
    j = open_journal(max_attempts=2)
    commit_n(j, 6)
    assert j.outbox() == [1, 2, 3, 4, 5, 6]
    assert j.outbox(after_seq=2, limit=2) == [3, 4]
    t0 = clock.now()
    j.mark_delivered([1, 2, 3], t0)
    assert j.outbox() == [4, 5, 6] and j.delivery(1)["state"] == DELIVERED
    j.mark_confirmed([f"R1:{j.epoch}:1", "R9:zzz:2"], t0)  # foreign ids are ignored
    assert j.delivery(1)["state"] == CONFIRMED and j.delivery(2)["state"] == DELIVERED
    assert j.due_for_resend(t0 + timedelta(seconds=1)) == [2, 3]
    assert j.due_for_resend(t0) == []
    assert j.record_failure(4, "ACL denied (0x87)", t0) is False
    assert j.delivery(4)["state"] == PENDING and j.delivery(4)["attempts"] == 1
    assert j.record_failure(4, "ACL denied (0x87)", t0) is True
    assert j.outbox() == [5, 6]
    s = j.summary()
    assert (s.pending, s.delivered, s.confirmed, s.quarantined) == (2, 2, 1, 1)
    assert s.oldest_pending_at == j.get_seq(5)["created_at"]
    assert s.quarantined_items[0]["receipt_id"] == f"S001:R1:{j.epoch}:4" and "0x87" in s.quarantined_items[0]["error"]
    j.mark_pending([2])
    j.flush()
    j.close()
    j2 = open_journal(max_attempts=2)
    assert j2.outbox() == [2, 5, 6]
    assert j2.delivery(4)["state"] == QUARANTINED and j2.delivery(1)["state"] == CONFIRMED
    assert j2.requeue_quarantined() == 1
    assert j2.outbox() == [2, 4, 5, 6] and j2.delivery(4)["attempts"] == 0
    assert j2.delivery(99) is None


def test_marks_never_rewrite_receipts(open_journal, tmp_path):
    j = open_journal()
    commit_n(j, 3)
    segs = {p: p.read_bytes() for p in (tmp_path / "data" / "journal").glob("seg-*.log")}
    j.mark_delivered([1, 2, 3], j._clock.now())
    j.mark_confirmed([f"R1:{j.epoch}:{s}" for s in (1, 2, 3)], j._clock.now())
    j.flush()
    assert {p: p.read_bytes() for p in segs} == segs


def test_many_marks_share_few_fsyncs(open_journal):
    from firmware.journal.faults import FaultFileOps

    ops = FaultFileOps()
    j = open_journal(fileops=ops, group_commit_interval=0.02)
    commit_n(j, 200, lines=1)

    def delivery_syncs() -> int:  # the delivery log's own syncs; background sealing and high-water marks aside
        return sum(n for path, n in ops.syncs_by_path.items() if path.endswith("delivery.log"))

    before = delivery_syncs()
    for seq in range(1, 201):
        j.mark_delivered([seq], j._clock.now())
    j.flush()
    assert delivery_syncs() - before <= 20, "each mark should not cost its own fsync"
    assert j.outbox() == []


def test_confirmed_prefix_collapses_to_a_floor(open_journal):
    j = open_journal()
    commit_n(j, 20, lines=1)
    j.mark_confirmed([f"R1:{j.epoch}:{s}" for s in range(1, 21)], j._clock.now())
    assert j._delivery.floor == 20 and j._delivery.entries == {}
    assert j.summary().confirmed == 20 and j.delivery(7)["state"] == CONFIRMED


def test_state_records_are_durable_and_separate_by_kind(open_journal):
    j = open_journal()
    j.put_state("parked", "p1", {"lines": [{"sku": "1", "qty": 2}], "total": 258})
    j.put_state("parked", "p2", {"lines": [], "total": 0})
    j.put_state("counter", "z_number", {"value": 7})
    j.put_state("parked", "p2", {"lines": [], "total": 5})
    j.delete_state("parked", "p1")
    assert j.get_state("parked", "p1") is None
    j.close()
    j2 = open_journal()
    assert j2.states("parked") == {"p2": {"lines": [], "total": 5}}
    assert j2.get_state("counter", "z_number") == {"value": 7}


def test_state_log_compacts_and_stays_correct(open_journal, tmp_path):
    j = open_journal()
    for i in range(400):
        j.put_state("counter", "n", {"value": i, "pad": "x" * 200})
    size = (tmp_path / "data" / "journal" / "state.log").stat().st_size
    assert size < 80 * 1024
    j.close()
    assert open_journal().get_state("counter", "n")["value"] == 399


def test_a_state_write_logs_only_its_own_document_however_many_there_are(open_journal, tmp_path):
    j = open_journal()
    for i in range(300):  # a year of Z reports: the state table is large
        j.put_state("reports", f"z{i}", {"report_id": f"z{i}", "totals": {f"k{n}": n for n in range(40)}})
    log = tmp_path / "data" / "journal" / "state.log"
    before = log.stat().st_size
    j.put_state("parked", "p1", {"lines": [1, 2, 3]})
    grew = log.stat().st_size - before
    assert 0 < grew < 200  # one small record, not a rewrite of the 300 reports
    assert j.get_state("reports", "z7")["report_id"] == "z7" and len(j.states("reports")) == 300
    j.get_state("reports", "z7")["report_id"] = "changed by a caller"  # reads are copies
    assert j.get_state("reports", "z7")["report_id"] == "z7"


def test_several_state_changes_are_one_record_all_or_nothing(open_journal, tmp_path):
    j = open_journal()
    j.put_states([("shift", "current", {"open": True}), ("counters", "z", {"z_number": 1})])
    log = tmp_path / "data" / "journal" / "state.log"
    size = log.stat().st_size
    # a Z report: the report, the counter, the closed shift and the end of the open one, in one record
    j.put_states(
        [
            ("reports", "z2", {"z_number": 2}),
            ("counters", "z", {"z_number": 2}),
            ("shifts", "s1", {"closed": True}),
            ("shift", "current", None),
            ("parked", "none", None),
        ]
    )
    after = log.read_bytes()[size:]
    assert after.count(b'"table"') == 1  # one framed record holds all five changes
    j.close()
    j2 = open_journal()
    assert (j2.get_state("counters", "z"), j2.get_state("shift", "current"), j2.states("shifts")) == (
        {"z_number": 2},
        None,
        {"s1": {"closed": True}},
    )


def test_state_written_through_tinydb_itself_is_found_after_reopen(open_journal):
    # journals in the field were written by TinyDB's own upsert: the same documents, found by (kind, key)
    j = open_journal()
    j.db.table("state").insert({"kind": "counters", "key": "z", "doc": {"z_number": 41}})
    j.db.table("state").insert({"kind": "parked", "key": "p9", "doc": {"total": 5}})
    j.close()
    j2 = open_journal()
    assert j2.get_state("counters", "z") == {"z_number": 41}
    j2.put_state("counters", "z", {"z_number": 42})
    j2.put_state("shift", "current", {"open": True})  # a new document does not take an existing id
    j2.close()
    j3 = open_journal()
    assert (j3.get_state("counters", "z"), j3.states("parked"), j3.get_state("shift", "current")) == (
        {"z_number": 42},
        {"p9": {"total": 5}},
        {"open": True},
    )
    assert len(j3.db.table("state")) == 3


def test_health_reports_rate_and_days_left(open_journal, clock):
    j = open_journal()
    for _day in range(3):
        for _ in range(10):
            j.commit_receipt(make_receipt(j, created_at=(clock.now()).strftime("%Y-%m-%dT%H:%M:%S.000Z")))
        clock.advance(86400)
    h = j.health()
    assert h["bytes_used"] > 0 and h["free_bytes"] > 0 and h["receipts"] == 30
    assert 9 <= h["receipts_per_day"] <= 30
    assert h["days_left"] is not None and h["days_left"] > 0


@pytest.mark.slow
def test_register_commits_while_sync_thread_marks(open_journal):
    j = open_journal(segment_records=16)
    stop = threading.Event()
    errors: list[BaseException] = []
    delivered: list[int] = []

    def sync_thread():
        try:
            while not stop.is_set() or j.outbox():
                seqs = j.outbox(limit=10)
                for seq in seqs:
                    assert json.loads(j.payload(seq))["seq"] == seq
                j.mark_delivered(seqs, j._clock.now())
                delivered.extend(seqs)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=sync_thread)
    t.start()
    committed = commit_n(j, 300, lines=1)
    stop.set()
    t.join(timeout=30)
    j.flush()
    assert not errors
    assert sorted(delivered) == list(range(1, 301))
    assert verify_chain(j.iter_receipts()) == committed[-1]["hash"]
