"""Retention: sealed segments whose receipts are all confirmed and old enough move to compressed archive files.

Layout, beside the live segments in `data_dir/journal/`:

- `seg-<first>.log.gz`: the sealed segment's bytes `[0, end)`, gzip-compressed
  and otherwise unchanged (the same framed, CRC-checked records).
- `archive.json`: the manifest. For each archived segment: first seq, count,
  end, CRC of the uncompressed bytes and last hash; a CRC line of its own.
  Seqs, the hash chain and the high-water mark carry on across it: archived
  receipts stay in the seq map and are read (slower) from their file.

One archive step, each part durable before the next: check the segment (its
CRC, every record, every receipt confirmed and older than the cutoff); write
the .gz (temp, fsync, rename, directory fsync) and read it back; rewrite the
manifest atomically; switch readers to the archive; unlink the live segment
and its index; fsync the directory. A crash at any point leaves the live
segment, or both copies (then the live one is used and the next run prunes
it), never neither. A segment holding any receipt that is not confirmed is
never touched.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from firmware.clock import iso_utc, parse_iso_utc
from firmware.errors import JournalCorrupt, JournalError, JournalLost
from firmware.journal.fileops import FileOps
from firmware.journal.records import check_at, scan
from firmware.journal.segments import ArchivedSegment, ReceiptLog, Segment

log = logging.getLogger(__name__)

MANIFEST = "archive.json"
MANIFEST_FORMAT = 1


class ArchiveResult(NamedTuple):
    """What one `archive_confirmed` run did, and why the sealed segments it left live stayed."""

    files: list[str]  # archive files written (or completed) by this run
    receipts: int  # receipts moved out of the live journal
    first_seq: int | None
    last_seq: int | None
    bytes_freed: int  # live segment bytes removed
    bytes_archived: int  # compressed bytes written
    kept: list[str]  # one sentence per sealed segment left live


def archive_name(first_seq: int) -> str:
    return f"seg-{first_seq:012d}.log.gz"


# ---------------------------------------------------------------- manifest


def read_manifest(ops: FileOps, directory: str) -> list[ArchivedSegment]:
    """The archived segments listed in `archive.json` (none when there is no manifest)."""
    path = os.path.join(directory, MANIFEST)
    if not ops.exists(path):
        return []
    try:
        raw = ops.read_file(path)
        body, _, crc = raw.rpartition(b"\n")
        if int(crc) != zlib.crc32(body):
            raise ValueError("checksum mismatch")
        doc = json.loads(body)
        if doc["format"] > MANIFEST_FORMAT:
            raise ValueError(f"format {doc['format']} is newer than this firmware")
        return [ArchivedSegment(os.path.join(directory, archive_name(e["first"])), e["first"], e["count"], e["end"],
                                e["crc"], e["last_hash"]) for e in doc["segments"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise JournalCorrupt(
            f"journal archive manifest {path} is unreadable ({exc}); it was left untouched: call service"
        ) from None


def write_manifest(ops: FileOps, directory: str, segments: list[ArchivedSegment]) -> None:
    entries = [{"first": s.first_seq, "count": s.count, "end": s.end, "crc": s.crc, "last_hash": s.last_hash}
               for s in sorted(segments, key=lambda s: s.first_seq)]
    body = json.dumps({"format": MANIFEST_FORMAT, "segments": entries}, separators=(",", ":")).encode()
    ops.write_atomic(os.path.join(directory, MANIFEST), body + b"\n" + str(zlib.crc32(body)).encode())


# ---------------------------------------------------------------- reading


class ArchiveReader:
    """Reads receipts from archive files; keeps the last two decompressed (refunds and resends cluster)."""

    def __init__(self, ops: FileOps, keep: int = 2) -> None:
        self._ops = ops
        self._keep = keep
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[bytes, list[int]]] = OrderedDict()

    def read(self, seg: ArchivedSegment, k: int) -> bytes:
        with self._lock:
            entry = self._cache.get(seg.path)
            if entry is None:
                entry = self._cache[seg.path] = self._load(seg)
                while len(self._cache) > self._keep:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(seg.path)
        data, offsets = entry
        end = offsets[k + 1] if k + 1 < len(offsets) else seg.end
        payload = check_at(data, offsets[k], end)
        if payload is None:
            raise _damaged(seg.path, f"receipt seq {seg.first_seq + k} fails its checksum")
        return payload

    def _load(self, seg: ArchivedSegment) -> tuple[bytes, list[int]]:
        try:
            raw = self._ops.read_file(seg.path)
        except FileNotFoundError:
            raise JournalLost(
                f"archive file {seg.path} (receipts {seg.first_seq}..{seg.first_seq + seg.count - 1}) is missing; "
                "restore it from a backup"
            ) from None
        data = decompress(seg.path, raw)
        if len(data) != seg.end or zlib.crc32(data) != seg.crc:
            raise _damaged(seg.path, "its content does not match the checksum in archive.json")
        result = scan(data)
        if result.bad_at is not None or len(result.records) != seg.count:
            raise _damaged(seg.path, f"it holds {len(result.records)} intact receipts, archive.json says {seg.count}")
        return data, [offset for offset, _ in result.records]

    def forget(self, path: str) -> None:
        with self._lock:
            self._cache.pop(path, None)


def decompress(path: str, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise _damaged(path, f"it cannot be decompressed: {exc}") from None


def _damaged(path: str, why: str) -> JournalCorrupt:
    return JournalCorrupt(f"journal archive file {path} is damaged ({why}); left untouched: restore it from a backup")


# ---------------------------------------------------------------- archiving


class Archiver:
    """Moves eligible sealed segments of one journal to archive files (one run at a time)."""

    def __init__(self, receipts: ReceiptLog, directory: str, ops: FileOps, *,
                 all_confirmed: Callable[[int, int], bool], flush: Callable[[], None],
                 alarm: Callable[[str], None], archived: list[ArchivedSegment]) -> None:
        self._log = receipts
        self._dir = directory
        self._ops = ops
        self._all_confirmed = all_confirmed
        self._flush = flush
        self._alarm = alarm
        self._archived = {a.first_seq: a for a in archived}  # the manifest, as last written
        self._lock = threading.Lock()

    @property
    def archived(self) -> list[ArchivedSegment]:
        return sorted(self._archived.values(), key=lambda a: a.first_seq)

    def run(self, older_than: datetime) -> ArchiveResult:
        if older_than.tzinfo is None:
            older_than = older_than.replace(tzinfo=UTC)
        with self._lock:
            self._flush()  # act only on confirmations that are durable: a crash must not un-confirm an archived receipt
            files: list[str] = []
            kept: list[str] = []
            seqs: list[int] = []
            freed = written = 0
            for seg in list(self._log.segments)[:-1]:  # never the segment being written
                if not isinstance(seg, Segment):
                    continue
                if seg.sealed:
                    try:  # the housekeeper may not have indexed it yet: the same work, done here
                        self._log.write_index(seg)
                    except (OSError, JournalError) as exc:
                        log.warning("cannot index %s for archiving yet: %s", seg.path, exc)
                why = self._why_not(seg)
                if why is None:
                    data, why = self._checked(seg, older_than)
                    if data is not None:
                        written += self._archive(seg, data)
                        files.append(archive_name(seg.first_seq))
                        seqs += [seg.first_seq, seg.first_seq + seg.count - 1]
                        freed += seg.end
                        continue
                kept.append(f"{os.path.basename(seg.path)} (seq {seg.first_seq}..{seg.first_seq + seg.count - 1}) "
                            f"stays live: {why}")
            self._drop_stale_indexes()
            receipts = sum(seqs[i + 1] - seqs[i] + 1 for i in range(0, len(seqs), 2))
            return ArchiveResult(files, receipts, min(seqs, default=None), max(seqs, default=None), freed, written,
                                 kept)

    def _why_not(self, seg: Segment) -> str | None:
        last = seg.first_seq + seg.count - 1
        if not seg.sealed or not self._ops.exists(self._log._index_path(seg)):
            return "not sealed and indexed yet"
        if not self._all_confirmed(seg.first_seq, last):
            return "it holds receipts the fleet has not confirmed"
        return None

    def _checked(self, seg: Segment, older_than: datetime) -> tuple[bytes | None, str]:
        """The segment's bytes when every record is intact and older than the cutoff, else why not."""
        idx = self._log._read_index(seg)
        data = self._ops.read_file(seg.path)[: seg.end]
        if idx is None or len(data) != seg.end or zlib.crc32(data) != idx["crc"]:
            problem = self._log.check_sealed(seg) if seg.crc is not None else None
            sentence = str(problem) if problem else (
                f"journal file {seg.path} does not match its index ({os.path.basename(self._log._index_path(seg))})"
            )
            self._alarm(sentence)
            return None, "it is damaged (see the alarm)"
        result = scan(data)
        if result.bad_at is not None or [o for o, _ in result.records] != list(seg.offsets):
            self._alarm(f"journal file {seg.path} is damaged at byte offset {result.bad_at or result.end}: "
                        "not archived")
            return None, "it is damaged (see the alarm)"
        for k, (_offset, payload) in enumerate(result.records):
            doc = json.loads(payload)
            if doc.get("seq") != seg.first_seq + k:
                self._alarm(f"journal file {seg.path} holds seq {doc.get('seq')} where {seg.first_seq + k} belongs")
                return None, "it is damaged (see the alarm)"
            created = doc.get("created_at")
            if not created or parse_iso_utc(created) >= older_than:
                return None, f"receipt seq {doc['seq']} is from {created}, not before {iso_utc(older_than)}"
        return data, ""

    def _archive(self, seg: Segment, data: bytes) -> int:
        path = os.path.join(self._dir, archive_name(seg.first_seq))
        packed = gzip.compress(data, compresslevel=6, mtime=0)
        self._ops.write_atomic(path, packed)
        if decompress(path, self._ops.read_file(path)) != data:
            raise JournalError(f"archive file {path} did not read back as written; the live segment was kept")
        archived = ArchivedSegment(path, seg.first_seq, seg.count, seg.end, zlib.crc32(data), seg.last_hash)
        self._archived[seg.first_seq] = archived
        try:
            write_manifest(self._ops, self._dir, list(self._archived.values()))
        except OSError:
            del self._archived[seg.first_seq]
            raise
        # Durable now: readers switch over, then the live copy goes.
        self._log.replace(seg, archived)
        self._drop_sale_ids(seg, data)
        self._ops.unlink(seg.path)
        index = self._log._index_path(seg)
        if self._ops.exists(index):
            self._ops.unlink(index)
        self._ops.fsync_dir(self._dir)
        log.info("journal: archived receipts %d..%d to %s", seg.first_seq, seg.first_seq + seg.count - 1, path)
        return len(packed)

    def _drop_sale_ids(self, seg: Segment, data: bytes) -> None:
        # Retry de-duplication only ever concerns the sale in progress; archived sales are days old.
        for k, (_offset, payload) in enumerate(scan(data).records):
            sale_id = json.loads(payload).get("sale_id")
            if sale_id is not None and self._log.sale_ids.get(sale_id) == seg.first_seq + k:
                self._log.sale_ids.pop(sale_id, None)

    def _drop_stale_indexes(self) -> None:
        """Indexes left by a prune that a crash cut short (their segment is archived, its log gone)."""
        for first in self._archived:
            stem = os.path.join(self._dir, f"seg-{first:012d}")
            try:
                if self._ops.exists(stem + ".idx") and not self._ops.exists(stem + ".log"):
                    self._ops.unlink(stem + ".idx")
            except OSError as exc:
                log.warning("journal: stale index %s.idx not removed: %s", stem, exc)


def describe(segments: Sequence[Segment | ArchivedSegment]) -> dict[str, int]:
    """Counts for health(): live and archived segments."""
    archived = [s for s in segments if isinstance(s, ArchivedSegment)]
    return {"segments": len(segments) - len(archived), "archived_segments": len(archived),
            "archived_receipts": sum(s.count for s in archived)}
