"""The register's stock: its own deltas journaled and indexed, and the fleet's snapshot applied (docs/stock.md).

The journal is the record. Every committed sale or refund gives its stock deltas (one per sku,
`deltas_for_receipt`), numbered by this register's own counter and journaled as ONE state record per
receipt together with the counter (`stock_head`), written by the journal writer thread right after the
receipt (firmware/register/committer.py). A stock-take's counts are journaled the same way. The pending
record is the message sync sends (`StockDeltas`, the contract's shape); the fleet's snapshot confirms it: a
record whose last seq the snapshot's `upto` for this register reaches is deleted (firmware/sync/record_outbox.py).

| kind | key | document | kept |
| --- | --- | --- | --- |
| `stock` | first seq, `{seq:012d}` | `StockDeltas` as sent: `{store, register, deltas}` | until a snapshot holds it |
| `stock_head` | `head` | `{next_seq, receipt_seq}`: the next delta seq, the last receipt seq given deltas | for good |

A power cut between a receipt and its stock record loses nothing: at start-up (`refill`) and after every
commit (`catch_up`) the receipts after `receipt_seq` are given their deltas; that derivation is deterministic.
`firmware/stock_store.py` is the fast index over the same deltas (not fsynced: it is refilled from the journal
records it is missing). One lock orders the writers (the journal writer thread and a stock-take on the
register's thread), so seqs are handed out once, in order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from firmware.domain.stock import (
    PolicyBook,
    StockCheck,
    StockDelta,
    StockPolicy,
    StockSnapshot,
    count_delta,
    deltas_for_receipt,
)
from firmware.fleet_records import HEAD, STOCK, STOCK_HEAD, Change, Doc
from firmware.stock_store import StockStore

__all__ = ["MAX_AHEAD", "STOCK", "STOCK_HEAD", "StockJournal", "StockKeeper", "delta_doc", "delta_of", "stock_key"]

MAX_AHEAD = 10**7  # deltas a snapshot may claim beyond this till's last: 27 years of 1,000 a day

log = logging.getLogger("kassa.stock")



class StockJournal(Protocol):
    """What the keeper reads and writes of the journal (firmware.journal.Journal)."""

    store: str
    register: str

    @property
    def next_seq(self) -> int: ...
    def get_state(self, kind: str, key: str) -> Doc | None: ...
    def states(self, kind: str) -> dict[str, Doc]: ...
    def put_states(self, changes: Iterable[Change]) -> None: ...
    def iter_receipts(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Doc]: ...


def stock_key(seq: int) -> str:
    """A stock record's key: its first delta's seq, zero-padded, so keys sort in seq order."""
    return f"{seq:012d}"


def delta_doc(delta: StockDelta) -> Doc:
    """One delta in the contract's shape (firmware.contract.stock.StockDelta)."""
    doc: Doc = {"seq": delta.seq, "sku": delta.sku, "kind": delta.kind, "qty": delta.qty, "at": delta.at}
    if delta.ref:
        doc["ref"] = delta.ref
    if delta.kind == "count":
        doc["basis"] = dict(delta.basis)
    return doc


def delta_of(register: str, doc: Mapping[str, Any]) -> StockDelta:  # Any: a journaled delta (delta_doc)
    basis = doc.get("basis") or {}
    return StockDelta(register=register, seq=int(doc["seq"]), sku=str(doc["sku"]), kind=doc["kind"],
                      qty=int(doc["qty"]), at=str(doc.get("at", "")), ref=doc.get("ref"),
                      basis=tuple(sorted((str(k), int(v)) for k, v in basis.items())))


def _weighed_of(receipt: Mapping[str, Any]) -> Callable[[str], bool]:  # Any: a receipt as journaled
    """Whether an sku of this receipt is sold by weight: its quantities are kilograms ("0.730"), not pieces."""
    weighed = {str(line.get("sku")) for line in receipt.get("lines") or () if isinstance(line.get("qty"), str)}
    return weighed.__contains__


class StockKeeper:
    """One register's stock: writes its deltas (journal first, then the index) and answers on-hand questions."""

    def __init__(self, journal: StockJournal, directory: Path | str) -> None:
        self.journal = journal
        self.register = journal.register
        self.index = StockStore(directory, journal.register)
        self._lock = threading.Lock()
        self.refill()

    # ---- reading (any thread) ---------------------------------------------------------------------------

    def on_hand(self, sku: str) -> int | None:
        return self.index.on_hand(sku)

    def policy(self, sku: str) -> StockPolicy:
        return self.index.policy(sku)

    def check(self, sku: str, qty: int, *, name: str, weighed: bool) -> StockCheck:
        return self.index.check(sku, qty, name=name, weighed=weighed)

    def snapshot_at(self) -> str:
        """When the fleet made the snapshot this till holds ("" before the first)."""
        return self.index.at

    def unsent(self) -> int:
        """Journaled stock records no snapshot holds yet (each one receipt's or one stock-take's deltas)."""
        return len(self.journal.states(STOCK))

    # ---- writing ----------------------------------------------------------------------------------------

    def refill(self) -> None:
        """At start-up: the index takes the journaled deltas it is missing, then receipts without deltas get them."""
        with self._lock:
            head = self.journal.get_state(STOCK_HEAD, HEAD)
            if head is None:  # the first start with stock: begin at the journal's end (no stale history sent)
                self.journal.put_states([(STOCK_HEAD, HEAD, {"next_seq": self.index.last_seq + 1,
                                                             "receipt_seq": self.journal.next_seq - 1})])
            missing = []
            if head is not None and int(head["next_seq"]) - 1 > self.index.last_seq:  # the index lost some
                for _key, doc in sorted(self.journal.states(STOCK).items()):
                    missing += [d for d in (delta_of(self.register, one) for one in doc.get("deltas") or ())
                                if d.seq > self.index.last_seq]
            if missing:
                log.info("stock: %d journaled delta(s) put back into the index", len(missing))
                self.index.append(missing)
            self._catch_up()

    def catch_up(self) -> int:
        """Give every committed receipt after the last one with deltas its deltas (the journal writer calls this
        after each commit); returns how many deltas were written."""
        with self._lock:
            return self._catch_up()

    def count(self, counts: Sequence[tuple[str, int]], at: str) -> tuple[StockDelta, ...]:
        """A stock-take: each (sku, counted units) journaled as a `count` delta in one record, then indexed."""
        with self._lock:
            seq = self._next_seq(self._head())
            basis = StockSnapshot(upto=dict(self.index.upto))
            deltas = tuple(count_delta(self.register, seq + i, sku, counted, at, basis)
                           for i, (sku, counted) in enumerate(counts))
            if deltas:
                self._write(deltas, self._head())
            return deltas

    def apply_snapshot(self, snapshot: StockSnapshot, policies: PolicyBook | None) -> bool:
        """The fleet's newer snapshot (sync's thread); False when it is not newer than the one held, or when it
        claims far more of this register's deltas than the till ever made (`MAX_AHEAD`): taking it would number
        the next deltas past what the contract allows (a till restored from an old copy is days behind, not
        decades)."""
        claimed = snapshot.upto.get(self.register, 0)
        if claimed > self.index.last_seq + MAX_AHEAD:
            log.error("stock snapshot version %d refused: it holds this register's deltas up to %d, but the till "
                      "made %d", snapshot.version, claimed, self.index.last_seq)
            return False
        return self.index.apply_snapshot(snapshot, policies)

    def covered(self, upto: int) -> list[str]:
        """Keys of the journaled records whose every delta the snapshot holds (`upto` for this register)."""
        return [key for key, doc in self.journal.states(STOCK).items()
                if all(int(d.get("seq", 0)) <= upto for d in doc.get("deltas") or ())]

    # ---- inside (under the lock) ------------------------------------------------------------------------

    def _head(self) -> Doc:
        return self.journal.get_state(STOCK_HEAD, HEAD) or {"next_seq": 1, "receipt_seq": 0}

    def _next_seq(self, head: Mapping[str, Any]) -> int:  # Any: the head record
        # the index may be ahead of the head: a snapshot told a till restored from an old copy what the fleet holds
        return max(int(head["next_seq"]), self.index.last_seq + 1)

    def _catch_up(self) -> int:
        head = self._head()
        written = 0
        for receipt in self.journal.iter_receipts(int(head["receipt_seq"]) + 1):
            seq = int(receipt["seq"])
            deltas = deltas_for_receipt(receipt, self.register, self._next_seq(head), _weighed_of(receipt))
            head = {**head, "receipt_seq": seq}
            if deltas:  # a no-sale moves nothing: its receipt is looked at again after a restart, at no cost
                head = self._write(deltas, head)
                written += len(deltas)
        return written

    def _write(self, deltas: Sequence[StockDelta], head: Mapping[str, Any]) -> Doc:  # Any: the head record
        """Journal `deltas` (at least one) and the new head in one durable record, then index them."""
        new_head: Doc = {**head, "next_seq": deltas[-1].seq + 1}
        record = {"store": self.journal.store, "register": self.register, "deltas": [delta_doc(d) for d in deltas]}
        self.journal.put_states([(STOCK, stock_key(deltas[0].seq), record), (STOCK_HEAD, HEAD, new_head)])
        self.index.append(deltas)
        return new_head
