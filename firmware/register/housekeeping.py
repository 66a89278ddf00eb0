"""Slow, periodic checks off the UI thread: journal health (free disk, days of space left) as events.

`journal.health()` reads recent receipts from disk to estimate the daily rate;
it must never run inside a frame, so a daemon thread measures and posts
`JournalHealthMeasured` to the register's queue.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JournalHealthMeasured:
    free_bytes: int
    days_left: float | None
    receipts_per_day: float


class Housekeeper:
    """Measures journal health now and then every `interval` seconds until stopped."""

    def __init__(self, journal: Any, events: "queue.Queue[Any]", interval: float = 600.0) -> None:
        self._journal = journal
        self._events = events
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kassa-housekeeping", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                h = self._journal.health()
                self._events.put(JournalHealthMeasured(h["free_bytes"], h["days_left"], h["receipts_per_day"]))
            except Exception:
                log.exception("journal health check failed")
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
