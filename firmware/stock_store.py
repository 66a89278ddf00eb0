"""The till's stock index on disk: the fleet's last snapshot plus this register's own deltas, looked up in O(1).

The journal is the record of every delta (docs/stock.md#integration); this store is an index derived from it,
so it writes without fsync and is rebuilt from the journal when it is behind (`last_seq`). It keeps, per sku,
the running sum of the deltas the snapshot does not hold yet (and the last such count), so `on_hand` is a dict
lookup and two list reads, and a new snapshot subtracts only the deltas it now holds.

Files, in `<data dir>/stock/`:

- `skus.txt`: one sku per line; a sku's index is its line number (appended, never rewritten).
- `deltas.bin`: this register's deltas, 24 bytes each (seq, qty, code: int64 little-endian; code is the sku
  index, or -(index + 1) for a count), in seq order. A torn tail is cut off at open.
- `state.bin`: the compact form, written atomically at every snapshot and every `checkpoint_every` deltas: the
  snapshot's version, `upto` and policy, the seq it is current to, and per sku the snapshot level, the pending
  sum, the pending count's seq and qty (int64 arrays). Start-up loads it and replays only the deltas after it;
  without it (or when it does not fit the log) the pending sums are rebuilt from the whole log.
- `snapshot.json`: the last snapshot as applied, to rebuild `state.bin` from when it is lost.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import zlib
from array import array
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from firmware.atomicfile import write_atomic
from firmware.domain.stock import PolicyBook, StockCheck, StockDelta, StockPolicy, StockSnapshot, check_sale

__all__ = ["StockStore", "UNTRACKED"]

RECORD = struct.Struct("<qqq")
UNTRACKED = -(2**63)
MAGIC = b"KSTK1\n"
_LITTLE = sys.byteorder == "little"


def _ints(data: bytes) -> array[int]:
    out = array("q")
    out.frombytes(data)
    if not _LITTLE:
        out.byteswap()
    return out


def _bytes(values: Iterable[int]) -> bytes:
    out = array("q", values)
    if not _LITTLE:
        out.byteswap()
    return out.tobytes()


class StockStore:
    """One register's stock index. Thread-safe: the committer appends, the UI looks up, sync applies snapshots."""

    def __init__(self, directory: Path | str, register: str, *, checkpoint_every: int = 20_000) -> None:
        self.dir = Path(directory)
        self.register = register
        self.checkpoint_every = checkpoint_every
        self._lock = threading.Lock()
        self._skus: list[str] = []
        self._index: dict[str, int] = {}
        self._snap: list[int] = []     # snapshot level per sku index (UNTRACKED: not in the snapshot)
        self._pending: list[int] = []  # sum of own deltas after upto and after the pending count
        self._cseq: list[int] = []     # seq of the last own count not in the snapshot (0: none)
        self._cqty: list[int] = []
        self.version = 0
        self.upto: dict[str, int] = {}
        self.at = ""
        self.policies = PolicyBook()
        self.last_seq = 0              # the highest seq appended (or held by the fleet, after a restore)
        self._checkpointed = 0         # last_seq as of state.bin
        self.replayed = 0              # deltas replayed at open (after the checkpoint, or all)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._skus_path = self.dir / "skus.txt"
        self._log_path = self.dir / "deltas.bin"
        self._state_path = self.dir / "state.bin"
        self._snapshot_path = self.dir / "snapshot.json"
        self._open()

    # ---- reading ----------------------------------------------------------------------------------------

    def on_hand(self, sku: str) -> int | None:
        """Stock units on hand as this till sees it, or None for an untracked sku."""
        index = self._index.get(sku)
        if index is None:
            return None
        with self._lock:
            if self._cseq[index]:
                return self._cqty[index] + self._pending[index]
            level = self._snap[index]
            return None if level == UNTRACKED else level + self._pending[index]

    def policy(self, sku: str) -> StockPolicy:
        return self.policies.for_sku(sku)

    def check(self, sku: str, qty: int, *, name: str = "this item", weighed: bool = False) -> StockCheck:
        """`check_sale` with this till's on-hand and the sku's policy (`qty`: what the cart takes in all)."""
        return check_sale(self.on_hand(sku), qty, self.policy(sku), name=name, weighed=weighed)

    @property
    def own_upto(self) -> int:
        return self.upto.get(self.register, 0)

    def unconfirmed(self) -> tuple[int, int]:
        """The seqs (first, last) of own deltas no snapshot holds yet: sync sends these from the journal."""
        return (self.own_upto + 1, self.last_seq)

    def snapshot(self) -> StockSnapshot:
        """The snapshot held (levels rebuilt from the index: for status pages and tests, not the hot path)."""
        with self._lock:
            levels = {sku: level for sku, level in zip(self._skus, self._snap, strict=True) if level != UNTRACKED}
        return StockSnapshot(self.version, levels, dict(self.upto), self.at)

    # ---- writing ----------------------------------------------------------------------------------------

    def append(self, deltas: Iterable[StockDelta]) -> None:
        """Record own deltas (already journaled), each with a seq above `last_seq`, in order."""
        rows = []
        new_skus = []
        with self._lock:
            for delta in deltas:
                if delta.register != self.register or delta.seq <= self.last_seq:
                    raise ValueError(f"stock: delta {delta.register}/{delta.seq} is not this register's next "
                                     f"(last seq {self.last_seq})")
                index = self._index.get(delta.sku)
                if index is None:
                    index = self._intern(delta.sku)
                    new_skus.append(delta.sku)
                self._apply_one(delta.seq, delta.qty, index, delta.kind == "count")
                rows.append(RECORD.pack(delta.seq, delta.qty, -(index + 1) if delta.kind == "count" else index))
                self.last_seq = delta.seq
            if new_skus:
                with open(self._skus_path, "a", encoding="utf-8") as out:
                    out.write("".join(f"{sku}\n" for sku in new_skus))
            if rows:
                with open(self._log_path, "ab") as out:
                    out.write(b"".join(rows))
            due = self.last_seq - self._checkpointed >= self.checkpoint_every
        if due:
            self.checkpoint()

    def apply_snapshot(self, snapshot: StockSnapshot, policies: PolicyBook | None = None) -> bool:
        """Take the fleet's newer snapshot (an older or equal version is ignored: retained messages come back)."""
        if snapshot.version <= self.version:
            return False
        with self._lock:
            new_upto = snapshot.upto.get(self.register, 0)
            old_upto = self.own_upto
            self._snap = [UNTRACKED] * len(self._skus)
            new_skus = []
            for sku, level in snapshot.levels.items():
                index = self._index.get(sku)
                if index is None:
                    index = self._intern(sku)
                    new_skus.append(sku)
                self._snap[index] = level
            if new_skus:
                with open(self._skus_path, "a", encoding="utf-8") as out:
                    out.write("".join(f"{sku}\n" for sku in new_skus))
            self.version, self.upto, self.at = snapshot.version, dict(snapshot.upto), snapshot.at
            self.policies = policies if policies is not None else self.policies
            if new_upto >= old_upto:
                self._roll_forward(old_upto, new_upto)
            else:  # the fleet holds fewer of ours than before (its database restored): count them again
                self._rebuild()
            self.last_seq = max(self.last_seq, new_upto)  # a restored till must not reuse seqs the fleet holds
        write_atomic(self._snapshot_path, json.dumps(
            {"version": snapshot.version, "upto": dict(snapshot.upto), "levels": dict(snapshot.levels),
             "at": snapshot.at, "policy": _policy_doc(self.policies)}, separators=(",", ":")).encode())
        self.checkpoint()
        return True

    def checkpoint(self) -> None:
        """Write the compact form (state.bin) atomically."""
        with self._lock:
            header = json.dumps({"register": self.register, "version": self.version, "upto": self.upto,
                                 "at": self.at, "last_seq": self.last_seq, "skus": len(self._skus),
                                 "policy": _policy_doc(self.policies)}, separators=(",", ":")).encode()
            body = b"".join([MAGIC, struct.pack("<I", len(header)), header, _bytes(self._snap),
                             _bytes(self._pending), _bytes(self._cseq), _bytes(self._cqty)])
            last = self.last_seq
            for path in (self._skus_path, self._log_path):  # what state.bin counts is on disk before it
                if path.exists():
                    with open(path, "rb+") as synced:
                        os.fsync(synced.fileno())
        write_atomic(self._state_path, body + struct.pack("<I", zlib.crc32(body)))
        self._checkpointed = last

    # ---- inside -----------------------------------------------------------------------------------------

    def _intern(self, sku: str) -> int:
        index = len(self._skus)
        self._skus.append(sku)
        self._index[sku] = index
        self._snap.append(UNTRACKED)
        self._pending.append(0)
        self._cseq.append(0)
        self._cqty.append(0)
        return index

    def _apply_one(self, seq: int, qty: int, index: int, count: bool) -> None:
        if count:
            self._cseq[index], self._cqty[index], self._pending[index] = seq, qty, 0
        else:
            self._pending[index] += qty

    def _position(self, seq: int, log: BinaryIO | None = None) -> int:
        """Index of the first logged record with seq >= `seq` (the log is in seq order)."""
        if log is None:
            with open(self._log_path, "rb") as own:
                return self._position(seq, own)
        low, high = 0, os.fstat(log.fileno()).st_size // RECORD.size
        while low < high:
            mid = (low + high) // 2
            log.seek(mid * RECORD.size)
            if RECORD.unpack(log.read(RECORD.size))[0] >= seq:
                high = mid
            else:
                low = mid + 1
        return low

    def _records(self, after_seq: int) -> tuple[array[int], array[int], array[int]]:
        """Columns (seq, qty, code) of the logged deltas with seq > after_seq."""
        with open(self._log_path, "rb") as log:
            size = os.fstat(log.fileno()).st_size // RECORD.size
            low = self._position(after_seq + 1, log)
            log.seek(low * RECORD.size)
            flat = _ints(log.read((size - low) * RECORD.size))
        return flat[0::3], flat[1::3], flat[2::3]

    def _roll_forward(self, old_upto: int, new_upto: int) -> None:
        seqs, qtys, codes = self._records(old_upto)
        cseq, pending = self._cseq, self._pending
        for seq, qty, code in zip(seqs, qtys, codes, strict=True):
            if seq > new_upto:
                break
            if code < 0:
                if cseq[-code - 1] == seq:
                    cseq[-code - 1] = 0  # the count is in the snapshot now; pending is what came after it
            elif seq > cseq[code]:
                pending[code] -= qty

    def _rebuild(self) -> None:
        """Pending sums from the whole log after `upto` (the slow path: no usable state.bin)."""
        n = len(self._skus)
        self._pending, self._cseq, self._cqty = [0] * n, [0] * n, [0] * n
        seqs, qtys, codes = self._records(self.own_upto)
        self.replayed = len(seqs)
        pending = self._pending
        start = 0
        for at in _counts_at(codes):  # tight loops between the (rare) counts
            for code, qty in zip(codes[start:at], qtys[start:at], strict=True):
                pending[code] += qty
            self._apply_one(seqs[at], qtys[at], -codes[at] - 1, True)
            start = at + 1
        for code, qty in zip(codes[start:], qtys[start:], strict=True):
            pending[code] += qty

    def _open(self) -> None:
        if self._skus_path.exists():
            text = self._skus_path.read_text(encoding="utf-8")
            lines = text.split("\n")
            for sku in lines[:-1]:
                self._intern(sku)
            if lines[-1]:  # a last line without its newline is torn: cut it (its deltas are cut below)
                with open(self._skus_path, "r+b") as out:
                    out.truncate(len(text.encode("utf-8")) - len(lines[-1].encode("utf-8")))
        self._cut_log(self._read_state_after())
        state = self._read_state()
        if state is None:
            self._load_snapshot_json()
            self._rebuild()
        else:
            seqs, qtys, codes = self._records(self.last_seq)
            self.replayed = len(seqs)
            for seq, qty, code in zip(seqs, qtys, codes, strict=True):
                self._apply_one(seq, qty, code if code >= 0 else -code - 1, code < 0)
        self.last_seq = max(self.last_seq, self._log_last_seq(), self.own_upto)
        if state is None:
            self.checkpoint()  # the next start takes the fast path

    def _read_state_after(self) -> int:
        """The seq state.bin is current to (0 without one): the log up to it was synced before it was written."""
        try:
            raw = self._state_path.read_bytes()
            if not raw.startswith(MAGIC) or zlib.crc32(raw[:-4]) != struct.unpack("<I", raw[-4:])[0]:
                return 0
            (length,) = struct.unpack_from("<I", raw, len(MAGIC))
            start = len(MAGIC) + 4
            return int(json.loads(raw[start:start + length])["last_seq"])
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            return 0

    def _cut_log(self, synced_seq: int) -> None:
        """Cut a torn tail, and any record after `synced_seq` naming a sku whose line did not reach the disk."""
        if not self._log_path.exists():
            self._log_path.touch()
            return
        size = self._log_path.stat().st_size
        if size % RECORD.size:
            with open(self._log_path, "r+b") as log:
                log.truncate(size - size % RECORD.size)
        seqs, _, codes = self._records(synced_seq)
        limit = len(self._skus)
        if codes and (max(codes) >= limit or min(codes) < -limit):
            bad = next(i for i, code in enumerate(codes) if not -limit <= code < limit)
            with open(self._log_path, "r+b") as log:
                log.truncate(self._position(seqs[bad]) * RECORD.size)

    def _log_last_seq(self) -> int:
        size = self._log_path.stat().st_size
        if size < RECORD.size:
            return 0
        with open(self._log_path, "rb") as log:
            log.seek(size - RECORD.size)
            return int(RECORD.unpack(log.read(RECORD.size))[0])

    def _read_state(self) -> dict[str, Any] | None:  # Any: state.bin's JSON header, read from disk
        """Load state.bin into memory; None when it is missing, damaged or does not fit the log."""
        try:
            raw = self._state_path.read_bytes()
        except FileNotFoundError:
            return None
        if len(raw) < 14 or not raw.startswith(MAGIC) or zlib.crc32(raw[:-4]) != struct.unpack("<I", raw[-4:])[0]:
            return None
        (length,) = struct.unpack_from("<I", raw, len(MAGIC))
        start = len(MAGIC) + 4
        header: dict[str, Any] = json.loads(raw[start:start + length])  # Any: as `_read_state` returns it
        n = int(header["skus"])
        behind = header["last_seq"] > self._log_last_seq() and header["last_seq"] > header["upto"].get(
            self.register, 0)  # the checkpoint counted deltas the log lost: count again from the log
        if header.get("register") != self.register or n > len(self._skus) or behind:
            return None
        body = _ints(raw[start + length:-4])
        if len(body) != 4 * n:
            return None
        extra = len(self._skus) - n  # skus interned after the checkpoint start empty
        self._snap = body[0:n].tolist() + [UNTRACKED] * extra
        self._pending = body[n:2 * n].tolist() + [0] * extra
        self._cseq = body[2 * n:3 * n].tolist() + [0] * extra
        self._cqty = body[3 * n:4 * n].tolist() + [0] * extra
        self.version, self.upto, self.at = int(header["version"]), dict(header["upto"]), str(header["at"])
        self.policies = _policy_from(header.get("policy"))
        self.last_seq = self._checkpointed = int(header["last_seq"])
        return header

    def _load_snapshot_json(self) -> None:
        try:
            doc = json.loads(self._snapshot_path.read_bytes())
        except (FileNotFoundError, ValueError):
            return
        self.version, self.upto, self.at = int(doc["version"]), dict(doc["upto"]), str(doc.get("at", ""))
        self.policies = _policy_from(doc.get("policy"))
        for sku, level in doc["levels"].items():
            index = self._index.get(sku)
            if index is None:
                index = self._intern(sku)
                with open(self._skus_path, "a", encoding="utf-8") as out:
                    out.write(f"{sku}\n")
            self._snap[index] = level


def _counts_at(codes: array[int]) -> list[int]:
    """Positions of the counts (negative codes) in a column, found by the sign byte at C speed."""
    if not codes or min(codes) >= 0:
        return []
    signs = _bytes(codes)[7::8]  # little-endian int64: byte 7 is 0xff for every negative code here
    out = []
    at = signs.find(b"\xff")
    while at >= 0:
        if codes[at] < 0:
            out.append(at)
        at = signs.find(b"\xff", at + 1)
    return out


def _policy_doc(book: PolicyBook) -> dict[str, Any]:  # Any: the policies' JSON document
    def one(p: StockPolicy) -> dict[str, Any]:  # Any: one policy in it
        return {"low": p.low, "past_zero": p.past_zero, "track": p.track}
    return {"default": one(book.default), "items": {sku: one(p) for sku, p in book.items.items()}}


def _policy_from(doc: Mapping[str, Any] | None) -> PolicyBook:  # Any: as `_policy_doc` writes it
    if not doc:
        return PolicyBook()
    return PolicyBook.from_doc(doc.get("default"), doc.get("items"))
