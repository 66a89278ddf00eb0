"""The sending side of store-and-forward: the journal's outbox pushed through a bounded QoS-1 window.

Runs on the link thread only. Receipts go out in `seq` order as the journal
stored them (`journal.payload(seq)`, never re-serialised); at most `window`
are in flight. The hot path is `on_puback`: it runs inside paho's PUBACK
callback, records the seq and publishes the next receipt at once (paho
writes everything queued in one network round out together). Seqs to send
are fetched from the journal's outbox in batches, so a PUBACK costs no
journal lock. A success reason collects the seq for one `mark_delivered`
per round (`take_round`; the journal group-commits it); a failure reason is
recorded with `record_failure` and the seq is retried later, behind the
others, until the journal quarantines it. On a new connection nothing of
the old window is assumed: whatever the journal still calls pending goes
out again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from firmware.sync.resend import ResendQueue

log = logging.getLogger("kassa.sync.outbox")

PREFETCH = 256  # seqs taken from the journal's outbox per lock


class OutboxJournal(Protocol):
    """What the sender reads of the journal (firmware.journal.Journal): the pending seqs and their stored bytes."""

    def outbox(self, after_seq: int = 0, limit: int = 100) -> list[int]: ...
    def payload(self, seq: int) -> bytes: ...


@dataclass
class AckResult:
    """What one round of PUBACKs did."""

    delivered: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


class OutboxSender:
    """Keeps up to `window` receipts in flight; `publish(payload) -> mid | None` is the live link."""

    def __init__(self, journal: OutboxJournal, publish: Callable[[bytes], int | None],
                 monotonic: Callable[[], float], *, window: int = 100, retry_after: float = 5.0,
                 sweep_every: float = 1.0, max_unconfirmed: int | None = None) -> None:
        self.journal = journal
        self.publish = publish
        self.monotonic = monotonic
        self.window = window
        self.retry_after = retry_after
        self.sweep_every = sweep_every
        self.inflight: dict[int, int] = {}  # mid -> seq
        self._inflight_seqs: set[int] = set()
        self._upcoming: deque[int] = deque()  # prefetched pending seqs after those sent, in order
        self._cursor = 0  # highest seq fetched from the outbox in this pass
        self._sweeping = False  # this pass started again from seq 0: skip what this round already delivered
        self._next_sweep = 0.0
        self._not_before: dict[int, float] = {}
        self._round = AckResult()
        self.live = False  # a connection is up: PUBACKs top the window up
        self.forced = ResendQueue()  # `resend` commands (merged ranges): sent whatever their delivery state
        self.max_payload: int | None = None  # from the broker's Maximum Packet Size
        self.refused_locally: list[tuple[int, str]] = []
        # Backpressure toward this device, not into broker memory: new receipts go out only while fewer than
        # `max_unconfirmed` are delivered and not yet confirmed. `outstanding` is the journal's count as of
        # the last round or confirmation (the service refreshes it); this round's PUBACKs count too.
        self.max_unconfirmed = max_unconfirmed
        self.outstanding = 0

    def reset(self, window: int | None = None, max_packet: int | None = None) -> None:
        """A new connection (window given) or none: forget the old window, start again from the oldest pending."""
        if window is not None:
            self.window = max(1, window)
            # a packet over the broker's limit gets the connection closed (a protocol error), so never send one
            self.max_payload = max_packet - 256 if max_packet else None
        self.live = window is not None
        self.inflight.clear()
        self._inflight_seqs.clear()
        self.rescan()

    def rescan(self) -> None:
        """Receipts before the cursor became pending again (resend, retry): look from the start."""
        self._upcoming.clear()
        self._cursor = 0
        self._next_sweep = 0.0
        self._sweeping = True

    @property
    def has_news(self) -> bool:
        """PUBACKs or refusals are waiting for `take_round`."""
        return bool(self._round.delivered or self._round.refused or self.refused_locally)

    @property
    def refusals_waiting(self) -> bool:
        return bool(self._round.refused or self.refused_locally)

    def take_round(self) -> AckResult:
        """What the PUBACKs since the last call did (delivered seqs, refusals), to record in the journal."""
        result, self._round = self._round, AckResult()
        if self.refused_locally:
            result.refused += self.refused_locally
            self.refused_locally = []
        return result

    def _room(self) -> bool:
        cap = self.max_unconfirmed
        return cap is None or self.outstanding + len(self._round.delivered) + len(self.inflight) < cap

    def _send(self, seq: int) -> bool:
        payload = self.journal.payload(seq)
        if self.max_payload is not None and len(payload) > self.max_payload:
            self.refused_locally.append((seq, f"{len(payload)} bytes is more than the broker accepts "
                                              f"({self.max_payload + 256} bytes per packet)"))
            self._not_before[seq] = self.monotonic() + self.retry_after
            return True
        mid = self.publish(payload)
        if mid is None:
            return False
        self.inflight[mid] = seq
        self._inflight_seqs.add(seq)
        return True

    def _prefetch(self, now: float) -> bool:
        """Take the next pending seqs from the journal; False when there are none (for now)."""
        seqs = self.journal.outbox(after_seq=self._cursor, limit=max(PREFETCH, self.window))
        if seqs:
            self._cursor = seqs[-1]
            if self._sweeping and self._round.delivered:
                # PUBACKed in this round but not yet handed to the journal, which still calls them pending
                done = set(self._round.delivered)
                seqs = [seq for seq in seqs if seq not in done]
            self._upcoming.extend(seqs)
            return True
        self._sweeping = False
        if self._cursor == 0 or now < self._next_sweep:
            return False
        # pending receipts behind the cursor (refused earlier, or marked pending again), once per sweep_every
        self._cursor, self._next_sweep, self._sweeping = 0, now + self.sweep_every, True
        return self._prefetch(now)

    def fill(self) -> int:
        """Publish until the window is full or nothing is left; returns how many went out."""
        sent = 0
        inflight, window = self.inflight, self.window
        while self.forced and len(inflight) < window:
            seq = self.forced[0]
            try:
                if seq not in self._inflight_seqs and not self._send(seq):
                    return sent
            except KeyError:  # not in the journal (any more): nothing to send again
                log.debug("resend: seq %d is not in the journal", seq)
            self.forced.popleft()
            sent += 1
        if len(inflight) >= window:
            return sent
        now = self.monotonic()
        upcoming = self._upcoming
        while len(inflight) < window and self._room():
            if not upcoming:
                if not self._prefetch(now):
                    break
                continue
            seq = upcoming.popleft()
            if seq in self._inflight_seqs or (self._not_before and self._not_before.get(seq, 0.0) > now):
                continue
            if not self._send(seq):
                upcoming.appendleft(seq)
                return sent
            sent += 1
        return sent

    def on_puback(self, mid: int, ok: bool, reason: str) -> bool:
        """Account for one PUBACK and top the window up; False when `mid` was not a receipt of this window."""
        seq = self.inflight.pop(mid, None)
        if seq is None:
            return False
        self._inflight_seqs.discard(seq)
        if ok:
            self._round.delivered.append(seq)
            if self._not_before:
                self._not_before.pop(seq, None)
            if self.live:
                upcoming = self._upcoming
                if upcoming and not self.forced and not self._not_before and self._room():
                    seq = upcoming.popleft()  # the common case, without fill()'s checks
                    if seq in self._inflight_seqs or not self._send(seq):
                        upcoming.appendleft(seq)
                        self.fill()
                else:
                    self.fill()
        else:
            self._round.refused.append((seq, reason))
            self._not_before[seq] = self.monotonic() + self.retry_after
        return True
