"""Background check of sealed segments after a fast open: damage becomes an alarm naming file and offset.

Opening reads only the segment indexes and scans the tail, so a 100k-receipt
journal opens in a fraction of a second. This thread then compares each
sealed segment's bytes with the CRC its index recorded, one segment at a
time with a pause in between. A mismatch changes nothing on disk: it is
raised as an alarm (`Journal.alarms`, `health()["alarms"]`) for the register
to show, and reading a damaged receipt still raises JournalCorrupt. It runs
once `Journal.start()` starts it; tools that want the check open with
`verify=True` instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from firmware.journal.segments import ReceiptLog
from firmware.lifecycle import join_thread

log = logging.getLogger(__name__)


class Verifier(threading.Thread):
    """Checks every not-yet-verified sealed segment once, then sets `done`."""

    def __init__(self, receipts: ReceiptLog, alarm: Callable[[str], None], pause: float = 0.005) -> None:
        super().__init__(name="kassa-journal-verifier", daemon=True)
        self._log = receipts
        self._alarm = alarm
        self._pause = pause
        self._stopping = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        try:
            for seg in self._log.unverified():
                if self._stopping.is_set():
                    return
                if not self._log.holds(seg):
                    continue  # archived meanwhile; the archiver checked it
                try:
                    problem: Exception | None = self._log.check_sealed(seg)
                except FileNotFoundError:
                    if not self._log.holds(seg):
                        continue
                    problem = OSError(f"journal file {seg.path} is missing: call service")
                except OSError as exc:
                    problem = exc
                    log.error("journal verifier could not read %s: %s", seg.path, exc)
                if problem is not None:
                    seg.damaged = str(problem)
                    self._alarm(str(problem))
                self._stopping.wait(self._pause)  # leave the disk to the committer between segments
        finally:
            self.done.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        join_thread(self, timeout)
