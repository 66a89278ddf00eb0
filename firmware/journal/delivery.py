"""Delivery state of receipts (pending/delivered/confirmed/quarantined), group-committed apart from them.

Receipts never change; what the sync thread learns about them is logged
here as small ops (`delivered`, `confirmed`, `failed`, `pending`, and
`quarantined` at once: the fleet holds a different receipt under the id, a
conflict that no resend, PUBACK or "Retry" undoes). Marks
change memory at once and are queued; once `start()`ed, a writer thread
appends everything queued as one record with one fsync every few
milliseconds, and `flush()` waits for it. Never started (a tool's journal),
`flush()` and `close()` append what is queued themselves. A crash loses at most marks not yet flushed, so a receipt is
at worst sent again, which the fleet dedupes. Receipts confirmed in an
unbroken run from seq 1 collapse into a `floor`, so memory grows only with
the receipts not yet confirmed. The log is compacted to one snapshot
record by the writer thread, never by the committing thread.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from firmware.clock import iso_utc
from firmware.errors import JournalError
from firmware.journal.fileops import FileOps
from firmware.journal.logfile import LogFile
from firmware.lifecycle import join_thread

log = logging.getLogger(__name__)

PENDING, DELIVERED, CONFIRMED, QUARANTINED = "pending", "delivered", "confirmed", "quarantined"
CONFLICT = "conflict: the fleet holds a different receipt under this id"
COMPACT_BYTES = 256 * 1024

# entry fields: [state, attempts, error, delivered_at, confirmed_at, failed_at]
STATE, ATTEMPTS, ERROR, DELIVERED_AT, CONFIRMED_AT, FAILED_AT = range(6)
# Any: an entry and an op (["d", seq, at], ["f", seq, error, at], ...) are JSON arrays of mixed items, as the
# log stores them. Doc: the snapshot record (JSON), and a receipt's delivery or a quarantined item, plain dicts
# handed on through Journal.summary to the register's and sync's read models (untyped there too, for now)
Entry = list[Any]
Op = list[Any]
Doc = dict[str, Any]


def is_conflict(error: object) -> bool:
    """True for the error of a receipt quarantined because of a conflict (see CONFLICT)."""
    return isinstance(error, str) and error.startswith("conflict:")


def _at(moment: datetime | str | None) -> str | None:
    if moment is None or isinstance(moment, str):
        return moment
    return iso_utc(moment)


class DeliveryStore:
    """In-memory delivery state backed by a group-committed log."""

    def __init__(self, path: str, ops: FileOps, recovery: list[str], *, last_seq: int,
                 max_attempts: int = 5, interval: float = 0.003) -> None:
        self.max_attempts = max_attempts
        self.interval = interval
        self.floor = 0
        self.last_seq = 0
        self.entries: dict[int, Entry] = {}
        self.pending: list[int] = []
        self.counts = {DELIVERED: 0, QUARANTINED: 0, CONFIRMED: 0}
        self.last_delivered_at: str | None = None
        self.last_confirmed_at: str | None = None
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: list[Op] = []
        self._queued_gen = 0
        self._written_gen = 0
        self._error: JournalError | None = None
        self._failures = 0
        self._stopping = False
        self._compact_floor = 0  # the log may grow to twice its last snapshot before the next compaction
        self._log = LogFile(path, ops)
        for record in self._log.load(recovery):
            if "snap" in record:
                self._load_snapshot(record["snap"])
            for op in record.get("ops", []):
                self._apply(op)
        self.add_committed_upto(last_seq)
        self._log.open_for_append()
        self._write_lock = threading.Lock()  # one append at a time: the writer thread's or flush()'s
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the group-commit writer thread (Journal.start); twice is harmless."""
        with self._cond:
            if self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(target=self._writer, name="kassa-journal-delivery", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ state

    def _load_snapshot(self, snap: Doc) -> None:
        self.floor = snap["floor"]
        self.entries = {int(k): v for k, v in snap["entries"].items()}
        self.counts = {DELIVERED: 0, QUARANTINED: 0, CONFIRMED: self.floor}
        for entry in self.entries.values():
            if entry[STATE] in self.counts:
                self.counts[entry[STATE]] += 1
        self.last_delivered_at = snap.get("last_delivered_at")
        self.last_confirmed_at = snap.get("last_confirmed_at")

    def _snapshot(self) -> Doc:
        return {"snap": {"floor": self.floor, "entries": {str(k): list(v) for k, v in self.entries.items()},
                         "last_delivered_at": self.last_delivered_at, "last_confirmed_at": self.last_confirmed_at}}

    def add_committed_upto(self, last_seq: int) -> None:
        """Receipts up to `last_seq` exist; new ones start pending (no write needed)."""
        with self._lock:  # the committer calls this while the sync thread marks
            if last_seq <= self.last_seq:
                return
            start = max(self.last_seq, self.floor) + 1
            for seq in range(start, last_seq + 1):
                entry = self.entries.get(seq)
                if entry is None or entry[STATE] == PENDING:
                    self.pending.append(seq)
            self.last_seq = last_seq

    def _entry(self, seq: int) -> Entry:
        entry = self.entries.get(seq)
        if entry is None:
            entry = self.entries[seq] = [PENDING, 0, None, None, None, None]
        return entry

    def _set_state(self, seq: int, entry: Entry, state: str) -> None:
        old = entry[STATE]
        if old == state:
            return
        if old in self.counts:
            self.counts[old] -= 1
        if state in self.counts:
            self.counts[state] += 1
        entry[STATE] = state
        if seq <= self.last_seq:  # while loading, `pending` is built afterwards by add_committed_upto
            i = bisect.bisect_left(self.pending, seq)
            present = i < len(self.pending) and self.pending[i] == seq
            if state == PENDING and not present:
                self.pending.insert(i, seq)
            elif state != PENDING and present:
                del self.pending[i]

    def _apply(self, op: Op) -> bool:
        """Apply one op; False when it changes nothing (not logged then)."""
        kind, seq = op[0], op[1]
        if seq <= self.floor:
            return False
        entry = self._entry(seq)
        if kind in ("d", "p") and entry[STATE] == QUARANTINED and is_conflict(entry[ERROR]):
            return False  # a conflict is final: a late PUBACK or a resend does not bring it back
        if kind == "d":
            if entry[STATE] in (CONFIRMED,):
                return False
            self._set_state(seq, entry, DELIVERED)
            entry[DELIVERED_AT] = op[2]
            self.last_delivered_at = op[2]
        elif kind == "c":
            if entry[STATE] == CONFIRMED:
                return False
            self._set_state(seq, entry, CONFIRMED)
            entry[CONFIRMED_AT] = op[2]
            entry[ERROR] = None
            self.last_confirmed_at = op[2]
            self._advance_floor()
        elif kind == "f":
            if entry[STATE] in (CONFIRMED, QUARANTINED):
                return False
            entry[ATTEMPTS] += 1
            entry[ERROR] = op[2]
            entry[FAILED_AT] = op[3]
            self._set_state(seq, entry, QUARANTINED if entry[ATTEMPTS] >= self.max_attempts else PENDING)
        elif kind == "q":
            if entry[STATE] == CONFIRMED or (entry[STATE] == QUARANTINED and entry[ERROR] == op[2]):
                return False
            entry[ERROR] = op[2]
            entry[FAILED_AT] = op[3]
            self._set_state(seq, entry, QUARANTINED)
        elif kind == "p":
            if entry[STATE] not in (DELIVERED, QUARANTINED):
                return False
            if entry[STATE] == QUARANTINED:
                entry[ATTEMPTS] = 0
            self._set_state(seq, entry, PENDING)
        else:
            raise JournalError(f"unknown delivery op {kind!r} in the delivery log")
        return True

    def _advance_floor(self) -> None:
        while True:
            entry = self.entries.get(self.floor + 1)
            if entry is None or entry[STATE] != CONFIRMED:
                return
            del self.entries[self.floor + 1]
            self.floor += 1

    def _do(self, ops: Iterable[Op]) -> None:
        with self._cond:
            changed = False
            for op in ops:
                if 1 <= op[1] <= self.last_seq and self._apply(op):
                    self._queue.append(op)
                    changed = True
            if changed:
                self._queued_gen += 1
                self._cond.notify_all()

    # ------------------------------------------------------------ marks

    def mark_delivered(self, seqs: Iterable[int], at: datetime | str) -> None:
        stamp = _at(at)
        self._do(["d", int(s), stamp] for s in seqs)

    def mark_confirmed_seqs(self, seqs: Iterable[int], at: datetime | str) -> None:
        stamp = _at(at)
        self._do(["c", int(s), stamp] for s in seqs)

    def record_failure(self, seq: int, error: str, at: datetime | str) -> bool:
        with self._cond:
            before = self.entries.get(seq, [PENDING])[STATE]
        self._do([["f", int(seq), str(error), _at(at)]])
        with self._cond:
            entry = self.entries.get(seq)
            return before != QUARANTINED and entry is not None and entry[STATE] == QUARANTINED

    def quarantine(self, seqs: Iterable[int], error: str, at: datetime | str) -> None:
        """Quarantine at once, whatever the attempts (a conflict: sending again cannot help)."""
        stamp = _at(at)
        self._do(["q", int(s), str(error), stamp] for s in seqs)

    def requeue_quarantined(self) -> int:
        """Quarantined receipts become pending again, except conflicts (the fleet will never take them)."""
        with self._cond:
            seqs = [s for s, e in self.entries.items() if e[STATE] == QUARANTINED and not is_conflict(e[ERROR])]
        self._do(["p", s] for s in sorted(seqs))
        return len(seqs)

    def mark_pending(self, seqs: Iterable[int]) -> None:
        self._do(["p", int(s)] for s in seqs)

    # ------------------------------------------------------------ reads

    def outbox(self, after_seq: int = 0, limit: int = 100) -> list[int]:
        with self._cond:
            i = bisect.bisect_right(self.pending, after_seq)
            return self.pending[i : i + limit]

    def due_for_resend(self, before: datetime | str) -> list[int]:
        cutoff = _at(before)
        with self._cond:
            return sorted(s for s, e in self.entries.items()
                          if e[STATE] == DELIVERED and e[DELIVERED_AT] is not None and e[DELIVERED_AT] < cutoff)

    def delivery(self, seq: int) -> Doc | None:
        with self._cond:
            if seq < 1 or seq > self.last_seq:
                return None
            if seq <= self.floor:
                return {"seq": seq, "state": CONFIRMED, "attempts": 0, "error": None,
                        "delivered_at": None, "confirmed_at": None, "failed_at": None}
            e = self.entries.get(seq, [PENDING, 0, None, None, None, None])
            return {"seq": seq, "state": e[STATE], "attempts": e[ATTEMPTS], "error": e[ERROR],
                    "delivered_at": e[DELIVERED_AT], "confirmed_at": e[CONFIRMED_AT], "failed_at": e[FAILED_AT]}

    def unconfirmed_seqs(self) -> list[int]:
        """Every receipt the fleet has not confirmed (pending, delivered or quarantined), in seq order."""
        with self._cond:
            entries = self.entries
            return [seq for seq in range(self.floor + 1, self.last_seq + 1)
                    if seq not in entries or entries[seq][STATE] != CONFIRMED]

    def quarantined_items(self) -> list[Doc]:
        with self._cond:
            return [{"seq": s, "error": e[ERROR], "attempts": e[ATTEMPTS], "failed_at": e[FAILED_AT]}
                    for s, e in sorted(self.entries.items()) if e[STATE] == QUARANTINED]

    def all_confirmed(self, first: int, last: int) -> bool:
        """True when every receipt first..last is confirmed (confirmed is final: it never goes back)."""
        with self._cond:
            if last > self.last_seq:
                return False
            return all(seq <= self.floor or (seq in self.entries and self.entries[seq][STATE] == CONFIRMED)
                       for seq in range(first, last + 1))

    def counts_snapshot(self) -> tuple[int, int, int, int, str | None, str | None]:
        with self._cond:
            return (len(self.pending), self.counts[DELIVERED], self.counts[CONFIRMED], self.counts[QUARANTINED],
                    self.last_delivered_at, self.last_confirmed_at)

    # ------------------------------------------------------------ writer

    def _writer(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue and self._stopping:
                    return
            if self.interval and not self._stopping:
                time.sleep(self.interval)  # gather more marks into this fsync
            try:
                self._append_queued()
            except JournalError as exc:
                log.error("delivery marks not saved yet: %s", exc)
                with self._cond:
                    if self._stopping:
                        return
                    self._cond.wait(timeout=0.5)  # retry later, or at once when flush() asks

    def _append_queued(self) -> None:
        """Append every queued mark as one record (one fsync), then compact if due; on JournalError re-queue, raise."""
        with self._write_lock:
            with self._cond:
                batch, gen = self._queue, self._queued_gen
                self._queue = []
            if not batch:
                return
            try:
                self._log.append({"ops": batch})
            except JournalError as exc:
                with self._cond:
                    self._queue[:0] = batch
                    self._error = exc
                    self._failures += 1
                    self._cond.notify_all()
                raise
            with self._cond:
                self._written_gen = gen
                self._error = None
                self._cond.notify_all()
                due = not self._queue and self._log.end > max(COMPACT_BYTES, self._compact_floor)
                snapshot = self._snapshot() if due else None
            if snapshot is not None:
                try:
                    self._log.compact(snapshot)
                    # a big backlog makes a big snapshot: let the log double before compacting again,
                    # or every append during a long drain would rewrite the whole snapshot
                    self._compact_floor = 2 * self._log.end
                except OSError as exc:
                    log.warning("delivery log compaction postponed: %s", exc)

    def flush(self, timeout: float | None = 10.0) -> None:
        """Wait until every mark made so far is durable; raise the writer's error if it cannot be."""
        if self._thread is None:  # no writer thread: write here
            self._append_queued()
            return
        with self._cond:
            target, failures = self._queued_gen, self._failures
            self._cond.notify_all()  # wake a writer waiting to retry
            ok = self._cond.wait_for(lambda: self._written_gen >= target or self._failures > failures, timeout)
            if self._written_gen >= target:
                return
            if self._failures > failures and self._error is not None:
                raise self._error
            if not ok:
                raise JournalError("delivery marks could not be saved in time; the disk may be stalled")

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is None:
            try:
                self._append_queued()
            except JournalError as exc:
                log.error("delivery marks not saved at close (those receipts are sent again): %s", exc)
        else:
            join_thread(self._thread, timeout)
        self._log.close()
