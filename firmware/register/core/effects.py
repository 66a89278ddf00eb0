"""Effects: what a handler asks the shell to do, in order (commit, put state, open the drawer, print, publish...).

The shell (`firmware/register/service.py`) carries each out and feeds any
result back as an event: `CommitReceipt` -> `ReceiptCommitted`/`CommitFailed`,
`PutState` -> `StateWritten(then, ok, reason)`, `PrintReceipt` -> `ReceiptPrinting`,
`CommitPunch` -> `PunchCommitted`/`PunchFailed`,
`StartExport` -> `ExportFinished`, `SumReport` -> `ReportSummed`, `SearchReceipts` -> `ReceiptsFound`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any

from firmware.domain.customers import CustomerEdit
from firmware.domain.parked import ParkedCart
from firmware.domain.shift import Shift
from firmware.domain.timeclock import HoursReport
from firmware.receipt_finder import ReceiptQuery
from firmware.register.core.context import StateDoc
from firmware.register.core.state import Receipt, Report

Change = tuple[str, str, StateDoc | None]  # kind, key, doc (None deletes)


class Purpose(StrEnum):
    """Why a receipt is committed: what the register does once it is durable."""

    SALE = "sale"
    REFUND = "refund"
    NO_SALE = "no_sale"


# ---- what a state write was for: carried by PutState, handed back in StateWritten

@dataclass(frozen=True)
class CartParked:
    cart: ParkedCart


@dataclass(frozen=True)
class CartRecalled:
    park_id: str


@dataclass(frozen=True)
class RefundIndexed:
    original: str


@dataclass(frozen=True)
class ShiftSaved:
    said: str  # what the cashier was told ("Shift opened")


@dataclass(frozen=True)
class ZReportSaved:
    report: Report


@dataclass(frozen=True)
class LockoutsSaved:
    pass


@dataclass(frozen=True)
class AccountsSaved:
    """The accounts snapshot (or the marker of the first receipt with account movements) is on disk."""

    version: int


@dataclass(frozen=True)
class MailQueued:
    """An e-mail request (and the mail-request head) is on disk: sync can send it."""

    request_id: str
    receipt_id: str


FollowUp = (CartParked | CartRecalled | RefundIndexed | ShiftSaved | ZReportSaved | LockoutsSaved | AccountsSaved
            | MailQueued)


# ---- effects

@dataclass(frozen=True)
class CommitReceipt:
    """Hand a receipt body to the journal writer (seq and hash link are set at commit)."""

    body: dict[str, Any]
    purpose: Purpose


@dataclass(frozen=True)
class CommitPunch:
    """Hand a punch body (firmware.fleet_records.PUNCH_BODY) to the journal writer, which gives it its seq, id and
    chain link and journals it with the punch head in one transaction; `PunchCommitted`/`PunchFailed` follows."""

    body: dict[str, Any]


@dataclass(frozen=True)
class PublishPending:
    """Journaled records for the fleet (punches, mail requests) are on disk: have sync send them now."""


@dataclass(frozen=True)
class PutState:
    """Write state records behind (read back at once); `then` comes back in `StateWritten`."""

    changes: tuple[Change, ...]
    then: FollowUp


@dataclass(frozen=True)
class OpenDrawer:
    pass


@dataclass(frozen=True)
class PrintReceipt:
    receipt: Receipt
    copy: bool = False


@dataclass(frozen=True)
class PrintReport:
    report: Report


@dataclass(frozen=True)
class PrintHours:
    """Print a time clock hours report at the printer's width (`firmware.printout.print_hours`)."""

    report: HoursReport


@dataclass(frozen=True)
class PublishReport:
    report: Report


@dataclass(frozen=True)
class SyncNow:
    pass


@dataclass(frozen=True)
class RetryQuarantined:
    pass


@dataclass(frozen=True)
class RefreshOutbox:
    """Read the outbox counts again now (something moved)."""


@dataclass(frozen=True)
class SavePayload:
    """Store a catalog or clerk payload that came without being stored (sync stores what it built itself)."""

    what: str  # "catalog" | "clerks"
    payload: dict[str, Any]


@dataclass(frozen=True)
class StartExport:
    """Write receipts to `directory` on the exporter's thread: unconfirmed ones, or those in [start, end)."""

    directory: Path
    stem: str
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class AnswerCommand:
    command_id: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class SumReport:
    """Sum a report for fleet command `command_id` on the report worker (a busy day's receipts take a while to
    read); `ReportSummed` comes back. It starts from the last Z's counter and the open shift, as the core saw
    them, and carries the report's id tail and time so the worker decides nothing."""

    command_id: str
    kind: str
    last_z: StateDoc
    shift: Shift | None
    currency: str
    report_id_tail: str
    created_at: str


@dataclass(frozen=True)
class SearchReceipts:
    """Find past receipts on the finder's thread (a search over the whole history reads every receipt: a second
    or more on a Pi); `ReceiptsFound` comes back with `search_id`. `tz` is the shop's zone (its days)."""

    search_id: str
    query: ReceiptQuery
    tz: tzinfo
    limit: int
    before_seq: int | None = None


@dataclass(frozen=True)
class RecordCustomerEdit:
    """Append a customer edit to the customer book's edit log (fsync'ed; docs/customers.md#on-the-till)."""

    edit: CustomerEdit


@dataclass(frozen=True)
class RecordStockCounts:
    """Journal a stock-take's counts, (sku, stock units), as count deltas (firmware/stock_keeper.py)."""

    counts: tuple[tuple[str, int], ...]


Effect = (CommitReceipt | PutState | OpenDrawer | PrintReceipt | PrintReport | PrintHours | PublishReport | SyncNow
          | RetryQuarantined | RefreshOutbox | SavePayload | StartExport | AnswerCommand | SumReport | CommitPunch
          | PublishPending | SearchReceipts | RecordCustomerEdit | RecordStockCounts)
