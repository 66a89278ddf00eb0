"""The read-only journal audit: every record, the whole hash chain, archives, torn tails; and it writes nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from firmware.chain import GENESIS, seal
from firmware.clock import ManualClock
from firmware.journal import Journal
from firmware.journal.archive import read_manifest, write_manifest
from firmware.journal.audit import TORN_TAIL, audit_journal
from firmware.journal.fileops import FileOps
from firmware.journal.records import frame, scan
from tests.support.journal_sample import make_receipt

OLD = "2026-11-01T10:00:00.000Z"


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 (or 'dir') and mtime of everything under root."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path.relative_to(root))] = (digest, st.st_mtime_ns)
    return state


def fill(journal: Journal, n: int) -> list[str]:
    return [journal.commit_receipt(make_receipt(journal, created_at=OLD))["receipt_id"] for _ in range(n)]


def records_of(path: Path) -> list[tuple[int, bytes]]:
    return scan(path.read_bytes()).records


def bump_amount(payload: bytes) -> bytes:
    """The same receipt with its first line amount changed by one cent (same length)."""
    match = re.search(rb'"amount":(\d+)', payload)
    assert match
    digits = match.group(1)
    changed = digits[:-1] + (b"8" if digits[-1:] == b"9" else str(int(digits[-1:]) + 1).encode())
    return payload[: match.start(1)] + changed + payload[match.end(1):]


def test_a_sound_journal_with_archives_passes_and_nothing_changes(open_journal: Callable[..., Journal], tmp_path: Path):
    journal = open_journal()
    ids = fill(journal, 30)
    now = datetime.now(UTC)
    journal.mark_delivered(range(1, 21), now)
    journal.mark_confirmed(ids[:17], now)
    journal.flush()
    assert journal.archive_confirmed(now).files == ["seg-000000000001.log.gz", "seg-000000000009.log.gz"]
    journal.close()
    before = tree_state(tmp_path / "data")

    result = audit_journal(tmp_path / "data", store="S001", register="R1")

    assert result.ok, result.findings
    assert result.receipts == 30 and result.torn == []
    assert result.files == ["seg-000000000001.log.gz", "seg-000000000009.log.gz", "seg-000000000017.log",
                            "seg-000000000025.log"]
    assert tree_state(tmp_path / "data") == before


def test_an_amount_changed_with_its_crc_recomputed_is_found_naming_seq_and_file(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 12)
    journal.close()
    seg = tmp_path / "data" / "journal" / "seg-000000000001.log"
    offset, payload = records_of(seg)[4]  # seq 5
    forged = frame(bump_amount(payload))
    data = bytearray(seg.read_bytes())
    data[offset:offset + len(forged)] = forged
    seg.write_bytes(bytes(data))
    assert records_of(seg)[4] == (offset, bump_amount(payload))  # the framing is valid: only the chain can tell

    result = audit_journal(tmp_path / "data")

    assert not result.ok and result.torn == []
    finding, index = result.findings  # the segment is sealed: its index no longer matches its bytes either
    assert (finding.what, finding.seq, finding.file, finding.offset) == ("altered", 5, seg.name, offset)
    assert "receipt seq 5 in seg-000000000001.log" in str(finding) and "altered" in str(finding)
    assert (index.what, index.file) == ("index", "seg-000000000001.idx")


def test_a_forger_who_also_rehashes_breaks_the_link_to_the_next_receipt(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 6)
    journal.close()
    seg = tmp_path / "data" / "journal" / "seg-000000000001.log"
    offset, payload = records_of(seg)[2]  # seq 3
    doc = json.loads(bump_amount(payload))
    resealed = seal(doc, doc["prev_hash"])
    forged = frame(json.dumps(resealed, sort_keys=True, separators=(",", ":")).encode())
    assert len(forged) == len(frame(payload))
    data = bytearray(seg.read_bytes())
    data[offset:offset + len(forged)] = forged
    seg.write_bytes(bytes(data))

    [finding] = audit_journal(tmp_path / "data").findings

    assert (finding.what, finding.seq, finding.file) == ("chain", 4, seg.name)
    assert "seq 3 in seg-000000000001.log" in str(finding)  # names the receipt it should link to


def test_a_torn_tail_is_a_finding_and_the_files_stay_byte_identical(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 3)
    nxt = make_receipt(journal)
    journal.close()
    seg = tmp_path / "data" / "journal" / "seg-000000000001.log"
    end = scan(seg.read_bytes()).end
    partial = frame(json.dumps(nxt, sort_keys=True, separators=(",", ":")).encode())[:40]
    with open(seg, "r+b") as f:
        f.seek(end)
        f.write(partial)
    before = tree_state(tmp_path / "data")

    result = audit_journal(tmp_path / "data")

    [finding] = result.findings
    assert finding.what == TORN_TAIL and result.damage == []
    assert str(finding).startswith(f"torn tail at offset {end} of seg-000000000001.log")
    assert "would be dropped on next start" in str(finding)
    [torn] = result.torn
    assert (torn.offset, torn.end, torn.truncate, torn.last_seq) == (end, end + 40, False, 3)
    assert tree_state(tmp_path / "data") == before
    # the writing journal agrees on what it would drop
    again = Journal.open(tmp_path / "data", store="S001", register="R1", clock=ManualClock(), freeze_gc=False)
    assert again.recovery and f"at offset {end} of seg-000000000001.log" in again.recovery[0]
    again.close()


def test_a_torn_delivery_log_tail_is_reported(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 2)
    journal.mark_delivered([1], datetime.now(UTC))
    journal.flush()
    journal.close()
    log = tmp_path / "data" / "journal" / "delivery.log"
    size = log.stat().st_size
    with open(log, "ab") as f:
        f.write(frame(b'{"ops":[["d",2,"x"]]}')[:15])

    result = audit_journal(tmp_path / "data")

    [torn] = result.torn
    assert (torn.path, torn.offset, torn.end, torn.truncate) == (str(log), size, size + 15, True)
    assert f"torn tail at offset {size} of delivery.log" in str(result.findings[0])


def test_damage_before_the_tail_is_not_a_torn_tail(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 4)
    journal.close()
    seg = tmp_path / "data" / "journal" / "seg-000000000001.log"
    offset, _payload = records_of(seg)[1]
    data = bytearray(seg.read_bytes())
    data[offset + 30] ^= 0xFF  # seq 2's CRC fails, seq 3 and 4 are intact
    seg.write_bytes(bytes(data))

    result = audit_journal(tmp_path / "data")

    assert result.torn == [] and result.damage
    assert result.damage[0].offset == offset and "complete record follows" in str(result.damage[0])


def _forge_in_archive(directory: Path, name: str, k: int) -> None:
    """Change receipt k of an archive, re-hash it and fix CRCs and the manifest: only the chain can tell."""
    gz = directory / name
    data = gzip.decompress(gz.read_bytes())
    offset, payload = scan(data).records[k]
    doc = json.loads(bump_amount(payload))
    forged = frame(json.dumps(seal(doc, doc["prev_hash"]), sort_keys=True, separators=(",", ":")).encode())
    data = data[:offset] + forged + data[offset + len(forged):]
    gz.write_bytes(gzip.compress(data, mtime=0))
    ops = FileOps()
    manifest = read_manifest(ops, str(directory))
    for entry in manifest:
        if entry.path.endswith(name):
            entry.crc = zlib.crc32(data)
    write_manifest(ops, str(directory), manifest)


def test_an_archived_segment_with_a_broken_chain_is_caught(open_journal, tmp_path: Path):
    journal = open_journal()
    ids = fill(journal, 20)
    journal.mark_confirmed(ids, datetime.now(UTC))
    journal.flush()
    journal.archive_confirmed(datetime.now(UTC))
    journal.close()
    directory = tmp_path / "data" / "journal"
    _forge_in_archive(directory, "seg-000000000009.log.gz", 2)  # seq 11
    reopened = Journal.open(tmp_path / "data", store="S001", register="R1", clock=ManualClock(), freeze_gc=False)
    assert reopened.get_seq(11) is not None  # the journal itself reads it happily (CRCs and manifest agree)
    reopened.close()

    findings = audit_journal(tmp_path / "data").findings

    assert [(f.what, f.seq, f.file) for f in findings] == [("chain", 12, "seg-000000000009.log.gz")]


def _write_journal(root: Path, meta: dict[str, Any], receipts: list[dict[str, Any]]) -> None:
    directory = root / "journal"
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text(json.dumps(meta))
    body = b"".join(frame(json.dumps(r, sort_keys=True, separators=(",", ":")).encode()) for r in receipts)
    (directory / "seg-000000000001.log").write_bytes(body + b"\0" * 256)


def _receipt(seq: int, rid: str, prev: str) -> dict[str, Any]:
    return seal({"receipt_id": rid, "seq": seq, "store": "S001", "register": "R1", "kind": "sale",
                 "created_at": OLD, "sale_id": f"s{seq}"}, prev)


def _two_epochs(epoch_of_seq4: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """meta.json with epochs e1 (seq 1..2, 1.0 ids) and e2 (from seq 3, 1.1 ids); the chain carries on across."""
    chain: list[dict[str, Any]] = []
    prev = GENESIS
    for seq in (1, 2, 3, 4, 5):
        epoch = "e1" if seq <= 2 else (epoch_of_seq4 if seq == 4 else "e2")
        rid = f"R1:{epoch}:{seq}" if seq <= 2 else f"S001:R1:{epoch}:{seq}"
        chain.append(_receipt(seq, rid, prev))
        prev = chain[-1]["hash"]
    meta = {"format": 2, "store": "S001", "register": "R1", "epoch": "e2",
            "epochs": [{"epoch": "e1", "first_seq": 1}, {"epoch": "e2", "first_seq": 3}]}
    return meta, chain


def test_both_receipt_id_forms_across_two_epochs_are_accepted(tmp_path: Path):
    _write_journal(tmp_path, *_two_epochs("e2"))

    result = audit_journal(tmp_path, store="S001", register="R1")

    assert result.ok, result.findings
    assert result.receipts == 5 and result.epochs == ["e2", "e1"]


def test_a_receipt_id_naming_the_wrong_epoch_for_its_seq_is_found(tmp_path: Path):
    _write_journal(tmp_path, *_two_epochs("e1"))

    [finding] = audit_journal(tmp_path).findings

    assert (finding.what, finding.seq) == ("receipt id", 4)
    assert "seq 4 belongs to epoch e2" in str(finding)


def test_a_journal_with_a_new_epoch_opened_by_the_register_passes(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 3)
    journal.open_epoch("test: a second epoch")
    fill(journal, 2)
    journal.close()

    result = audit_journal(tmp_path / "data", store="S001", register="R1")

    assert result.ok, result.findings
    assert result.receipts == 5 and len(result.epochs) == 2


def test_bad_receipt_ids_and_seq_gaps_are_named(tmp_path: Path):
    r1 = _receipt(1, "R1:e1:1", GENESIS)
    r2 = _receipt(2, "R9:e1:2", r1["hash"])  # another register
    r3 = _receipt(3, "R1:zz:3", r2["hash"])  # an epoch meta.json does not list
    r4 = _receipt(5, "R1:e1:5", r3["hash"])  # seq 5 where 4 belongs
    _write_journal(tmp_path, {"format": 1, "store": "S001", "register": "R1", "epoch": "e1"}, [r1, r2, r3, r4])

    findings = audit_journal(tmp_path).findings

    assert [(f.what, f.seq) for f in findings] == [("receipt id", 2), ("receipt id", 3), ("seq", 4), ("receipt id", 4)]
    assert "names register R9, not R1" in str(findings[0]) and "epoch zz" in str(findings[1])


def test_delivery_counts_match_the_journal(open_journal, tmp_path: Path):
    journal = open_journal()
    ids = fill(journal, 12)
    now = datetime.now(UTC)
    journal.mark_delivered(range(1, 9), now)
    journal.mark_confirmed(ids[:3] + ids[5:6], now)
    for _ in range(5):
        journal.record_failure(10, "refused", now + timedelta(seconds=1))
    journal.record_failure(11, "refused", now)
    journal.mark_pending([8])
    journal.quarantine_conflicts([ids[6]], now)  # seq 7: a conflict is final,
    journal.mark_delivered([7], now)  # so neither a late PUBACK
    journal.requeue_quarantined()  # nor "Retry" brings it back (seq 10 goes back to pending)
    journal.flush()
    expected = journal.summary()[:4]
    journal.close()

    counts = audit_journal(tmp_path / "data").delivery

    assert counts is not None
    assert (counts.pending, counts.delivered, counts.confirmed, counts.quarantined) == expected
    assert expected == (5, 2, 4, 1)  # pending 8-12, delivered 4-5, confirmed 1-3+6, conflict 7


def test_the_high_water_mark_above_the_last_receipt_is_loss(open_journal, tmp_path: Path):
    journal = open_journal()
    fill(journal, 3)
    journal.close()
    hwm = tmp_path / "data" / ".kassa-hwm"
    mark = json.loads(hwm.read_text())
    hwm.write_text(json.dumps({**mark, "seq": 5}))

    [finding] = audit_journal(tmp_path / "data").findings

    assert finding.what == "lost" and "receipts 4..5 are missing" in str(finding)


def test_the_audit_opens_every_file_read_only(open_journal, tmp_path: Path, monkeypatch):
    journal = open_journal()
    fill(journal, 10)
    journal.close()
    real_open = os.open
    modes = []

    def spy(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        modes.append(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", spy)
    assert audit_journal(tmp_path / "data").ok
    assert modes and set(modes) == {0}
