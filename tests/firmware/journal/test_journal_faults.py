"""Power cuts through the fault-injecting file layer, and I/O errors: every commit that returned survives."""

from __future__ import annotations

import errno
import random

import pytest

from firmware.chain import verify_chain
from firmware.clock import ManualClock
from firmware.errors import JournalError, JournalFull
from firmware.journal import Journal
from firmware.journal.faults import FaultFileOps
from tests.support.journal_sample import make_receipt

OPTS = {"store": "S001", "register": "R1", "freeze_gc": False, "segment_records": 5, "segment_bytes": 6 * 1024,
        "hwm_interval": 0.002, "group_commit_interval": 0.0005}


@pytest.mark.slow  # 120 rounds of simulated power cuts at random file operations
def test_power_cut_at_random_operations_loses_no_returned_commit(tmp_path):
    rng = random.Random(2026)
    data = tmp_path / "data"
    returned = 0
    delivered: set[int] = set()
    cuts = 0
    for _round in range(120):
        ops = FaultFileOps()
        j = Journal.open(data, clock=ManualClock(), fileops=ops, **OPTS)
        assert j.next_seq - 1 >= returned, f"commit {returned} returned but is gone after a power cut"
        assert j.next_seq - 1 <= returned + 1  # at most the one commit in flight
        verify_chain(j.iter_receipts())
        returned = j.next_seq - 1
        for seq in delivered:  # flushed marks survive too
            assert j.delivery(seq)["state"] == "delivered"
        ops.partial_rng = rng
        ops.cut_after = rng.randrange(1, 60)
        try:
            while True:
                j.commit_receipt(make_receipt(j, lines=rng.randrange(1, 4)))
                returned = j.next_seq - 1
                if rng.random() < 0.3:
                    j.mark_delivered([returned], ManualClock().now())
                    j.flush(timeout=5)
                    delivered.add(returned)
                if rng.random() < 0.1:
                    j.put_state("counter", "n", {"value": returned})
        except JournalError:
            cuts += 1
        j.close()
    assert cuts == 120 and returned > 100


def test_unsynced_new_segment_is_forgotten_by_a_cut(tmp_path):
    """The layer itself: a file created without a directory fsync disappears; synced bytes stay."""
    ops = FaultFileOps()
    d = tmp_path / "d"
    d.mkdir()
    import os

    fd = ops.open(str(d / "a"), os.O_RDWR | os.O_CREAT)
    ops.write_all(fd, b"hello", 0)
    ops.fsync(fd)
    ops.fsync_dir(str(d))
    ops.write_all(fd, b" world", 5)
    fd2 = ops.open(str(d / "b"), os.O_RDWR | os.O_CREAT)
    ops.write_all(fd2, b"x", 0)
    ops.fsync(fd2)
    ops.power_cut()
    assert (d / "a").read_bytes() == b"hello" and not (d / "b").exists()
    with pytest.raises(OSError):
        ops.exists(str(d / "a"))


@pytest.mark.parametrize(
    "code, error", [(errno.ENOSPC, JournalFull), (errno.EFBIG, JournalFull), (errno.EIO, JournalError)]
)
def test_write_error_refuses_the_sale_and_keeps_the_journal(tmp_path, code, error):
    ops = FaultFileOps()
    data = tmp_path / "data"
    j = Journal.open(data, clock=ManualClock(), fileops=ops, **OPTS)
    for _ in range(3):
        j.commit_receipt(make_receipt(j, lines=1))
    ops.fail_when = lambda op, path: code if op == "pwrite" and "seg-" in path else None
    with pytest.raises(error):
        j.commit_receipt(make_receipt(j, lines=1))
    assert j.next_seq == 4 and [r["seq"] for r in j.iter_receipts()] == [1, 2, 3]
    ops.fail_when = lambda op, path: None  # space freed: selling goes on
    j.commit_receipt(make_receipt(j, lines=1))
    j.close()
    j = Journal.open(data, clock=ManualClock(), **OPTS)
    assert j.next_seq == 5 and j.recovery == []
    verify_chain(j.iter_receipts())
    j.close()


def test_failed_sync_refuses_the_sale_and_further_writes_until_reopened(tmp_path):
    ops = FaultFileOps()
    data = tmp_path / "data"
    j = Journal.open(data, clock=ManualClock(), fileops=ops, **OPTS)
    j.commit_receipt(make_receipt(j, lines=1))
    ops.fail_when = lambda op, path: errno.EIO if op == "fdatasync" and "seg-" in path else None
    with pytest.raises(JournalError, match="NOT committed"):
        j.commit_receipt(make_receipt(j, lines=1))
    ops.fail_when = lambda op, path: None
    with pytest.raises(JournalError, match="restart"):
        j.commit_receipt(make_receipt(j, lines=1))
    assert j.get_seq(1)["seq"] == 1 and j.health()["broken"]
    j.close()
    j = Journal.open(data, clock=ManualClock(), **OPTS)
    assert j.next_seq in (2, 3)  # the unsynced record may or may not have reached the disk; never half
    j.commit_receipt(make_receipt(j, lines=1))
    verify_chain(j.iter_receipts())
    j.close()


def test_delivery_marks_wait_in_memory_while_the_disk_is_full(tmp_path):
    ops = FaultFileOps()
    j = Journal.open(tmp_path / "data", clock=ManualClock(), fileops=ops, **OPTS)
    j.commit_receipt(make_receipt(j, lines=1))
    ops.fail_when = lambda op, path: errno.ENOSPC if "delivery" in path and op == "pwrite" else None
    j.mark_delivered([1], ManualClock().now())
    with pytest.raises(JournalFull):
        j.flush(timeout=2)
    assert j.outbox() == []
    ops.fail_when = lambda op, path: None
    j.flush(timeout=5)
    j.close()
    j = Journal.open(tmp_path / "data", clock=ManualClock(), **OPTS)
    assert j.delivery(1)["state"] == "delivered"
    j.close()
