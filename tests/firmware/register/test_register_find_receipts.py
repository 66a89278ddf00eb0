"""Finding a past receipt through the register (docs/digital-receipts.md): `FindReceipts` goes to the finder's thread
(`kassa-finder`, one per register, started and joined by the lifecycle) and comes back as `ReceiptsFound`, which
becomes `view().found`; a newer search replaces an older one; a query that cannot run is refused in words."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, date

from firmware.lifecycle import kassa_threads
from firmware.receipt_finder import ReceiptQuery
from firmware.register.commands import FindReceipts
from firmware.register.core import effects as fx
from firmware.register.core.events import ReceiptsFound
from firmware.register.finder_worker import FinderWorker
from tests.firmware.register.conftest import PENCIL, login_cashier, paid_cash_sale

MILK = "4006380134799"


def answer(reg, outcome):
    """Wait for the finder, pump its event, return the view's answer to the search `outcome` started."""
    assert outcome.ok, outcome.message
    assert reg._finder.wait_idle(10)
    reg.pump()
    found = reg.view().found
    assert found is not None and found.search_id == outcome.data and not found.searching
    return found


def test_a_search_runs_on_the_finder_thread_and_comes_back_as_the_views_answer(reg):
    login_cashier(reg)
    pencil = paid_cash_sale(reg, PENCIL)
    reg.new_sale()
    milk = paid_cash_sale(reg, MILK)
    reg.new_sale()
    paid_cash_sale(reg, PENCIL)
    assert [t.name for t in kassa_threads()].count("kassa-finder") >= 1

    out = reg.handle(FindReceipts(ReceiptQuery(amount=milk["totals"]["total"])))
    assert reg.view().found.search_id == out.data  # `searching` until the worker answers (or already answered)
    found = answer(reg, out)
    assert [r.receipt_id for r in found.receipts] == [milk["receipt_id"]] and not found.more and found.error == ""

    first = answer(reg, reg.handle(FindReceipts(ReceiptQuery(amount=pencil["totals"]["total"]), limit=1)))
    assert [r.seq for r in first.receipts] == [3] and first.more and first.next_before == 3
    older = answer(reg, reg.handle(FindReceipts(ReceiptQuery(amount=pencil["totals"]["total"]),
                                                before_seq=first.next_before, limit=1)))
    assert [r.seq for r in older.receipts] == [1] and older.before_seq == 3

    today = reg.clock.now().astimezone(reg.config.shop.zone).date()
    day = answer(reg, reg.handle(FindReceipts(ReceiptQuery(first_day=today))))
    assert [r.seq for r in day.receipts] == [3, 2, 1]
    assert reg.view().message is None or "search" not in reg.view().message.text.lower()  # nothing said on screen


def test_a_query_that_cannot_run_is_refused_in_words(reg):
    assert reg.handle(FindReceipts(ReceiptQuery(amount=100))).message == "Log in first."
    login_cashier(reg)
    out = reg.handle(FindReceipts(ReceiptQuery()))
    assert (out.ok, out.message) == (False, "Give a date, an amount, a card's last digits or a customer code")
    out = reg.handle(FindReceipts(ReceiptQuery(card_digits="1")))
    assert (out.ok, out.message) == (False, "Type the last 2 to 8 digits of the card")
    assert reg.view().found is None


def test_an_answer_to_a_search_a_newer_one_replaced_is_dropped(reg):
    login_cashier(reg)
    paid_cash_sale(reg, PENCIL)
    old = reg.handle(FindReceipts(ReceiptQuery(first_day=date(2020, 1, 1))))
    new = reg.handle(FindReceipts(ReceiptQuery(amount=129)))
    assert reg._finder.wait_idle(10)
    reg.events.put(ReceiptsFound(old.data, None, "late"))  # however late the old one answers
    reg.pump()
    found = reg.view().found
    assert found.search_id == new.data and found.error == "" and [r.seq for r in found.receipts] == [1]


class Slow:
    """A journal of `n` receipts whose reads wait for `gate` after the first few (a long search, held open)."""

    def __init__(self, n: int, gate: threading.Event) -> None:
        self.n, self.gate, self.reads = n, gate, 0

    @property
    def next_seq(self) -> int:
        return self.n + 1

    def payload(self, seq: int) -> bytes:
        self.reads += 1
        if self.reads == 10:
            self.gate.wait(5)
        return b'{"kind":"sale","totals":{"rounding":0,"total":1}}'  # the byte test passes over it


def test_a_newer_search_makes_the_running_one_give_up_without_an_answer():
    gate = threading.Event()
    events: queue.Queue[object] = queue.Queue()
    worker = FinderWorker(Slow(100_000, gate), events)
    worker.start()
    try:
        worker.submit(fx.SearchReceipts("old", ReceiptQuery(amount=99), UTC, 50))
        worker.submit(fx.SearchReceipts("new", ReceiptQuery(amount=98), UTC, 50))
        gate.set()
        assert worker.wait_idle(10)
        answers = []
        while not events.empty():
            answers.append(events.get())
        assert [a.search_id for a in answers] == ["new"]
        assert answers[0].result is not None and answers[0].result.scanned == 100_000
    finally:
        worker.stop()
    assert worker._thread is not None and not worker._thread.is_alive()  # joined
