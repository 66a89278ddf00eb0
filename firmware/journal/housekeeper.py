"""The journal's background thread: seals full segments, preallocates the next one, updates the high-water mark.

Everything here is off the commit path: a commit only pokes this thread.
It runs once `Journal.start()` starts it; a journal that is never started
(a tool's) gets the same final pass from `stop()`, on the caller's thread.
Failures (a full disk, say) are logged and retried; they never reach the
cashier, because the commit path has its own fallbacks and errors.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from firmware.lifecycle import join_thread

if TYPE_CHECKING:
    from firmware.journal.journal import Journal
    from firmware.journal.segments import Segment

log = logging.getLogger(__name__)


class SegmentKeeper(threading.Thread):
    """Runs seal / spare / high-water tasks for one journal."""

    def __init__(self, journal: Journal, hwm_interval: float) -> None:
        super().__init__(name="kassa-journal-housekeeper", daemon=True)
        self._journal = journal
        self._hwm_interval = hwm_interval
        self._cond = threading.Condition()
        self._to_seal: list[Segment] = []
        self._dirty = False
        self._stopping = False
        self._need_spare = True

    def seal(self, segment: Segment) -> None:
        with self._cond:
            self._to_seal.append(segment)
            self._need_spare = True
            self._cond.notify()

    def committed(self) -> None:
        if not self._dirty:
            with self._cond:
                self._dirty = True
                self._cond.notify()

    def run(self) -> None:
        retry_at = 0.0
        last_hwm = 0.0
        while True:
            with self._cond:
                if not self._stopping:
                    self._cond.wait(timeout=self._hwm_interval)
                stop = self._stopping
                seal = list(self._to_seal)
                need_spare = self._need_spare
                dirty = self._dirty
            log_ = self._journal._log
            now = time.monotonic()
            if now >= retry_at or stop:
                try:
                    for seg in seal:  # on stop too: a clean close leaves every sealed segment indexed
                        log_.write_index(seg)
                        with self._cond:
                            self._to_seal.remove(seg)
                    if need_spare and not stop:
                        log_.prepare_spare()
                        with self._cond:
                            self._need_spare = False
                except OSError as exc:
                    log.warning("journal housekeeping postponed: %s", exc)
                    retry_at = now + 2.0
            if (dirty and now - last_hwm >= self._hwm_interval) or stop:
                try:
                    with self._cond:
                        self._dirty = False
                    self._journal.write_high_water()
                    last_hwm = now
                except OSError as exc:
                    log.warning("high-water mark not updated: %s", exc)
                    with self._cond:
                        self._dirty = True
            if stop:
                return

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread after a last pass (index sealed segments, write the high-water mark) and join it."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self.ident is None:  # never started: do the last pass here
            self.run()
        else:
            join_thread(self, timeout)
