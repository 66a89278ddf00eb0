"""Layby at the till (docs/layby.md): open one from the cart, take instalments, collect it, cancel it, offline.

Every step is an ordinary receipt with a layby movement in its `accounts` list, so the journal, the chain, power
safety, sync and the fleet's exactly-once come with it:

- open: the cart's goods are reserved (kept in the `layby_open` entry) and the cart becomes one line, the deposit,
  sold under `[layby] sku` at a tax code of rate 0 (money held, not a supply yet), paid like any sale;
- instalment: a cart of one line, the instalment, with a `layby_payment` entry;
- collect: a sale of the reserved lines, paid by a tender `layby` of what the layby holds (`layby_collect`);
- cancel: a refund of what was paid in less the shop's fee (`layby_cancel`), by the tenders the policy allows.

The movement of the cart being rung up waits in `LaybyBook.pending` (its sale id and entry) and joins the receipt
when that cart is committed (`entries`, called by the commit point); a layby's id names its opening receipt
("LB-S001-R1-42"), fixed at that moment. What the register knows is the fleet's snapshot (its `laybys`) plus its
own movements since (`LaybyBook`), read at start with the accounts (`load_moves`) and added at each commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from firmware.config import Config
from firmware.contract.accounts import LaybyState
from firmware.domain import layby as lb
from firmware.domain.credit import Through
from firmware.domain.errors import Refused
from firmware.domain.lines import Line, parse_qty, qty_text
from firmware.domain.sale import Sale, Tender
from firmware.register.core import commands as c
from firmware.register.core.effects import Purpose
from firmware.register.core.state import Phase, Receipt, currency_of, money_of, sale_rates_of
from firmware.register.core.step import Refusal, Step
from firmware.register.view import Outcome

log = logging.getLogger("firmware.register")

LAYBY_SOURCE = "layby"  # Line.source of a deposit, instalment, cancellation or collected line
LAYBY_TENDER = "layby"  # the tender that pays a collected layby's goods with the money it holds
CUSTOMER_MAX = 64  # characters of a layby's customer (a sale's customer code: firmware.domain.sale)
_STATES: TypeAdapter[list[LaybyState]] = TypeAdapter(list[LaybyState])


def policy(config: Config) -> lb.LaybyPolicy:
    cfg = config.layby
    return lb.LaybyPolicy(cfg.min_deposit_percent, cfg.max_days, cfg.cancel_fee_percent, cfg.cancel_fee_fixed)


def today(step: Step) -> date:
    """The shop's date now (due dates are shop dates)."""
    return step.ctx.now.astimezone(step.ctx.config.shop.zone).date()


def _tax_code(step: Step) -> str:
    code = step.ctx.config.layby.tax_code
    rate = sale_rates_of(step.state, step.ctx.config).get(code)
    if rate is not None and Decimal(str(rate)) != 0:
        raise Refusal(f"The layby tax code {code} is taxed in this catalog; laybys cannot be taken. Ask the "
                      "manager.")
    return code


def _fresh_sale(step: Step, *, kind: str = "sale") -> Sale:
    """A new cart for a layby step: only when no other cart is open."""
    clerk = step.require_clerk()
    if step.state.phase == Phase.COMMITTING:
        raise Refusal("Saving the last sale; one moment.")
    sale = step.state.sale
    if step.state.phase == Phase.TENDER or (sale is not None and not sale.is_empty and step.state.phase != Phase.DONE):
        raise Refusal("Finish or park the open cart first.")
    return _new_sale(step, clerk.clerk_id, kind)


def _new_sale(step: Step, clerk_id: str, kind: str = "sale") -> Sale:
    shop = step.ctx.config.shop
    new = Sale.open(step.ctx.new_id(), clerk_id, rates=sale_rates_of(step.state, step.ctx.config),
                    tax_included=shop.tax_included, cash_rounding=shop.cash_rounding,
                    currency=currency_of(step.state, step.ctx.config), currency_display=shop.currency_display)
    return replace(new, kind=kind)


def _one_line(step: Step, sale: Sale, name: str, amount: int, customer: str) -> Sale:
    line = Line(line_no=1, sku=step.ctx.config.layby.sku, name=name, unit_price=amount, qty=1,
                tax_code=_tax_code(step), source=LAYBY_SOURCE)
    return replace(sale, lines=(line,), customer_code=customer[:64])


def _to_tender(step: Step, sale: Sale, entry: Mapping[str, Any]) -> None:
    """Show `sale` ready for payment, with its layby movement waiting for the commit."""
    step.set(sale=sale.begin_tender(), phase=Phase.TENDER, flash_line=None, message=None,
             laybys=replace(step.state.laybys, pending=(sale.sale_id, dict(entry))))


def _find(step: Step, layby_id: str) -> lb.Layby:
    text = layby_id.strip()
    if not text:
        raise Refusal("Type or scan the layby number first.")
    found = step.state.laybys.get(text)
    if found is None:
        raise Refusal(f"No layby {text[:40]} on this register: it may be on another register and not in the "
                      "fleet's last update yet.")
    return found


# ---- commands

def open_layby(step: Step, cmd: c.OpenLayby) -> Outcome:
    """Reserve the cart's goods; the cart becomes the deposit to pay now."""
    from firmware.register.core.handlers import accounts
    from firmware.register.core.handlers.sale import cart

    sale = cart(step)
    if step.state.phase != Phase.SELL:
        raise Refusal("Finish the payment first, or go back to the cart.")
    if sale.is_empty:
        raise Refusal("Scan the goods to reserve first: the cart is empty.")
    if accounts.live_loads(sale) or any(line.source == LAYBY_SOURCE for line in sale.active_lines):
        raise Refusal("A cart with a gift card or a layby payment cannot become a layby.")
    customer = (cmd.customer or "").strip() or (sale.customer_code or "")
    if not customer:
        raise Refusal("A layby needs a customer: enter or scan the customer first.")
    if len(customer) > CUSTOMER_MAX:  # as a sale's customer code; the receipt carries it to the fleet
        raise Refusal(f"A customer of at most {CUSTOMER_MAX} characters: use the customer's card number or name.")
    money = money_of(step.state, step.ctx.config)
    now = today(step)
    term = min(step.ctx.config.layby.default_days, step.ctx.config.layby.max_days)
    due = lb.parse_due(cmd.due) if (cmd.due or "").strip() else now + timedelta(days=term)
    total = sale.totals().total
    lines = tuple(lb.LaybyLine(ln.sku, ln.name, str(qty_text(ln.qty)),
                               ln.unit_price, ln.tax_code, ln.amount, ln.discount) for ln in sale.receipt_lines())
    if len(lines) > 100:
        raise Refusal("A layby holds at most 100 lines; split it in two.")
    lb.check_open(total, cmd.deposit, due, now, policy(step.ctx.config), money=money)
    layby = lb.Layby("LB-pending", customer, total, cmd.deposit, due, lines)
    # the cart's goods are now in the layby: the cart becomes the deposit (built first: a refusal keeps the cart)
    deposit = _one_line(step, _new_sale(step, sale.clerk_id), "Layby deposit", cmd.deposit, customer)
    _to_tender(step, deposit, lb.open_entry(layby, cmd.deposit))
    return Outcome(True, f"Layby for {customer}: {money(total)} reserved until {due.isoformat()}; take the deposit "
                         f"of {money(cmd.deposit)} now ({money(total - cmd.deposit)} left after it)")


def pay_layby(step: Step, cmd: c.PayLayby) -> Outcome:
    """An instalment: a cart of one line to pay now."""
    sale = _fresh_sale(step)
    layby = _find(step, cmd.layby)
    money = money_of(step.state, step.ctx.config)
    amount = layby.balance if cmd.amount is None else cmd.amount
    after = lb.check_payment(layby, amount, money=money)
    _to_tender(step, _one_line(step, sale, f"Layby {layby.layby_id} instalment", amount, layby.customer),
               lb.payment_entry(layby.layby_id, amount, total=layby.total, balance=layby.total - after))
    return Outcome(True, f"Layby {layby.layby_id}: take {money(amount)} now; {money(layby.total - after)} left "
                         "after it")


def collect_layby(step: Step, cmd: c.CollectLayby) -> Outcome:
    """The goods leave: a sale of the reserved lines, paid by the money the layby holds."""
    from firmware.register.core.handlers.commit import commit

    sale = _fresh_sale(step)
    layby = _find(step, cmd.layby)
    money = money_of(step.state, step.ctx.config)
    lb.check_collect(layby, money=money)
    try:
        lines = tuple(Line(line_no=i, sku=ln.sku, name=ln.name, unit_price=ln.unit_price,
                           qty=parse_qty(ln.qty, not ln.qty.isdigit()), weighed=not ln.qty.isdigit(),
                           tax_code=ln.tax_code, discount=ln.discount, source=LAYBY_SOURCE)
                      for i, ln in enumerate(layby.lines, start=1))
    except (ValueError, ArithmeticError, Refused):
        raise Refusal(f"Layby {layby.layby_id} has a line this register cannot read; ask the manager.") from None
    sale = replace(sale, lines=lines, customer_code=layby.customer[:64]).begin_tender()
    held = min(layby.paid, sale.remaining())
    if held > 0:
        sale = replace(sale, tenders=(Tender(LAYBY_TENDER, held, reference=layby.layby_id),))
        if sale.remaining() == 0:
            sale = replace(sale, phase="paid")
    entry = lb.collect_entry(layby.layby_id, layby.paid)
    step.set(sale=sale, phase=Phase.TENDER, flash_line=None, message=None,
             laybys=replace(step.state.laybys, pending=(sale.sale_id, entry)))
    if sale.phase == "paid":
        commit(step, sale, Purpose.SALE)
        return Outcome(True, f"Layby {layby.layby_id} collected: hand over the goods. Saving the sale")
    return Outcome(True, f"Layby {layby.layby_id}: {money(sale.remaining())} still to pay before the goods leave")


def cancel_layby(step: Step, cmd: c.CancelLayby) -> Outcome:
    """Cancel: pay back what was paid in, less the shop's fee, by a tender the policy allows."""
    from firmware.register.core.handlers.clerks import manager
    from firmware.register.core.handlers.commit import commit

    sale = _fresh_sale(step, kind="refund")
    layby = _find(step, cmd.layby)
    config = step.ctx.config.layby
    refund, fee = lb.check_cancel(layby, policy(step.ctx.config))
    money = money_of(step.state, step.ctx.config)
    kind = cmd.tender_kind
    if kind not in config.refund_tenders:
        allowed = " or ".join(k.replace("_", " ") for k in config.refund_tenders)
        raise Refusal(f"Layby money is paid back by {allowed} (shop policy).")
    approved_by = manager(step, cmd.manager_pin, "Cancelling a layby").clerk_id if config.cancel_needs_manager \
        else None
    if refund == 0:
        kind = "cash"  # nothing to pay back: a receipt of 0 records the cancellation
    sale = _one_line(step, sale, f"Layby {layby.layby_id} cancelled", refund, layby.customer)
    sale = replace(sale, allowed_tenders=(kind,), approved_by=approved_by,
                   reason=f"layby {layby.layby_id} cancelled; fee {money(fee)} kept").begin_tender()
    if sale.phase != "paid":
        sale = sale.add_tender(kind, None, reference=layby.customer if kind == "on_account" else None,
                               cash_rounding=0)
    step.set(laybys=replace(step.state.laybys, pending=(sale.sale_id, lb.cancel_entry(layby.layby_id, refund, fee))))
    commit(step, sale, Purpose.REFUND)
    return Outcome(True, f"Cancelling layby {layby.layby_id}: give back {money(refund)}"
                         + (f" ({money(fee)} fee kept)" if fee else ""))


def find_laybys(step: Step, cmd: c.FindLaybys) -> Outcome:
    step.require_clerk()
    if not isinstance(cmd.text, str) or isinstance(cmd.limit, bool) or not isinstance(cmd.limit, int):
        raise Refusal("Type a layby number or a customer")
    limit = max(0, min(cmd.limit, 100))
    known = step.state.laybys.laybys().values()
    if cmd.text.strip():
        found = lb.find(known, cmd.text, limit=limit)
    else:
        found = sorted((x for x in known if x.state == lb.OPEN), key=lambda x: (x.due, x.layby_id))[:limit]
    if not found:
        what = f" for {cmd.text.strip()[:40]!r}" if cmd.text.strip() else " open"
        return Outcome(True, f"No layby{what} on this register", ())
    return Outcome(True, f"{len(found)} layby{'s' if len(found) != 1 else ''}", tuple(found))


# ---- the commit point and what the register knows

def entries(step: Step, sale: Sale) -> list[dict[str, Any]]:
    """The layby movement of `sale`, when it is the cart a layby step made and its layby line is still there; an
    opening names the layby after the receipt it is (the journal's next seq)."""
    pending = step.state.laybys.pending
    if pending is None or pending[0] != sale.sale_id:
        return []
    if not any(line.source == LAYBY_SOURCE for line in sale.active_lines):
        return []
    entry = dict(pending[1])
    if entry.get("type") == "layby_open":
        device = step.ctx.config.device
        entry["layby"] = lb.layby_id(device.store, device.register, step.ctx.lookup.last_seq() + 1)
        step.set(laybys=replace(step.state.laybys, pending=(sale.sale_id, entry)))
    return [entry]


def committed(step: Step, receipt: Receipt, me: str) -> None:
    """A receipt of this register is durable: its layby movements count from now on."""
    moves = lb.moves_of_receipt({"seq": receipt.seq, "accounts": receipt.extra.get("accounts")}, me)
    book = step.state.laybys
    if book.pending is not None and book.pending[0] == receipt.sale_id:
        book = replace(book, pending=None)
    if moves:
        book = book.with_local(moves)
    if book is not step.state.laybys:
        step.set(laybys=book)


def load_moves(receipts_moves: list[lb.LaybyMove], step: Step) -> None:
    """At start: this register's layby movements above the snapshot's `through` (read with the accounts)."""
    if receipts_moves:
        step.set(laybys=step.state.laybys.with_local(receipts_moves))


def moves_of(receipt: Receipt, me: str) -> list[lb.LaybyMove]:
    return lb.moves_of_receipt({"seq": receipt.seq, "accounts": receipt.extra.get("accounts")}, me)


def snapshot_received(step: Step, payload: Mapping[str, Any], through: Through) -> None:
    """The laybys of an accounts snapshot now in use (absent: a fleet without laybys: none known from it)."""
    try:
        states = _STATES.validate_python(payload.get("laybys") or [], strict=True)
    except ValidationError as exc:
        log.error("layby list of accounts snapshot version %s rejected: %s", payload.get("version"), exc)
        return
    known: dict[str, lb.Layby] = {}
    for state in states:
        try:
            known[state.layby] = lb.Layby.of(state.model_dump(mode="json"))
        except (ValueError, Refused):
            log.error("layby %s of the accounts snapshot has a bad due date; left out", state.layby)
    step.set(laybys=step.state.laybys.with_snapshot(known, through))
