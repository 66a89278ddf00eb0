"""A read-only audit of a journal directory: every record, the whole hash chain, and nothing written.

`audit_journal(data_dir)` never uses the writing `Journal`: no threads, no
torn-tail repair, no temp-file cleanup, no high-water update, no index or
spare file. Every file is opened O_RDONLY (and O_NOATIME where allowed), so
the data dir stays byte-identical. It reads every receipt segment — live
`seg-*.log` (sealed and the tail) and archived `seg-*.log.gz` listed in
`archive.json` — and checks each record's framing and CRC, seq continuity,
the receipt id's shape, that each receipt's `hash` is the hash of its own
content and that its `prev_hash` is the hash of the receipt before it; then
the sealed segments' indexes, the high-water mark and the delivery and
state logs. What it finds is returned as `Finding`s naming file, seq and
offset; a torn tail (what the next start would drop) is a finding too, with
a `TornTail` saying exactly which bytes the start would clear.

Epochs are read defensively from meta.json (`epoch`, and the optional
`epochs` list of {"epoch", "first_seq", ...} of format 2): a receipt id may
be `store:register:epoch:seq` or the older `register:epoch:seq`; its epoch
must be the one whose seq range holds it (any epoch meta.json names when it
has no usable `epochs` list). Seqs and the hash chain carry on across epochs.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from firmware.chain import GENESIS, receipt_hash
from firmware.contract.receipt_id import parse_receipt_id
from firmware.errors import JournalError
from firmware.journal.archive import MANIFEST, read_manifest
from firmware.journal.audit_delivery import DeliveryCounts, delivery_counts
from firmware.journal.fileops import FileOps
from firmware.journal.journal import JOURNAL_DIR
from firmware.journal.meta import FORMAT, HWM, META
from firmware.journal.records import HEADER, HEADER_SIZE, MAGIC, ScanResult, scan
from firmware.journal.segments import SEGMENT_RE, hash_matches

__all__ = ["TORN_TAIL", "Finding", "TornTail", "DeliveryCounts", "AuditResult", "audit_journal", "JOURNAL_DIR"]

LOG_FILES = ("delivery.log", "state.log")
TORN_TAIL = "torn tail"

Receipt = Mapping[str, object]


@dataclass(frozen=True)
class Finding:
    """One thing wrong, in a sentence naming the file (and seq and byte offset where they apply)."""

    what: str  # TORN_TAIL, "checksum", "altered", "chain", "seq", "receipt id", "archive", "index", "identity", "lost"
    file: str  # file name inside the journal directory (or beside it, for the high-water mark)
    detail: str
    seq: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        return self.detail


@dataclass(frozen=True)
class TornTail:
    """The bytes the next start would drop: [offset, end) of `path`, zero-filled (segment) or cut off (log)."""

    path: str
    offset: int
    end: int
    truncate: bool  # True for delivery.log/state.log (cut to `offset`), False for a segment (zeroed in place)
    last_seq: int | None  # the last complete receipt before it (segments only)


@dataclass
class AuditResult:
    directory: str
    findings: list[Finding] = field(default_factory=list)
    torn: list[TornTail] = field(default_factory=list)
    receipts: int = 0  # the highest seq read
    files: list[str] = field(default_factory=list)  # the receipt files read, in seq order
    epochs: list[str] = field(default_factory=list)
    delivery: DeliveryCounts | None = None
    bytes_used: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def damage(self) -> list[Finding]:
        """Findings that are not torn tails: evidence, never to be repaired."""
        return [f for f in self.findings if f.what != TORN_TAIL]


def _read(path: str) -> bytes:
    """The whole file, opened read-only (without touching its access time where the kernel lets us)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    except PermissionError:
        fd = os.open(path, os.O_RDONLY)
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 22)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _torn_kind(data: bytes, at: int) -> str:
    if at + HEADER_SIZE > len(data):
        return "truncated header"
    magic, n, _crc = HEADER.unpack_from(data, at)
    if magic != MAGIC:
        return "no record header"
    if at + HEADER_SIZE + n > len(data):
        return "truncated payload"
    return "checksum mismatch"


@dataclass
class _Identity:
    found: bool = False  # meta.json exists
    store: str | None = None
    register: str | None = None
    epochs: list[str] = field(default_factory=list)
    ranges: list[tuple[int, str]] = field(default_factory=list)  # (first_seq, epoch), ascending

    def epoch_of(self, seq: int) -> str | None:
        """The epoch whose seq range holds `seq`; None when meta.json lists no epochs."""
        found = None
        for first, epoch in self.ranges:
            if first > seq:
                break
            found = epoch
        return found


def _identity(directory: str, result: AuditResult, store: str | None, register: str | None) -> _Identity:
    path = os.path.join(directory, META)
    ident = _Identity()
    if not os.path.exists(path):
        return ident
    ident.found = True
    try:
        raw = json.loads(_read(path))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        fmt = int(raw.get("format", 1))
    except (ValueError, TypeError) as exc:
        result.findings.append(Finding("identity", META, f"journal identity file {META} is unreadable ({exc})"))
        return ident
    if fmt > FORMAT:
        result.findings.append(Finding("identity", META, f"{META} has format {fmt}, newer than this firmware "
                                                         f"({FORMAT}): audit it with the firmware that wrote it"))
    ident.store = raw.get("store") if isinstance(raw.get("store"), str) else None
    ident.register = raw.get("register") if isinstance(raw.get("register"), str) else None
    if isinstance(raw.get("epoch"), str):
        ident.epochs.append(raw["epoch"])
    epochs = raw.get("epochs")
    for entry in epochs if isinstance(epochs, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("epoch"), str):
            if entry["epoch"] not in ident.epochs:
                ident.epochs.append(entry["epoch"])
            if isinstance(entry.get("first_seq"), int):
                ident.ranges.append((entry["first_seq"], entry["epoch"]))
    ident.ranges.sort()
    if ident.ranges and ident.ranges[0][0] != 1:
        result.findings.append(Finding("identity", META, f"{META} lists epochs that do not start at seq 1"))
        ident.ranges = []
    for name, want, have in (("store", store, ident.store), ("register", register, ident.register)):
        if want is not None and have != want:
            result.findings.append(Finding("identity", META, f"the journal belongs to {name} {have}, not {want}"))
    result.epochs = list(ident.epochs)
    return ident


class _ChainWalk:
    """Checks receipts in seq order: seq, id shape, own hash, link to the one before."""

    def __init__(self, ident: _Identity, result: AuditResult, on_receipt: Callable[[Receipt], None] | None) -> None:
        self.ident = ident
        self.result = result
        self.on_receipt = on_receipt
        self.expect = 1
        self.prev_hash = GENESIS
        self.prev_where = ""

    def _find(self, what: str, name: str, seq: int, offset: int, why: str) -> None:
        self.result.findings.append(Finding(what, name, f"receipt seq {seq} in {name} at byte offset {offset}: {why}",
                                            seq, offset))

    def records(self, name: str, records: list[tuple[int, bytes]]) -> None:
        for offset, payload in records:
            self.record(name, offset, payload)

    def record(self, name: str, offset: int, payload: bytes) -> None:
        seq = self.expect
        self.expect += 1
        self.result.receipts = seq
        try:
            doc = json.loads(payload)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            self._find("checksum", name, seq, offset, "the record is not a JSON receipt although its checksum holds")
            self.prev_hash, self.prev_where = "", f"seq {seq} ({name})"
            return
        if doc.get("seq") != seq:
            self._find("seq", name, seq, offset, f"the record says seq {doc.get('seq')!r}; seqs must run without gaps")
        self._check_id(name, seq, offset, doc.get("receipt_id"))
        digest = doc.get("hash")
        if not (hash_matches(payload, digest) or receipt_hash(doc) == digest):
            self._find("altered", name, seq, offset,
                       "its content does not match its hash: it was altered after it was written")
        link = doc.get("prev_hash")
        if link != self.prev_hash and self.prev_hash != "":
            self._find("chain", name, seq, offset,
                       f"its prev_hash does not match the hash of the receipt before it ({self.prev_where}): "
                       "the chain is broken")
        self.prev_hash = digest if isinstance(digest, str) else ""
        self.prev_where = f"seq {seq} in {name}"
        if self.on_receipt is not None:
            self.on_receipt(doc)

    def _check_id(self, name: str, seq: int, offset: int, rid: object) -> None:
        key = parse_receipt_id(rid)
        ident = self.ident
        problem = None
        if key is None:
            problem = f"receipt_id {rid!r} is neither store:register:epoch:seq nor register:epoch:seq"
        elif key.seq != seq:
            problem = f"receipt_id {rid!r} does not end in its seq {seq}"
        elif ident.register is not None and key.register != ident.register:
            problem = f"receipt_id {rid!r} names register {key.register}, not {ident.register}"
        elif key.store is not None and ident.store is not None and key.store != ident.store:
            problem = f"receipt_id {rid!r} names store {key.store}, not {ident.store}"
        elif ident.epochs and key.epoch not in ident.epochs:
            problem = f"receipt_id {rid!r} names epoch {key.epoch}, which {META} does not list"
        elif ident.ranges and key.epoch != ident.epoch_of(seq):
            problem = (f"receipt_id {rid!r} names epoch {key.epoch}, but seq {seq} belongs to epoch "
                       f"{ident.epoch_of(seq)}")
        if problem is not None:
            self._find("receipt id", name, seq, offset, problem)


def _scan_problem(name: str, data: bytes, result: ScanResult, tail: bool) -> tuple[Finding | None, bool]:
    """(a finding for bytes that do not frame, whether they are a torn tail)."""
    if result.bad_at is None:
        return None, False
    at = result.bad_at
    if result.corrupt:
        return Finding("checksum", name, f"{name} is damaged at byte offset {at}: a record fails its checksum "
                                         f"although a complete record follows at offset {result.next_valid}", None,
                       at), False
    if not tail:
        return Finding("checksum", name, f"{name} is damaged at byte offset {at} ({_torn_kind(data, at)}) in a sealed "
                                         "segment", None, at), False
    return None, True


def _live_segment(path: str, walk: _ChainWalk, result: AuditResult, tail: bool) -> None:
    name = os.path.basename(path)
    data = _read(path)
    scanned = scan(data)
    problem, torn = _scan_problem(name, data, scanned, tail)
    if problem is not None:
        result.findings.append(problem)
    first = walk.expect
    walk.records(name, scanned.records)
    if not scanned.records and not tail:
        result.findings.append(Finding("lost", name, f"{name} holds no receipt although later receipts exist: "
                                                     f"receipts from seq {first} are missing", first))
    if torn:
        at, end = scanned.bad_at or 0, scanned.bad_end
        last = walk.expect - 1 if walk.expect > 1 else None
        result.torn.append(TornTail(path, at, end, False, last))
        result.findings.append(Finding(
            TORN_TAIL, name, f"torn tail at offset {at} of {name}: {end - at} bytes of an incomplete receipt record "
                             f"({_torn_kind(data, at)}) after seq {last or 0}; would be dropped on next start",
            last, at))
    if not tail:
        _check_index(path, data, scanned, first, result)


def _check_index(path: str, data: bytes, scanned: ScanResult, first: int, result: AuditResult) -> None:
    """A sealed segment's index must describe its bytes: the register trusts it at open."""
    idx_path = path[: -len(".log")] + ".idx"
    if not os.path.exists(idx_path):
        return
    name = os.path.basename(idx_path)
    try:
        body, _, crc = _read(idx_path).rpartition(b"\n")
        if int(crc) != zlib.crc32(body):
            return  # the register ignores an unreadable index and scans the segment instead
        idx = json.loads(body)
        end, offsets, idx_crc = int(idx["end"]), list(idx["offsets"]), int(idx["crc"])
    except (ValueError, KeyError, TypeError):
        return
    offsets_found = [offset for offset, _ in scanned.records]
    if (end != scanned.end or offsets != offsets_found or zlib.crc32(data[:end]) != idx_crc
            or idx.get("first_seq") != first):
        result.findings.append(Finding("index", name, f"{name} does not describe {os.path.basename(path)} "
                                                      f"(the segment's bytes or record offsets differ from its index)"))


def _archived_segment(path: str, count: int, end: int, crc: int, last_hash: str, walk: _ChainWalk,
                      result: AuditResult) -> None:
    name = os.path.basename(path)
    if not os.path.exists(path):
        first = walk.expect
        result.findings.append(Finding("lost", name, f"archive file {name} (receipts {first}..{first + count - 1}) is "
                                                     f"missing although {MANIFEST} lists it", first))
        walk.expect += count
        walk.prev_hash = ""
        return
    try:
        data = gzip.decompress(_read(path))
    except (OSError, EOFError, zlib.error) as exc:
        result.findings.append(Finding("archive", name, f"archive file {name} cannot be decompressed ({exc})"))
        walk.expect += count
        walk.prev_hash = ""
        return
    if len(data) != end or zlib.crc32(data) != crc:
        result.findings.append(Finding("archive", name, f"archive file {name} does not match the size and checksum "
                                                        f"{MANIFEST} recorded for it"))
    scanned = scan(data)
    problem, _torn = _scan_problem(name, data, scanned, tail=False)
    if problem is not None:
        result.findings.append(problem)
    first = walk.expect
    walk.records(name, scanned.records)
    if len(scanned.records) != count:
        result.findings.append(Finding("archive", name, f"archive file {name} holds {len(scanned.records)} intact "
                                                        f"receipts from seq {first}, {MANIFEST} says {count}", first))
        walk.expect = first + count
    if walk.prev_hash and walk.prev_hash != last_hash:
        result.findings.append(Finding("archive", name, f"the last receipt of archive file {name} does not have the "
                                                        f"hash {MANIFEST} recorded for it", walk.expect - 1))


def _receipts(directory: str, walk: _ChainWalk, result: AuditResult) -> None:
    live = {int(m.group(1)): n for n in os.listdir(directory) if (m := SEGMENT_RE.match(n))}
    try:
        archived = {a.first_seq: a for a in read_manifest(FileOps(), directory) if a.first_seq not in live}
    except JournalError as exc:
        result.findings.append(Finding("archive", MANIFEST, str(exc)))
        archived = {}
    last_live = max(live) if live else None
    for first in sorted(set(live) | set(archived)):
        name = live[first] if first in live else os.path.basename(archived[first].path)
        if first != walk.expect:
            result.findings.append(Finding("lost", name, f"{name} starts at seq {first} but seq {walk.expect} was "
                                                         f"expected: receipts {walk.expect}..{first - 1} are missing"
                                           if first > walk.expect else
                                           f"{name} starts at seq {first}, inside the receipts before it", walk.expect))
            walk.expect = first
        result.files.append(name)
        if first in live:
            _live_segment(os.path.join(directory, live[first]), walk, result, tail=first == last_live)
        else:
            seg = archived[first]
            if last_live is None or first > last_live:
                result.findings.append(Finding("lost", name, f"archived receipts from seq {first} have no live segment "
                                                             "after them: the newest receipts are missing", first))
            _archived_segment(seg.path, seg.count, seg.end, seg.crc, seg.last_hash, walk, result)


def _read_mark(data_dir: str) -> tuple[str, int] | None:
    """(epoch, seq) of the high-water mark; None when absent or unreadable (the register rewrites such a mark)."""
    path = os.path.join(data_dir, HWM)
    if not os.path.exists(path):
        return None
    try:
        raw = json.loads(_read(path))
        return str(raw["epoch"]), int(raw["seq"])
    except (ValueError, KeyError, TypeError):
        return None


def _high_water(mark: tuple[str, int] | None, ident: _Identity, result: AuditResult) -> None:
    if mark is None or mark[1] <= 0:
        return
    epoch, seq = mark
    if ident.epochs and epoch not in ident.epochs:
        result.findings.append(Finding("lost", HWM, f"this device committed receipts up to seq {seq} in epoch {epoch} "
                                                    f"({HWM}), but the journal is epoch {ident.epochs[0]}: it was "
                                                    "replaced"))
    elif seq > result.receipts:
        result.findings.append(Finding("lost", HWM, f"the journal ends at seq {result.receipts} but this device "
                                                    f"committed up to seq {seq} ({HWM}): receipts "
                                                    f"{result.receipts + 1}..{seq} are missing", result.receipts + 1))


def _log_file(directory: str, name: str, result: AuditResult) -> list[object]:
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return []
    data = _read(path)
    scanned = scan(data)
    problem, torn = _scan_problem(name, data, scanned, tail=True)
    if problem is not None:
        result.findings.append(problem)
    docs: list[object] = []
    for offset, payload in scanned.records:
        try:
            docs.append(json.loads(payload))
        except ValueError:
            result.findings.append(Finding("checksum", name, f"{name} is damaged at byte offset {offset} (not JSON)",
                                           None, offset))
    if torn:
        at = scanned.bad_at or 0
        result.torn.append(TornTail(path, at, len(data), True, None))
        result.findings.append(Finding(TORN_TAIL, name, f"torn tail at offset {at} of {name}: {len(data) - at} "
                                                        f"bytes of an incomplete record ({_torn_kind(data, at)}); "
                                                        "would be dropped on next start", None, at))
    return docs


def audit_journal(data_dir: str | os.PathLike[str], *, store: str | None = None, register: str | None = None,
                  on_receipt: Callable[[Receipt], None] | None = None) -> AuditResult:
    """Check the journal under `data_dir` without writing anything; `on_receipt` sees every receipt in seq order.

    OSError (unreadable file, permissions) propagates: the caller says what to do about it.
    """
    data_dir = os.fspath(data_dir)
    directory = os.path.join(data_dir, JOURNAL_DIR)
    result = AuditResult(directory)
    mark = _read_mark(data_dir)  # before the receipts: a register committing meanwhile only moves past it
    if not os.path.isdir(directory):
        result.findings.append(Finding("lost", JOURNAL_DIR, f"there is no journal directory {directory}"))
        _high_water(mark, _Identity(), result)
        return result
    ident = _identity(directory, result, store, register)
    walk = _ChainWalk(ident, result, on_receipt)
    _receipts(directory, walk, result)
    if not ident.found and result.files:
        result.findings.append(Finding("identity", META,
                                       f"the journal has receipt files but no identity file ({META})"))
    _high_water(mark, ident, result)
    delivery_docs = _log_file(directory, LOG_FILES[0], result)
    _log_file(directory, LOG_FILES[1], result)
    result.delivery = delivery_counts(delivery_docs, result.receipts)
    result.bytes_used = sum(os.path.getsize(os.path.join(directory, n)) for n in os.listdir(directory)
                            if os.path.isfile(os.path.join(directory, n)))
    return result
