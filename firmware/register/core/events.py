"""Events: things that happened (past tense) that the core folds into the state.

They come from hal (scanner, printer, drawer), from sync, from the register's
own workers (journal writer, housekeeping, exporter, report worker, receipt finder) and from the shell
carrying out an effect (`StateWritten`, `ReceiptPrinting`). All are plain
frozen dataclasses; the core dispatches on their type.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.receipt_finder import FindResult
from firmware.register.committer import CommitFailed, PunchCommitted, PunchFailed, ReceiptCommitted
from firmware.register.core.effects import FollowUp
from firmware.register.core.state import Report
from firmware.register.exporter import ExportFinished
from firmware.register.housekeeping import JournalArchived, JournalHealthMeasured
from firmware.sync.events import AccountsReceived, SyncEvent
from hal.events import HalEvent


@dataclass(frozen=True)
class StateWritten:
    """A `PutState` is on disk (`ok`), or none of it is (`reason`); `then` says what it was for."""

    then: FollowUp
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class ReportSummed:
    """The report worker summed the `SumReport` for fleet command `command_id`: `report`, or `error` says why not."""

    command_id: str
    report: Report | None
    error: str = ""


@dataclass(frozen=True)
class ReceiptsFound:
    """The finder ran search `search_id` (`SearchReceipts`): `result`, or `error` says why there is none."""

    search_id: str
    result: FindResult | None
    error: str = ""


@dataclass(frozen=True)
class ReceiptPrinting:
    """The printer took receipt `receipt_id` as job `job_id` (its PrintDone or PrintFailed follows)."""

    job_id: str
    receipt_id: str


WorkerEvent = (ReceiptCommitted | CommitFailed | JournalHealthMeasured | JournalArchived | ExportFinished
               | ReportSummed | PunchCommitted | PunchFailed | ReceiptsFound)
Event = WorkerEvent | StateWritten | ReceiptPrinting | HalEvent | SyncEvent

__all__ = ["AccountsReceived",
           "CommitFailed", "Event", "ExportFinished", "JournalArchived", "JournalHealthMeasured", "PunchCommitted",
           "PunchFailed", "ReceiptCommitted", "ReceiptPrinting", "ReceiptsFound", "ReportSummed", "StateWritten",
           "WorkerEvent"]
