"""Journaled outboxes of state records: punches, e-mail requests and stock deltas, sent until the fleet confirms them.

A `Lane` is one kind of small record the register journals as state records (firmware/fleet_records.py) and
the fleet confirms on a downlink leaf of its own: punches on `punches` / `punch_acks`, e-mail requests on
`mail_requests` / `mail_acks`. What is pending is what the journal says is pending (a `pending_kind` state record
per item, written in the same transaction as the item), so nothing is lost across a power cut or a restart.

`RecordOutbox` runs one lane on the link thread, the receipts' rules on a small scale: pending items go out in
seq order at QoS 1 with at most `window` in flight; a PUBACK frees the slot, and an item PUBACKed but not
confirmed within `resend_after` seconds goes out again (a broker may PUBACK and then lose it); one the broker
refuses is tried again after `retry_after`. A new connection forgets the old window and sends everything still
pending again: the fleet dedupes by id and confirms a duplicate again. An ack settles the items it names in one
`put_states` (punches: the pending mark goes; a conflict is set aside with a `punch_conflict` record; e-mail
requests: the request with its address goes, a `mail_done` stub without it stays, with the fleet's reason when
it refused).

Stock deltas (firmware/stock_keeper.py) are a lane without an ack topic: the fleet's stock snapshot confirms
them (every record whose deltas its `upto` for this register reaches is settled: `RecordOutboxes.settle`), and
the sync service reads that snapshot itself, as it is signed like the catalog.

Acks are the fleet's like receipts' acks: plain contract payloads on a topic only the fleet may publish to (the
broker ACL), decoded whole (`decode`) or refused whole and counted; never signed, as receipt acks are not.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from firmware.chain import canonical_json
from firmware.clock import iso_utc
from firmware.contract import DeviceTopics, PayloadRejected, decode
from firmware.contract.mail import MailAcks
from firmware.contract.timeclock import PunchAcks
from firmware.errors import JournalError
from firmware.fleet_records import (
    MAIL_DONE,
    MAIL_REQUEST,
    PUNCH,
    PUNCH_CONFLICT,
    PUNCH_PENDING,
    STOCK,
    Change,
    Doc,
    mail_done,
    punch_key,
    seq_of,
)
from firmware.logutil import LogThrottle

log = logging.getLogger("kassa.sync.records")
_flood = LogThrottle(log, period=10.0, burst=5)

Outcome = tuple[str, str | None]  # an id the acks name; None: confirmed, else why it is set aside for good

LANE_WINDOW = 2  # in flight per lane: a handful of punches a day; kept out of the receipts' share of the window
CONFLICT = "the fleet holds a different punch under this id"


@dataclass(frozen=True)
class Lane:
    """One kind of journaled record and its two topics."""

    name: str  # for logs: "punches", "mail requests"
    topic: str  # uplink
    ack_topic: str | None  # downlink (None: confirmed another way, see `RecordOutboxes.settle`)
    pending_kind: str  # a state record per item still to confirm; its document holds `id_field`
    doc_kind: str  # the document sent, under the same key (the pending record itself when equal)
    id_field: str  # "": the record has no id of its own; the acks name its key
    key_of: Callable[[str], str | None]  # the state record key of an id an ack names (None: none of ours)
    read_acks: Callable[[bytes], list[Outcome]]  # PayloadRejected when the ack cannot be read
    settle: Callable[[str, Doc, str | None, str], list[Change]]  # key, pending doc, reason, now -> changes


def _punch_key(punch_id: str) -> str | None:
    seq = seq_of(punch_id)
    return punch_key(seq) if seq > 0 else None


def _punch_acks(payload: bytes) -> list[Outcome]:
    acks = decode(PunchAcks, payload)
    return [(i, CONFLICT) for i in acks.conflict_ids] + [(i, None) for i in acks.punch_ids]


def _settle_punch(key: str, pending: Doc, reason: str | None, at: str) -> list[Change]:
    if reason is None:
        return [(PUNCH_PENDING, key, None)]
    return [(PUNCH_PENDING, key, None), (PUNCH_CONFLICT, key, {"punch_id": pending.get("punch_id"), "at": at})]


def _mail_acks(payload: bytes) -> list[Outcome]:
    acks = decode(MailAcks, payload)
    return [(i, reason) for i, reason in acks.refused.items()] + [(i, None) for i in acks.request_ids]


def _settle_mail(key: str, pending: Doc, reason: str | None, at: str) -> list[Change]:
    return [(MAIL_REQUEST, key, None), (MAIL_DONE, key, mail_done(pending, at, reason))]


def _no_acks(payload: bytes) -> list[Outcome]:
    raise PayloadRejected("this lane has no ack topic")


def _settle_stock(key: str, pending: Doc, reason: str | None, at: str) -> list[Change]:
    return [(STOCK, key, None)]


STOCK_LANE = "stock deltas"


def device_lanes(topics: DeviceTopics) -> list[Lane]:
    """The register's lanes: punches (docs/timeclock.md), e-mail requests (docs/digital-receipts.md) and stock
    deltas (docs/stock.md)."""
    return [
        Lane("punches", topics.punches, topics.punch_acks, PUNCH_PENDING, PUNCH, "punch_id", _punch_key,
             _punch_acks, _settle_punch),
        Lane("mail requests", topics.mail_requests, topics.mail_acks, MAIL_REQUEST, MAIL_REQUEST, "request_id",
             lambda request_id: request_id, _mail_acks, _settle_mail),
        Lane(STOCK_LANE, topics.stock, None, STOCK, STOCK, "", lambda key: key, _no_acks, _settle_stock),
    ]


class RecordJournal(Protocol):
    """What the lanes read and write of the journal (firmware.journal.Journal): its state records."""

    def states(self, kind: str) -> dict[str, Doc]: ...
    def get_state(self, kind: str, key: str) -> Doc | None: ...
    def put_states(self, changes: Iterable[Change]) -> None: ...


class RecordOutbox:
    """One lane's pending records through a small QoS-1 window (link thread only)."""

    def __init__(self, lane: Lane, journal: RecordJournal, publish: Callable[[str, bytes], int | None],
                 monotonic: Callable[[], float], *, window: int = LANE_WINDOW, resend_after: float = 60.0,
                 retry_after: float = 5.0) -> None:
        self.lane = lane
        self.journal = journal
        self.publish = publish
        self.monotonic = monotonic
        self.window = window
        self.resend_after = resend_after
        self.retry_after = retry_after
        self.live = False
        self.inflight: dict[int, str] = {}  # mid -> key
        self.pending = 0  # pending items at the last look at the journal
        self._queue: deque[str] | None = None  # keys to send, in seq order (None: look at the journal again)
        self._not_before: dict[str, float] = {}  # key -> not sent again before (PUBACKed, or refused by the broker)
        self._next_check = float("inf")

    def reset(self, live: bool) -> None:
        """A new connection (`live`) or none: forget the window; everything still pending goes out again."""
        self.live = live
        self.inflight.clear()
        self._not_before.clear()
        self._queue = None

    def poke(self) -> None:
        """New items are in the journal (or `Sync now`): look again at the next `fill`."""
        self._queue = None

    def _reload(self, now: float) -> deque[str]:
        pending = self.journal.states(self.lane.pending_kind)
        self.pending = len(pending)
        busy = set(self.inflight.values())
        self._not_before = {k: t for k, t in self._not_before.items() if k in pending}
        self._next_check = min((t for k, t in self._not_before.items() if t > now and k not in busy),
                               default=float("inf"))
        due = [k for k in pending if k not in busy and self._not_before.get(k, 0.0) <= now]
        due.sort(key=lambda k: (seq_of(str(pending[k].get(self.lane.id_field, ""))), k))
        self._queue = deque(due)
        return self._queue

    def fill(self) -> int:
        """Publish due items until the window is full; returns how many went out."""
        if not self.live or len(self.inflight) >= self.window:
            return 0
        queue = self._queue
        if queue is None or (not queue and self.monotonic() >= self._next_check):
            queue = self._reload(self.monotonic())
        sent = 0
        while queue and len(self.inflight) < self.window:
            key = queue[0]
            doc = self.journal.get_state(self.lane.doc_kind, key)
            if doc is None:  # settled in between, or its document is gone: nothing to send
                queue.popleft()
                if self.journal.get_state(self.lane.pending_kind, key) is not None:
                    _flood.warning(f"{self.lane.name} lost", "%s: pending %s has no document to send",
                                   self.lane.name, key)
                continue
            mid = self.publish(self.lane.topic, canonical_json(doc))
            if mid is None:  # the link is going down; the next connection starts again
                break
            queue.popleft()
            self.inflight[mid] = key
            sent += 1
        return sent

    def on_puback(self, mid: int, ok: bool, reason: str) -> bool:
        """Account for one PUBACK; False when `mid` is not one of this lane's."""
        key = self.inflight.pop(mid, None)
        if key is None:
            return False
        later = self.monotonic() + (self.resend_after if ok else self.retry_after)
        self._not_before[key] = later
        self._next_check = min(self._next_check, later)
        if not ok:
            _flood.warning(f"{self.lane.name} refused", "broker refused %s %s (%s); tried again in %.0fs",
                           self.lane.name, key, reason, self.retry_after)
        self.fill()
        return True

    def on_acks(self, payload: bytes, now: datetime) -> tuple[int, list[tuple[str, str]]]:
        """Settle what an ack names (one durable write); (confirmed, set aside with reasons). Raises
        PayloadRejected when the ack cannot be read."""
        return self.settle(self.lane.read_acks(payload), now)

    def settle(self, outcomes: Iterable[Outcome], now: datetime) -> tuple[int, list[tuple[str, str]]]:
        """Settle the records these outcomes name (one durable write); (confirmed, set aside with reasons)."""
        lane = self.lane
        at = iso_utc(now)
        changes: list[Change] = []
        settled: dict[str, str | None] = {}
        for record_id, reason in outcomes:
            key = lane.key_of(record_id)
            if key is None or key in settled:
                continue
            pending = self.journal.get_state(lane.pending_kind, key)
            if pending is None or (lane.id_field and pending.get(lane.id_field) != record_id):
                continue  # settled already (a duplicate ack), or an id that is not ours
            changes += lane.settle(key, pending, reason, at)
            settled[key] = reason
        if not changes:
            return 0, []
        try:
            self.journal.put_states(changes)
        except JournalError as exc:  # still pending: sent again later, and the fleet confirms it again
            log.error("%s confirmed by the fleet not marked (%s); they will be sent again", lane.name, exc)
            return 0, []
        for key in settled:
            self._not_before.pop(key, None)
        if self._queue:
            self._queue = deque(k for k in self._queue if k not in settled)
        self.pending = max(0, self.pending - len(settled))
        aside: list[tuple[str, str]] = [(key, reason) for key, reason in settled.items() if reason is not None]
        log.info("fleet confirmed %d %s", len(settled) - len(aside), lane.name)
        for key, reason in aside:
            log.warning("fleet will not take %s %s: %s", lane.name, key, reason)
        return len(settled) - len(aside), aside


class RecordOutboxes:
    """Every lane of the register, as the sync service drives them."""

    def __init__(self, lanes: Iterable[Lane], journal: RecordJournal, publish: Callable[[str, bytes], int | None],
                 monotonic: Callable[[], float], *, resend_after: float = 60.0, retry_after: float = 5.0) -> None:
        self.outboxes = [RecordOutbox(lane, journal, publish, monotonic, resend_after=resend_after,
                                      retry_after=retry_after) for lane in lanes]
        self._by_ack = {o.lane.ack_topic: o for o in self.outboxes if o.lane.ack_topic is not None}
        self._by_name = {o.lane.name: o for o in self.outboxes}

    @property
    def window(self) -> int:
        """Messages the lanes may have in flight together (kept free of the receipts' window)."""
        return sum(o.window for o in self.outboxes)

    def reset(self, live: bool) -> None:
        for outbox in self.outboxes:
            outbox.reset(live)

    def poke(self) -> None:
        for outbox in self.outboxes:
            outbox.poke()

    def fill(self) -> int:
        return sum(outbox.fill() for outbox in self.outboxes)

    def on_puback(self, mid: int, ok: bool, reason: str) -> bool:
        return any(outbox.on_puback(mid, ok, reason) for outbox in self.outboxes)

    def handles(self, topic: str) -> bool:
        return topic in self._by_ack

    def flush_logs(self) -> int:
        """Summarise the refused acks the flood log left out once its period is over (sync's housekeeping)."""
        return _flood.flush()

    def settle(self, lane: str, keys: Iterable[str], now: datetime) -> int:
        """Settle records of `lane` confirmed other than by an ack (stock deltas a snapshot holds); how many."""
        confirmed, _aside = self._by_name[lane].settle(((key, None) for key in keys), now)
        return confirmed

    def pending(self, lane: str) -> int:
        """Records of `lane` still to confirm, as of its last look at the journal."""
        return self._by_name[lane].pending

    def on_acks(self, topic: str, payload: bytes, now: datetime) -> bool:
        """Settle an ack on one of the lanes' topics; False (logged, a few lines per period) when it is refused."""
        outbox = self._by_ack[topic]
        try:
            outbox.on_acks(payload, now)
        except PayloadRejected as exc:
            _flood.warning(f"rejected {topic.rsplit('/', 1)[-1]}", "rejected a message on %s: %s",
                           topic, exc)
            return False
        return True
