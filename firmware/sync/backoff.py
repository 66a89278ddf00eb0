"""Reconnect delays: exponential backoff with full jitter, so a fleet of registers does not stampede a broker."""

from __future__ import annotations

import random


class Backoff:
    """`next()` is uniform in [0, min(cap, base * 2**attempt)]; `reset()` after a good connection."""

    def __init__(self, base: float = 0.5, cap: float = 60.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 32)))
        self.attempt += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
