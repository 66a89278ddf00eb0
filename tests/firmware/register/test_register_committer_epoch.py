"""The committer and journal epochs: receipts get 1.1 ids, and an epoch opened mid-commit does not fail the sale."""

from __future__ import annotations

import queue
from typing import Any

from firmware.clock import ManualClock
from firmware.domain.receipt import no_sale_body
from firmware.journal import Journal
from firmware.register.committer import CommitFailed, Committer, ReceiptCommitted


class EpochOpensMidCommit:
    """The real journal, except that sync opens a new epoch (a rollback found) just before the first commit."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.opened: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)

    def commit_receipt(self, receipt: dict[str, Any]) -> dict[str, Any]:
        if self.opened is None:
            self.opened = self._journal.open_epoch("rolled back: a test")
        return self._journal.commit_receipt(receipt)


def body(sale_id: str) -> dict[str, Any]:
    return no_sale_body(store="S001", register="R1", currency="EUR", created_at="2026-11-30T12:00:00.000Z",
                        clock_trusted=True, offline=True, clerk_id="c1", sale_id=sale_id, approved_by="m1")


def test_a_receipt_finalized_before_a_new_epoch_is_finalized_again_in_it(tmp_path):
    journal = Journal.open(tmp_path / "data", store="S001", register="R1", clock=ManualClock(), freeze_gc=False)
    events: queue.Queue = queue.Queue()
    racing = EpochOpensMidCommit(journal)
    committer = Committer(racing, "R1", events)
    committer.start()
    try:
        first_epoch = journal.epoch
        committer.submit(body("s1"), "sale")
        assert committer.wait_idle(10)
        outcome = events.get_nowait()
        assert isinstance(outcome, ReceiptCommitted), outcome
        assert racing.opened is not None and racing.opened != first_epoch
        assert outcome.receipt.receipt_id == f"S001:R1:{racing.opened}:1"
        assert journal.get_seq(1)["receipt_id"] == f"S001:R1:{racing.opened}:1"
        committer.submit(body("s2"), "sale")
        assert committer.wait_idle(10)
        second = events.get_nowait()
        assert isinstance(second, ReceiptCommitted) and second.receipt.receipt_id == f"S001:R1:{journal.epoch}:2"
        assert not isinstance(second, CommitFailed)
    finally:
        committer.stop()
        journal.close()
