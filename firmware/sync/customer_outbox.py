"""The register's customer edits to the fleet, and the fleet's customer list back (docs/customers.md).

Uplink: `CustomerBook.pending()` (the fsync'ed `customer-edits.jsonl`) goes out as `CustomerEdits` batches on
`kassa/v1/{store}/{register}/customers`, QoS 1, one batch in flight, oldest edits first. A PUBACK moves the
cursor past the batch and the next one goes. The confirmation is the store's customer list: its `heads` say up to
which seq the fleet merged this register's edits, and `CustomerBook.apply_list` drops those from the log, so
`pending()` no longer holds them. Edits PUBACKed but still pending `resend_after` seconds later go out again (a
broker may PUBACK and lose it, the fleet may not have published a list yet), and so does everything pending on a
new connection: the fleet deduplicates by (register, epoch, seq).

Downlink: the retained list, checked (signature by the caller, size and model here, and that it is this store's),
then applied to the book on the link thread: building the index of 100k customers takes about 2 s, never on the
register's thread. The book swaps its view under its own lock (firmware/customers.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from firmware.contract import PayloadRejected, decode, encode
from firmware.contract.customers import MAX_EDITS_PER_BATCH, CustomerEdits, CustomerList
from firmware.customers import edit_to_json
from firmware.domain.customers import CustomerEdit

log = logging.getLogger("kassa.sync.customers")

__all__ = ["CustomerOutbox", "ListApplied", "edits_message"]


class Book(Protocol):
    """What the outbox uses of firmware.customers.CustomerBook."""

    store: str
    register: str

    def pending(self) -> list[CustomerEdit]: ...
    def apply_list(self, payload: Mapping[str, Any]) -> bool: ...  # Any: the customer list, JSON


def edits_message(store: str, register: str, edits: list[CustomerEdit]) -> CustomerEdits:
    """The uplink message of these edits (ValueError when the contract refuses one)."""
    return CustomerEdits.model_validate({"store": store, "register": register,
                                         "edits": [edit_to_json(e) for e in edits]})


@dataclass(frozen=True)
class ListApplied:
    version: int
    customers: int
    pending: int  # this register's edits the list did not cover yet


class CustomerOutbox:
    """Link thread only (the book itself is thread-safe)."""

    def __init__(self, book: Book, topic: str, publish: Callable[[str, bytes], int | None],
                 monotonic: Callable[[], float], *, resend_after: float = 60.0, retry_after: float = 5.0) -> None:
        self.book = book
        self.topic = topic
        self.publish = publish
        self.monotonic = monotonic
        self.resend_after = resend_after
        self.retry_after = retry_after
        self.live = False
        self.inflight: tuple[int, tuple[str, int]] | None = None  # mid, (epoch, seq) of the batch's last edit
        self._sent: set[tuple[str, int]] = set()  # PUBACKed, not yet covered by a list
        self._batch: list[tuple[str, int]] = []  # the batch in flight
        self._retry_at = 0.0  # the broker refused a batch: nothing goes before then
        self._resend_at = 0.0  # PUBACKed edits that no list covers by then go out again
        self.sent_batches = 0

    @property
    def window(self) -> int:
        return 1

    def reset(self, live: bool) -> None:
        """A new connection (`live`) or none: everything still pending goes out again."""
        self.live = live
        self.inflight = None
        self._sent.clear()
        self._retry_at = self._resend_at = 0.0

    def poke(self) -> None:
        """New edits (or `Sync now`): send at the next fill."""
        self._retry_at = 0.0

    def fill(self) -> int:
        """Publish the next batch of pending edits not yet PUBACKed (one in flight); returns how many went."""
        if not self.live or self.inflight is not None:
            return 0
        now = self.monotonic()
        if now < self._retry_at:
            return 0
        pending = self.book.pending()
        due = [e for e in pending if (e.epoch, e.seq) not in self._sent]
        if not due:
            if not pending or now < self._resend_at:
                return 0
            self._sent.clear()  # PUBACKed a while ago and still in no list: send again (the fleet dedupes)
            due = pending
        batch = due[:MAX_EDITS_PER_BATCH]
        while True:
            try:
                payload = encode(edits_message(self.book.store, self.book.register, batch))
            except (PayloadRejected, ValueError) as exc:  # cannot happen for edits the book accepted; said, skipped
                log.error("customer edit %s:%d cannot be sent (%s); it stays in the log", batch[0].epoch,
                          batch[0].seq, exc)
                self._sent.add((batch[0].epoch, batch[0].seq))
                return 0
            if len(payload) <= CustomerEdits.MAX_BYTES or len(batch) == 1:
                break
            batch = batch[:len(batch) // 2]
        mid = self.publish(self.topic, payload)
        if mid is None:
            return 0
        self.inflight = (mid, (batch[-1].epoch, batch[-1].seq))
        self._batch = [(e.epoch, e.seq) for e in batch]
        self.sent_batches += 1
        return len(batch)

    def on_puback(self, mid: int, ok: bool, reason: str) -> bool:
        """One PUBACK; False when `mid` is not this outbox's."""
        if self.inflight is None or self.inflight[0] != mid:
            return False
        self.inflight = None
        if ok:
            self._sent.update(self._batch)
            self._resend_at = self.monotonic() + self.resend_after
            self.fill()  # the next batch, if any
        else:
            self._retry_at = self.monotonic() + self.retry_after
            log.warning("broker refused customer edits (%s); trying again in %.0fs", reason, self.retry_after)
        return True

    def on_list(self, store: str, document: bytes) -> ListApplied | None:
        """The store's list (its signature already checked): PayloadRejected when it is not a valid list of this
        store; None when it is not newer than the book's."""
        model = decode(CustomerList, document)
        if model.store != store:
            raise PayloadRejected(f"customer list of store {model.store} on store {store}'s topic")
        if not self.book.apply_list(json.loads(document)):
            return None
        left = self.book.pending()
        self._sent &= {(e.epoch, e.seq) for e in left}
        log.info("customer list version %d applied: %d customers, %d of this register's edits not in it yet",
                 model.version, len(model.customers), len(left))
        return ListApplied(model.version, len(model.customers), len(left))
