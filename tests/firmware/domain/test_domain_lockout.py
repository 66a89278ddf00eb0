"""PIN lockouts: free tries, then doubling locks up to a cap; the right PIN resets; locked tries do not count."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.errors import DomainError
from firmware.domain.lockout import (
    CLERK,
    DEVICE,
    Lockout,
    Policy,
    is_locked,
    lock_seconds,
    rebase,
    record_failure,
    record_success,
    remaining,
    seconds_left,
    tries_left,
    wait_words,
)

T0 = 1_764_072_000_000  # 2025-11-25 12:00 UTC, in ms


def fail_after_lock(state: Lockout, now: int, policy: Policy = CLERK) -> tuple[Lockout, int]:
    """A wrong PIN typed as soon as the last lock ran out; the state and the time it was typed."""
    now = max(now, state.until_ms)
    return record_failure(state, now, policy), now


def test_three_wrong_pins_lock_for_30_s_then_each_further_one_doubles_up_to_15_min():
    state, now, locks = Lockout(), T0, []
    assert tries_left(state, now, CLERK) == 3
    for expected_left in (2, 1):
        state, now = fail_after_lock(state, now)
        assert not is_locked(state, now) and tries_left(state, now, CLERK) == expected_left
    for _ in range(8):
        state, now = fail_after_lock(state, now)
        locks.append(seconds_left(state, now))
        assert tries_left(state, now, CLERK) == 0
    assert locks == [30, 60, 120, 240, 480, 900, 900, 900]
    assert tries_left(state, state.until_ms, CLERK) == 1  # after a lock: the next wrong PIN locks again


def test_a_try_while_locked_is_not_counted_and_the_countdown_runs_down():
    state = Lockout()
    for _ in range(3):
        state = record_failure(state, T0, CLERK)
    assert seconds_left(state, T0) == 30
    assert record_failure(state, T0 + 10_000, CLERK) == state
    assert seconds_left(state, T0 + 10_000) == 20
    assert seconds_left(state, T0 + 10_001) == 20  # rounded up: 19.999 s still reads 20
    assert seconds_left(state, T0 + 29_999) == 1
    assert seconds_left(state, T0 + 30_000) == 0 and not is_locked(state, T0 + 30_000)


def test_the_right_pin_clears_everything():
    state = Lockout()
    for _ in range(3):
        state = record_failure(state, T0, CLERK)
    cleared = record_success(state)
    assert cleared.is_clear and not is_locked(cleared, T0) and tries_left(cleared, T0, CLERK) == 3


def test_a_clock_set_back_never_locks_longer_than_the_lock():
    state = Lockout()
    for _ in range(3):
        state = record_failure(state, T0, CLERK)
    back = T0 - 3_600_000  # the clock went back an hour
    assert remaining(state, back) == 30_000
    moved = rebase(state, back)
    assert seconds_left(moved, back + 29_000) == 1 and not is_locked(moved, back + 30_000)
    assert rebase(state, T0 + 5_000) == state  # an honest clock changes nothing


def test_the_device_counter_allows_more_free_tries_than_a_clerks():
    assert lock_seconds(DEVICE.free_tries - 1, DEVICE) == 0 and lock_seconds(DEVICE.free_tries, DEVICE) == 30
    assert lock_seconds(CLERK.free_tries, CLERK) == 30 and lock_seconds(CLERK.free_tries - 1, CLERK) == 0


def test_records_round_trip_and_bad_ones_are_refused():
    state = record_failure(Lockout(2, 0, 0), T0, CLERK)
    assert Lockout.from_dict(state.to_dict()) == state
    for bad in ({}, {"failures": "3", "until_ms": 0, "length_ms": 0}, {"failures": -1, "until_ms": 0, "length_ms": 0},
                {"failures": True, "until_ms": 0, "length_ms": 0}, None):
        with pytest.raises(DomainError):
            Lockout.from_dict(bad)


def test_a_policy_must_make_sense():
    for bad in (dict(free_tries=0), dict(base_seconds=0), dict(base_seconds=60, cap_seconds=30)):
        with pytest.raises(DomainError):
            Policy(**bad)


def test_waits_are_said_in_seconds_and_minutes():
    assert [wait_words(s) for s in (0, 1, 30, 60, 125, 900)] == ["0 s", "1 s", "30 s", "1 min", "2 min 5 s", "15 min"]


policies = st.builds(Policy, free_tries=st.integers(1, 12), base_seconds=st.integers(1, 120),
                     cap_seconds=st.integers(120, 7200))


@given(policies, st.integers(0, 200))
def test_backoff_is_monotone_and_capped(policy, failures):
    now, then = lock_seconds(failures, policy), lock_seconds(failures + 1, policy)
    assert 0 <= now <= then <= policy.cap_seconds
    if failures >= policy.free_tries:
        assert now >= policy.base_seconds


# a cashier at the keypad: wrong PINs, the right one, and time passing (ms)
steps = st.lists(st.one_of(st.tuples(st.just("wrong"), st.integers(0, 2_000_000)),
                           st.tuples(st.just("right"), st.integers(0, 2_000_000))), max_size=60)


@settings(max_examples=200)
@given(policies, steps)
def test_any_sequence_of_tries_keeps_the_rule(policy, tries):
    state, now = Lockout(), T0
    last_lock = 0
    for kind, wait in tries:
        now += wait
        before = state
        if kind == "right":
            state = record_success(state)
            assert state.is_clear and tries_left(state, now, policy) == policy.free_tries  # success resets
            last_lock = 0
            continue
        state = record_failure(state, now, policy)
        if is_locked(before, now):
            assert state == before  # refused, not tried
            continue
        assert state.failures == before.failures + 1
        assert remaining(state, now) <= policy.cap_seconds * 1000  # capped
        if is_locked(state, now):
            assert state.length_ms >= last_lock  # monotone: a lock is never shorter than the one before it
            assert state.failures >= policy.free_tries
            last_lock = state.length_ms
        else:
            assert state.failures < policy.free_tries
            assert tries_left(state, now, policy) == policy.free_tries - state.failures


@given(policies, st.integers(0, 30), st.integers(-(10**10), 10**10))
def test_what_is_left_is_never_negative_nor_longer_than_the_lock(policy, failures, offset):
    state = Lockout()
    for _ in range(failures):
        state = record_failure(state, max(T0, state.until_ms), policy)
    at = T0 + offset
    assert 0 <= remaining(state, at) <= state.length_ms <= policy.cap_seconds * 1000
    assert remaining(rebase(state, at), at) == remaining(state, at)
