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


def test_flush_says_how_many_a_flood_that_stopped_left_out(caplog):
    clock = Clock()
    throttle = LogThrottle(logging.getLogger("kassa.test"), period=10.0, burst=2, clock=clock)
    caplog.set_level(logging.INFO, logger="kassa.test")
    for i in range(500):
        throttle.warning("acks", "rejected a message on %s: bad %d", "kassa/v1/S001/R1/acks", i)
    throttle.info("quiet", "one of another kind")
    assert throttle.flush() == 0  # the period is not over yet: nothing to say
    clock.now = 10.0
    assert throttle.flush() == 1 and throttle.flush() == 0  # one line per key that left records out, once
    records = [r for r in caplog.records if r.name == "kassa.test"]
    assert [r.getMessage() for r in records][-1] == (
        "498 more like this in the last 10s were not logged; the last: rejected a message on kassa/v1/S001/R1/acks: "
        "bad 499")
    assert records[-1].levelno == logging.WARNING
    assert throttle.warning("acks", "rejected again") is True  # a new period: the burst is free again
