"""Slow, periodic journal work off the UI thread: health (free disk, days left, alarms) and retention.

`journal.health()` reads recent receipts to estimate the daily rate, and
`archive_confirmed` compresses and prunes old, fleet-confirmed segments; both
must never run inside a frame or on the commit path, so a daemon thread
(started by `start()`, from bootstrap's lifecycle) does them and posts
`JournalHealthMeasured` / `JournalArchived` to the register.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from firmware.clock import Clock
from firmware.lifecycle import join_thread

if TYPE_CHECKING:  # firmware.register.core imports this module (its events)
    from firmware.register.ports import JournalUpkeep
    from firmware.register.punch_retention import PunchPruner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JournalHealthMeasured:
    free_bytes: int
    days_left: float | None
    receipts_per_day: float
    alarm: str | None = None


@dataclass(frozen=True)
class JournalArchived:
    receipts: int
    first_seq: int | None
    last_seq: int | None
    bytes_freed: int


class Housekeeper:
    """Measures journal health and archives confirmed receipts older than `retention_days` (and prunes confirmed
    punches as old, with `punches`: firmware/register/punch_retention.py), every `interval` s."""

    def __init__(self, journal: JournalUpkeep, events: queue.Queue[object], clock: Clock, retention_days: int,
                 interval: float = 600.0, first_delay: float = 20.0, punches: PunchPruner | None = None) -> None:
        self._journal = journal
        self._punches = punches  # the time clock's confirmed punches, pruned under the same retention
        self._retention_days = retention_days
        self._events = events
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._interval = interval
        self._first_delay = first_delay  # let start-up and the first sale have the CPU to themselves
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (first run after `first_delay` s); twice is harmless."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kassa-housekeeping", daemon=True)
        self._thread.start()

    def run_once(self) -> None:
        """Archive what the retention policy allows, then measure; each failure is logged, never raised."""
        try:
            done = self._journal.archive_confirmed(self._clock.now() - self._retention)
            if done.receipts:
                log.info("archived %d confirmed receipts (seq %s..%s), %d bytes freed",
                         done.receipts, done.first_seq, done.last_seq, done.bytes_freed)
                self._events.put(JournalArchived(done.receipts, done.first_seq, done.last_seq, done.bytes_freed))
        except Exception:
            log.exception("journal retention run failed; nothing was pruned")
        if self._punches is not None:
            try:
                self._punches.prune(self._clock.now(), self._retention_days)
            except Exception:
                log.exception("punch retention run failed; no punch was pruned")
        try:
            h = self._journal.health()
            self._events.put(JournalHealthMeasured(h["free_bytes"], h["days_left"], h["receipts_per_day"],
                                                   h.get("alarm")))
        except Exception:
            log.exception("journal health check failed")

    def _run(self) -> None:
        if self._stop.wait(self._first_delay):
            return
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self._interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        join_thread(self._thread, timeout)
