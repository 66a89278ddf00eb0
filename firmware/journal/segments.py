"""The receipt log: bounded, append-only segment files with a sidecar index once sealed.

Segment `seg-<first seq>.log` holds receipts `first..first+n-1` as framed
records (see records.py), written in place into a zero-preallocated file and
made durable with `fdatasync`. When a segment is full the next commit
renames the prepared `spare.log` to the next segment name (one directory
fsync); the full segment is then sealed: immutable, and a background thread
writes `seg-<first>.idx` (offsets, sale ids, last hash, CRC of the data) so
an open reads the small index instead of replaying the segment. Only the
last segment is ever scanned record by record, and only it may have a torn
tail. Sealed segments' CRCs are checked by `verify_sealed` (at open when
asked, else by the background verifier); every read checks its record's
CRC anyway. Archived segments (archive.py) stay in the seq map as
`ArchivedSegment`s and are read from their compressed file.
"""

from __future__ import annotations

import bisect
import errno
import hashlib
import json
import logging
import os
import re
import threading
import zlib
from array import array
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from firmware.chain import GENESIS, canonical_json
from firmware.errors import JournalCorrupt, JournalError, JournalFull, JournalLost
from firmware.journal.fileops import FULL_ERRNOS, FileOps
from firmware.journal.records import HEADER, HEADER_SIZE, MAGIC, ScanResult, check_at, frame, scan

if TYPE_CHECKING:
    from firmware.journal.archive import ArchiveReader

log = logging.getLogger(__name__)

SEGMENT_RE = re.compile(r"^seg-(\d{12})\.log$")
SPARE = "spare.log"

Doc = dict[str, Any]  # Any: a receipt, or a segment's index, a JSON object as the files hold it


def hash_matches(payload: bytes, digest: object) -> bool:
    """Check `digest` against the receipt's canonical JSON without re-serialising it.

    Keys are sorted and compact, so the top-level `"hash":"<digest>"` member
    can be cut out of the stored bytes to give exactly what `receipt_hash`
    hashes (firmware.chain).
    """
    if not isinstance(digest, str):
        return False
    needle = b'"hash":"' + digest.encode() + b'"'
    i = payload.find(needle)
    if i < 0:
        return False
    j = i + len(needle)
    if payload[i - 1 : i] == b",":
        body = payload[: i - 1] + payload[j:]
    elif payload[j : j + 1] == b",":
        body = payload[:i] + payload[j + 1 :]
    else:
        body = payload[:i] + payload[j:]
    return hashlib.sha256(body).hexdigest() == digest


def segment_name(first_seq: int) -> str:
    return f"seg-{first_seq:012d}.log"


@dataclass(eq=False)
class Segment:
    """One segment file: where its records start, and whether it is sealed."""

    path: str
    first_seq: int
    offsets: array[int] = field(default_factory=lambda: array("Q"))
    end: int = 0
    last_hash: str = GENESIS
    sealed: bool = False
    crc: int | None = None  # CRC of data[:end] from the index, not yet checked against the file
    damaged: str | None = None  # set by the verifier: what is wrong and where

    @property
    def count(self) -> int:
        return len(self.offsets)


@dataclass(eq=False)
class ArchivedSegment:
    """A sealed segment moved to a compressed archive file (see archive.py); read on demand."""

    path: str
    first_seq: int
    count: int
    end: int
    crc: int
    last_hash: str
    sealed: bool = True


def _corrupt(path: str, offset: int, why: str) -> JournalCorrupt:
    return JournalCorrupt(
        f"journal file {path} is damaged at byte offset {offset} ({why}); "
        "it was left untouched: stop selling on this device and call service to recover it from a backup"
    )


def _decode(path: str, offset: int, payload: bytes, expect_seq: int) -> Doc:
    try:
        doc = json.loads(payload)
    except ValueError:
        raise _corrupt(path, offset, "record is not JSON") from None
    if not isinstance(doc, dict) or doc.get("seq") != expect_seq:
        raise _corrupt(path, offset, f"expected receipt seq {expect_seq}, "
                                     f"found {doc.get('seq') if isinstance(doc, dict) else '?'}")
    return doc


class ReceiptLog:
    """Segments on disk plus the in-memory index (seq -> file offset, sale_id -> seq)."""

    def __init__(self, directory: str, ops: FileOps, *, segment_records: int, segment_bytes: int) -> None:
        self.dir = directory
        self.ops = ops
        self.segment_records = segment_records
        self.segment_bytes = segment_bytes
        self.segments: list[Segment | ArchivedSegment] = []
        self._firsts: list[int] = []
        self.sale_ids: dict[str, int] = {}
        self.next_seq = 1
        self.last_hash = GENESIS
        self._fd: int | None = None  # write fd of the last segment
        self._capacity = 0  # preallocated size of the last segment
        self._read_fds: dict[str, int] = {}
        self._read_lock = threading.Lock()
        self._spare_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._pending_repair: tuple[int, int] | None = None
        self.broken: str | None = None  # set after an fsync failure: refuse writes until reopened
        self.on_sealed = lambda segment: None  # housekeeper hook
        self.bytes_appended = 0
        self.archive: ArchiveReader | None = None  # reads ArchivedSegments; set by the journal
        # Guards changes to `segments`/`_firsts` (a roll appends, archiving replaces one item). Readers do not
        # take it: they bisect `_firsts` and index `segments`, which only grow at the end or swap an item
        # for one covering the same seqs, each a single atomic list operation.
        self._segs_lock = threading.Lock()

    # ------------------------------------------------------------------ open

    def load(self, recovery: list[str], *, verify: bool, archived: list[ArchivedSegment] = ()) -> None:  # type: ignore[assignment]
        """Read indexes and scan the last segment; refuse anything but a torn tail. Writes nothing.

        `archived`: the archive manifest's segments. A live file wins over its archived copy (a prune
        cut short by a crash); the last segment is always a live one.
        """
        live = {int(SEGMENT_RE.match(n).group(1)): n for n in self.ops.listdir(self.dir) if SEGMENT_RE.match(n)}  # type: ignore[union-attr]
        gone = {a.first_seq: a for a in archived if a.first_seq not in live}
        firsts = sorted(set(live) | set(gone))
        last_live = max(live) if live else None
        expect = 1
        for first in firsts:
            seg: Segment | ArchivedSegment
            if first in live:
                path = os.path.join(self.dir, live[first])
            else:
                path = gone[first].path
            if first != expect:
                raise JournalCorrupt(
                    f"journal segment {path} starts at seq {first} but seq {expect} was expected: "
                    "receipts are missing; the journal was left untouched, call service"
                )
            if first not in live:
                seg = gone[first]
                if last_live is None or first > last_live:
                    raise JournalLost(
                        f"journal {self.dir} has archived receipts from seq {first} but no live segment after them: "
                        "the newest receipts are missing; the journal was left untouched, restore it from a backup"
                    )
                if not self.ops.exists(seg.path):
                    raise JournalLost(
                        f"archive file {seg.path} (receipts {first}..{first + seg.count - 1}) is missing although "
                        "archive.json lists it; the journal was left untouched: restore the file from a backup"
                    )
            else:
                seg = Segment(path, first)
                if first != last_live:
                    self._load_sealed(seg, verify)
                else:
                    self._load_tail(seg, recovery)
            self.segments.append(seg)
            self._firsts.append(first)
            expect = first + seg.count
            if seg.count:
                self.last_hash = seg.last_hash
        self.next_seq = expect

    def _load_sealed(self, seg: Segment, verify: bool) -> None:
        seg.sealed = True
        idx = self._read_index(seg)
        if idx is not None:
            seg.offsets = array("Q", idx["offsets"])
            seg.end = idx["end"]
            seg.last_hash = idx["last_hash"]
            seg.crc = idx["crc"]
            for k, sale_id in enumerate(idx["sale_ids"]):
                if sale_id is not None:
                    self.sale_ids[sale_id] = seg.first_seq + k
            if verify:
                problem = self.check_sealed(seg)
                if problem is not None:
                    raise problem
            return
        data = self._read_prefix(seg.path, None)
        result = scan(data)
        if result.bad_at is not None:
            raise _corrupt(seg.path, result.bad_at, "record fails its checksum in a sealed segment")
        if not result.records:
            raise JournalLost(
                f"journal file {seg.path} is empty although later receipts exist: receipts from seq {seg.first_seq} "
                "are missing; the journal was left untouched, restore it from a backup"
            )
        self._index_records(seg, result)

    def check_sealed(self, seg: Segment) -> JournalCorrupt | None:
        """Compare a sealed segment's bytes with its index CRC; the error naming file and offset, or None."""
        if seg.crc is None:
            return None
        data = self._read_prefix(seg.path, seg.end)
        if len(data) == seg.end and zlib.crc32(data) == seg.crc:
            seg.crc = None  # checked
            return None
        result = scan(data)
        bad = result.bad_at if result.bad_at is not None else result.end
        if len(data) < seg.end:
            return _corrupt(seg.path, len(data), f"sealed segment is {seg.end - len(data)} bytes short")
        return _corrupt(seg.path, bad, "checksum mismatch in a sealed segment")

    def holds(self, seg: Segment | ArchivedSegment) -> bool:
        """True while `seg` still serves its seqs (not replaced by an archived copy)."""
        found = self.locate(seg.first_seq) if seg.count else None
        return found is not None and found[0] is seg

    def unverified(self) -> list[Segment]:
        """Sealed segments whose bytes were not checked against their index yet."""
        return [s for s in list(self.segments) if isinstance(s, Segment) and s.crc is not None]

    def _load_tail(self, seg: Segment, recovery: list[str]) -> None:
        data = self._read_prefix(seg.path, None)
        result = scan(data)
        if result.corrupt:
            raise _corrupt(seg.path, result.bad_at or 0, "record fails its checksum although a complete record "
                                                         f"follows at offset {result.next_valid}")
        self._index_records(seg, result)
        self._capacity = len(data)
        if result.bad_at is not None:
            dropped = result.bad_end - result.bad_at
            what = self._describe_torn(data, result)
            sentence = (
                f"dropped {dropped} bytes of an incomplete receipt record ({what}) at offset {result.bad_at} "
                f"of {os.path.basename(seg.path)}; the last complete commit is seq {seg.first_seq + seg.count - 1}"
            )
            recovery.append(sentence)
            log.warning("journal recovery: %s", sentence)
            self._pending_repair = (result.bad_at, result.bad_end)

    @staticmethod
    def _describe_torn(data: bytes, result: ScanResult) -> str:
        assert result.bad_at is not None
        if result.bad_at + HEADER_SIZE > len(data):
            return "truncated header"
        magic, n, _crc = HEADER.unpack_from(data, result.bad_at)
        if magic != MAGIC:
            return "no record header"
        if result.bad_at + HEADER_SIZE + n > len(data):
            return "truncated payload"
        return "checksum mismatch"

    def _index_records(self, seg: Segment, result: ScanResult) -> None:
        seq = seg.first_seq
        for offset, payload in result.records:
            doc = _decode(seg.path, offset, payload, seq)
            seg.offsets.append(offset)
            sale_id = doc.get("sale_id")
            if sale_id is not None:
                self.sale_ids[sale_id] = seq
            seg.last_hash = doc.get("hash", GENESIS)
            seq += 1
        seg.end = result.end

    def _read_prefix(self, path: str, size: int | None) -> bytes:
        data = self.ops.read_file(path)
        return data if size is None else data[:size]

    def _index_path(self, seg: Segment) -> str:
        return seg.path[: -len(".log")] + ".idx"

    def _read_index(self, seg: Segment) -> Doc | None:
        path = self._index_path(seg)
        if not self.ops.exists(path):
            return None
        try:
            raw = self.ops.read_file(path)
            body, _, crc = raw.rpartition(b"\n")
            if int(crc) != zlib.crc32(body):
                raise ValueError("index checksum")
            idx: Doc = json.loads(body)
            if idx["first_seq"] != seg.first_seq or len(idx["offsets"]) != len(idx["sale_ids"]) or not idx["offsets"]:
                raise ValueError("index shape")
            return idx
        except (ValueError, KeyError, OSError) as exc:
            log.warning("ignoring unreadable index %s (%s); scanning the segment instead", path, exc)
            return None

    def write_index(self, seg: Segment) -> None:
        """Seal: write the segment's index file (background thread or retention; safe to repeat)."""
        with self._index_lock:  # the housekeeper and a retention run may both get here
            if not self.ops.exists(self._index_path(seg)):
                self._write_index(seg)

    def _write_index(self, seg: Segment) -> None:
        data = self._read_prefix(seg.path, seg.end)
        sale_ids: list[str | None] = []
        for k, offset in enumerate(seg.offsets):
            payload = check_at(data, offset, seg.end)
            if payload is None:
                raise _corrupt(seg.path, offset, "record fails its checksum while sealing")
            sale_ids.append(_decode(seg.path, offset, payload, seg.first_seq + k).get("sale_id"))
        body = json.dumps(
            {"first_seq": seg.first_seq, "offsets": list(seg.offsets), "sale_ids": sale_ids,
             "end": seg.end, "last_hash": seg.last_hash, "crc": zlib.crc32(data)},
            separators=(",", ":"),
        ).encode()
        self.ops.write_atomic(self._index_path(seg), body + b"\n" + str(zlib.crc32(body)).encode())

    # ------------------------------------------------------------ writing

    def start_writing(self) -> None:
        """After a successful load: clear a torn tail, make sure a last segment exists, open it."""
        if not self.segments:
            self._new_segment(1)
        tail = self.segments[-1]
        assert isinstance(tail, Segment)
        self._fd = self.ops.open(tail.path, os.O_RDWR)
        self._capacity = self.ops.size(self._fd)
        if self._pending_repair is not None:
            start, end = self._pending_repair
            self.ops.write_all(self._fd, b"\0" * (min(end, self._capacity) - start), start)
            self.ops.fdatasync(self._fd)
            self._pending_repair = None
        for seg in self.segments[:-1]:
            if isinstance(seg, Segment) and not self.ops.exists(self._index_path(seg)):
                self.on_sealed(seg)

    def _new_segment(self, first_seq: int) -> Segment:
        """Make the next segment durable: the prepared spare if there is one, else a fresh file."""
        path = os.path.join(self.dir, segment_name(first_seq))
        spare = os.path.join(self.dir, SPARE)
        with self._spare_lock:
            have_spare = self.ops.exists(spare)
            if have_spare:
                self.ops.rename(spare, path)
                self.ops.fsync_dir(self.dir)
        if not have_spare:
            # No spare ready (disk full, or the housekeeper is behind): try a preallocated file, else an empty one.
            self.ops.create_zeroed(path, self.segment_bytes)
        seg = Segment(path, first_seq)
        with self._segs_lock:
            self.segments.append(seg)
            self._firsts.append(first_seq)
        return seg

    def replace(self, old: Segment, new: ArchivedSegment) -> None:
        """Archiving: `new` now serves `old`'s seqs; close any read handle on `old`'s file."""
        with self._segs_lock:
            i = bisect.bisect_right(self._firsts, old.first_seq) - 1
            if self.segments[i] is not old:
                raise JournalError(f"segment {old.path} changed while it was archived")
            self.segments[i] = new
        with self._read_lock:
            fd = self._read_fds.pop(old.path, None)
            if fd is not None:
                self.ops.close(fd)

    def prepare_spare(self) -> None:
        """SegmentKeeper: preallocate the next segment file so a roll is only a rename."""
        spare = os.path.join(self.dir, SPARE)
        if self.ops.exists(spare):
            return
        tmp = os.path.join(self.dir, "spare.prep")
        if not self.ops.create_zeroed(tmp, self.segment_bytes):
            self.ops.unlink(tmp)
            raise OSError(errno.ENOSPC, "no space to preallocate the next journal segment")
        with self._spare_lock:
            if self.ops.exists(spare):
                self.ops.unlink(tmp)
                return
            self.ops.rename(tmp, spare)
            self.ops.fsync_dir(self.dir)

    def append(self, receipt: Doc) -> bytes:
        """Write one receipt durably; return its stored bytes. Raise before anything counts as committed."""
        if self.broken:
            raise JournalError(self.broken)
        payload = canonical_json(receipt)
        if not hash_matches(payload, receipt.get("hash")):
            raise JournalError(
                f"receipt seq {receipt.get('seq')} does not match its own hash: it was changed after sealing; "
                "not committed"
            )
        record = frame(payload)
        tail = self.segments[-1]
        assert isinstance(tail, Segment)
        if tail.count and (tail.count >= self.segment_records
                           or tail.end + len(record) > max(self._capacity, self.segment_bytes)):
            self._roll()
            tail = self.segments[-1]
            assert isinstance(tail, Segment)
        assert self._fd is not None
        offset = tail.end
        try:
            self.ops.write_all(self._fd, record, offset)
        except OSError as exc:
            if getattr(exc, "written", len(record)):
                self._undo_write(offset, getattr(exc, "written", len(record)))
            if exc.errno in FULL_ERRNOS:
                raise JournalFull(
                    f"the journal disk is full ({os.strerror(exc.errno)} writing {tail.path}): "
                    "the sale was NOT committed; free disk space (sync and prune old receipts), then retry"
                ) from exc
            raise JournalError(f"cannot write the journal ({exc}); the sale was NOT committed") from exc
        try:
            self.ops.fdatasync(self._fd)
        except OSError as exc:
            # After a failed fsync the page cache state is unknown: stop writing until reopened.
            self.broken = f"the journal disk failed a sync ({exc}); restart the register to reopen the journal"
            raise JournalError(f"cannot make the sale durable ({exc}); the sale was NOT committed") from exc
        tail.offsets.append(offset)
        tail.end = offset + len(record)
        if offset + len(record) > self._capacity:
            self._capacity = offset + len(record)
        tail.last_hash = receipt["hash"]
        if receipt.get("sale_id") is not None:
            self.sale_ids[receipt["sale_id"]] = receipt["seq"]
        self.last_hash = receipt["hash"]
        self.next_seq = receipt["seq"] + 1
        self.bytes_appended += len(record)
        return payload

    def _undo_write(self, offset: int, length: int) -> None:
        """Clear whatever part of a failed record reached the file, so no torn record sits before later ones."""
        try:
            assert self._fd is not None
            if offset + length > self._capacity:
                self.ops.ftruncate(self._fd, max(offset, self._capacity))
            if offset < self._capacity:
                self.ops.write_all(self._fd, b"\0" * (min(self._capacity, offset + length) - offset), offset)
        except OSError as exc:
            self.broken = f"the journal could not clean up after a failed write ({exc}); restart the register"

    def _roll(self) -> None:
        old = self.segments[-1]
        try:
            seg = self._new_segment(self.next_seq)
        except OSError as exc:
            if exc.errno in FULL_ERRNOS:
                raise JournalFull(
                    f"the journal disk is full (cannot start a new segment: {exc}); the sale was NOT committed; "
                    "free disk space, then retry"
                ) from exc
            raise JournalError(f"cannot start a new journal segment ({exc}); the sale was NOT committed") from exc
        assert self._fd is not None
        try:
            self.ops.close(self._fd)
            self._fd = None
            self._fd = self.ops.open(seg.path, os.O_RDWR)
            self._capacity = self.ops.size(self._fd)
        except OSError as exc:
            self.broken = f"the journal could not open its new segment ({exc}); restart the register"
            raise JournalError(f"cannot open the new journal segment ({exc}); the sale was NOT committed") from exc
        old.sealed = True
        self.on_sealed(old)

    # ------------------------------------------------------------ reading

    def locate(self, seq: int) -> tuple[Segment | ArchivedSegment, int] | None:
        if seq < 1 or seq >= self.next_seq:
            return None
        i = bisect.bisect_right(self._firsts, seq) - 1
        seg = self.segments[i]
        k = seq - seg.first_seq
        if k >= seg.count:
            return None
        return seg, k

    def read_payload(self, seq: int) -> bytes | None:
        for _attempt in range(3):
            found = self.locate(seq)
            if found is None:
                return None
            seg, k = found
            if isinstance(seg, ArchivedSegment):
                assert self.archive is not None
                return self.archive.read(seg, k)
            try:
                return self._read_live(seg, k, seq)
            except FileNotFoundError:
                again = self.locate(seq)
                if again is not None and again[0] is seg:  # not archived meanwhile: the file is really gone
                    raise
        raise JournalError(f"receipt seq {seq} moved between files three times while being read; retry")

    def _read_live(self, seg: Segment, k: int, seq: int) -> bytes:
        offset = seg.offsets[k]
        length = (seg.offsets[k + 1] if k + 1 < seg.count else seg.end) - offset
        with self._read_lock:
            fd = self._read_fds.get(seg.path)
            if fd is None:
                if len(self._read_fds) >= 8:
                    _path, old = self._read_fds.popitem()
                    self.ops.close(old)
                fd = self.ops.open(seg.path, os.O_RDONLY)
                self._read_fds[seg.path] = fd
            data = self.ops.pread(fd, length, offset)
        payload = check_at(data, 0, len(data))
        if payload is None:
            raise _corrupt(seg.path, offset, f"receipt seq {seq} fails its checksum")
        return payload

    def bytes_used(self) -> int:
        total = 0
        for name in self.ops.listdir(self.dir):
            try:
                total += os.path.getsize(os.path.join(self.dir, name))
            except OSError:
                pass
        return total

    def close(self) -> None:
        with self._read_lock:
            for fd in self._read_fds.values():
                self.ops.close(fd)
            self._read_fds.clear()
        if self._fd is not None:
            self.ops.close(self._fd)
            self._fd = None
