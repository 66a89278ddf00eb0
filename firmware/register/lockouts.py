"""PIN lockouts of the register (login, manager approval), kept across restarts as `lockout` state records.

Each PIN gate has two counters (`firmware/domain/lockout.py`): one per clerk
(the clerk logging in; for an approval, the clerk asking for it) and one for
the whole register, so trying many clerk ids buys no extra guesses. A gate is
shut while either is locked. The counters live in memory (read once from the
journal, so a restart still refuses) and every change is written behind as a
state record like parked carts and the shift: no frame waits on the fsync.
If a write fails the memory keeps the stricter, newer count.
"""

from __future__ import annotations

import logging
from typing import Any

from firmware.clock import Clock
from firmware.domain import lockout as rule
from firmware.domain.errors import DomainError
from firmware.domain.lockout import Lockout
from firmware.register.states import PendingStates
from firmware.register.view import LockoutView

log = logging.getLogger(__name__)

KIND = "lockout"
PURPOSES = ("login", "approval")
NOBODY = "-"  # the clerk key for an id the roster does not know (or no clerk logged in)


class Lockouts:
    """The lockout counters of one register: check, count a wrong PIN, clear on the right one."""

    def __init__(self, states: PendingStates, clock: Clock) -> None:
        self._states = states
        self._clock = clock
        self._held: dict[str, Lockout] = {}

    def now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def _keys(self, purpose: str, who: str) -> list[tuple[str, rule.Policy]]:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown PIN gate {purpose!r}")
        return [(f"{purpose}:clerk:{who}", rule.CLERK), (f"{purpose}:device", rule.DEVICE)]

    def _get(self, key: str, now_ms: int) -> Lockout:
        state = self._held.get(key)
        if state is None:
            doc = self._states.get(KIND, key)
            try:
                state = Lockout.from_dict(doc) if doc else Lockout()
            except DomainError as err:
                log.warning("lockout record %s unreadable, counted from zero: %s", key, err)
                state = Lockout()
        state = rule.rebase(state, now_ms)
        self._held[key] = state
        return state

    def status(self, purpose: str, who: str) -> LockoutView:
        """Seconds left of a lock (0 = open) and, after a wrong PIN, the tries left before the next lock."""
        now = self.now_ms()
        gates = [(self._get(key, now), policy) for key, policy in self._keys(purpose, who)]
        seconds = max(rule.seconds_left(state, now) for state, _ in gates)
        if seconds:
            return LockoutView(seconds, 0)
        left = min(rule.tries_left(state, now, policy) for state, policy in gates)
        return LockoutView(0, left if left < rule.CLERK.free_tries else None)

    def failed(self, purpose: str, who: str) -> LockoutView:
        """Count a wrong PIN on the clerk's and the register's counters; the gate as it is now."""
        now = self.now_ms()
        changes: list[tuple[str, str, dict[str, Any] | None]] = []
        for key, policy in self._keys(purpose, who):
            before = self._get(key, now)
            after = rule.record_failure(before, now, policy)
            if after != before:
                self._held[key] = after
                changes.append((KIND, key, after.to_dict()))
        self._write(changes)
        status = self.status(purpose, who)
        if status.seconds:
            log.warning("%s PIN gate locked for %d s (clerk %s)", purpose, status.seconds, who)
        return status

    def succeeded(self, purpose: str, who: str) -> None:
        """The right PIN: both counters start again (written only when there was something to clear)."""
        now = self.now_ms()
        changes: list[tuple[str, str, dict[str, Any] | None]] = []
        for key, _policy in self._keys(purpose, who):
            if not self._get(key, now).is_clear:
                self._held[key] = rule.record_success(self._held[key])
                changes.append((KIND, key, None))
        self._write(changes)

    def _write(self, changes: list[tuple[str, str, dict[str, Any] | None]]) -> None:
        def said(ok: bool, reason: str) -> None:
            if not ok:
                log.warning("lockout counters not saved (%s); this register still holds them until it restarts", reason)

        if changes:
            self._states.write(changes, said)
