"""Promotions in a sale (docs/promotions.md#integration): the till's clock and codes, savings on lines, receipt fields.

A Sale carries `promos` (SalePromotions: the catalog's PromotionBook, the till's clock as last given, the codes the
cashier entered). While the cart is open the register hands in its clock before each change (`at`); in payment it
stops doing so, so the promotions are frozen at Pay (the engine is deterministic). Each line's saving is folded
into its `discount` (`with_savings`), so totals, taxes and the cart discount follow. A line with a manual discount
and a gift card load get no promotion (the cashier's discount replaces them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from firmware.domain.errors import Refused
from firmware.domain.lines import Line, allocate, qty_text
from firmware.domain.promotion_rules import CODE_PATTERN, Priced, PromoLine, Tier, normalize_code
from firmware.domain.promotions import PromotionBook

if TYPE_CHECKING:
    from firmware.domain.sale import Sale

__all__ = ["SalePromotions", "attach", "at", "enter_code", "remove_code", "price_sale", "with_savings",
           "receipt_fields", "tiers_of", "spread_over_tiers", "to_doc", "from_doc", "held_back_names"]

_CODE = re.compile(CODE_PATTERN)
MAX_CODES = 10


@dataclass(frozen=True)
class SalePromotions:
    """The promotions a sale is priced with: `moment` (aware, shop time; None: not given yet, nothing applies)."""

    book: PromotionBook = field(compare=False, repr=False)
    moment: datetime | None = None
    clock_trusted: bool = False
    codes: tuple[str, ...] = ()
    used_codes: frozenset[str] = frozenset()


def attach(sale: Sale, book: PromotionBook) -> Sale:
    """The sale priced with `book` (kept codes and clock when it had one already)."""
    current = sale.promos
    if current is not None and current.book is book:
        return sale
    promos = SalePromotions(book) if current is None else replace(current, book=book)
    return replace(sale, promos=promos)


def at(sale: Sale, now: datetime, clock_trusted: bool) -> Sale:
    """The till's clock, for an open cart (a sale in payment keeps the clock it had at Pay)."""
    promos = sale.promos
    if promos is None or sale.phase != "open" or (promos.moment == now and promos.clock_trusted == clock_trusted):
        return sale
    return replace(sale, promos=replace(promos, moment=now, clock_trusted=clock_trusted))


def enter_code(sale: Sale, code: str, used_codes: frozenset[str] = frozenset()) -> Sale:
    """A promo code or coupon the cashier typed or scanned; refused when no promotion has it or it is spent."""
    sale._editable("enter a code")  # noqa: SLF001 - the sale's own rule for cart changes
    promos = sale.promos
    text = normalize_code(code or "")
    if not _CODE.match(text):
        raise Refused("A code is 3 to 32 letters, digits, '-' or '_'")
    if promos is None or not len(promos.book):
        raise Refused("This till has no promotions")
    if text in promos.codes:
        raise Refused(f"Code {text} is already entered")
    if len(promos.codes) >= MAX_CODES:
        raise Refused(f"At most {MAX_CODES} codes per sale")
    promos = replace(promos, codes=(*promos.codes, text), used_codes=promos.used_codes | used_codes)
    after = replace(sale, promos=promos)
    priced = after.promotion_result
    problem = dict(priced.code_problems).get(text) if priced is not None else None
    if problem in ("No promotion has this code", "This coupon has already been used"):
        raise Refused(f"Code {text}: {problem}")
    return after


def remove_code(sale: Sale, code: str) -> Sale:
    sale._editable("remove a code")  # noqa: SLF001
    promos = sale.promos
    text = normalize_code(code or "")
    if promos is None or text not in promos.codes:
        raise Refused(f"Code {text} is not entered")
    return replace(sale, promos=replace(promos, codes=tuple(c for c in promos.codes if c != text)))


def to_doc(promos: SalePromotions | None) -> dict[str, Any] | None:
    """What a parked cart keeps of its promotions (docs/promotions.md#integration): the entered codes and the clock
    it was priced at. Not the book: it is the catalog's, attached again when the cart is shown or recalled."""
    if promos is None or (not promos.codes and promos.moment is None):
        return None
    return {"codes": list(promos.codes), "clock_trusted": promos.clock_trusted,
            "moment": None if promos.moment is None else promos.moment.isoformat()}


_NO_BOOK = PromotionBook(())


def from_doc(doc: Any) -> SalePromotions | None:
    """Inverse of `to_doc`, with an empty book until the register attaches the catalog's (`attach`)."""
    if not doc:
        return None
    moment = doc.get("moment")
    return SalePromotions(_NO_BOOK, None if moment is None else datetime.fromisoformat(str(moment)),
                          doc.get("clock_trusted") is True,
                          tuple(normalize_code(str(c)) for c in doc.get("codes") or ())[:MAX_CODES])


def held_back_names(sale: Sale) -> tuple[str, ...]:
    """Names of the promotions this cart could get but that wait for the till's clock (docs/promotions.md: an
    untrusted clock holds back every promotion with a window), for the cashier's note; () when none."""
    priced = sale.promotion_result
    if priced is None or not priced.held_back or sale.promos is None or sale.is_empty:
        return ()
    held = set(priced.held_back)
    return tuple(p.name for p in sale.promos.book.promotions if p.promotion_id in held)


def _eligible(sale: Sale) -> list[Line]:
    loads = {g[0] for g in sale.gift_loads}
    return [ln for ln in sale.active_lines if not ln.discount and ln.line_no not in loads and ln.fixed_gross is None]


def price_sale(sale: Sale) -> Priced | None:
    """The engine's answer for the sale's cart now (None: no promotions, a refund, or no clock given yet)."""
    promos = sale.promos
    if promos is None or promos.moment is None or sale.kind != "sale" or not len(promos.book):
        return None
    lines = [PromoLine(ln.line_no, ln.sku, ln.unit_price, ln.qty) for ln in _eligible(sale)]
    priced = promos.book.price(lines, now=promos.moment, clock_trusted=promos.clock_trusted, codes=promos.codes,
                               used_codes=promos.used_codes)
    return priced if priced.applied or promos.codes or priced.held_back else None


def with_savings(lines: list[Line], priced: Priced | None) -> list[Line]:
    """Active lines with each line's promotion saving folded into its `discount`."""
    if priced is None or not priced.applied:
        return lines
    saving = {lp.line_no: lp.saving for lp in priced.lines if lp.saving}
    return [replace(ln, discount=ln.discount + saving[ln.line_no]) if ln.line_no in saving else ln for ln in lines]


def spread_over_tiers(tiers: tuple[Tier, ...], cut: int) -> tuple[Tier, ...]:
    """`cut` more off a line's units, spread by what they pay (a cart discount's share); dearest first again."""
    if not cut:
        return tiers
    units: dict[tuple[bool, Any], int | Decimal] = {}
    for tier, part in zip(tiers, allocate(cut, [t.paid for t in tiers]), strict=True):
        if isinstance(tier.qty, int):
            low, extra = divmod(part, tier.qty)
            each = tier.paid // tier.qty
            for n, off in ((extra, low + 1), (tier.qty - extra, low)):
                if n:
                    units[(True, each - off)] = int(units.get((True, each - off), 0)) + n
        else:
            units[(False, tier.paid - part)] = tier.qty
    return tuple(sorted((Tier(n, key[1] * int(n)) if key[0] else Tier(n, key[1]) for key, n in units.items()),
                        key=lambda t: (-(Decimal(t.paid) / Decimal(t.qty)), t.paid)))


def tiers_of(priced: Priced, line_no: int, cart_share: int) -> tuple[Tier, ...]:
    return spread_over_tiers(priced.line(line_no).tiers, cart_share)


def receipt_fields(sale: Sale, active: list[Line], shares: list[int]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per receipt line (`promotion`: its saving, `units`: what its units paid, refund order) and the receipt's
    `promotions` and `coupons`; all empty when nothing applied, so such receipts keep their old form."""
    priced = sale.promotion_result
    if priced is None or not priced.applied:
        return [{} for _ in active], {}
    position = {ln.line_no: n for n, ln in enumerate(active, 1)}  # receipt lines are the active ones, 1-based
    saving = {lp.line_no: lp.saving for lp in priced.lines if lp.saving}
    per_line: list[dict[str, Any]] = []
    for ln, share in zip(active, shares, strict=True):
        if ln.line_no not in saving:
            per_line.append({})
            continue
        tiers = tiers_of(priced, ln.line_no, share)
        per_line.append({"promotion": saving[ln.line_no],
                         "units": [{"qty": qty_text(t.qty), "paid": t.paid} for t in tiers]})
    body: dict[str, Any] = {"promotions": [
        {"promotion_id": a.promotion_id, "name": a.name, "saving": a.saving,
         "lines": [[position[n], s] for n, s in a.lines]} | ({"code": a.code} if a.code else {})
        for a in priced.applied]}
    if priced.consumed_codes:
        body["coupons"] = list(priced.consumed_codes)
    return per_line, body
