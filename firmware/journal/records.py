"""Checksummed record framing shared by every journal log, and the scanner that finds torn tails.

A record is `MAGIC (2 bytes) | length (u32 LE) | crc32 (u32 LE) | payload`,
where the CRC covers the length bytes and the payload. Files may be
preallocated with zeros, so a zero byte where a header should start means
"no more records". Anything else that does not frame is either a torn tail
(nothing valid follows it) or corruption (a valid record follows it).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAGIC = b"\xa5K"
HEADER = struct.Struct("<2sII")
HEADER_SIZE = HEADER.size
MAX_PAYLOAD = 16 * 1024 * 1024
_LEN = struct.Struct("<I")


def frame(payload: bytes) -> bytes:
    """Header + payload, ready to append."""
    n = len(payload)
    crc = zlib.crc32(payload, zlib.crc32(_LEN.pack(n)))
    return HEADER.pack(MAGIC, n, crc) + payload


def check_at(buf: bytes | memoryview, pos: int, end: int) -> bytes | None:
    """The payload of a valid record starting at `pos`, or None."""
    if pos + HEADER_SIZE > end:
        return None
    magic, n, crc = HEADER.unpack_from(buf, pos)
    if magic != MAGIC or n > MAX_PAYLOAD or pos + HEADER_SIZE + n > end:
        return None
    payload = bytes(buf[pos + HEADER_SIZE : pos + HEADER_SIZE + n])
    if zlib.crc32(payload, zlib.crc32(_LEN.pack(n))) != crc:
        return None
    return payload


@dataclass
class ScanResult:
    """What a scan found: the records, where the data ends, and what was wrong after it."""

    records: list[tuple[int, bytes]]  # (offset, payload)
    end: int  # offset just after the last valid record
    bad_at: int | None = None  # offset of the first bytes that do not frame (None: clean)
    bad_end: int = 0  # end of the non-zero bytes after `bad_at` (what a repair must clear)
    corrupt: bool = False  # a valid record follows the bad bytes: not a torn tail
    next_valid: int | None = None  # offset of that following valid record


def _last_nonzero(buf: bytes, start: int, end: int) -> int:
    """Offset just after the last non-zero byte in buf[start:end] (start when all zero)."""
    stripped = buf[start:end].rstrip(b"\0")
    return start + len(stripped)


def scan(buf: bytes, start: int = 0, end: int | None = None) -> ScanResult:
    """Walk the records in buf[start:end]; classify what stops the walk."""
    end = len(buf) if end is None else end
    records: list[tuple[int, bytes]] = []
    pos = start
    while pos < end:
        if buf[pos] == 0:
            tail = _last_nonzero(buf, pos, end)
            if tail == pos:
                return ScanResult(records, pos)
            return _classify(buf, records, pos, end)
        payload = check_at(buf, pos, end)
        if payload is None:
            return _classify(buf, records, pos, end)
        records.append((pos, payload))
        pos += HEADER_SIZE + len(payload)
    return ScanResult(records, pos)


def _classify(buf: bytes, records: list[tuple[int, bytes]], bad: int, end: int) -> ScanResult:
    """Bad bytes at `bad`: corruption if any valid record starts later, else a torn tail."""
    probe = buf.find(MAGIC, bad + 1, end)
    while probe != -1:
        if check_at(buf, probe, end) is not None:
            return ScanResult(records, bad, bad, end, corrupt=True, next_valid=probe)
        probe = buf.find(MAGIC, probe + 1, end)
    return ScanResult(records, bad, bad, _last_nonzero(buf, bad, end))
