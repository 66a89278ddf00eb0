"""Sums the reports the fleet asks for on one long-lived thread, reported back as a `ReportSummed` event.

An X report reads every receipt since the last Z; on a busy day that takes a
while, and the fleet may ask in the middle of a sale, so the UI thread never
does it. The core decides what to sum (`SumReport`: the last Z's counter, the
open shift, the currency, the report's id tail and time); the shell hands it
to `submit`; the thread (`kassa-reports`, started by bootstrap's lifecycle,
stopped and joined by `stop`) sums it with the same `build` the local X
report uses, checks it against the contract, and puts `ReportSummed` on the
register's queue. The register's core then asks the shell to publish it and
answer the fleet through sync: the worker never calls sync.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator

from firmware.config import Config
from firmware.contract.chain import canonical_json
from firmware.lifecycle import join_thread
from firmware.register.core.effects import SumReport
from firmware.register.core.events import ReportSummed
from firmware.register.core.handlers.reports import build
from firmware.register.core.state import Receipt
from firmware.register.ports import RegisterJournal

log = logging.getLogger(__name__)


class _Stopped(Exception):
    """The worker was stopped while summing: no answer is sent (the register is shutting down)."""


class ReportWorker:
    """One thread that sums `SumReport` jobs in order and puts `ReportSummed` on `events`. No thread per request."""

    def __init__(self, journal: RegisterJournal, config: Config, events: queue.Queue[object]) -> None:
        self._journal = journal
        self._config = config
        self._events = events
        self._jobs: queue.Queue[SumReport | None] = queue.Queue()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (bootstrap's lifecycle); jobs submitted before wait for it. Twice is harmless; a stopped
        worker stays stopped."""
        with self._idle:
            if self._thread is not None or self._stop.is_set():
                return
            thread = self._thread = threading.Thread(target=self._run, name="kassa-reports", daemon=True)
        thread.start()

    def submit(self, job: SumReport) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has put its event; False on timeout (tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread and join it: a report being summed is abandoned, queued ones are dropped (unanswered)."""
        self._stop.set()
        self._jobs.put(None)
        join_thread(self._thread, timeout)
        with self._idle:
            self._pending = 0  # what was dropped will never come back
            self._idle.notify_all()

    def sum(self, job: SumReport) -> ReportSummed:
        """Sum one job (on any thread); a failure becomes `ReportSummed` with the reason, never an exception."""
        from firmware.contract import Report as ReportDoc, decode  # the payload models: not before the login screen

        try:
            receipts = self._journal.receipts(from_seq=job.last_z["last_seq"] + 1)
            report = build(job.kind, None, job.last_z, job.shift, self._until_stopped(receipts), config=self._config,
                           currency=job.currency, epoch=self._journal.epoch, report_id_tail=job.report_id_tail,
                           created_at=job.created_at)
            decode(ReportDoc, canonical_json(report))  # what sync's publish_report would refuse, said to the fleet
            return ReportSummed(job.command_id, report)
        except _Stopped:
            raise
        except Exception as exc:  # noqa: BLE001 - answered to the fleet, never raised into a thread's void
            log.exception("remote %s report failed", job.kind.upper())
            return ReportSummed(job.command_id, None, str(exc) or exc.__class__.__name__)

    def _until_stopped(self, receipts: Iterable[Receipt]) -> Iterator[Receipt]:
        for n, receipt in enumerate(receipts):
            if n % 256 == 0 and self._stop.is_set():
                raise _Stopped
            yield receipt

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stop.is_set():
                return
            try:
                self._events.put(self.sum(job))
            except _Stopped:
                return
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
