"""The journal writer thread: seals and commits receipts, and writes state records, off the UI thread.

The register hands over a receipt body; this thread assigns `seq` and the hash
link at the moment of commit (so seq stays gapless even if a commit fails),
waits for the fsync, and puts `ReceiptCommitted` or `CommitFailed` on the
register's queue. State records (parked carts, the open shift, Z counters,
the refund index) go the same way, in order with the receipts, and come back
as `StateSaved`. Time clock punches too: this thread is the one writer of the
punch head, so it gives each punch the next seq and chain link and journals
punch and head in one transaction (`PunchCommitted`/`PunchFailed`). After each
receipt it journals the receipt's stock deltas (firmware/stock_keeper.py; a
failure there never undoes the sale: the deltas are derived again later). No
frame ever waits on a disk flush.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from firmware.domain.receipt import finalize
from firmware.domain.receipt_model import Receipt
from firmware.errors import JournalError
from firmware.fleet_records import HEAD, PUNCH_HEAD, Doc, seal_punch
from firmware.lifecycle import join_thread

if TYPE_CHECKING:  # firmware.register.core imports this module (its events)
    from firmware.register.core.effects import Change
    from firmware.register.core.state import ReceiptDoc
    from firmware.register.ports import JournalWriter
    from firmware.stock_keeper import StockKeeper

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceiptCommitted:
    """A receipt is durable in the journal; `purpose` tells the register what to do next."""

    receipt: Receipt
    purpose: str


@dataclass(frozen=True)
class CommitFailed:
    """A receipt could not be made durable; nothing was committed and no money may move."""

    sale_id: str
    reason: str
    purpose: str


@dataclass(frozen=True)
class PunchCommitted:
    """A punch is durable in the journal, sealed (`punch`: the document as journaled and sent)."""

    punch: Doc


@dataclass(frozen=True)
class PunchFailed:
    """A punch could not be made durable; nothing of it was written."""

    body: Doc
    reason: str


@dataclass(frozen=True)
class StateSaved:
    """The state records of job `token` are all on disk (`ok`), or none of them is (`reason`)."""

    token: int
    ok: bool
    reason: str = ""


_STOP: Final = None  # ends the writer thread

# a queued job: ("receipt", body, purpose), ("punch", body) or ("state", token, changes)
_Job = (tuple[Literal["receipt"], "ReceiptDoc", str] | tuple[Literal["punch"], Doc]
        | tuple[Literal["state"], int, "list[Change]"])


class Committer:
    """One thread that owns writing receipts to the journal."""

    def __init__(self, journal: JournalWriter, register_id: str, events: queue.Queue[object], *,
                 stock: StockKeeper | None = None) -> None:
        self._journal = journal
        self._stock = stock
        self._register_id = register_id
        self._events = events
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        # Jobs submitted and not yet answered. Counted up before the put and down only after the job's
        # event is on the register's queue, so `wait_idle` cannot return while a job is queued or running
        # (queue.join()/task_done(), with a timeout).
        self._unfinished = 0
        self._done = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the writer thread (bootstrap's lifecycle); jobs submitted before wait for it."""
        with self._done:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="kassa-committer", daemon=True)
        self._thread.start()

    def submit(self, body: ReceiptDoc, purpose: str) -> None:
        """Queue a receipt body for commit; the outcome arrives as an event."""
        self._put(("receipt", body, purpose))

    def submit_punch(self, body: Doc) -> None:
        """Queue a punch body (firmware.fleet_records.PUNCH_BODY) to seal and journal; `PunchCommitted` or
        `PunchFailed` follows."""
        self._put(("punch", body))

    def submit_state(self, token: int, changes: list[Change]) -> None:
        """Queue state records (kind, key, doc; None deletes) to write in order; `StateSaved(token)` follows."""
        self._put(("state", token, changes))

    def _put(self, job: _Job) -> None:
        with self._done:
            self._unfinished += 1
        self._jobs.put(job)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every job submitted before this call has its event on the queue; False on timeout."""
        with self._done:
            return self._done.wait_for(lambda: self._unfinished == 0, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end and join the thread (a thread that does not end is logged)."""
        thread = self._thread
        if thread is None:
            if self._unfinished:
                log.warning("committer stopped before it started: %d queued job(s) not written", self._unfinished)
            return
        self._jobs.put(_STOP)
        join_thread(thread, timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            try:
                if job[0] == "state":
                    self._events.put(self._save_states(job[1], job[2]))
                elif job[0] == "punch":
                    self._events.put(self._commit_punch(job[1]))
                else:
                    committed = self._commit(job[1], job[2])
                    self._events.put(committed)
                    if isinstance(committed, ReceiptCommitted):
                        self._stock_deltas()  # after "Paid": the cashier never waits for it (wait_idle does)
            finally:
                with self._done:
                    self._unfinished -= 1
                    if self._unfinished == 0:
                        self._done.notify_all()

    def _commit(self, body: ReceiptDoc, purpose: str) -> ReceiptCommitted | CommitFailed:
        journal = self._journal
        try:
            existing = journal.find_by_sale_id(body["sale_id"])
            if existing is not None:
                return ReceiptCommitted(Receipt.from_doc(existing), purpose)
            for attempt in (1, 2):
                epoch = journal.epoch
                receipt = finalize(
                    body,
                    register=self._register_id,
                    store=getattr(journal, "store", None),  # 1.1 ids: store:register:epoch:seq
                    epoch=epoch,
                    seq=journal.next_seq,
                    prev_hash=journal.last_hash,
                )
                try:
                    return ReceiptCommitted(Receipt.from_doc(journal.commit_receipt(receipt)), purpose)
                except JournalError:
                    if attempt == 1 and journal.epoch != epoch:
                        continue  # sync opened a new epoch (a rollback) in between: finalize again in it
                    raise
            raise AssertionError("unreachable")
        except JournalError as exc:
            log.error("commit of sale %s refused: %s", body.get("sale_id"), exc)
            return CommitFailed(body.get("sale_id", "?"), str(exc), purpose)
        except Exception as exc:  # the register must hear about any failure, never hang in "committing"
            log.exception("commit of sale %s failed unexpectedly", body.get("sale_id"))
            return CommitFailed(body.get("sale_id", "?"), f"could not save the sale ({exc.__class__.__name__})",
                                purpose)

    def _stock_deltas(self) -> None:
        """The stock deltas of what was just committed (one more durable record; a failure is logged)."""
        if self._stock is None:
            return
        try:
            self._stock.catch_up()
        except Exception:  # the sale stands; its deltas are derived again after the next commit or at start-up
            log.exception("stock deltas not journaled yet; they will be after the next sale or at start-up")

    def _save_states(self, token: int, changes: list[Change]) -> StateSaved:
        try:
            self._journal.put_states(changes)  # one record: all of a job's changes, or none of them
        except JournalError as exc:
            log.error("state records not saved: %s", exc)
            return StateSaved(token, False, str(exc))
        except Exception as exc:  # reported like a full disk: the register must hear of it
            log.exception("state records not saved")
            return StateSaved(token, False, f"could not save ({exc.__class__.__name__})")
        return StateSaved(token, True)

    def _commit_punch(self, body: Doc) -> PunchCommitted | PunchFailed:
        """Seal the punch as the next of the chain and journal it with the new head: one record, all or none."""
        journal = self._journal
        try:
            punch, changes = seal_punch(journal.get_state(PUNCH_HEAD, HEAD), body, journal.epoch)
            journal.put_states(changes)
        except JournalError as exc:
            log.error("punch of clerk %s not saved: %s", body.get("clerk_id"), exc)
            return PunchFailed(body, str(exc))
        except Exception as exc:  # the register must hear of any failure, never wait for the punch for ever
            log.exception("punch of clerk %s not saved", body.get("clerk_id"))
            return PunchFailed(body, f"could not save ({exc.__class__.__name__})")
        return PunchCommitted(punch)
