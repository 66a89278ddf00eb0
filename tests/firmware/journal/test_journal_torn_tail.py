"""A tail torn at any byte of the last record recovers to the last complete commit; damage before it is refused."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.chain import verify_chain
from firmware.clock import ManualClock
from firmware.errors import JournalCorrupt
from firmware.journal import Journal
from firmware.journal.meta import HWM
from tests.support.journal_sample import make_receipt

pytestmark = pytest.mark.slow  # a tail torn, zeroed or garbled at every byte of the last record

OPTS = {"store": "S001", "register": "R1", "freeze_gc": False, "segment_records": 64, "segment_bytes": 8 * 1024}


def open_at(data: Path, **kw) -> Journal:
    journal = Journal.open(data, clock=ManualClock(), **{**OPTS, **kw})
    journal.start()  # the verifier and housekeeper, as in a running register
    return journal


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A journal of 3 receipts, the hwm as if the 3rd commit had never returned."""
    data = tmp_path_factory.mktemp("torn") / "data"
    j = open_at(data)
    receipts = [j.commit_receipt(make_receipt(j, lines=1)) for _ in range(3)]
    seg = j._log.segments[-1]
    start, end = seg.offsets[-1], seg.end
    j.close()
    mark = json.loads((data / HWM).read_text())
    (data / HWM).write_text(json.dumps({**mark, "seq": 2}))
    return data, receipts, start, end


@pytest.fixture
def scratch(tmp_path):
    """Where damaged copies go: RAM (/dev/shm) when there is one, so a thousand opens cost no disk syncs."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        path = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="kassa-torn-"))
        yield path
        shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path


def damaged_copy(template, tmp_path, mutate) -> Path:
    data, *_ = template
    dst = tmp_path / f"case{random.getrandbits(32)}"
    shutil.copytree(data, dst)
    seg = dst / "journal" / "seg-000000000001.log"
    buf = bytearray(seg.read_bytes())
    seg.write_bytes(mutate(buf))
    return dst


def check_recovered(dst: Path, receipts, expect_dropped: bool, deep: bool = False) -> None:
    j = open_at(dst)
    try:
        assert j.next_seq == 3 and j.last_hash == receipts[1]["hash"]
        assert (len(j.recovery) == 1) == expect_dropped, j.recovery
        if expect_dropped:
            assert "dropped" in j.recovery[0] and "seq 2" in j.recovery[0]
        if deep:
            assert list(j.iter_receipts()) == receipts[:2]
            j.commit_receipt(make_receipt(j, lines=1))
    finally:
        j.close()
    if deep:
        j = open_at(dst)
        try:
            assert j.next_seq == 4 and j.recovery == []
            verify_chain(j.iter_receipts())
        finally:
            j.close()


def test_truncated_at_every_offset_of_the_last_record(template, scratch):
    _, receipts, start, end = template
    for cut in range(start, end):
        dst = damaged_copy(template, scratch, lambda b, cut=cut: b[:cut])
        check_recovered(dst, receipts, expect_dropped=cut > start, deep=cut % 97 == 0)
        shutil.rmtree(dst)


def test_zero_filled_from_every_offset_of_the_last_record(template, scratch):
    _, receipts, start, end = template

    def zero(buf, k):
        buf[k:end] = bytes(end - k)
        return buf

    for k in range(start, end):
        dst = damaged_copy(template, scratch, lambda b, k=k: zero(b, k))
        check_recovered(dst, receipts, expect_dropped=k > start, deep=k % 101 == 0)
        shutil.rmtree(dst)


def test_garbage_from_every_offset_of_the_last_record(template, scratch):
    _, receipts, start, end = template
    rng = random.Random(7)

    def garble(buf, k):
        junk = rng.randbytes(end - k + rng.randrange(0, 40)).replace(b"\0", b"\x01")
        buf[k : k + len(junk)] = junk
        return buf

    for k in range(start, end):
        dst = damaged_copy(template, scratch, lambda b, k=k: garble(b, k))
        check_recovered(dst, receipts, expect_dropped=True, deep=k % 89 == 0)
        shutil.rmtree(dst)


def test_garbage_appended_after_a_complete_last_record_keeps_it(template, scratch):
    data, receipts, start, end = template
    for length in (1, 9, 10, 11, 300):
        dst = damaged_copy(
            template, scratch, lambda b, n=length: b[:end] + bytearray(os.urandom(n)).replace(b"\0", b"\1")
        )
        j = open_at(dst)
        assert j.next_seq == 4 and j.recovery and "dropped" in j.recovery[0]
        j.close()


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 1), where=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_flipped_bit_before_the_tail_is_refused_untouched(template, scratch, which, where, bit):
    data, receipts, start, end = template
    j = open_at(data)
    seg = j._log.segments[-1]
    first, nxt = seg.offsets[which], seg.offsets[which + 1]
    j.close()
    pos = first + int(where * (nxt - first))

    def flip(buf):
        buf[pos] ^= 1 << bit
        return buf

    dst = damaged_copy(template, scratch, flip)
    before = snapshot(dst)
    with pytest.raises(JournalCorrupt) as err:
        open_at(dst)
    assert "seg-000000000001.log" in str(err.value) and f"offset {first}" in str(err.value)
    assert snapshot(dst) == before
    shutil.rmtree(dst)


def test_flipped_bit_in_a_sealed_segment_is_found_by_the_verifier_and_on_read(tmp_path):
    data = tmp_path / "data"
    j = open_at(data, segment_records=4)
    for _ in range(10):
        j.commit_receipt(make_receipt(j, lines=1))
    off = j._log.segments[0].offsets[2]
    j.close()
    seg = data / "journal" / "seg-000000000001.log"
    buf = bytearray(seg.read_bytes())
    buf[off + 40] ^= 0x10
    seg.write_bytes(buf)
    before = snapshot(data)
    where = f"seg-000000000001.log is damaged at byte offset {off}"
    # tools ask for the synchronous check: the open is refused
    with pytest.raises(JournalCorrupt, match=where):
        open_at(data, segment_records=4, verify=True)
    assert snapshot(data) == before
    # the register's fast open: the background verifier raises an alarm naming file and offset
    j = open_at(data, segment_records=4)
    try:
        assert j.wait_verified(10)
        assert len(j.alarms) == 1 and where in j.alarms[0]
        health = j.health()
        assert health["alarms"] == j.alarms and where in health["alarm"] and health["verified"]
        assert j.get_seq(2)["seq"] == 2 and j.get_seq(9)["seq"] == 9  # intact receipts stay readable
        with pytest.raises(JournalCorrupt, match=where):
            j.get_seq(3)  # the damaged one is never served
        with pytest.raises(JournalCorrupt, match=where):
            j.payload(3)
    finally:
        j.close()
    after = snapshot(data)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == [], f"files changed by opening a damaged journal: {changed}"
    idx = data / "journal" / "seg-000000000001.idx"
    idx.unlink()  # no index: the segment is scanned at open, and the damage stops it
    before.pop("journal/seg-000000000001.idx")
    with pytest.raises(JournalCorrupt, match=f"offset {off}"):
        open_at(data, segment_records=4)
    assert snapshot(data) == before


def test_intact_journal_verifies_without_alarms(tmp_path):
    data = tmp_path / "data"
    j = open_at(data, segment_records=4)
    for _ in range(30):
        j.commit_receipt(make_receipt(j, lines=1))
    j.close()
    j = open_at(data, segment_records=4)
    try:
        assert j.wait_verified(10) and j.alarms == [] and j.health()["alarm"] is None
        assert j._log.unverified() == []
    finally:
        j.close()


def test_damaged_delivery_log_record_before_its_tail_is_refused(tmp_path):
    data = tmp_path / "data"
    j = open_at(data)
    for _ in range(3):
        j.commit_receipt(make_receipt(j, lines=1))
    for seq in (1, 2, 3):
        j.mark_delivered([seq], ManualClock().now())
        j.flush()
    j.close()
    log = data / "journal" / "delivery.log"
    buf = bytearray(log.read_bytes())
    buf[14] ^= 1
    log.write_bytes(buf)
    before = snapshot(data)
    with pytest.raises(JournalCorrupt, match="delivery.log"):
        open_at(data)
    assert snapshot(data) == before
