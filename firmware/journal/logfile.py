"""A small append-only log of framed JSON records, compacted by atomic replacement.

Used for the state records and the delivery marks: each append is one framed
record; `compact(snapshot)` replaces the whole file (temp + fsync + rename +
directory fsync) with one snapshot record. A torn last record is dropped and
reported; a bad record before the last is refused as corruption.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from firmware.errors import JournalCorrupt, JournalError, JournalFull
from firmware.journal.fileops import FULL_ERRNOS, FileOps
from firmware.journal.records import frame, scan

log = logging.getLogger(__name__)

Record = dict[str, Any]  # Any: one record, a JSON object as read back from the file


class LogFile:
    """Framed JSON records in one file; `load()` returns them, `append()` writes and syncs."""

    def __init__(self, path: str, ops: FileOps) -> None:
        self.path = path
        self.ops = ops
        self.fd: int | None = None
        self.end = 0
        self._repair: tuple[int, int] | None = None

    def load(self, recovery: list[str]) -> list[Record]:
        """Parse every record; note a torn tail in `recovery`. Writes nothing."""
        if not self.ops.exists(self.path):
            return []
        data = self.ops.read_file(self.path)
        result = scan(data)
        name = os.path.basename(self.path)
        if result.corrupt:
            raise JournalCorrupt(
                f"journal file {self.path} is damaged at byte offset {result.bad_at} (a record fails its checksum "
                "although complete records follow); it was left untouched: call service"
            )
        docs: list[Record] = []
        for offset, payload in result.records:
            try:
                docs.append(json.loads(payload))
            except ValueError:
                raise JournalCorrupt(f"journal file {self.path} is damaged at byte offset {offset} (not JSON); "
                                     "left untouched") from None
        self.end = result.end
        if result.bad_at is not None:
            sentence = (f"dropped {result.bad_end - result.bad_at} bytes of an incomplete record at offset "
                        f"{result.bad_at} of {name}")
            recovery.append(sentence)
            log.warning("journal recovery: %s", sentence)
            self._repair = (result.bad_at, result.bad_end)
        return docs

    def open_for_append(self) -> None:
        """Open (creating durably if needed) and clear a torn tail found by `load`."""
        new = not self.ops.exists(self.path)
        self.fd = self.ops.open(self.path, os.O_RDWR | os.O_CREAT)
        if new:
            self.ops.fsync(self.fd)
            self.ops.fsync_dir(os.path.dirname(self.path))
        if self._repair is not None:
            # Cut the torn bytes off so later appends follow the last good record.
            self.ops.ftruncate(self.fd, self._repair[0])
            self.ops.fsync(self.fd)
            self._repair = None

    def append(self, doc: Mapping[str, object]) -> None:
        """One record, durable on return. JournalFull/JournalError when it cannot be."""
        assert self.fd is not None
        record = frame(json.dumps(doc, separators=(",", ":")).encode())
        try:
            self.ops.write_all(self.fd, record, self.end)
            self.ops.fdatasync(self.fd)
        except OSError as exc:
            try:
                self.ops.ftruncate(self.fd, self.end)
            except OSError:
                pass
            if exc.errno in FULL_ERRNOS:
                raise JournalFull(f"the journal disk is full writing {self.path}; free disk space, then retry") from exc
            raise JournalError(f"cannot write {self.path} ({exc})") from exc
        self.end += len(record)

    def compact(self, snapshot: Mapping[str, object]) -> None:
        """Replace the file with one snapshot record (atomic; the old file stays if this fails)."""
        record = frame(json.dumps(snapshot, separators=(",", ":")).encode())
        self.ops.write_atomic(self.path, record)
        if self.fd is not None:
            self.ops.close(self.fd)
        self.fd = self.ops.open(self.path, os.O_RDWR)
        self.end = len(record)

    def close(self) -> None:
        if self.fd is not None:
            self.ops.close(self.fd)
            self.fd = None
