"""Finds past receipts on one long-lived thread, reported back as a `ReceiptsFound` event.

A search that finds its matches among the newest receipts takes milliseconds,
but one that scans the whole history (a card's last digits, an old day, an
amount nobody paid) reads every receipt: about 0.4 s over 100,000 receipts on
a development machine, some 3-4 times that on a Pi 4 (docs/digital-receipts.md
"Finding a receipt"). On the UI thread that would freeze the till, so the core
asks for it (`SearchReceipts`), the shell hands it to `submit`, and the thread
(`kassa-finder`, started by bootstrap's lifecycle, stopped and joined by
`stop`) runs `firmware.receipt_finder.find_receipts` over the journal and puts
`ReceiptsFound` on the register's queue.

Only the newest search matters to the cashier: a search asked for while
another runs makes the older one give up at its next check (every 256
receipts read) without an answer, and queued older ones are skipped.
"""

from __future__ import annotations

import logging
import queue
import threading

from firmware.lifecycle import join_thread
from firmware.receipt_finder import ReceiptSource, find_receipts
from firmware.register.core.effects import SearchReceipts
from firmware.register.core.events import ReceiptsFound

log = logging.getLogger(__name__)

CHECK_EVERY = 256  # receipts read between looks at "stopped, or a newer search asked for?"


class _Abandoned(Exception):
    """The worker was stopped, or a newer search came in: this one ends without an answer."""


class _Watched:
    """The journal as the finder reads it, raising `_Abandoned` once the search is no longer wanted."""

    def __init__(self, source: ReceiptSource, stop: threading.Event, current: list[str], search_id: str) -> None:
        self._source = source
        self._stop = stop
        self._current = current
        self._id = search_id
        self._reads = 0

    @property
    def next_seq(self) -> int:
        return self._source.next_seq

    def payload(self, seq: int) -> bytes:
        self._reads += 1
        if self._reads % CHECK_EVERY == 0 and (self._stop.is_set() or self._current[0] != self._id):
            raise _Abandoned
        return self._source.payload(seq)


class FinderWorker:
    """One thread that runs `SearchReceipts` jobs, newest wins; puts `ReceiptsFound` on `events`."""

    def __init__(self, journal: ReceiptSource, events: queue.Queue[object]) -> None:
        self._journal = journal
        self._events = events
        self._jobs: queue.Queue[SearchReceipts | None] = queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._current = [""]  # the newest search id submitted (a list: read by the watched source)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (bootstrap's lifecycle); jobs submitted before wait for it. Twice is harmless; a stopped
        worker stays stopped."""
        with self._idle:
            if self._thread is not None or self._stop.is_set():
                return
            thread = self._thread = threading.Thread(target=self._run, name="kassa-finder", daemon=True)
        thread.start()

    def submit(self, job: SearchReceipts) -> None:
        with self._idle:
            self._pending += 1
            self._current[0] = job.search_id
        self._jobs.put(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted search has put its event or given way to a newer one; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread and join it: a running search is abandoned, queued ones are dropped (unanswered)."""
        self._stop.set()
        self._jobs.put(None)
        join_thread(self._thread, timeout)
        with self._idle:
            self._pending = 0
            self._idle.notify_all()

    def search(self, job: SearchReceipts) -> ReceiptsFound:
        """Run one search (on any thread); a failure becomes `ReceiptsFound` with the reason, never an exception
        (`_Abandoned` excepted: that one has no answer)."""
        source = _Watched(self._journal, self._stop, self._current, job.search_id)
        try:
            result = find_receipts(source, job.query, job.tz, limit=job.limit, before_seq=job.before_seq)
        except _Abandoned:
            raise
        except ValueError as exc:  # the query cannot run: the core checked it, so this is a second line
            return ReceiptsFound(job.search_id, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - said on the screen, never raised into a thread's void
            log.exception("receipt search failed")
            return ReceiptsFound(job.search_id, None, f"The search failed ({exc.__class__.__name__}); try again.")
        return ReceiptsFound(job.search_id, result)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stop.is_set():
                return
            try:
                if job.search_id == self._current[0]:  # an older one still queued: a newer search replaces it
                    self._events.put(self.search(job))
            except _Abandoned:
                pass
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
