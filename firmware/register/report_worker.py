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
from collections.abc import Iterable, Iterator

from firmware.config import Config
from firmware.contract.chain import canonical_json
from firmware.register.core.effects import SumReport
from firmware.register.core.events import ReportSummed
from firmware.register.core.handlers.reports import build
from firmware.register.core.state import Receipt
from firmware.register.job_worker import JobAbandoned, JobWorker
from firmware.register.ports import RegisterJournal

log = logging.getLogger(__name__)


class ReportWorker(JobWorker[SumReport]):
    """One thread (`kassa-reports`) that sums `SumReport` jobs in order and puts `ReportSummed` on `events`."""

    thread_name = "kassa-reports"

    def __init__(self, journal: RegisterJournal, config: Config, events: queue.Queue[object]) -> None:
        super().__init__(events)
        self._journal = journal
        self._config = config

    def answer(self, job: SumReport) -> ReportSummed:
        return self.sum(job)

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
        except JobAbandoned:
            raise
        except Exception as exc:  # noqa: BLE001 - answered to the fleet, never raised into a thread's void
            log.exception("remote %s report failed", job.kind.upper())
            return ReportSummed(job.command_id, None, str(exc) or exc.__class__.__name__)

    def _until_stopped(self, receipts: Iterable[Receipt]) -> Iterator[Receipt]:
        for n, receipt in enumerate(receipts):
            if n % 256 == 0 and self._stop.is_set():
                raise JobAbandoned
            yield receipt

