"""Reconnect delays: exponential backoff with full jitter, and the rule for coming back after a lost link.

Part of the contract because every device follows it (docs/contract.md): `Reconnect` is the one rule the
register's link (firmware/sync/mqtt_adapter.py) and the fleet's emulator (fleet/sim_device.py) both use, so
the emulator's reconnect storm is the fleet's. It is pure: no clock, no sockets; the caller says what time it
is and what a probe found.
"""

from __future__ import annotations

import random

PROBE_EVERY = 5.0     # s: while the broker is away, a TCP probe every 0.5..1.3 x this (2.5..6.5 s)
RETURN_SPREAD = 8.0   # s: a connect follows the probe that found the broker after a random 0..this (<= backoff cap)


class Backoff:
    """`next()` is uniform in [0, min(cap, base * 2**attempt)]; `reset()` after a good connection."""

    def __init__(self, base: float = 0.5, cap: float = 60.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self.rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return self.rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class Reconnect:
    """One wait between a lost link (or a failed attempt) and the next MQTT connect.

    - `lost(now)` starts the wait: the backoff's next draw (full jitter, growing with each failed attempt).
    - The register never connects straight from a timer: it TCP-probes the broker's port (no MQTT, no TLS) at
      the end of the backoff wait, and every 2.5..6.5 s during a longer one. Once a probe finds the broker
      listening, the connect follows after a random 0..`spread` s (RETURN_SPREAD, at most the backoff cap).
    - A probe that finds nothing at the end of the backoff wait is a failed attempt: the next, longer wait.

    So however long the outage was and wherever each register's backoff stood, the connects of a fleet that
    notices the broker's return are spread over `spread` s (at most 1/8 of the registers in any second), and
    one register is back within 6.5 + 8 = 14.5 s of the broker listening again.

    The caller acts at `due`: probe (and report it with `probed`) while `connecting` is False, connect once it
    is True.
    """

    def __init__(self, backoff: Backoff, rng: random.Random | None = None) -> None:
        self.backoff = backoff
        self.rng = rng or backoff.rng
        self.deadline = 0.0              # end of the current backoff wait
        self.probe_at = 0.0              # next probe
        self.connect_at: float | None = None

    @property
    def spread(self) -> float:
        return min(RETURN_SPREAD, self.backoff.cap)

    @property
    def connecting(self) -> bool:
        """A probe found the broker: connect at `due`."""
        return self.connect_at is not None

    @property
    def due(self) -> float:
        return self.connect_at if self.connect_at is not None else self.probe_at

    def lost(self, now: float) -> float:
        """The link is gone or an attempt failed: start the next wait; returns the backoff drawn."""
        delay = self.backoff.next()
        self.deadline = now + delay
        self.connect_at = None
        self.probe_at = min(self.deadline, now + self._gap())
        return delay

    def probed(self, now: float, answered: bool) -> None:
        """What the probe due now found."""
        if answered:
            self.connect_at = now + self.rng.uniform(0.0, self.spread)
        elif now >= self.deadline:
            self.lost(now)
        else:
            self.probe_at = min(self.deadline, now + self._gap())

    def _gap(self) -> float:
        return self.rng.uniform(0.5 * PROBE_EVERY, 1.3 * PROBE_EVERY)
