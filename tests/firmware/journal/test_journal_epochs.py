"""Journal epochs (contract 1.1): ids `store:register:epoch:seq`, 1.0 ids still read, new epochs after a rollback."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from firmware.chain import verify_chain
from firmware.errors import JournalError, JournalLost
from firmware.journal import CONFIRMED, QUARANTINED
from firmware.journal.delivery import CONFLICT
from firmware.journal.meta import FORMAT
from tests.contract.kassa_samples import make_receipt as make_receipt_1_0
from tests.support.journal_sample import make_receipt


def commit_n(journal, n):
    return [journal.commit_receipt(make_receipt(journal)) for _ in range(n)]


def meta_of(tmp_path):
    return json.loads((tmp_path / "data" / "journal" / "meta.json").read_text())


def hwm_of(tmp_path):
    return json.loads((tmp_path / "data" / ".kassa-hwm").read_text())


def test_a_new_epoch_persists_across_reopen_and_the_chain_and_seqs_carry_on(open_journal, tmp_path):
    j = open_journal()
    first = j.epoch
    old = commit_n(j, 3)
    assert [r["receipt_id"] for r in old] == [f"S001:R1:{first}:{s}" for s in (1, 2, 3)]
    second = j.open_epoch("test: a new series")
    assert second != first and j.epoch == second and j.epoch_first_seq == 4 and j.next_seq == 4
    new = commit_n(j, 2)
    assert [r["receipt_id"] for r in new] == [f"S001:R1:{second}:4", f"S001:R1:{second}:5"]
    assert new[0]["prev_hash"] == old[-1]["hash"]
    j.close()

    j2 = open_journal()
    assert (j2.epoch, j2.epoch_first_seq, j2.next_seq) == (second, 4, 6)
    assert [(e["epoch"], e["first_seq"], e["reason"]) for e in j2.epochs] == [
        (first, 1, "created"), (second, 4, "test: a new series")]
    assert verify_chain(j2.iter_receipts()) == new[-1]["hash"]
    for receipt in old + new:  # every id resolves to its own receipt, in both forms
        assert j2.get(receipt["receipt_id"]) == receipt
        assert j2.get(receipt["receipt_id"].split(":", 1)[1]) == receipt
    # an id whose epoch does not hold that seq names no receipt of this journal
    assert j2.get(f"S001:R1:{second}:2") is None and j2.get(f"S001:R1:{first}:4") is None
    assert j2.epoch_range(first) == (1, 3) and j2.epoch_range(second) == (4, 5) and j2.epoch_range("zzz") is None
    assert j2.get_state("epoch", second)["first_seq"] == 4  # the event is in the journal too
    meta = meta_of(tmp_path)
    assert meta["format"] == FORMAT == 2 and meta["epoch"] == second and len(meta["epochs"]) == 2
    assert hwm_of(tmp_path) == {"store": "S001", "register": "R1", "epoch": second, "seq": 5}
    # the receipt's id must name the epoch that holds its seq
    stale = make_receipt_1_0("S001", "R1", first, 6, j2.last_hash)
    with pytest.raises(JournalError, match=f"should be 'S001:R1:{second}:6'"):
        j2.commit_receipt(stale)


def test_a_format_1_journal_keeps_its_1_0_ids_and_new_receipts_get_1_1_ids(open_journal, tmp_path):
    j = open_journal()
    epoch = j.epoch
    old = []
    for _ in range(3):  # what firmware before contract 1.1 committed
        old.append(j.commit_receipt(make_receipt_1_0("S001", "R1", epoch, j.next_seq, j.last_hash)))
    j.close()
    path = tmp_path / "data" / "journal" / "meta.json"
    meta = meta_of(tmp_path)
    path.write_text(json.dumps({k: meta[k] for k in ("store", "register", "epoch", "created_at")} | {"format": 1}))

    j = open_journal()
    assert j.epochs == [{"epoch": epoch, "first_seq": 1, "opened_at": meta["created_at"], "reason": "created"}]
    assert [j.get(f"R1:{epoch}:{s}") for s in (1, 2, 3)] == old  # 1.0 ids, untouched
    assert j.get(f"S001:R1:{epoch}:2") == old[1]  # and the same receipt under its 1.1 name
    new = j.commit_receipt(make_receipt(j))
    assert new["receipt_id"] == f"S001:R1:{epoch}:4" and new["prev_hash"] == old[-1]["hash"]
    assert j.get_seq(1)["receipt_id"] == f"R1:{epoch}:1"
    j.mark_confirmed([f"R1:{epoch}:1", f"S001:R1:{epoch}:4"], j._clock.now())
    assert j.delivery(1)["state"] == CONFIRMED and j.delivery(4)["state"] == CONFIRMED
    assert meta_of(tmp_path)["format"] == 1  # nothing rewrote it without a reason
    j.record_failure(2, "refused", j._clock.now())
    j.close()
    j = open_journal(max_attempts=1)
    j.record_failure(2, "refused", j._clock.now())
    assert j.summary().quarantined_items[0]["receipt_id"] == f"R1:{epoch}:2"  # what the receipt carries


def test_a_mark_from_an_earlier_epoch_of_the_same_journal_is_accepted_but_still_guards_loss(open_journal, tmp_path):
    j = open_journal()
    first = j.epoch
    commit_n(j, 3)
    j.open_epoch("test")
    j.close()
    hwm = tmp_path / "data" / ".kassa-hwm"
    # a power cut after the new identity was written but before the mark followed it
    hwm.write_text(json.dumps({"store": "S001", "register": "R1", "epoch": first, "seq": 3}))
    j = open_journal()
    assert j.next_seq == 4
    j.close()
    hwm.write_text(json.dumps({"store": "S001", "register": "R1", "epoch": first, "seq": 5}))
    with pytest.raises(JournalLost, match="receipts 4..5 are missing"):
        open_journal()
    hwm.write_text(json.dumps({"store": "S001", "register": "R1", "epoch": "other", "seq": 1}))
    with pytest.raises(JournalLost, match="was replaced"):
        open_journal()


def test_a_lost_epoch_record_is_written_again_at_open(open_journal):
    j = open_journal()
    commit_n(j, 1)
    epoch = j.open_epoch("test")
    j.delete_state("epoch", epoch)  # as if the power went between meta.json and the state record
    j.close()
    assert open_journal().get_state("epoch", epoch)["reason"] == "test"


def test_a_restored_copy_opens_a_new_epoch_and_never_reuses_an_id(open_journal, tmp_path):
    data, copy = tmp_path / "data", tmp_path / "copy"
    j = open_journal()
    epoch = j.epoch
    commit_n(j, 3)
    j.close()
    shutil.copytree(data, copy)  # the backup: 3 receipts (and the mark beside the journal)
    j = open_journal()
    later = commit_n(j, 3)  # sold, sent to the fleet, then the card died
    j.close()
    shutil.rmtree(data)
    shutil.copytree(copy, data)

    j = open_journal()
    assert j.next_seq == 4 and j.epoch == epoch
    fleet_head = later[-1]  # the fleet answers the status with its head: seq 6 of this epoch
    assert fleet_head["seq"] > j.next_seq - 1
    new_epoch = j.open_epoch(f"rolled back: fleet holds seq 6 of epoch {epoch}, journal ended at 3")
    fresh = commit_n(j, 3)
    assert [r["receipt_id"] for r in fresh] == [f"S001:R1:{new_epoch}:{s}" for s in (4, 5, 6)]
    ids = [r["receipt_id"] for r in j.iter_receipts()] + [r["receipt_id"] for r in later]
    assert len(ids) == len(set(ids)) == 9  # nothing the fleet holds is ever named again
    assert j.get(later[0]["receipt_id"]) is None  # the lost receipts' ids are not this journal's any more
    assert j.rollbacks == 1 and j.summary().rollbacks == 1
    assert verify_chain(j.iter_receipts()) == fresh[-1]["hash"]
    j.close()
    assert open_journal().epoch == new_epoch


def test_conflicts_are_quarantined_for_good_and_foreign_ids_logged_once(open_journal, caplog):
    j = open_journal(max_attempts=5)
    commit_n(j, 3)
    now = j._clock.now()
    j.mark_delivered([1, 2, 3], now)
    rid = j.get_seq(2)["receipt_id"]
    foreign = [f"S001:R1:other:{s}" for s in range(1, 300)] + [f"S009:R1:{j.epoch}:1"]
    with caplog.at_level(logging.WARNING, logger="firmware.journal.journal"):
        assert j.quarantine_conflicts([rid] + foreign, now) == [2]
        assert j.mark_confirmed(foreign, now) == 0
    assert len([r for r in caplog.records if "not of this journal" in r.getMessage()]) == 2  # one per call
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="firmware.journal.journal"):
        for _ in range(200):  # a flood of messages: a few lines, not one each
            j.mark_confirmed(foreign[:3], now)
    assert 1 <= len([r for r in caplog.records if "not of this journal" in r.getMessage()]) <= 5
    assert j.delivery(2)["state"] == QUARANTINED and j.delivery(2)["error"] == CONFLICT
    j.mark_delivered([2], now)  # a late PUBACK
    j.mark_pending([2])  # a resend sweep
    assert j.requeue_quarantined() == 0  # "Retry" cannot help either
    assert j.delivery(2)["state"] == QUARANTINED and j.outbox() == []
    s = j.summary()
    assert (s.quarantined, s.conflicts) == (1, 1) and s.quarantined_items[0]["receipt_id"] == rid
    j.close()
    j = open_journal()
    assert j.delivery(2)["state"] == QUARANTINED and j.summary().conflicts == 1
