"""A big backlog of delivered-but-unconfirmed receipts does not make every delivery mark rewrite the snapshot."""

from __future__ import annotations

import time

import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from firmware.journal.fileops import FileOps
from tests.support.journal_sample import make_receipt

pytestmark = pytest.mark.slow  # a large snapshot, then waits for the log to double


class CountingOps(FileOps):
    """Plain file operations that count whole-file rewrites of the delivery log (its compactions)."""

    def __init__(self) -> None:
        self.compactions = 0

    def write_atomic(self, path: str, data: bytes) -> None:
        if path.endswith("delivery.log"):
            self.compactions += 1
        super().write_atomic(path, data)


def test_compaction_waits_for_the_log_to_double_after_a_large_snapshot(tmp_path):
    ops = CountingOps()
    clock = ManualClock()
    j = Journal.open(tmp_path, store="S001", register="R1", clock=clock, fileops=ops, freeze_gc=False)
    try:
        n = 8000  # enough delivered-but-unconfirmed entries for a snapshot well over the 256 KiB threshold
        for _ in range(n):
            j.commit_receipt(make_receipt(j, created_at="2026-11-25T12:00:00.000Z"))
        j.mark_delivered(range(1, n - 100), clock.now())
        j.flush()
        deadline = time.monotonic() + 10  # the writer compacts right after the append that flush() waited for
        while ops.compactions == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ops.compactions == 1, "the backlog should have been compacted once"
        before = ops.compactions
        for seq in range(n - 100, n + 1):  # a drain's worth of further marks, each made durable on its own
            j.mark_delivered([seq], clock.now())
            j.flush()
        assert ops.compactions - before <= 1
        assert j.summary().delivered == n
    finally:
        j.close()
