"""The register's threads at once (UI, committer, sync, housekeeping, retention): no exception, consistent results."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from firmware.chain import verify_chain
from firmware.journal import CONFIRMED
from tests.support.journal_sample import make_receipt

pytestmark = pytest.mark.slow  # threads hammering every public method

SECONDS = 3.0


def test_every_public_method_is_safe_from_the_registers_threads(open_journal, clock):
    j = open_journal(segment_records=16)
    stop = threading.Event()
    errors: list[str] = []
    committed: list[dict] = []
    commit_lock = threading.Lock()

    def guarded(name, body):
        def run():
            try:
                while not stop.is_set():
                    body()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                import traceback

                errors.append(f"{name}: {exc!r}\n{traceback.format_exc()}")
                stop.set()
        return threading.Thread(target=run, name=name)

    def state_writer(kind):
        model: dict[str, dict] = {}
        n = [0]

        def body():
            n[0] += 1
            key = f"k{n[0] % 23}"
            if n[0] % 5 == 0:
                j.delete_state(kind, key)
                model.pop(key, None)
            else:
                doc = {"n": n[0], "lines": [{"sku": "1", "qty": n[0] % 7}]}
                j.put_state(kind, key, doc)
                model[key] = doc
            assert j.get_state(kind, key) == model.get(key)
            assert j.states(kind) == model, f"{kind}: another thread's write lost or leaked into this kind"
        return body

    def ui_reads():
        recent = j.recent(5)
        assert [r["seq"] for r in recent] == sorted((r["seq"] for r in recent), reverse=True)
        for r in recent[:2]:
            assert j.get(r["receipt_id"]) == r

    def committer():
        r = j.commit_receipt(make_receipt(j, lines=1, created_at="2026-01-02T10:00:00.000Z"))
        assert j.find_by_sale_id(r["sale_id"]) == r
        assert j.next_seq > r["seq"] and j.last_hash
        with commit_lock:
            committed.append(r)
        time.sleep(0.0005)

    def sync():
        seqs = j.outbox(0, 20)
        for seq in seqs[:3]:
            assert j.payload(seq)
        if seqs:
            now = clock.now()
            j.mark_delivered(seqs, now)
            j.mark_confirmed([f"R1:{j.epoch}:{s}" for s in seqs[: len(seqs) // 2 + 1]], now)
        s = j.summary()
        assert min(s.pending, s.delivered, s.confirmed, s.quarantined) >= 0
        j.due_for_resend(clock.now() + timedelta(seconds=1))

    last_health = [0]

    def housekeeping():
        h = j.health()
        assert h["receipts"] >= last_health[0] and h["alarms"] == []
        last_health[0] = h["receipts"]

    def retention():
        j.archive_confirmed(clock.now() + timedelta(days=3650))
        time.sleep(0.05)

    threads = [guarded("ui-parked", state_writer("parked")), guarded("ui-reads", ui_reads),
               guarded("other-states", state_writer("shift")), guarded("committer", committer),
               guarded("sync", sync), guarded("housekeeping", housekeeping), guarded("retention", retention)]
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, "\n".join(errors)
    assert len(committed) > 50 and j.next_seq == len(committed) + 1
    assert list(j.iter_receipts()) == committed  # archived or live, every receipt reads back
    verify_chain(committed)
    j.flush()
    s = j.summary()
    assert s.pending + s.delivered + s.confirmed + s.quarantined == len(committed)
    assert j.health()["archived_segments"] >= 1, "retention never ran against the other threads"
    for seq in range(1, len(committed) + 1):
        if j._log.locate(seq)[0].path.endswith(".gz"):
            assert j.delivery(seq)["state"] == CONFIRMED
