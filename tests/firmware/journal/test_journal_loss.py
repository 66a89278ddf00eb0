"""A journal that vanished, emptied, shrank or was swapped is JournalLost, never a silent fresh database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from firmware.errors import JournalLost
from firmware.journal.meta import HWM
from tests.support.journal_sample import make_receipt


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def used(open_journal, tmp_path):
    j = open_journal()
    for _ in range(12):
        j.commit_receipt(make_receipt(j, lines=1))
    epoch = j.epoch
    j.close()
    data = tmp_path / "data"
    assert json.loads((data / HWM).read_text())["seq"] == 12
    return data, epoch


def test_missing_journal_directory_is_lost_and_not_recreated(used, open_journal):
    data, _ = used
    shutil.rmtree(data / "journal")
    with pytest.raises(JournalLost, match="seq 12"):
        open_journal()
    assert not (data / "journal").exists()


def test_emptied_segment_files_are_lost_and_left_as_they_are(used, open_journal):
    data, _ = used
    for seg in (data / "journal").glob("seg-*"):
        seg.write_bytes(b"")
    for idx in (data / "journal").glob("seg-*.idx"):
        idx.unlink()
    before = files(data)
    with pytest.raises(JournalLost, match="missing"):
        open_journal()
    assert files(data) == before


def test_journal_cut_short_is_lost(used, open_journal):
    data, _ = used
    segs = sorted((data / "journal").glob("seg-*.log"))
    segs[-1].unlink()  # the newest receipts are gone
    with pytest.raises(JournalLost, match="missing"):
        open_journal()


def test_journal_of_another_epoch_in_its_place_is_lost(used, open_journal, tmp_path):
    data, epoch = used
    shutil.rmtree(data / "journal")
    mark = (data / HWM).read_bytes()
    (data / HWM).unlink()
    fresh = open_journal()  # a re-imaged device would do this...
    assert fresh.epoch != epoch
    fresh.close()
    (data / HWM).write_bytes(mark)  # ...but this device's mark remembers epoch `epoch`
    with pytest.raises(JournalLost, match=epoch):
        open_journal()


def test_missing_identity_file_with_receipts_is_lost(used, open_journal):
    data, _ = used
    (data / "journal" / "meta.json").unlink()
    with pytest.raises(JournalLost):
        open_journal()


def test_a_new_device_starts_fresh_and_marks_its_epoch(open_journal, tmp_path):
    j = open_journal()
    mark = json.loads((tmp_path / "data" / HWM).read_text())
    assert mark == {"store": "S001", "register": "R1", "epoch": j.epoch, "seq": 0}
    j.close()
    shutil.rmtree(tmp_path / "data" / "journal")  # nothing was ever committed: nothing to lose
    assert open_journal().next_seq == 1


def test_high_water_mark_follows_commits_off_the_commit_path(open_journal, tmp_path):
    import time

    j = open_journal(hwm_interval=0.01)
    for _ in range(3):
        j.commit_receipt(make_receipt(j, lines=1))
    deadline = time.monotonic() + 5
    while json.loads((tmp_path / "data" / HWM).read_text())["seq"] != 3:
        assert time.monotonic() < deadline, "the housekeeper never updated the high-water mark"
        time.sleep(0.01)
