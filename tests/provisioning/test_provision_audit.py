"""`selftest` audits the journal read-only (exit 1 naming seq and file); `repair-journal` drops only a torn tail.

The CLI runs as a real subprocess so exit codes and output are what a technician sees.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware.chain import seal
from firmware.clock import SystemClock
from firmware.config import load_config
from firmware.journal import Journal
from firmware.journal.archive import read_manifest, write_manifest
from firmware.journal.fileops import FileOps
from firmware.journal.records import frame, scan
from tests.provisioning.provision_journal import fill_journal
from tests.support.journal_sample import make_receipt

pytestmark = pytest.mark.slow  # kassa-provision selftest and repair-journal runs on damaged journals

CLI = Path(sys.executable).with_name("kassa-provision")
SEG1 = "seg-000000000001.log"


def run_cli(*args: object, service: str = "inactive") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KASSA_PROVISION_ASSUME_SERVICE": service, "COLUMNS": "200"}
    return subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def flat(done: subprocess.CompletedProcess[str]) -> str:
    """Everything printed, whitespace-normalised, with the self-test table's detail and fix cells unfolded."""
    cells: dict[int, list[str]] = {3: [], 4: []}
    for line in done.stdout.splitlines():
        parts = line.split("│")
        if len(parts) == 6:
            for col in cells:
                cells[col].append(parts[col].strip())
    text = " ".join([done.stdout, *(" ".join(words) for words in cells.values()), done.stderr])
    return " ".join(text.split())


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 (or 'dir') and mtime of every file and directory under root."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.stat()
        digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        state[str(path.relative_to(root))] = (digest, st.st_mtime_ns)
    return state


def canonical(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def bump_amount(payload: bytes) -> bytes:
    """The same receipt with its first line amount changed by one cent (same length)."""
    match = re.search(rb'"amount":(\d+)', payload)
    assert match
    digits = match.group(1)
    changed = digits[:-1] + (b"8" if digits[-1:] == b"9" else str(int(digits[-1:]) + 1).encode())
    return payload[: match.start(1)] + changed + payload[match.end(1):]


def data_dir(device: Path) -> Path:
    return Path(load_config(device).device.data_dir)


def tear_tail(device: Path) -> tuple[Path, int, bytes]:
    """Half of the next receipt's record written after the last one, as a power cut mid-write leaves it."""
    journal = Journal.open(data_dir(device), store="S001", register="R1", clock=SystemClock(), create=False,
                           freeze_gc=False)
    nxt = make_receipt(journal)
    journal.close()
    seg = data_dir(device) / "journal" / SEG1
    end = scan(seg.read_bytes()).end
    partial = frame(canonical(nxt))[:57]
    with open(seg, "r+b") as f:
        f.seek(end)
        f.write(partial)
    return seg, end, partial


def test_selftest_fails_on_an_amount_changed_with_a_valid_crc_naming_seq_and_file(device: Path):
    fill_journal(device, 5)
    seg = data_dir(device) / "journal" / SEG1
    offset, payload = scan(seg.read_bytes()).records[2]  # seq 3
    data = bytearray(seg.read_bytes())
    forged = frame(bump_amount(payload))
    data[offset:offset + len(forged)] = forged
    seg.write_bytes(bytes(data))

    done = run_cli("selftest", "-c", device, "--only", "journal")

    assert done.returncode == 1, flat(done)
    out = flat(done)
    assert f"receipt seq 3 in {SEG1} at byte offset {offset}" in out and "altered" in out
    assert "do not reset" in out and "Traceback" not in out


def test_selftest_reports_a_torn_tail_exit_1_and_changes_no_byte(device: Path):
    fill_journal(device, 4, confirmed=4)
    _seg, end, partial = tear_tail(device)
    before = tree_state(data_dir(device))

    done = run_cli("selftest", "-c", device, "--only", "journal")

    assert done.returncode == 1, flat(done)
    out = flat(done)
    assert f"torn tail at offset {end} of {SEG1}" in out and "would be dropped on next start" in out
    assert "repair-journal" in out and "nothing was changed" in out
    assert tree_state(data_dir(device)) == before  # no repair, no temp dir, no high-water update
    seg = data_dir(device) / "journal" / SEG1
    assert seg.read_bytes()[end:end + len(partial)] == partial


def test_selftest_while_the_service_runs_reads_in_place_and_writes_nothing(device: Path):
    fill_journal(device, 3)
    _seg, end, _partial = tear_tail(device)
    before = tree_state(data_dir(device))

    done = run_cli("selftest", "-c", device, "--only", "journal", service="active")

    assert done.returncode == 1, flat(done)  # read again, still torn: reported
    assert f"torn tail at offset {end} of {SEG1}" in flat(done)
    assert tree_state(data_dir(device)) == before  # no snapshot directory under the data dir either


def _archived_journal(device: Path) -> Path:
    journal = Journal.open(data_dir(device), store="S001", register="R1", clock=SystemClock(), freeze_gc=False,
                           segment_records=8, segment_bytes=16 * 1024)
    ids = [journal.commit_receipt(make_receipt(journal, created_at="2026-11-01T10:00:00.000Z"))["receipt_id"]
           for _ in range(20)]
    journal.mark_confirmed(ids, datetime.now(UTC))
    journal.flush()
    assert journal.archive_confirmed(datetime.now(UTC)).receipts == 16
    journal.close()
    return data_dir(device) / "journal"


def test_selftest_catches_a_broken_chain_inside_an_archived_segment(device: Path):
    directory = _archived_journal(device)
    assert run_cli("selftest", "-c", device, "--only", "journal").returncode == 0
    gz = directory / "seg-000000000001.log.gz"
    data = gzip.decompress(gz.read_bytes())
    offset, payload = scan(data).records[4]  # seq 5: changed and re-hashed, CRCs and manifest made to agree
    doc = json.loads(bump_amount(payload))
    forged = frame(canonical(seal(doc, doc["prev_hash"])))
    data = data[:offset] + forged + data[offset + len(forged):]
    gz.write_bytes(gzip.compress(data, mtime=0))
    manifest = read_manifest(FileOps(), str(directory))
    manifest[0].crc = zlib.crc32(data)
    write_manifest(FileOps(), str(directory), manifest)

    done = run_cli("selftest", "-c", device, "--only", "journal")

    assert done.returncode == 1, flat(done)
    out = flat(done)
    assert "receipt seq 6 in seg-000000000001.log.gz" in out and "chain is broken" in out
    assert "seq 5 in seg-000000000001.log.gz" in out


def test_repair_journal_drops_the_torn_tail_keeps_a_copy_then_selftest_passes(device: Path):
    fill_journal(device, 4, confirmed=4)
    seg, end, partial = tear_tail(device)
    original = seg.read_bytes()

    done = run_cli("repair-journal", "-c", device, "--yes")

    assert done.returncode == 0, flat(done)
    [kept] = list((data_dir(device) / "archive").iterdir())
    assert kept.name.startswith("repair-") and str(kept) in flat(done)
    assert (kept / SEG1).read_bytes() == original
    assert (kept / f"{SEG1}.dropped-{end}-{end + len(partial)}.bin").read_bytes() == partial
    report = json.loads((kept / "repair.json").read_text())
    [entry] = report["files"]
    assert (entry["file"], entry["offset"], entry["bytes"], entry["after_seq"]) == (SEG1, end, len(partial), 4)
    assert f"at byte offset {end}" in (kept / "README.txt").read_text()
    assert seg.read_bytes()[end:end + len(partial)] == b"\0" * len(partial)
    assert seg.read_bytes()[:end] == original[:end]  # committed receipts untouched

    check = run_cli("selftest", "-c", device, "--only", "journal")
    assert check.returncode == 0, flat(check)
    assert "4 receipts" in flat(check)
    journal = Journal.open(data_dir(device), store="S001", register="R1", clock=SystemClock(), create=False,
                           freeze_gc=False)
    try:
        assert journal.recovery == [] and journal.next_seq == 5
        assert journal.commit_receipt(make_receipt(journal))["seq"] == 5
    finally:
        journal.close()


def test_repair_journal_refuses_damage_before_the_tail_and_changes_nothing(device: Path):
    fill_journal(device, 5)
    seg = data_dir(device) / "journal" / SEG1
    offset, payload = scan(seg.read_bytes()).records[1]  # seq 2
    data = bytearray(seg.read_bytes())
    forged = frame(bump_amount(payload))
    data[offset:offset + len(forged)] = forged
    seg.write_bytes(bytes(data))
    before = tree_state(data_dir(device))

    done = run_cli("repair-journal", "-c", device, "--yes")

    assert done.returncode == 1
    out = flat(done)
    assert "damaged before its tail" in out and "evidence for support" in out and "nothing was changed" in out
    assert f"receipt seq 2 in {SEG1}" in out and "Traceback" not in out
    assert tree_state(data_dir(device)) == before


def test_repair_journal_needs_the_service_stopped(device: Path):
    fill_journal(device, 2)
    tear_tail(device)
    before = tree_state(data_dir(device))

    done = run_cli("repair-journal", "-c", device, "--yes", service="active")

    assert done.returncode == 1 and "stop it first" in flat(done)
    assert tree_state(data_dir(device)) == before


def test_repair_journal_on_a_sound_journal_changes_nothing(device: Path):
    fill_journal(device, 3)
    before = tree_state(data_dir(device))

    done = run_cli("repair-journal", "-c", device, "--yes")

    assert done.returncode == 0 and "nothing to repair" in flat(done)
    assert tree_state(data_dir(device)) == before
