"""OutboxSender on plain data: seq order, a bounded window topped up from each PUBACK, refusals retried behind."""

from __future__ import annotations

import itertools

from firmware.sync.outbox import OutboxSender


class Outbox:
    """The journal's part the sender uses: pending seqs in order and their stored bytes."""

    def __init__(self, n: int) -> None:
        self.pending = list(range(1, n + 1))
        self.reads = 0

    def outbox(self, after_seq: int = 0, limit: int = 100) -> list[int]:
        return [s for s in self.pending if s > after_seq][:limit]

    def payload(self, seq: int) -> bytes:
        self.reads += 1
        return b'{"seq":%d}' % seq


class Link:
    def __init__(self) -> None:
        self.mids = itertools.count(1)
        self.sent: list[tuple[int, bytes]] = []
        self.up = True

    def publish(self, payload: bytes) -> int | None:
        if not self.up:
            return None
        mid = next(self.mids)
        self.sent.append((mid, payload))
        return mid


def sender(n: int, window: int = 10) -> tuple[OutboxSender, Outbox, Link, list[float]]:
    journal, link, now = Outbox(n), Link(), [0.0]
    s = OutboxSender(journal, link.publish, lambda: now[0], window=window, retry_after=5.0)
    s.reset(window)
    return s, journal, link, now


def test_window_is_kept_full_from_the_pubacks_in_seq_order():
    s, journal, link, _ = sender(50, window=10)
    assert s.fill() == 10 and len(s.inflight) == 10
    for mid, _payload in list(link.sent):
        assert s.on_puback(mid, True, "Success")
    assert len(s.inflight) == 10  # each PUBACK sent the next one at once
    while s.inflight:  # the journal is told only per round: meanwhile it still calls them all pending
        s.on_puback(next(iter(s.inflight)), True, "Success")
    assert [p for _m, p in link.sent] == [b'{"seq":%d}' % i for i in range(1, 51)]  # none twice
    assert s.take_round().delivered == list(range(1, 51))
    assert journal.reads == 50


def test_a_refused_receipt_is_retried_behind_the_others():
    s, journal, link, now = sender(5, window=2)
    s.fill()
    first_mid = link.sent[0][0]
    s.on_puback(first_mid, False, "Not authorized")
    round_ = s.take_round()
    assert round_.refused == [(1, "Not authorized")] and not round_.delivered
    while s.inflight:
        s.on_puback(next(iter(s.inflight)), True, "Success")
    journal.pending = [1]  # the journal still calls it pending
    now[0] = 6.0  # past retry_after, and a sweep is due
    assert s.fill() == 1 and [p for _m, p in link.sent][-1] == b'{"seq":1}'


def test_nothing_is_kept_when_the_link_is_down_and_a_new_connection_starts_over():
    s, _journal, link, _ = sender(5, window=3)
    link.up = False
    assert s.fill() == 0 and not s.inflight
    link.up = True
    s.fill()
    s.reset()  # disconnected: the window is forgotten; a PUBACK for an old mid means nothing now
    assert not s.live and not s.on_puback(link.sent[0][0], True, "Success")
    s.reset(3)
    assert s.fill() == 3 and [p for _m, p in link.sent][-3:] == [b'{"seq":1}', b'{"seq":2}', b'{"seq":3}']
