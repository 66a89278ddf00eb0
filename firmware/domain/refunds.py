"""Refunds and returns: per-line limits across many partial refunds, and manager-approved blind returns.

Sign convention: a refund receipt has kind "refund" and POSITIVE amounts,
quantities and tenders (money paid back); reports subtract it. Each refund
line names the original line it returns in `of_line` (1-based). Refunded
money per line is allocated cumulatively: after refunding q of Q units the
customer has had round_half_up(amount * q / Q) back in total, so partial
refunds never add up to more than the line's amount, and a full refund
returns it exactly. The tax of each code is allocated the same way from
the original's tax of that code (by the share of that code's line amounts
refunded so far), so refunded tax never exceeds the tax that was charged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from firmware.domain.catalog import Item
from firmware.domain.errors import Refused
from firmware.domain.lines import Line, Qty, parse_qty, qty_value
from firmware.domain.money import scale
from firmware.domain.promotion_rules import Tier, refund_share
from firmware.domain.receipt_model import Receipt
from firmware.domain.sale import Pricing, Sale

__all__ = ["refunded_qty", "refundable", "build_refund", "build_blind_return", "original_pricing"]


def _refunds_of(original: Receipt, refunds: Iterable[Receipt]) -> list[Receipt]:
    rid = original.receipt_id
    return [r for r in refunds if r.kind == "refund" and r.refund_of == rid]


def refunded_qty(original: Receipt, refunds: Iterable[Receipt]) -> dict[int, Qty]:
    """Quantity already refunded per original line number (1-based), from the refund receipts given."""
    lines = original.lines
    done: dict[int, Qty] = {n: 0 for n in range(1, len(lines) + 1)}
    for refund in _refunds_of(original, refunds):
        for rline in refund.lines:
            qty = qty_value(rline.qty)
            number = rline.of_line
            if number is None:  # an older refund without of_line: first line of that SKU with room left
                number = next((n for n, ol in enumerate(lines, 1)
                               if ol.sku == rline.sku and done[n] < qty_value(ol.qty)), None)
            if number in done:
                done[number] = done[number] + qty
    return done


def refundable(original: Receipt, refunds: Iterable[Receipt]) -> dict[int, Qty]:
    """What may still be refunded per original line number: sold minus already refunded."""
    done = refunded_qty(original, refunds)
    return {n: qty_value(line.qty) - done[n] for n, line in enumerate(original.lines, 1)}


def original_pricing(original: Receipt, cash_rounding: int = 0, currency_display: str = "symbol") -> Pricing:
    """The original receipt's rates and currency; tax-included when its total equals its subtotal (identical when
    tax is 0)."""
    rates = {t.tax_code: t.rate for t in original.taxes}
    totals = original.totals
    return Pricing(rates, totals.total == totals.subtotal, cash_rounding, original.currency or "EUR",
                   currency_display)


def _share(value: int, part: Qty, whole: Qty) -> int:
    return scale(value, Decimal(part), Decimal(whole))


def build_refund(original: Receipt, refunds: Iterable[Receipt], lines: Mapping[int, object], *,
                 sale_id: str, clerk_id: str, approved_by: str | None, cash_rounding: int = 0,
                 reason: str | None = None, currency_display: str = "symbol") -> Sale:
    """A refund Sale (phase "tendering") for `lines` {original line number: qty}; limits are enforced here.

    Paid back in cash or in any tender type the original was paid with.
    """
    if not approved_by:
        raise Refused("A refund needs a manager's approval")
    if original.kind != "sale":
        raise Refused(f"Receipt {original.receipt_id} is not a sale; only sales can be refunded")
    wanted = {n: q for n, q in lines.items() if q not in (0, "0", None)}
    if not wanted:
        raise Refused("Choose at least one line and quantity to refund")
    sold_lines = original.lines
    done = refunded_qty(original, refunds)
    new_lines: list[Line] = []
    for number in sorted(wanted):
        if not isinstance(number, int) or not 1 <= number <= len(sold_lines):
            raise Refused(f"Receipt {original.receipt_id} has no line {number}")
        sold = sold_lines[number - 1]
        sold_qty = qty_value(sold.qty)
        weighed = not isinstance(sold_qty, int)
        qty = parse_qty(wanted[number], weighed)
        before = done[number]
        left = sold_qty - before
        if qty > left:
            raise Refused(f"Line {number} ({sold.name}): only {left} left to refund "
                          f"({sold_qty} sold, {before} refunded already)")
        gross = sold.amount + sold.discount
        gross_k = _share(gross, before + qty, sold_qty) - _share(gross, before, sold_qty)
        disc_k = _share(sold.discount, before + qty, sold_qty) - _share(sold.discount, before, sold_qty)
        units = sold.extra.get("units")  # a promoted line: what its units paid, dearest first (docs/promotions.md)
        if units:
            tiers = tuple(Tier(qty_value(u["qty"]), int(u["paid"])) for u in units)
            disc_k = gross_k - refund_share(tiers, before, qty)
        new_lines.append(Line(line_no=len(new_lines) + 1, sku=sold.sku, name=sold.name,
                              unit_price=sold.unit_price, qty=qty, tax_code=sold.tax_code, weighed=weighed,
                              discount=disc_k, source="refund", of_line=number, fixed_gross=gross_k))
    override = _tax_shares(original, _refunds_of(original, refunds), new_lines)
    # points are not paid back (a refund of a sale partly paid by points gives money back in the other ways)
    tender_types = tuple(dict.fromkeys(["cash", *(t for t in original.tender_types if t != "loyalty")]))
    sale = Sale(sale_id=sale_id, clerk_id=clerk_id, phase="tendering", lines=tuple(new_lines), kind="refund",
                customer_code=original.customer_code,
                pricing=original_pricing(original, cash_rounding, currency_display),
                refund_of=original.receipt_id, approved_by=approved_by, reason=reason,
                allowed_tenders=tender_types, tax_override=override)
    return _settle_if_free(sale)


def _tax_shares(original: Receipt, prior: list[Receipt], new_lines: list[Line]) -> tuple[tuple[str, int], ...]:
    """Refund tax per code = cumulative share of the original's tax, by line amounts refunded."""
    sold: dict[str, int] = {}
    for sold_line in original.lines:
        sold[sold_line.tax_code] = sold.get(sold_line.tax_code, 0) + sold_line.amount
    before: dict[str, int] = {}
    for refund in prior:
        for done_line in refund.lines:
            before[done_line.tax_code] = before.get(done_line.tax_code, 0) + done_line.amount
    now: dict[str, int] = {}
    for line in new_lines:
        now[line.tax_code] = now.get(line.tax_code, 0) + line.amount
    taxes = {t.tax_code: t.tax for t in original.taxes}
    shares = []
    for code in sorted(now):
        if not sold.get(code):
            shares.append((code, 0))
            continue
        done = before.get(code, 0)
        shares.append((code, _share(taxes.get(code, 0), done + now[code], sold[code]) -
                       _share(taxes.get(code, 0), done, sold[code])))
    return tuple(shares)


def build_blind_return(items: Sequence[tuple[Item, object]], *, sale_id: str, clerk_id: str, approved_by: str | None,
                       reason: str | None, rates: Mapping[str, str], tax_included: bool, cash_rounding: int = 0,
                       refund_of: str | None = None, currency: str = "EUR", currency_display: str = "symbol") -> Sale:
    """A return whose original is not in the local journal: at today's prices, manager and reason required.

    `refund_of` may carry the id printed on the customer's receipt (from another register); it is not checked.
    """
    if not approved_by:
        raise Refused("A return without a known receipt needs a manager's approval")
    if not reason or not reason.strip():
        raise Refused("A return without a known receipt needs a reason")
    if not items:
        raise Refused("Choose at least one item to return")
    cart = Sale.open(sale_id, clerk_id, rates=rates, tax_included=tax_included, cash_rounding=cash_rounding,
                     currency=currency, currency_display=currency_display)
    for item, qty in items:
        cart = cart.add(item, qty, source="return")
    lines = tuple(replace(line, line_no=n) for n, line in enumerate(cart.lines, 1))
    sale = replace(cart, phase="tendering", lines=lines, kind="refund", refund_of=refund_of,
                   approved_by=approved_by, reason=reason.strip(), allowed_tenders=("cash", "card"))
    return _settle_if_free(sale)


def _settle_if_free(sale: Sale) -> Sale:
    return replace(sale, phase="paid") if sale.totals().total == 0 else sale
