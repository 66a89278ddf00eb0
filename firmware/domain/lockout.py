"""PIN lockouts: wrong PINs counted (per clerk, per device), then locks that double up to a cap; pure, the caller
brings the time.

Time is wall time in whole milliseconds since the epoch (`now_ms`), passed in
by the caller. A state keeps the end of its lock (`until_ms`) and the lock's
length (`length_ms`): what is left is never more than the length, so a clock
set back cannot lock anyone out for longer than the lock itself (`rebase`
moves the end back to match such a clock).

The rule: a wrong PIN counts one failure. Once `free_tries` failures are
counted, every further wrong PIN (each tried after the last lock ran out)
locks for `base_seconds`, doubled per failure beyond the free ones, never
more than `cap_seconds`. Tries while locked are refused, never counted. The
right PIN clears the count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from firmware.domain.errors import DomainError

__all__ = [
    "Policy", "Lockout", "CLERK", "DEVICE", "lock_seconds", "remaining", "seconds_left", "is_locked",
    "record_failure", "record_success", "tries_left", "rebase", "wait_words",
]

_MAX_DOUBLINGS = 40  # 2**40 times any sane base is past any sane cap: no huge numbers


@dataclass(frozen=True)
class Policy:
    """How many wrong PINs are free, the first lock and the longest one (whole seconds)."""

    free_tries: int = 3
    base_seconds: int = 30
    cap_seconds: int = 900

    def __post_init__(self) -> None:
        if self.free_tries < 1 or self.base_seconds < 1 or self.cap_seconds < self.base_seconds:
            raise DomainError("A lockout policy needs free_tries >= 1 and 1 <= base_seconds <= cap_seconds")


CLERK = Policy()  # per clerk: 3 wrong PINs, then 30 s, 60 s, 120 s ... up to 15 min
DEVICE = Policy(free_tries=10)  # per register, whichever clerk: cycling clerk ids does not buy more tries


@dataclass(frozen=True)
class Lockout:
    """Wrong PINs since the last right one, and the current (or last) lock."""

    failures: int = 0
    until_ms: int = 0
    length_ms: int = 0

    @property
    def is_clear(self) -> bool:
        return self == Lockout()

    def to_dict(self) -> dict[str, Any]:
        return {"failures": self.failures, "until_ms": self.until_ms, "length_ms": self.length_ms}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Lockout:
        try:
            values = [d["failures"], d["until_ms"], d["length_ms"]]
        except (KeyError, TypeError) as err:
            raise DomainError(f"Lockout record is unreadable ({err!r})") from None
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise DomainError(f"Lockout record is unreadable ({dict(d)!r})")
        return cls(*values)


def lock_seconds(failures: int, policy: Policy) -> int:
    """How long the `failures`-th wrong PIN locks: 0 while tries are free, then base doubling, capped."""
    beyond = failures - policy.free_tries
    if beyond < 0:
        return 0
    return int(min(policy.cap_seconds, policy.base_seconds * 2 ** min(beyond, _MAX_DOUBLINGS)))


def remaining(state: Lockout, now_ms: int) -> int:
    """Milliseconds of lock left at `now_ms` (0 = not locked); never more than the lock's length."""
    return max(0, min(state.until_ms - now_ms, state.length_ms))


def seconds_left(state: Lockout, now_ms: int) -> int:
    """Whole seconds left, rounded up (what a countdown shows: 30, 29, ... 1)."""
    return -(-remaining(state, now_ms) // 1000)


def is_locked(state: Lockout, now_ms: int) -> bool:
    return remaining(state, now_ms) > 0


def record_failure(state: Lockout, now_ms: int, policy: Policy) -> Lockout:
    """A wrong PIN at `now_ms`; refused tries during a lock are not tries, so a locked state comes back as it was."""
    if is_locked(state, now_ms):
        return state
    failures = state.failures + 1
    seconds = lock_seconds(failures, policy)
    if seconds == 0:
        return replace(state, failures=failures)
    return Lockout(failures, now_ms + seconds * 1000, seconds * 1000)


def record_success(state: Lockout) -> Lockout:
    """The right PIN: the count starts again."""
    return Lockout()


def tries_left(state: Lockout, now_ms: int, policy: Policy) -> int:
    """Wrong PINs that may still be typed before the next lock (0 while locked; 1 once past the free ones)."""
    if is_locked(state, now_ms):
        return 0
    return max(1, policy.free_tries - state.failures)


def rebase(state: Lockout, now_ms: int) -> Lockout:
    """After the clock was set back: let the lock end at most its length from `now_ms`."""
    if state.until_ms - now_ms > state.length_ms:
        return replace(state, until_ms=now_ms + state.length_ms)
    return state


def wait_words(seconds: int) -> str:
    """`45 s`, `2 min`, `14 min 5 s`: how long to wait, for people."""
    minutes, secs = divmod(max(0, seconds), 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min" + (f" {secs} s" if secs else "")
