"""The sale: cart commands, tender, and the commit point (`ReceiptCommitted` opens the drawer and prints).

The commit point is the journal: a paid sale becomes a `CommitReceipt`
effect and the phase `committing`; only `ReceiptCommitted` (the journal
writer's answer) turns it into "done" and asks for the drawer, the printer
and sync. `CommitFailed` leaves the paid sale on the tender screen to retry.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from firmware.contract.receipt_id import parse_receipt_id
from firmware.domain import sale_promotions
from firmware.domain.catalog import Item, NotSellable
from firmware.domain.lines import AgeCheck
from firmware.domain.loyalty import points_for_amount
from firmware.domain.sale import Sale
from firmware.domain.weight import weight_text
from firmware.register.core import commands as c
from firmware.register.core.effects import OpenDrawer, PrintReceipt, Purpose, RefreshOutbox, SyncNow
from firmware.register.core.events import CommitFailed, ReceiptCommitted
from firmware.register.core.handlers import accounts, customers, prompts, refund, stock, weighed
from firmware.register.core.handlers.clerks import approval
from firmware.register.core.handlers.commit import clock_trusted, commit
from firmware.register.core.state import Phase, Receipt, currency_of, money_of, sale_rates_of
from firmware.register.core.step import Refusal, Step
from firmware.register.view import ConfirmFirst, Outcome

log = logging.getLogger("firmware.register")


# ---- the cart

def cart(step: Step) -> Sale:
    """The open sale, opened now if there is none (after "done" a new one starts)."""
    clerk = step.require_clerk()
    if step.state.phase == Phase.DONE:  # a new cart: the last sale's "Paid" is no longer news
        step.set(phase=Phase.SELL, sale=None, message=None)
    if step.state.phase == Phase.COMMITTING:
        raise Refusal("Saving the last sale; one moment.")
    if step.state.sale is None:
        shop = step.ctx.config.shop
        step.set(sale=Sale.open(step.ctx.new_id(), clerk.clerk_id, rates=sale_rates_of(step.state, step.ctx.config),
                                tax_included=shop.tax_included, cash_rounding=shop.cash_rounding,
                                currency=currency_of(step.state, step.ctx.config),
                                currency_display=shop.currency_display))
    sale = step.state.sale
    assert sale is not None
    return _priced_now(step, sale)


def _priced_now(step: Step, sale: Sale) -> Sale:
    """The catalog's promotions at the till's clock (shop time), for an open cart; in payment they stay as at Pay."""
    book = step.state.catalog.promotions
    if sale.kind != "sale" or (not len(book) and sale.promos is None):
        return sale
    sale = sale_promotions.attach(sale, book)
    if sale.phase == "open":
        sale = sale_promotions.at(sale, step.ctx.now.astimezone(step.ctx.config.shop.zone), clock_trusted(step))
    return sale


def recalled(step: Step, sale: Sale) -> tuple[Sale, str]:
    """A parked cart back on the screen, priced now with the catalog's promotions and its codes (the coupons this
    till used meanwhile are spent: such a code then gives nothing); and what to tell the cashier about its codes."""
    promos = sale.promos
    if promos is not None and promos.codes:
        sale = replace(sale, promos=replace(promos, used_codes=promos.used_codes | _spent_coupons(step)))
    sale = _priced_now(step, sale)
    priced = sale.promotion_result
    problems = [f"code {code}: {why}" for code, why in (priced.code_problems if priced is not None else ())]
    return sale, "; ".join(problems)


def _show(step: Step, sale: Sale, flash: int | None = None) -> None:
    step.set(sale=_priced_now(step, sale), flash_line=flash)


def _add(step: Step, item: Item, qty: object, source: str, approved_by: str | None = None,
         age: AgeCheck | None = None, manager_pin: str | None = None) -> Outcome:
    sale = cart(step)
    if step.state.phase != Phase.SELL:
        return Outcome.refused("Finish the payment first, or go back to the cart.")
    item = step.state.catalog.sold_as(item)  # a variant's line reads "T-shirt, M / Blue" (docs/stock.md#variants)
    new = sale.add(item, qty, source)
    # low or no stock: a warning; below zero where the shop wants a manager: refused until one approves
    stock_approver, stock_warning = stock.check_added(step, new, item, manager_pin)
    approved_by = approved_by or stock_approver
    if approved_by is not None:  # a weight outside the bounds, or stock below zero: the approver stays on the line
        new = replace(new, lines=new.lines[:-1] + (replace(new.lines[-1], approved_by=approved_by),))
    if age is not None:  # the age check the cashier answered stays on the line (and the receipt)
        new = replace(new, lines=new.lines[:-1] + (replace(new.lines[-1], age_check=age),))
    _show(step, new, new.lines[-1].line_no if new.lines else None)
    if item.prompt or stock_warning:  # the item's prompt, the stock: in the warning style; the Outcome says nothing
        shown = (prompts.prompt_text(item) if item.prompt else "", stock_warning)  # (to not hide them)
        step.note("warn", ". ".join(text for text in shown if text))
        return Outcome(True)
    if item.weighed:
        return Outcome(True, f"{item.name} {weight_text(new.lines[-1].qty)} added")
    return Outcome(True, f"{item.name} added")


def _add_weighed(step: Step, item: Item, typed: object, manager_pin: str | None, source: str, retry: c.Command,
                 field: str = "weight", age: AgeCheck | None = None) -> Outcome:
    """A weighed item: the weight typed, else the scale's, else ask (weighed.take_weight)."""
    cart(step)
    if step.state.phase != Phase.SELL:
        return Outcome.refused("Finish the payment first, or go back to the cart.")
    taken = weighed.take_weight(step, item, typed, manager_pin, retry, field)
    if isinstance(taken, Outcome):
        return taken
    return _add(step, item, taken[0], source, taken[1], age, manager_pin)


def _age(step: Step, item: Item, cmd: c.Scan | c.AddSku | c.AddQuickKey) -> AgeCheck | Outcome | None:
    """The item's age check (prompts.age_gate), after the cart is known to take items."""
    if item.min_age <= 0:
        return None
    cart(step)
    if step.state.phase != Phase.SELL:
        return Outcome.refused("Finish the payment first, or go back to the cart.")
    return prompts.age_gate(step, item, cmd, cmd.age)


def scan(step: Step, cmd: c.Scan) -> Outcome:
    """A barcode from any scanner: adds the item or says plainly why not."""
    if parse_receipt_id(cmd.code.strip()) is not None:
        # (no word "manager" here: the sell screen reads that as "ask for a manager's PIN")
        return Outcome.refused("That is a receipt's barcode, not an item: refunds are made on the Refund "
                               "screen; scan it there.")
    found = step.state.catalog.lookup_scan(cmd.code.strip())
    if isinstance(found, NotSellable):
        embedded = weighed.embedded_scan(step, cmd.code.strip(), cmd.manager_pin)  # a shop scale's label?
        if isinstance(embedded, Outcome):
            return embedded
        if embedded is None:  # no item, no scale label: a customer's loyalty card? (docs/customers.md)
            return customers.card_scan(step, cmd.code.strip()) or Outcome.refused(found.reason)
        item, qty, approved = embedded
        age = _age(step, item, cmd)
        if isinstance(age, Outcome):
            return age
        # source "label": the screen shows a label's price as such
        return _add(step, item, qty, "label", approved, age, cmd.manager_pin)
    if cmd.weight is not None and not found.weighed:
        return Outcome.refused(f"{found.name} is not sold by weight: clear the weight ({cmd.weight}) and scan again.")
    age = _age(step, found, cmd)
    if isinstance(age, Outcome):
        return age
    if found.weighed:
        return _add_weighed(step, found, cmd.weight, cmd.manager_pin, "scan", cmd, age=age)
    return _add(step, found, 1, "scan", age=age, manager_pin=cmd.manager_pin)


def add_sku(step: Step, cmd: c.AddSku) -> Outcome:
    item = step.state.catalog.by_sku(cmd.sku.strip())
    if item is None:
        return Outcome.refused(f"No item with number {cmd.sku}.")
    age = _age(step, item, cmd)
    if isinstance(age, Outcome):
        return age
    if item.weighed:  # qty 1 (the default) is "not given": the scale's weight, or ask for it
        typed = None if isinstance(cmd.qty, int) and cmd.qty == 1 else cmd.qty
        return _add_weighed(step, item, typed, cmd.manager_pin, "sku", cmd, field="qty", age=age)
    return _add(step, item, cmd.qty, "sku", age=age, manager_pin=cmd.manager_pin)


def add_quick_key(step: Step, cmd: c.AddQuickKey) -> Outcome:
    keys = step.state.catalog.quick_keys
    if not 0 <= cmd.index < len(keys):
        return Outcome.refused("That key has no item.")
    item = step.state.catalog.by_sku(keys[cmd.index].sku)
    if item is None:
        return Outcome.refused("That key's item is no longer sold.")
    if cmd.weight is not None and not item.weighed:
        return Outcome.refused(f"{item.name} is not sold by weight: clear the weight ({cmd.weight}) first.")
    age = _age(step, item, cmd)
    if isinstance(age, Outcome):
        return age
    if item.weighed:
        return _add_weighed(step, item, cmd.weight, cmd.manager_pin, "quick_key", cmd, age=age)
    return _add(step, item, 1, "quick_key", age=age, manager_pin=cmd.manager_pin)


def set_qty(step: Step, cmd: c.SetQty) -> Outcome:
    sale = cart(step)
    _not_gift_card(sale, cmd.line_no, "its quantity changed")
    if sale.line(cmd.line_no).weighed:  # a new weight: parsed and bounded like one typed for a new line
        taken = weighed.set_weight(step, cmd.qty, cmd.manager_pin)
        if isinstance(taken, Outcome):
            return taken
        new = sale.set_qty(cmd.line_no, taken[0])
        if taken[1] is not None:
            line = new.line(cmd.line_no)
            new = replace(new, lines=tuple(replace(line, approved_by=taken[1]) if ln.line_no == cmd.line_no else ln
                                           for ln in new.lines))
        _show(step, new, cmd.line_no)
        return Outcome(True, f"Weight changed to {weight_text(taken[0])}")
    _show(step, sale.set_qty(cmd.line_no, cmd.qty), cmd.line_no)
    return Outcome(True, "Quantity changed")


def void_line(step: Step, cmd: c.VoidLine) -> Outcome:
    sale = cart(step)
    approved = approval(step, cmd.manager_pin, "Voiding after payment started") if cmd.manager_pin else None
    _show(step, sale.void_line(cmd.line_no, approved_by=approved))
    return Outcome(True, "Line voided")


def discount_line(step: Step, cmd: c.DiscountLine) -> Outcome:
    sale = cart(step)
    _not_gift_card(sale, cmd.line_no, "a discount")
    approved = approval(step, cmd.manager_pin, "A large discount")
    _show(step, sale.discount_line(cmd.line_no, percent=cmd.percent, amount=cmd.amount, approved_by=approved,
                                   limit_percent=step.ctx.config.shop.manager_discount_percent), cmd.line_no)
    return Outcome(True, "Discount given")


def discount_cart(step: Step, cmd: c.DiscountCart) -> Outcome:
    sale = cart(step)
    if accounts.live_loads(sale):
        return Outcome.refused("A cart with a gift card cannot be discounted as a whole: discount the other lines.")
    approved = approval(step, cmd.manager_pin, "A large discount")
    _show(step, sale.discount_cart(percent=cmd.percent, amount=cmd.amount, approved_by=approved,
                                   limit_percent=step.ctx.config.shop.manager_discount_percent))
    return Outcome(True, "Discount given")


def _not_gift_card(sale: Sale, line_no: int, what: str) -> None:
    if accounts.is_gift_card_line(sale, line_no):
        raise Refusal(f"A gift card line cannot have {what}; void it and load the card again.")
    if any(line.line_no == line_no and line.source == "layby" for line in sale.lines):  # handlers/layby.py
        raise Refusal(f"A layby line cannot have {what}; void it and start again from the Layby screen.")


def set_customer(step: Step, cmd: c.SetCustomer) -> Outcome:
    _show(step, cart(step).set_customer(cmd.code))
    return Outcome(True, "Customer set" if cmd.code.strip() else "Customer removed")


def _spent_coupons(step: Step) -> frozenset[str]:
    """Single-use coupons this till's recent receipts consumed (docs/promotions.md: reuse elsewhere is the
    fleet's to flag)."""
    spent: set[str] = set()
    for receipt in step.ctx.lookup.recent(SPENT_COUPONS_LOOKBACK):
        spent.update(str(code) for code in receipt.extra.get("coupons") or ())
    return frozenset(spent)


SPENT_COUPONS_LOOKBACK = 2000


def enter_code(step: Step, cmd: c.EnterCode) -> Outcome:
    sale = cart(step)
    if step.state.phase != Phase.SELL:
        return Outcome.refused("Go back to the cart to enter a code.")
    new = sale_promotions.enter_code(sale, cmd.code, _spent_coupons(step))
    _show(step, new)
    code = new.promos.codes[-1] if new.promos is not None else cmd.code
    priced = new.promotion_result
    problem = dict(priced.code_problems).get(code) if priced is not None else None
    if problem:
        return Outcome(True, f"Code {code} kept: {problem}")
    applied = [a.name for a in (priced.applied if priced is not None else ()) if a.code == code]
    return Outcome(True, f"Code {code}: {applied[0]}" if applied else f"Code {code} entered")


def remove_code(step: Step, cmd: c.RemoveCode) -> Outcome:
    sale = cart(step)
    if step.state.phase != Phase.SELL:
        return Outcome.refused("Go back to the cart to remove a code.")
    _show(step, sale_promotions.remove_code(sale, cmd.code))
    return Outcome(True, "Code removed")


def new_sale(step: Step, cmd: c.NewSale) -> Outcome:
    if step.state.phase == Phase.COMMITTING:
        return Outcome.refused("Saving the last sale; one moment.")
    step.require_clerk()
    step.set(phase=Phase.SELL, sale=None, flash_line=None, message=None)  # the empty cart starts without "Paid"
    return Outcome(True, "")


# ---- payment

def begin_tender(step: Step, cmd: c.BeginTender) -> Outcome:
    sale = cart(step).begin_tender()
    _show(step, sale)
    if sale.phase == "paid":  # a cart worth nothing needs no payment
        commit(step, sale, Purpose.SALE)
        return Outcome(True, "Saving the sale")
    step.set(phase=Phase.TENDER)
    return Outcome(True, "")


def back_to_cart(step: Step, cmd: c.BackToCart) -> Outcome:
    sale = step.state.sale
    if step.state.phase != Phase.TENDER or sale is None:
        return Outcome.refused("There is no payment to cancel.")
    _show(step, sale.back_to_cart())
    step.set(phase=Phase.SELL)
    return Outcome(True, "")


def tender(step: Step, cmd: c.Tender) -> Outcome:
    """Take a payment (None = exactly what is due); when paid in full the sale is committed, then the drawer opens."""
    if step.state.phase == Phase.SELL and step.state.sale is not None:
        _show(step, cart(step).begin_tender())  # promotions at the till's clock now, then frozen
        step.set(phase=Phase.TENDER)
    sale = step.state.sale
    if step.state.phase != Phase.TENDER or sale is None:
        return Outcome.refused("Nothing to pay for.")
    if sale.phase == "paid":  # paid, but the last commit failed: save the same sale again
        return retry_commit(step, c.RetryCommit())
    if cmd.kind == "gift_card":  # the reference is the card's number: it goes no further than its hash
        return accounts.redeem_gift_card(step, c.RedeemGiftCard(cmd.reference or "", cmd.amount))
    if cmd.kind == "loyalty":
        rule = accounts.redeem_rule(step.ctx.config.accounts)
        points = None if cmd.amount is None else points_for_amount(rule, cmd.amount)
        return accounts.redeem_points(step, c.RedeemPoints(points))
    approved = approval(step, cmd.manager_pin, "A large on-account sale")
    shop = step.ctx.config.shop
    limited = False
    if cmd.kind == "on_account":
        limited, approved = accounts.check_on_account(step, sale, cmd.reference, cmd.amount, approved)
    money = money_of(step.state, step.ctx.config)
    if cmd.kind == "cash" and cmd.amount is not None and not cmd.part_payment and sale.kind == "sale":
        cash_due = sale.totals(cash_rounding=shop.cash_rounding).cash_due
        if 0 < cmd.amount < cash_due and cmd.amount < sale.remaining():  # not enough: a typo, or really a part?
            left = sale.remaining() - cmd.amount
            return Outcome(False, f"Part payment of {money(cmd.amount)}? {money(left)} will still be due.",
                           ConfirmFirst(f"Part payment of {money(cmd.amount)}?", replace(cmd, part_payment=True),
                                        "Take part payment"))
    sale = sale.add_tender(
        cmd.kind, cmd.amount, reference=cmd.reference, cash_rounding=shop.cash_rounding,
        offline=not step.state.health.sync.online and not limited,
        on_account_limit=None if limited else shop.on_account_offline_limit,
        approved_by=approved if cmd.kind == "on_account" else None,
    )
    _show(step, sale)
    if sale.phase != "paid":
        taken = sale.tenders[-1]
        return Outcome(True, f"{_tender_name(taken.kind)} {money(taken.amount)} taken; "
                             f"{money(sale.totals().due)} still to pay")
    commit(step, sale, Purpose.SALE)
    return Outcome(True, "Saving the sale")


def _tender_name(kind: str) -> str:
    return {"cash": "Cash", "card": "Card", "on_account": "On account", "gift_card": "Gift card",
            "loyalty": "Points"}.get(kind, kind.replace("_", " ").capitalize())


def remove_tender(step: Step, cmd: c.RemoveTender) -> Outcome:
    """Take back a payment until the sale is finished; with none left the cashier may go back to the cart."""
    sale = step.state.sale
    if step.state.phase == Phase.COMMITTING:
        return Outcome.refused("Saving the sale; one moment.")
    if step.state.phase != Phase.TENDER or sale is None or not sale.tenders:
        return Outcome.refused("No payment has been taken.")
    if not isinstance(cmd.index, int) or not 0 <= cmd.index < len(sale.tenders):
        return Outcome.refused("There is no such payment to remove.")
    removed = sale.tenders[cmd.index]
    sale = sale.remove_tender(cmd.index)
    _show(step, sale)
    money = money_of(step.state, step.ctx.config)
    said = f"{_tender_name(removed.kind)} {money(removed.amount)} removed"
    if removed.kind == "cash":
        said += f": give {money(removed.amount - removed.change)} back to the customer" if removed.amount else ""
    elif removed.kind == "card":
        said += ": cancel it on the card terminal too"
    return Outcome(True, f"{said}. {money(sale.totals().due)} to pay.")


def retry_commit(step: Step, cmd: c.RetryCommit) -> Outcome:
    sale = step.state.sale
    if sale is None or sale.phase != "paid" or step.state.phase != Phase.TENDER:
        return Outcome.refused("There is no unsaved sale.")
    commit(step, sale, Purpose.SALE)
    return Outcome(True, "Saving the sale")


# ---- the commit point

def committed(step: Step, event: ReceiptCommitted) -> None:
    """The receipt is durable: only now the drawer opens for cash, the receipt prints and sync is nudged."""
    receipt: Receipt = event.receipt
    log.info("receipt %s committed (%s)", receipt.receipt_id, receipt.kind)
    health = step.state.health
    if health.devices["journal"].state != "damaged":
        step.health(health.with_device("journal", True, "ok"))
    step.set(last_created_at=max(step.state.last_created_at or "", receipt.created_at))
    accounts.committed(step, receipt)
    if event.purpose == Purpose.SALE:
        change = sum(t.change for t in receipt.tenders)
        step.set(last_receipt=receipt, sale=None, phase=Phase.DONE)
        money = money_of(step.state, step.ctx.config)
        step.note("info", "Paid" + (f", change {money(change)}" if change else ""))
    cash = "cash" in receipt.tender_types
    if step.ctx.has_hardware:
        if cash or receipt.kind == "no_sale":
            step.do(OpenDrawer())
        if receipt.kind != "no_sale":
            step.do(PrintReceipt(receipt))
    if step.ctx.has_sync:
        step.do(SyncNow())
    refund.index(step, receipt)
    if event.purpose == Purpose.REFUND:
        step.set(last_receipt=receipt, phase=Phase.DONE)
        back = sum(t.amount for t in receipt.tenders)
        how = " and ".join(dict.fromkeys(t.type.replace("_", " ") for t in receipt.tenders))
        step.note("info", f"Refund saved: give back {money_of(step.state, step.ctx.config)(back)}"
                          + (f" ({how})" if how else ""))
    elif event.purpose == Purpose.NO_SALE:
        step.set(phase=Phase.SELL if step.state.clerk is not None else Phase.LOGIN)
    step.do(RefreshOutbox())


def commit_failed(step: Step, event: CommitFailed) -> None:
    step.health(step.state.health.with_device("journal", False, "write failed", event.reason))
    if event.purpose == Purpose.SALE:
        step.set(phase=Phase.TENDER)
    step.note("error", f"The sale could not be saved: {event.reason}. No money has moved.")
