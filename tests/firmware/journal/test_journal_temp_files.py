"""The journal's own whole-file writes (meta, high-water mark, indexes, manifests, compacted logs, the spare
segment) use random temp names created O_EXCL|O_NOFOLLOW: a link planted at the old predictable `NAME.tmp` is
never followed, and a crash's leftover temp file is cleared at the next open."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from firmware.clock import ManualClock
from firmware.journal import Journal
from firmware.journal.faults import FaultFileOps
from firmware.journal.fileops import FileOps
from firmware.journal.meta import HWM
from tests.support.journal_sample import make_receipt

OPTS = {"store": "S001", "register": "R1", "freeze_gc": False, "segment_records": 4, "segment_bytes": 16 * 1024}


def victim(path: Path) -> Path:
    path.write_bytes(b"sealed segment bytes\x00\x01" * 64)
    path.chmod(0o640)
    return path


def state_of(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(os.lstat(path).st_mode)


def test_write_atomic_and_create_zeroed_never_open_a_planted_temp_name(tmp_path):
    target = victim(tmp_path / "victim")
    before = state_of(target)
    for ops in (FileOps(), FaultFileOps()):
        work = tmp_path / type(ops).__name__
        work.mkdir()
        (work / "meta.json.tmp").symlink_to(target)  # the old writer's name, opened O_TRUNC
        (work / "spare.prep.tmp").symlink_to(target)
        ops.write_atomic(str(work / "meta.json"), b'{"ok": 1}')
        assert ops.create_zeroed(str(work / "spare.prep"), 4096)
        assert (work / "meta.json").read_bytes() == b'{"ok": 1}' and not (work / "meta.json").is_symlink()
        assert (work / "spare.prep").read_bytes() == b"\0" * 4096
        assert state_of(target) == before
        assert sorted(p.name for p in work.iterdir()) == ["meta.json", "meta.json.tmp", "spare.prep",
                                                          "spare.prep.tmp"]  # no temp file of ours left


def test_a_journal_with_links_planted_at_every_old_temp_name_leaves_their_target_alone(tmp_path):
    data = tmp_path / "data"
    target = victim(tmp_path / "victim")
    before = state_of(target)
    j = Journal.open(data, clock=ManualClock(), **OPTS)
    try:
        journal_dir = data / "journal"
        names = {p.name for p in journal_dir.iterdir()} | {"spare.prep", "archive.json"}
        for name in names:
            (journal_dir / f"{name}.tmp").symlink_to(target)
        (data / f"{HWM}.tmp").symlink_to(target)
        for _ in range(10):  # several segments: index files, the spare, meta and the high-water mark rewritten
            j.commit_receipt(make_receipt(j))
        j.flush()
    finally:
        j.close()
    assert state_of(target) == before
    # the next open clears stale temp files (ours and planted ones alike: unlinking a link never touches its target)
    (data / f".{HWM}.0123456789ab.tmp").write_bytes(b"left by a power cut")
    j = Journal.open(data, clock=ManualClock(), **OPTS)
    try:
        assert j.next_seq == 11
    finally:
        j.close()
    assert not [p for p in (data / "journal").iterdir() if p.name.endswith(".tmp")]
    assert not (data / f".{HWM}.0123456789ab.tmp").exists() and (data / f"{HWM}.tmp").is_symlink()
    assert state_of(target) == before
