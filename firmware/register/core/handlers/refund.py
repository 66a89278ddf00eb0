"""Refunds: lines of an earlier receipt, or a blind return with a reason; a receipt like a sale, manager-approved.

Each refund is remembered under the receipt it refunds (a `refunds` state
record), so a second refund of the same lines is refused. A power cut can
fall between a refund's commit and its index entry; `catch_up` re-indexes
the tail of the journal at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from firmware.contract.receipt_id import parse_receipt_id
from firmware.domain import refunds
from firmware.domain.catalog import Item
from firmware.domain.errors import Refused
from firmware.domain.giftcards import CardRef
from firmware.domain.lines import qty_value
from firmware.register.core import commands as c
from firmware.register.core.context import Context
from firmware.register.core.effects import Change, Purpose, PutState, RefundIndexed
from firmware.register.core.handlers import accounts
from firmware.register.core.handlers.clerks import manager
from firmware.register.core.handlers.commit import commit
from firmware.register.core.state import Phase, Receipt, RegisterState, currency_of, money_of, tax_rates_of
from firmware.register.core.step import Step
from firmware.register.view import Outcome, RefundLineView, RefundView

log = logging.getLogger("firmware.register")

REFUND_INDEX = "refunds"
SEARCH_RECENT = 200  # receipts searched for a typed id tail ("epoch:seq") that is neither a whole id nor a number
CATCH_UP = 16  # receipts re-checked at start-up for a refund whose index entry a power cut lost


def refunds_of(step: Step, receipt_id: str) -> list[Receipt]:
    doc = step.record(REFUND_INDEX, receipt_id) or {"refund_ids": []}
    return [r for r in (step.ctx.lookup.receipt(rid) for rid in doc["refund_ids"]) if r is not None]


def index(step: Step, receipt: Receipt) -> None:
    """Remember a refund under the receipt it refunds (a durable state record; refunds are rare)."""
    original = receipt.refund_of
    if receipt.kind != "refund" or not original:
        return
    ids = (step.record(REFUND_INDEX, original) or {"refund_ids": []})["refund_ids"]
    if receipt.receipt_id not in ids:
        change: Change = (REFUND_INDEX, original, {"refund_ids": [*ids, receipt.receipt_id]})
        step.do(PutState((change,), RefundIndexed(original)))


def catch_up(step: Step) -> None:
    """Index the refunds among the last receipts committed (O(1): a lost entry can only be among them)."""
    last = step.ctx.lookup.last_seq()
    for receipt in step.ctx.lookup.receipts_from(max(1, last - CATCH_UP + 1)):
        index(step, receipt)


def indexed(step: Step, then: RefundIndexed, ok: bool, reason: str) -> None:
    if not ok:  # lost, it is found again at the next start (catch_up)
        log.warning("refund index of %s not saved (%s); rebuilt at the next start", then.original, reason)


def find(ctx: Context, code: str) -> Receipt | None:
    """The receipt a scanned or typed code names on this register: its id in either form (1.1
    `store:register:epoch:seq` or 1.0 `register:epoch:seq`), its number (`seq`) as printed, or an id's tail."""
    code = code.strip()
    if not code:
        return None
    found = ctx.lookup.receipt(code)
    if found is None and code.isdigit() and len(code) <= 16:
        first = next(iter(ctx.lookup.receipts_from(int(code))), None)
        found = first if first is not None and first.seq == int(code) else None
    if found is None and ":" in code:
        found = next((r for r in ctx.lookup.recent(SEARCH_RECENT) if r.receipt_id.endswith(":" + code)), None)
    return found


def _no_gift_card_lines(step: Step, original: Receipt, lines: Mapping[int, object]) -> None:
    """A gift card sold or topped up is not refunded at the till (it may have been spent elsewhere since)."""
    sku = step.ctx.config.accounts.giftcard_sku
    for number, qty in lines.items():
        if qty in (0, "0", None) or not isinstance(number, int) or not 1 <= number <= len(original.lines):
            continue
        if original.lines[number - 1].sku == sku:
            raise Refused(f"Line {number} is a gift card: its money is on the card. A gift card is not refunded "
                          "at the till; the back office can.")
        if original.lines[number - 1].sku == step.ctx.config.layby.sku:  # docs/layby.md: cancel it instead
            raise Refused(f"Line {number} is money paid into a layby: cancel the layby from the Layby screen "
                          "(its refund policy applies).")


def preview(state: RegisterState, ctx: Context, code: str,
            lines: Mapping[int, object] | None = None) -> RefundView | None:
    """The refund screen's read model: per line sold / refunded already / left, and what refunding `lines`
    ({line number: qty}) would give back, computed exactly as the refund itself will be (None: no such receipt)."""
    original = find(ctx, code)
    if original is None:
        return None
    step = Step(state, ctx)
    prior = refunds_of(step, original.receipt_id)
    done = refunds.refunded_qty(original, prior)
    chosen = {n: q for n, q in (lines or {}).items() if q not in (0, "0", None)}
    give = cash = 0
    problem: str | None = None
    per_line: dict[int, int] = {}
    shop = ctx.config.shop
    if original.kind != "sale":
        problem = "Only sales can be refunded."
    elif chosen:
        try:
            sale = refunds.build_refund(original, prior, chosen, sale_id="preview", clerk_id="preview",
                                        approved_by="preview", cash_rounding=shop.cash_rounding,
                                        currency_display=shop.currency_display)
            totals = sale.totals()
            give, cash = totals.total, totals.cash_due
            per_line = {line.of_line or 0: line.amount for line in sale.lines}
        except Refused as exc:
            problem = str(exc)
    rows = []
    for n, line in enumerate(original.lines, 1):
        sold = qty_value(line.qty)
        rows.append(RefundLineView(n, line.sku, line.name, line.unit_price, sold, done.get(n, 0),
                                   sold - done.get(n, 0), line.amount, not isinstance(sold, int),
                                   chosen.get(n, 0), per_line.get(n, 0)))
    return RefundView(original.receipt_id, original.seq, original.created_at,
                      original.currency or currency_of(state, ctx.config), original.totals.total, tuple(rows), give,
                      cash, problem,
                      tuple(dict.fromkeys(["cash", *(t for t in original.tender_types
                                                     if t not in ("loyalty", "layby"))])))  # layby: docs/layby.md


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
    extra: list[dict[str, Any]] = []
    card: CardRef | None = None
    if original is not None:
        prior = refunds_of(step, original.receipt_id)
        _no_gift_card_lines(step, original, cmd.lines or {})
        refunding = refunds.build_refund(
            original, prior, dict(cmd.lines or {}),
            sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=approver.clerk_id,
            cash_rounding=shop.cash_rounding, reason=reason, currency_display=shop.currency_display,
        )
        extra = accounts.reversal_entries(original, prior, refunding.totals().total)
        card = accounts.refund_card(original)
        if card is not None and cmd.tender_kind != "gift_card" and step.ctx.config.accounts.giftcard_refund == "card":
            return Outcome.refused(f"This sale was paid by gift card {card.masked}: the refund goes back onto the "
                                   "card (shop policy). Choose gift card.")
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
        if reference is not None and parse_receipt_id(reference) is None:  # a 1.1 or 1.0 fleet receipt id
            # not one of our fleet's receipt ids: keep what was typed in the reason, never in refund_of
            reason, reference = (f"{reason} (receipt {reference[:64]})" if reason else reason), None
        refunding = refunds.build_blind_return(
            items, sale_id=sale_id, clerk_id=clerk.clerk_id, approved_by=approver.clerk_id, reason=reason,
            rates=tax_rates_of(step.state, step.ctx.config), tax_included=shop.tax_included,
            cash_rounding=shop.cash_rounding, refund_of=reference,
            currency=currency_of(step.state, step.ctx.config), currency_display=shop.currency_display,
        )
    if refunding.phase == "tendering":
        if cmd.tender_kind == "gift_card":
            if card is None:
                return Outcome.refused("That sale was not paid by gift card; choose cash or how it was paid.")
            refunding = refunding.add_tender("gift_card", None, reference=card.masked, account=card.hash)
        else:
            refunding = refunding.add_tender(cmd.tender_kind, None, cash_rounding=shop.cash_rounding)
    commit(step, refunding, Purpose.REFUND, extra)
    back = sum(t.amount for t in refunding.tenders)
    return Outcome(True, f"Saving the refund: give back {money_of(step.state, step.ctx.config)(back)}")
