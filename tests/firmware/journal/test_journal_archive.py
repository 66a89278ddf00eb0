"""Retention: only confirmed, old, sealed segments are archived; they stay findable; crashes lose nothing."""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware.chain import verify_chain
from firmware.clock import ManualClock
from firmware.errors import JournalCorrupt, JournalError, JournalLost
from firmware.journal import CONFIRMED, Journal
from firmware.journal.archive import MANIFEST
from firmware.journal.faults import FaultFileOps
from tests.support.journal_sample import make_receipt

OPTS = {
    "store": "S001",
    "register": "R1",
    "freeze_gc": False,
    "segment_records": 4,
    "segment_bytes": 8 * 1024,
    "hwm_interval": 0.002,
    "group_commit_interval": 0.0005,
}
OLD = "2026-01-05T10:00:00.000Z"
CUTOFF = datetime(2026, 2, 1, tzinfo=UTC)


def open_at(data: Path, **kw) -> Journal:
    journal = Journal.open(data, clock=ManualClock(), **{**OPTS, **kw})
    journal.start()  # the verifier and housekeeper, as in a running register
    return journal


def fill(j: Journal, n: int, created_at: str = OLD) -> list[dict]:
    return [j.commit_receipt(make_receipt(j, lines=2, created_at=created_at)) for _ in range(n)]


def confirm(j: Journal, seqs) -> None:
    j.mark_delivered(seqs, ManualClock().now())
    j.mark_confirmed([f"R1:{j.epoch}:{s}" for s in seqs], ManualClock().now())
    j.flush()


def archived_seqs(j: Journal) -> set[int]:
    return {seq for seq in range(1, j.next_seq) if j._log.locate(seq)[0].path.endswith(".gz")}


def files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "journal").iterdir()) if p.is_file()}


def check_all_readable(j: Journal, receipts: list[dict]) -> None:
    assert j.next_seq == len(receipts) + 1 and j.last_hash == receipts[-1]["hash"]
    for r in receipts:
        assert j.get(r["receipt_id"]) == r and j.get_seq(r["seq"]) == r
    assert list(j.iter_receipts()) == receipts
    verify_chain(j.iter_receipts())  # across every archive boundary, from genesis


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states=st.lists(st.sampled_from(["pending", "delivered", "confirmed", "quarantined"]), min_size=9, max_size=30))
def test_retention_never_touches_an_unconfirmed_receipt(states):
    tmp = Path(tempfile.mkdtemp(prefix="kassa-arch-"))
    try:
        data = tmp / "data"
        j = open_at(data, max_attempts=1)
        receipts = fill(j, len(states))
        now = ManualClock().now()
        for seq, state in enumerate(states, start=1):
            if state in ("delivered", "confirmed"):
                j.mark_delivered([seq], now)
            if state == "confirmed":
                j.mark_confirmed([f"R1:{j.epoch}:{seq}"], now)
            if state == "quarantined":
                assert j.record_failure(seq, "refused", now)
        j.flush()
        time_sealed = j._log.segments[:-1]
        for seg in time_sealed:  # let the housekeeper index every sealed segment
            j._housekeeper.seal(seg)
        deadline = datetime.now() + timedelta(seconds=5)
        while any(not (data / "journal" / (Path(s.path).stem + ".idx")).exists() for s in time_sealed):
            assert datetime.now() < deadline
            time.sleep(0.002)
        result = j.archive_confirmed(CUTOFF)
        gone = archived_seqs(j)
        for seq, state in enumerate(states, start=1):
            if state != "confirmed":
                assert seq not in gone, f"seq {seq} is {state} but was archived"
                assert j.delivery(seq)["state"] == state
        # every whole sealed segment of confirmed receipts went
        for start in range(1, len(states) + 1 - 4, 4):
            if j.next_seq - 1 >= start + 4 and all(states[s - 1] == "confirmed" for s in range(start, start + 4)):
                if start + 4 <= j._log.segments[-1].first_seq:
                    assert set(range(start, start + 4)) <= gone
        assert result.receipts == len(gone) and len(result.kept) == len(time_sealed) - len(gone) // 4
        check_all_readable(j, receipts)
        j.close()
        j = open_at(data, max_attempts=1)
        assert archived_seqs(j) == gone
        check_all_readable(j, receipts)
        for seq, state in enumerate(states, start=1):
            assert j.delivery(seq)["state"] == state
        j.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_archived_receipts_are_found_by_id_after_reopen_and_selling_goes_on(tmp_path):
    data = tmp_path / "data"
    j = open_at(data)
    receipts = fill(j, 18)
    confirm(j, range(1, 19))
    result = j.archive_confirmed(CUTOFF)
    # 18 receipts in segments of 4: 1-4, 5-8, 9-12, 13-16 sealed; 17-18 being written
    assert result.files == [f"seg-{n:012d}.log.gz" for n in (1, 5, 9, 13)] or result.files == [
        f"seg-{n:012d}.log.gz" for n in (1, 5, 9)
    ]
    assert result.receipts == 4 * len(result.files) and result.first_seq == 1 and result.bytes_freed > 0
    names = set(files(data))
    assert "seg-000000000001.log" not in names and "seg-000000000001.idx" not in names
    assert {"seg-000000000001.log.gz", MANIFEST} <= names
    assert j.payload(2) and j.get(receipts[1]["receipt_id"]) == receipts[1]
    j.close()
    j = open_at(data)
    check_all_readable(j, receipts)
    assert j.health()["archived_receipts"] == result.receipts and j.health()["alarms"] == []
    receipts += fill(j, 6)  # seq continues; nothing is reused
    assert receipts[-1]["seq"] == 24 and j.find_by_sale_id(receipts[-1]["sale_id"]) == receipts[-1]
    j.close()
    j = open_at(data)  # the high-water mark (seq 24) is not mistaken for loss
    check_all_readable(j, receipts)
    assert j.archive_confirmed(CUTOFF).receipts == 0  # 19-24 are not confirmed
    j.close()


def test_receipts_newer_than_the_cutoff_stay_live(tmp_path):
    j = open_at(tmp_path / "data")
    receipts = fill(j, 4) + fill(j, 2, created_at="2026-03-01T10:00:00.000Z") + fill(j, 6)
    confirm(j, range(1, 13))
    result = j.archive_confirmed(CUTOFF)
    assert archived_seqs(j) == {1, 2, 3, 4}
    assert any("2026-03-01" in why for why in result.kept)
    check_all_readable(j, receipts)
    j.close()


def test_a_damaged_sealed_segment_is_not_archived_and_raises_an_alarm(tmp_path):
    data = tmp_path / "data"
    j = open_at(data)
    fill(j, 12)
    confirm(j, range(1, 13))
    off = j._log.segments[0].offsets[1]
    j.close()
    seg = data / "journal" / "seg-000000000001.log"
    buf = bytearray(seg.read_bytes())
    buf[off + 30] ^= 4
    seg.write_bytes(buf)
    j = open_at(data)
    j._verifier.stop()  # the archiver must catch it by itself
    result = j.archive_confirmed(CUTOFF)
    assert 1 not in archived_seqs(j) and seg.exists()
    assert any("seg-000000000001.log" in a and f"offset {off}" in a for a in j.alarms), j.alarms
    assert any("damaged" in why for why in result.kept)
    j.close()


def test_missing_archive_file_or_manifest_is_refused_untouched(tmp_path):
    data = tmp_path / "data"
    j = open_at(data)
    fill(j, 12)
    confirm(j, range(1, 13))
    assert j.archive_confirmed(CUTOFF).receipts == 8
    j.close()
    gz = data / "journal" / "seg-000000000005.log.gz"
    packed = gz.read_bytes()
    gz.unlink()
    before = files(data)
    with pytest.raises(JournalLost, match="seg-000000000005.log.gz"):
        open_at(data)
    assert files(data) == before
    gz.write_bytes(packed)
    (data / "journal" / MANIFEST).rename(tmp_path / "manifest")
    with pytest.raises(JournalCorrupt, match="seq 1 was expected"):
        open_at(data)
    (tmp_path / "manifest").rename(data / "journal" / MANIFEST)
    gz.write_bytes(packed[:-9] + b"garbage!!")
    j = open_at(data)
    try:
        with pytest.raises(JournalCorrupt, match="seg-000000000005.log.gz"):
            j.get_seq(6)
        assert j.get_seq(2)["seq"] == 2
    finally:
        j.close()


@pytest.mark.slow  # 400 simulated power cuts, each reopening the journal twice
def test_a_power_cut_at_any_point_of_archiving_loses_nothing(tmp_path):
    template = tmp_path / "template"
    j = open_at(template)
    receipts = fill(j, 14)
    confirm(j, range(1, 15))
    j.close()
    cuts = 0
    for k in range(1, 400):
        data = tmp_path / f"cut{k}"
        shutil.copytree(template, data)
        ops = FaultFileOps()
        j = open_at(data, fileops=ops)
        j.wait_verified(5)
        j._housekeeper.stop()  # keep the operation count deterministic: only archiving runs
        ops.cut_after = k
        try:
            j.archive_confirmed(CUTOFF)
            finished = True
        except JournalError:
            finished = False
            cuts += 1
        j.close()
        j = open_at(data)
        check_all_readable(j, receipts)
        for seq in range(1, 15):
            assert j.delivery(seq)["state"] == CONFIRMED
        j.archive_confirmed(CUTOFF)  # a later run completes what the cut interrupted
        assert archived_seqs(j) == set(range(1, 13))
        j.close()
        j = open_at(data)
        check_all_readable(j, receipts)
        assert not [
            n
            for n in files(data)
            if n.endswith((".tmp", ".idx")) and not (data / "journal" / (n[:-4] + ".log")).exists()
        ]
        j.close()
        shutil.rmtree(data)
        if finished:
            break
    assert finished and cuts > 10, f"only {cuts} cut points inside archiving"
