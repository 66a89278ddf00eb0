"""Refunds: lines of an earlier receipt, or a blind return with a reason; a receipt like a sale, manager-approved.

Each refund is remembered under the receipt it refunds (a `refunds` state
record), so a second refund of the same lines is refused. A power cut can
fall between a refund's commit and its index entry; `catch_up` re-indexes
the tail of the journal at start-up.
"""

from __future__ import annotations

import logging
import re

from firmware.contract.receipt_id import RECEIPT_ID_PATTERN
from firmware.domain import refunds
from firmware.domain.catalog import Item
from firmware.register.core import commands as c
from firmware.register.core.effects import Change, Purpose, PutState, RefundIndexed
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.handlers.commit import commit
from firmware.register.core.state import Phase, Receipt, tax_rates_of
from firmware.register.core.step import Step
from firmware.register.view import Outcome

log = logging.getLogger("firmware.register")

REFUND_INDEX = "refunds"
CATCH_UP = 16  # receipts re-checked at start-up for a refund whose index entry a power cut lost
RECEIPT_ID = re.compile(RECEIPT_ID_PATTERN)  # a fleet receipt id, 1.1 store:register:epoch:seq or 1.0


def refunds_of(step: Step, receipt_id: str) -> list[Receipt]:
    doc = step.record(REFUND_INDEX, receipt_id) or {"refund_ids": []}
    return [r for r in (step.ctx.lookup.receipt(rid) for rid in doc["refund_ids"]) if r is not None]


def index(step: Step, receipt: Receipt) -> None:
    """Remember a refund under the receipt it refunds (a durable state record; refunds are rare)."""
    original = receipt.get("refund_of")
    if receipt.get("kind") != "refund" or not original:
        return
    ids = (step.record(REFUND_INDEX, original) or {"refund_ids": []})["refund_ids"]
    if receipt["receipt_id"] not in ids:
        change: Change = (REFUND_INDEX, original, {"refund_ids": [*ids, receipt["receipt_id"]]})
        step.do(PutState((change,), RefundIndexed(original)))


def catch_up(step: Step) -> None:
    """Index the refunds among the last receipts committed (O(1): a lost entry can only be among them)."""
    last = step.ctx.lookup.last_seq()
    for receipt in step.ctx.lookup.receipts_from(max(1, last - CATCH_UP + 1)):
        index(step, receipt)


def indexed(step: Step, then: RefundIndexed, ok: bool, reason: str) -> None:
    if not ok:  # lost, it is found again at the next start (catch_up)
        log.warning("refund index of %s not saved (%s); rebuilt at the next start", then.original, reason)


def refund(step: Step, cmd: c.Refund) -> Outcome:
    """Refund lines of an earlier receipt, or a blind return (SKU, qty) with a reason; manager approval."""
    clerk = step.require_clerk()
    sale = step.state.sale
    if step.state.phase in (Phase.TENDER, Phase.COMMITTING) or (sale is not None and not sale.is_empty):
        return Outcome.refused("Finish or park the open cart before a refund.")
    approver = manager(step, cmd.manager_pin, "A refund")
    sale_id = step.ctx.new_id()
    shop = step.ctx.config.shop
    reason = cmd.reason
    original = step.ctx.lookup.receipt(cmd.receipt_id.strip()) if cmd.receipt_id else None
    if original is not None:
        refunding = refunds.build_refund(
            original, refunds_of(step, original["receipt_id"]), dict(cmd.lines or {}),
            sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=approver.clerk_id,
            cash_rounding=shop.cash_rounding, reason=reason,
        )
    else:
        items: list[tuple[Item, object]] = []
        for sku, qty in cmd.blind_items or ():
            item = step.state.catalog.by_sku(sku)
            if item is None:
                return Outcome.refused(f"No item with number {sku}.")
            items.append((item, qty))
        if cmd.receipt_id and not items:
            return Outcome.refused(f"Receipt {cmd.receipt_id} is not on this register: return it as items without "
                                   "a receipt, with a reason.")
        reference = (cmd.receipt_id or "").strip() or None
        if reference is not None and not RECEIPT_ID.match(reference):
            # not one of our fleet's receipt ids: keep what was typed in the reason, never in refund_of
            reason, reference = (f"{reason} (receipt {reference[:64]})" if reason else reason), None
        refunding = refunds.build_blind_return(
            items, sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=approver.clerk_id, reason=reason,
            rates=tax_rates_of(step.state, step.ctx.config), tax_included=shop.tax_included,
            cash_rounding=shop.cash_rounding, refund_of=reference,
        )
    if refunding.phase == "tendering":
        refunding = refunding.add_tender(cmd.tender_kind, None, cash_rounding=shop.cash_rounding)
    commit(step, refunding, Purpose.REFUND)
    return Outcome(True, "Saving the refund")
