"""The sending side of store-and-forward: the journal's outbox pushed through a bounded QoS-1 window.

Runs on the link thread only. Receipts go out in `seq` order as the journal
stored them (`journal.payload(seq)`); at most `window` are in flight. A
PUBACK with a success reason collects the seq for one `mark_delivered` per
network round (the journal group-commits it); a failure reason is recorded
with `record_failure` and the seq is retried later, behind the others, until
the journal quarantines it. On a new connection nothing of the old window is
assumed: whatever the journal still calls pending goes out again.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("kassa.sync.outbox")


@dataclass
class AckResult:
    """What one round of PUBACKs did."""

    delivered: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


class OutboxSender:
    """Keeps up to `window` receipts in flight; `publish(payload) -> mid | None` is the live link."""

    def __init__(self, journal: Any, publish: Callable[[bytes], int | None], monotonic: Callable[[], float], *,
                 window: int = 100, retry_after: float = 5.0, sweep_every: float = 1.0) -> None:
        self.journal = journal
        self.publish = publish
        self.monotonic = monotonic
        self.window = window
        self.retry_after = retry_after
        self.sweep_every = sweep_every
        self.inflight: dict[int, int] = {}  # mid -> seq
        self._inflight_seqs: set[int] = set()
        self._cursor = 0
        self._next_sweep = 0.0
        self._not_before: dict[int, float] = {}
        self.forced: deque[int] = deque()  # `resend` command: sent whatever their delivery state
        self.max_payload: int | None = None  # from the broker's Maximum Packet Size
        self.refused_locally: list[tuple[int, str]] = []

    def reset(self, window: int | None = None, max_packet: int | None = None) -> None:
        """A new connection (or none): forget the old window, start again from the oldest pending receipt."""
        if window is not None:
            self.window = max(1, window)
            # a packet over the broker's limit gets the connection closed (a protocol error), so never send one
            self.max_payload = max_packet - 256 if max_packet else None
        self.inflight.clear()
        self._inflight_seqs.clear()
        self._cursor = 0

    def rescan(self) -> None:
        """Receipts before the cursor became pending again (resend, retry): look from the start."""
        self._cursor = 0
        self._next_sweep = 0.0

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

    def fill(self) -> int:
        """Publish until the window is full or nothing is left; returns how many went out."""
        sent = 0
        while self.forced and len(self.inflight) < self.window:
            seq = self.forced[0]
            if seq not in self._inflight_seqs and not self._send(seq):
                return sent
            self.forced.popleft()
            sent += 1
        now = self.monotonic()
        swept = False
        while len(self.inflight) < self.window:
            seqs = self.journal.outbox(after_seq=self._cursor, limit=self.window - len(self.inflight))
            if not seqs:
                if self._cursor == 0 or swept or now < self._next_sweep:
                    break
                # pending receipts behind the cursor (refused earlier, or marked pending again)
                self._cursor, swept, self._next_sweep = 0, True, now + self.sweep_every
                continue
            for seq in seqs:
                self._cursor = seq
                if seq in self._inflight_seqs or self._not_before.get(seq, 0.0) > now:
                    continue
                if not self._send(seq):
                    return sent
                sent += 1
        return sent

    def on_ack(self, mid: int, ok: bool, reason: str, result: AckResult) -> bool:
        """Account for one PUBACK; False when `mid` was not a receipt of this window."""
        seq = self.inflight.pop(mid, None)
        if seq is None:
            return False
        self._inflight_seqs.discard(seq)
        if ok:
            result.delivered.append(seq)
            self._not_before.pop(seq, None)
        else:
            result.refused.append((seq, reason))
            self._not_before[seq] = self.monotonic() + self.retry_after
        return True
