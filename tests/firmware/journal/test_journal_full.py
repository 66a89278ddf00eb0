"""A full disk (a tiny tmpfs, or RLIMIT_FSIZE) refuses the sale cleanly and keeps every committed receipt readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from firmware.chain import verify_chain
from firmware.clock import ManualClock
from firmware.errors import JournalFull
from firmware.journal import Journal
from tests.support.journal_sample import make_receipt
from tests.support.tmpfs import tiny_tmpfs

ROOT = Path(__file__).resolve().parents[3]
OPTS = {"store": "S001", "register": "R1", "freeze_gc": False, "segment_records": 8, "segment_bytes": 8 * 1024}


def test_rlimit_fsize_refuses_the_sale_and_keeps_commits(tmp_path):
    data = tmp_path / "data"
    # the child writes into files limited to 20 KB each; segments would be 64 KB
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.crashloop", str(data), "--segment-records", "1000",
         "--segment-bytes", str(64 * 1024), "--fsize-limit", str(20 * 1024), "--limit", "500"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("FULL ") and "NOT committed" in lines[-1]
    printed = [int(x) for x in lines[:-1]]
    assert printed and printed == list(range(1, len(printed) + 1))
    j = Journal.open(data, clock=ManualClock(), **{**OPTS, "segment_records": 1000, "segment_bytes": 64 * 1024})
    try:
        assert j.next_seq - 1 == printed[-1]  # exactly the commits that returned; the refused one left nothing
        verify_chain(j.iter_receipts())
        assert j.recovery == []
    finally:
        j.close()


@pytest.fixture
def tiny_fs(tmp_path):
    with tiny_tmpfs(tmp_path / "tiny", "96k") as mnt:
        yield mnt


def test_tiny_filesystem_refuses_the_sale_before_money_moves(tiny_fs):
    j = Journal.open(tiny_fs / "data", clock=ManualClock(), hwm_interval=0.01, **OPTS)
    committed = []
    with pytest.raises(JournalFull, match="NOT committed"):
        for _ in range(1000):
            committed.append(j.commit_receipt(make_receipt(j, lines=2)))
    assert len(committed) > 10
    assert j.next_seq == len(committed) + 1
    assert list(j.iter_receipts()) == committed  # everything committed stays readable
    with pytest.raises(JournalFull):
        j.commit_receipt(make_receipt(j, lines=2))  # and it keeps refusing, cleanly
    j.close()
    j = Journal.open(tiny_fs / "data", clock=ManualClock(), **OPTS)
    try:
        assert j.next_seq == len(committed) + 1
        verify_chain(j.iter_receipts())
        assert j.get_seq(len(committed)) == committed[-1]
    finally:
        j.close()
