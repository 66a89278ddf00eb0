"""`Journal.head()`: the newest seq and its hash read as one, even while another thread commits (issue 11: a
status pairing seq N with the hash of N+1 would make the fleet see a rolled-back journal)."""

from __future__ import annotations

import threading

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from tests.support.journal_sample import make_receipt


@pytest.mark.slow
def test_head_pairs_each_seq_with_its_own_hash_while_commits_run(tmp_path) -> None:
    journal = Journal.open(tmp_path / "data", store="S001", register="R1", clock=ManualClock())
    try:
        assert journal.head().seq == 0 and journal.head().hash == ""
        stop = threading.Event()
        readings = []

        def read() -> None:
            while not stop.is_set():
                readings.append(journal.head())

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(300):
                journal.commit_receipt(make_receipt(journal))
        finally:
            stop.set()
            reader.join()
        hashes = {seq: journal.get_seq(seq)["hash"] for seq in range(1, 301)}
        assert len(readings) > 10
        assert all(h.hash == hashes[h.seq] for h in readings if h.seq), "a head paired a seq with another's hash"
        assert journal.head() == (journal.epoch, journal.epoch_first_seq, 300, hashes[300])
    finally:
        journal.close()
