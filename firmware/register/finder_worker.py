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

from firmware.receipt_finder import ReceiptSource, find_receipts
from firmware.register.core.effects import SearchReceipts
from firmware.register.core.events import ReceiptsFound
from firmware.register.job_worker import JobAbandoned, JobWorker

log = logging.getLogger(__name__)

CHECK_EVERY = 256  # receipts read between looks at "stopped, or a newer search asked for?"


class _Watched:
    """The journal as the finder reads it, raising `JobAbandoned` once the search is no longer wanted."""

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
            raise JobAbandoned
        return self._source.payload(seq)


class FinderWorker(JobWorker[SearchReceipts]):
    """One thread (`kassa-finder`) that runs `SearchReceipts` jobs, newest wins; puts `ReceiptsFound` on `events`."""

    thread_name = "kassa-finder"

    def __init__(self, journal: ReceiptSource, events: queue.Queue[object]) -> None:
        super().__init__(events)
        self._journal = journal
        self._current = [""]  # the newest search id submitted (a list: read by the watched source)

    def _accepted(self, job: SearchReceipts) -> None:
        self._current[0] = job.search_id

    def answer(self, job: SearchReceipts) -> ReceiptsFound | None:
        if job.search_id != self._current[0]:  # an older one still queued: a newer search replaces it
            return None
        return self.search(job)

    def search(self, job: SearchReceipts) -> ReceiptsFound:
        """Run one search (on any thread); a failure becomes `ReceiptsFound` with the reason, never an exception
        (`JobAbandoned` excepted: that one has no answer)."""
        source = _Watched(self._journal, self._stop, self._current, job.search_id)
        try:
            result = find_receipts(source, job.query, job.tz, limit=job.limit, before_seq=job.before_seq)
        except JobAbandoned:
            raise
        except ValueError as exc:  # the query cannot run: the core checked it, so this is a second line
            return ReceiptsFound(job.search_id, None, str(exc))
        except Exception as exc:  # noqa: BLE001 - said on the screen, never raised into a thread's void
            log.exception("receipt search failed")
            return ReceiptsFound(job.search_id, None, f"The search failed ({exc.__class__.__name__}); try again.")
        return ReceiptsFound(job.search_id, result)

