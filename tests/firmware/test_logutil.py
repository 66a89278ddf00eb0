"""LogThrottle: a flood logs a burst, then one line with how many were left out."""

from __future__ import annotations

import logging

from firmware.logutil import LogThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_logs_a_burst_then_a_count(caplog):
    clock = Clock()
    throttle = LogThrottle(logging.getLogger("kassa.test"), period=10.0, burst=3, clock=clock)
    caplog.set_level(logging.INFO, logger="kassa.test")
    logged = [throttle.warning("unknown", "ack for unknown receipt %s", f"S1:R1:e:{i}") for i in range(10_000)]
    assert logged.count(True) == 3 and throttle.suppressed("unknown") == 9_997
    assert throttle.info("other", "another kind") is True  # keys are counted apart
    clock.now = 10.0
    assert throttle.warning("unknown", "ack for unknown receipt %s", "S1:R1:e:x")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5
    assert lines[-1] == "ack for unknown receipt S1:R1:e:x (and 9997 more like it in the last 10s, not logged)"
    assert throttle.suppressed_total == 9_997


def test_keys_are_bounded():
    throttle = LogThrottle(logging.getLogger("kassa.test"), max_keys=4, clock=Clock())
    for i in range(1000):
        throttle.debug(f"k{i}", "x")
    assert len(throttle._keys) == 4
