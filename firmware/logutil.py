"""Rate-limited logging: a flood of the same event logs a few lines and a count, not one line per event.

    flood = LogThrottle(log, period=10.0, burst=5)
    flood.warning("rejected", "ack for an unknown receipt %s", receipt_id)

The first `burst` records of a key in each `period` are logged as usual; the
rest are counted, and the next record logged after the period (of that key)
says how many were left out. A flood that simply stops has no next record:
`flush()`, called now and then by the owner's housekeeping, logs one summary
line per key whose period is over with the count it left out (and the last
record it left out, as an example). Keys are a handful of fixed strings per
call site ("what happened"), never data from the wire; at most `max_keys` are
tracked (the oldest is forgotten). Thread-safe; the clock is injectable for
tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["LogThrottle"]


class LogThrottle:
    """At most `burst` log records per key every `period` seconds; the suppressed ones are counted."""

    def __init__(self, logger: logging.Logger, *, period: float = 10.0, burst: int = 5, max_keys: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.period = period
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self.suppressed_total = 0
        self._keys: OrderedDict[str, list[float | int]] = OrderedDict()  # key -> [window start, logged, suppressed]
        self._last: dict[str, tuple[int, str, tuple[object, ...]]] = {}  # key -> the last record left out
        self._lock = threading.Lock()

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Log `msg % args` at `level` unless `key` is over its burst; True when it was logged."""
        now = self.clock()
        with self._lock:
            state = self._keys.get(key)
            if state is None:
                state = self._keys[key] = [now, 0, 0]
                if len(self._keys) > self.max_keys:
                    self._last.pop(self._keys.popitem(last=False)[0], None)
            elif now - state[0] >= self.period:
                left_out = int(state[2])
                state[0], state[1], state[2] = now, 0, 0
                self._last.pop(key, None)
                if left_out:
                    msg = f"{msg} (and {left_out} more like it in the last {self.period:g}s, not logged)"
            if state[1] >= self.burst:
                state[2] += 1
                self.suppressed_total += 1
                self._last[key] = (level, msg, args)
                return False
            state[1] += 1
        self.logger.log(level, msg, *args)
        return True

    def flush(self) -> int:
        """Log a summary for every key whose period is over and that left records out; return how many lines.

        The summary names the count, the period and the last record left out, at that record's level; the key
        starts a new period (its burst is free again)."""
        now = self.clock()
        lines: list[tuple[int, str, tuple[object, ...]]] = []
        with self._lock:
            for key, state in self._keys.items():
                if state[2] and now - state[0] >= self.period:
                    level, msg, args = self._last.pop(key, (logging.WARNING, key, ()))
                    lines.append((level, f"{int(state[2])} more like this in the last {self.period:g}s were not "
                                         f"logged; the last: {msg}", args))
                    state[0], state[1], state[2] = now, 0, 0
        for level, msg, args in lines:
            self.logger.log(level, msg, *args)
        return len(lines)

    def suppressed(self, key: str) -> int:
        """Records of `key` left out so far in its current period."""
        with self._lock:
            state = self._keys.get(key)
            return int(state[2]) if state else 0

    def debug(self, key: str, msg: str, *args: object) -> bool:
        return self.log(logging.DEBUG, key, msg, *args)

    def info(self, key: str, msg: str, *args: object) -> bool:
        return self.log(logging.INFO, key, msg, *args)

    def warning(self, key: str, msg: str, *args: object) -> bool:
        return self.log(logging.WARNING, key, msg, *args)
