"""A flood on the scanner line (1M short lines, then garbage) over a real pty: the register's queue stays bounded,
the flood is counted and logged a few times, and the next real scan after it goes through at once."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time

import pytest

from hal.events import DeviceState, ScanRead
from hal.scanner import MAX_BACKLOG, PtyScanner, SerialScanner

pytestmark = pytest.mark.slow  # a million-line flood through a pty

LINES = 1_000_000


def _write_all(path: str, data: bytes, chunk: int = 64 * 1024) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view[:chunk])
            view = view[n:]
    finally:
        os.close(fd)


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_million_line_flood_keeps_the_queue_bounded_and_the_next_scan_goes_through(caplog):
    events: queue.Queue = queue.Queue()  # the register's queue; nobody reads it during the flood
    scanner = PtyScanner(events, suffix="lf")
    scanner.start()
    sizes: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            sizes.append(events.qsize())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    caplog.set_level(logging.INFO, logger="hal.scanner")
    try:
        started = time.monotonic()
        flood = b"12\n" * (LINES // 2) + b"\xff\xfe\x01\n" * (LINES // 2)  # codes, then garbage
        _write_all(scanner.path, flood)
        _wait(lambda: scanner.dropped + events.qsize() - 1 >= LINES, 120, "the scanner to read the whole flood")
        took = time.monotonic() - started
        done.set()
        sampler.join(5)
        assert events.qsize() <= MAX_BACKLOG
        assert max(sizes) <= MAX_BACKLOG
        assert scanner.dropped == LINES + 1 - MAX_BACKLOG  # +1: the "connected" state event took a place
        assert scanner.rejected == LINES // 2
        records = [r for r in caplog.records if r.name == "hal.scanner"]
        assert len(records) < 20, len(records)  # a few lines with counts, not one per scan
        # the register catches up: a real scan now arrives at once
        while True:
            try:
                events.get_nowait()
            except queue.Empty:
                break
        _write_all(scanner.path, b"4006381333931\n")
        event = events.get(timeout=2)
        assert isinstance(event, ScanRead) and event.code == "4006381333931"
    finally:
        done.set()
        scanner.close()
    print(f"\n{LINES} lines in {took:.1f}s: queue peaked at {max(sizes)}, {scanner.dropped} dropped, "
          f"{len(records)} log lines")


def test_a_serial_scanner_bounds_its_events_the_same_way(tmp_path):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    events: queue.Queue = queue.Queue()
    scanner = SerialScanner(path, events, suffix="lf", backoff=(0.05, 0.2))
    scanner.max_backlog = 10
    scanner.start()
    try:
        _wait(lambda: any(isinstance(e, DeviceState) and e.state == "connected" for e in list(events.queue)), 10,
              "connected")
        os.write(master, b"1\n" * 5000)
        _wait(lambda: scanner.dropped + events.qsize() >= 5000, 30, "the flood read")
        assert events.qsize() <= 10
    finally:
        scanner.stop()
        os.close(master)
        os.close(slave)
