"""Find a past receipt (docs/digital-receipts.md "Finding a receipt"): by local day, amount, a card's last digits or
customer code, offline, from the journal.

`FindReceipts` checks the query in the cashier's words and asks the shell to search on the finder's thread
(`SearchReceipts`, firmware/register/finder_worker.py); the state says `searching` at once. `ReceiptsFound` comes
back through the queue and becomes the answer the screen reads (`view().found`); an answer to a search that a
newer one replaced is dropped.
"""

from __future__ import annotations

from dataclasses import replace

from firmware.receipt_finder import MAX_LIMIT, ReceiptQuery
from firmware.register.core import commands as c, effects as fx
from firmware.register.core.events import ReceiptsFound
from firmware.register.core.step import Refusal, Step
from firmware.register.view import FoundReceipts, Outcome


def find_receipts(step: Step, cmd: c.FindReceipts) -> Outcome:
    """Start a search; the Outcome's data is its id (the answer arrives as `view().found`)."""
    step.require_clerk()
    if not isinstance(cmd.query, ReceiptQuery):
        raise Refusal("Give a date, an amount, a card's last digits or a customer code")
    problem = cmd.query.problem()
    if problem is not None:
        raise Refusal(problem)
    if cmd.before_seq is not None and (isinstance(cmd.before_seq, bool) or not isinstance(cmd.before_seq, int)
                                       or cmd.before_seq < 1):
        raise Refusal("There are no older receipts.")
    search_id = step.ctx.new_id()
    limit = max(1, min(int(cmd.limit), MAX_LIMIT))
    step.set(receipt_search=FoundReceipts(search_id, searching=True, before_seq=cmd.before_seq))
    step.do(fx.SearchReceipts(search_id, cmd.query, step.ctx.config.shop.zone, limit, cmd.before_seq))
    return Outcome(True, "", search_id)


def found(step: Step, event: ReceiptsFound) -> None:
    """The finder's answer: kept for the screen when it answers the newest search, else dropped."""
    current = step.state.receipt_search
    if current is None or current.search_id != event.search_id:
        return
    result = event.result
    if result is None:
        step.set(receipt_search=replace(current, searching=False, error=event.error or "The search failed."))
        return
    step.set(receipt_search=replace(current, searching=False, receipts=result.receipts, more=result.more,
                                    next_before=result.next_before, scanned=result.scanned, error=""))
