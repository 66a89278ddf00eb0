"""ResendQueue on plain data: merged ranges, each seq once per hold, bounded whatever is asked (against a set model)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from firmware.sync.resend import MAX_RANGES, ResendQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_overlapping_and_adjacent_requests_merge():
    q = ResendQueue(clock=Clock())
    assert q.add(10, 20) == 11
    assert q.add(15, 25) == 5
    assert q.add(26, 30) == 5  # adjacent: joined
    assert q.add(40, 40) == 1
    assert q.add(12, 13) == 0
    assert q.ranges == ((10, 30), (40, 40)) and len(q) == 22
    assert q.add(5, 1) == 0  # empty


def test_a_seq_just_sent_is_not_queued_again_until_the_hold_is_over():
    clock = Clock()
    q = ResendQueue(hold=10.0, clock=clock)
    q.add(1, 5)
    assert [q.popleft() for _ in range(3)] == [1, 2, 3]
    assert q.add(1, 8) == 3  # 1..3 just went out; 4, 5 are queued already; 6..8 are new
    assert q.ranges == ((4, 8),)
    while q:
        q.popleft()
    clock.now = 5.0
    assert q.add(2, 2) == 0
    clock.now = 20.0
    assert q.add(2, 2) == 1  # the fleet asks again later: sent again


def test_two_thousand_huge_requests_cost_a_few_ranges():
    q = ResendQueue(clock=Clock())
    for i in range(2000):
        q.add(1 + (i * 7919) % 1000, 100_000)  # each up to 100,000 seqs: a deque held 200M of them
    assert q.ranges == ((1, 100_000),) and q.size == 1


def test_scattered_requests_stay_within_max_ranges_by_widening():
    q = ResendQueue(max_ranges=8, clock=Clock())
    for seq in range(1, 2000, 3):  # 667 disjoint single seqs
        q.add(seq, seq)
    assert len(q.ranges) <= 8 and q.widened > 0
    covered = {s for lo, hi in q.ranges for s in range(lo, hi + 1)}
    assert covered >= set(range(1, 2000, 3))  # nothing asked for is lost; a few extra go out


def test_reads_like_the_deque_it_replaces():
    q = ResendQueue(clock=Clock())
    assert not q
    q.add(3, 4)
    assert q and q[0] == 3 and q.popleft() == 3 and q[0] == 4 and q.popleft() == 4 and not q


ops = st.lists(st.one_of(st.tuples(st.just("add"), st.integers(1, 200), st.integers(0, 40)),
                         st.tuples(st.just("pop"), st.integers(1, 30), st.just(0)),
                         st.tuples(st.just("wait"), st.just(0), st.just(0))), max_size=60)


@pytest.mark.slow
@given(ops)
@settings(max_examples=300, deadline=None)
def test_matches_a_set_model_when_within_max_ranges(program):
    clock = Clock()
    q = ResendQueue(max_ranges=10_000, hold=10.0, clock=clock)
    wanted: set[int] = set()
    sent: set[int] = set()
    last = 0.0
    for op, a, b in program:
        if op == "add":
            if sent and clock.now - last > 10.0:
                sent.clear()
            new = set(range(a, a + b + 1)) - wanted - sent
            assert q.add(a, a + b) == len(new)
            wanted |= new
        elif op == "pop":
            for _ in range(a):
                if not wanted:
                    assert not q
                    break
                seq = q.popleft()
                assert seq == min(wanted)
                wanted.discard(seq)
                sent.add(seq)
                last = clock.now
        else:
            clock.now += 11.0
        assert len(q) == len(wanted)
        assert {s for lo, hi in q.ranges for s in range(lo, hi + 1)} == wanted
        # sorted, disjoint, not adjacent
        assert all(r1[1] + 1 < r2[0] for r1, r2 in zip(q.ranges, q.ranges[1:], strict=False))


@given(st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 10**5)), max_size=300))
@settings(max_examples=100, deadline=None)
def test_never_holds_more_than_max_ranges_nor_drops_a_wanted_seq(requests):
    q = ResendQueue(max_ranges=16, clock=Clock())
    for lo, n in requests:
        q.add(lo, lo + n)
        assert len(q.ranges) <= 16
    for lo, n in requests:  # every asked-for seq is still covered (widening only adds)
        assert any(r_lo <= lo and lo + n <= r_hi for r_lo, r_hi in q.ranges)
    assert MAX_RANGES >= 16
