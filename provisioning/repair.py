"""`repair-journal`: drop a torn journal tail, after copying every byte it drops; refuse any other damage.

A torn tail is an interrupted write at the very end of the receipt log (or
of delivery.log/state.log): bytes that never became a committed record. The
register drops it at its next start; this command does the same explicitly,
with the service stopped, but first copies each affected file whole and the
bytes it drops into DATA_DIR/archive/repair-<UTC time>/ with README.txt and
repair.json saying what was dropped. Damage anywhere before the tail (a
record failing its checksum with good ones after it, an altered receipt, a
broken hash chain, missing receipts) is evidence for support: it is refused
and nothing is changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from firmware.atomicfile import fsync_dir
from firmware.config import Config
from firmware.journal.audit import AuditResult, TornTail
from provisioning.errors import ProvisionError
from provisioning.journal_access import audit, journal_exists, service_active

__all__ = ["RepairRefused", "RepairDone", "repair_journal"]


class RepairRefused(ProvisionError):
    """The journal holds damage that is not a torn tail, or the service runs: nothing was changed."""


@dataclass(frozen=True)
class RepairDone:
    archive: Path | None  # where the originals and the dropped bytes were kept (None: nothing to repair)
    dropped: list[TornTail]
    receipts: int  # the last complete receipt, after the repair


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _archive_dir(data_dir: Path, now: datetime) -> Path:
    base = data_dir / "archive" / f"repair-{now:%Y%m%dT%H%M%SZ}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def _keep(tails: list[TornTail], into: Path, config: Config, now: datetime) -> None:
    """Copy each file whole and the bytes to drop into `into`, with repair.json and README.txt; all fsynced."""
    entries: list[dict[str, object]] = []
    lines: list[str] = []
    for tail in tails:
        name = os.path.basename(tail.path)
        data = Path(tail.path).read_bytes()
        dropped = data[tail.offset:tail.end]
        dropped_name = f"{name}.dropped-{tail.offset}-{tail.end}.bin"
        _write_durably(into / name, data)
        _write_durably(into / dropped_name, dropped)
        action = f"cut off at byte {tail.offset}" if tail.truncate else f"bytes {tail.offset}..{tail.end} zero-filled"
        entries.append({"file": name, "offset": tail.offset, "end": tail.end, "bytes": len(dropped),
                        "action": "truncated" if tail.truncate else "zero-filled", "after_seq": tail.last_seq,
                        "original": name, "original_size": len(data), "original_sha256": _sha256(data),
                        "dropped": dropped_name, "dropped_sha256": _sha256(dropped)})
        after = f", after receipt seq {tail.last_seq}" if tail.last_seq is not None else ""
        lines.append(f"- {name}: {len(dropped)} bytes of an incomplete record at byte offset {tail.offset}{after}; "
                     f"{action}. Original file: {name}; the dropped bytes: {dropped_name}.")
    doc = {"tool": "kassa-provision repair-journal", "at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
           "store": config.device.store, "register": config.device.register,
           "what": "torn tail: an interrupted write that never became a committed record", "files": entries}
    _write_durably(into / "repair.json", (json.dumps(doc, indent=1) + "\n").encode())
    readme = (
        f"kassa-provision repair-journal, {doc['at']}, register {config.device.store}/{config.device.register}\n\n"
        "The journal ended in an interrupted write (a torn tail): bytes that never formed a complete, committed\n"
        "record. The register would have dropped them at its next start; repair-journal dropped them after\n"
        "copying them here. No committed receipt was changed.\n\n" + "\n".join(lines) + "\n"
    )
    _write_durably(into / "README.txt", readme.encode())
    fsync_dir(into)
    fsync_dir(into.parent)
    fsync_dir(into.parent.parent)


def _cut(tail: TornTail) -> None:
    """What the register does at its start: zero a segment's torn bytes in place, cut a log file short."""
    fd = os.open(tail.path, os.O_RDWR)
    try:
        if tail.truncate:
            os.ftruncate(fd, tail.offset)
            os.fsync(fd)
        else:
            zeros = b"\0" * (tail.end - tail.offset)
            done = 0
            while done < len(zeros):
                done += os.pwrite(fd, zeros[done:], tail.offset + done)
            os.fdatasync(fd)
    finally:
        os.close(fd)


def _sentences(result: AuditResult, limit: int = 5) -> str:
    damage = result.damage
    text = "; ".join(str(f) for f in damage[:limit])
    return text + (f"; and {len(damage) - limit} more" if len(damage) > limit else "")


def repair_journal(config: Config, *, confirm: Callable[[list[TornTail]], bool] = lambda tails: True,
                   now: datetime | None = None) -> RepairDone:
    """Drop the journal's torn tails, keeping a copy of every dropped byte; refuse anything else."""
    if service_active():
        raise RepairRefused("the register service is running: stop it first (`sudo systemctl stop kassa`), "
                            "then run repair-journal again; nothing was changed")
    if not journal_exists(config):
        raise RepairRefused(f"there is no journal under {config.device.data_dir}: nothing to repair")
    result = audit(config, live=False)
    if result.damage:
        raise RepairRefused(
            f"the journal is damaged before its tail, which repair-journal never repairs: {_sentences(result)}. "
            "This is evidence for support: nothing was changed; do not reset, copy the whole data dir off the "
            "device and call support"
        )
    if not result.torn:
        return RepairDone(None, [], result.receipts)
    if not confirm(result.torn):
        raise RepairRefused("not confirmed; nothing was changed")
    now = now or datetime.now(UTC)
    into = _archive_dir(Path(config.device.data_dir), now)
    _keep(result.torn, into, config, now)
    for tail in result.torn:
        _cut(tail)
    after = audit(config, live=False)
    if not after.ok:
        raise ProvisionError(
            f"after dropping the torn tail the journal still reports: {'; '.join(str(f) for f in after.findings[:5])}; "
            f"the original files are kept in {into}: call support"
        )
    return RepairDone(into, result.torn, after.receipts)
