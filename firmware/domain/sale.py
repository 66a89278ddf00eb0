"""The sale state machine: an immutable cart that commands turn into a new cart or refuse with a reason.

Phases: "open" (adding items) -> "tendering" (taking payments) -> "paid". Money paid = sum of (tender amount -
change); a cash tender's `amount` is what the customer handed over. Cash rounding applies only when a cash tender
settles the sale: the cash due is the remaining amount rounded to the step, and the difference is recorded on that
tender and in totals.rounding, so paid == total + rounding once the phase is "paid". Refund sales (kind "refund")
are built by `firmware.domain.refunds`; their amounts are positive and their tenders are money paid back (never
with change). Gift cards and points (docs/accounts.md): the register checks balances, the sale records them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any

from firmware.domain.catalog import Item
from firmware.domain.errors import DomainError, Refused
from firmware.domain.lines import Line, allocate, parse_qty, qty_text
from firmware.domain.money import format_money, round_cash, scale, to_decimal
from firmware.domain.promotion_rules import Priced
from firmware.domain.sale_promotions import SalePromotions, price_sale, receipt_fields, with_savings
from firmware.domain.tax import TaxResult, compute_taxes

__all__ = ["Sale", "Tender", "Totals", "Pricing", "CartDiscount", "TENDER_KINDS", "on_account_needs_approval"]

TENDER_KINDS = ("cash", "card", "on_account", "gift_card", "loyalty")  # the last two: docs/accounts.md
DEFAULT_DISCOUNT_LIMIT = 20


@dataclass(frozen=True)
class Pricing:
    """How the shop prices: tax rates, tax-included or not, cash rounding step, currency and its display."""

    rates: dict[str, str] = field(default_factory=dict)
    tax_included: bool = True
    cash_rounding: int = 0
    currency: str = "EUR"
    currency_display: str = "symbol"

    def money(self, amount: int) -> str:
        """An amount as the cashier reads it: "€3.17" (firmware.domain.money.format_money)."""
        return format_money(amount, self.currency, self.currency_display)


@dataclass(frozen=True)
class Tender:
    """One payment. `rounding` is the cash rounding this tender settled (cash only)."""

    kind: str
    amount: int
    change: int = 0
    reference: str | None = None
    rounding: int = 0
    approved_by: str | None = None
    account: str | None = None  # gift_card: the card's keyed hash; loyalty, on_account: the customer (accounts)
    points: int = 0  # loyalty: the points redeemed for `amount` (a sale in tendering is never parked: not saved)


@dataclass(frozen=True)
class CartDiscount:
    """A discount on the whole cart, spread over the lines by their amounts."""

    percent: Decimal | None = None
    amount: int | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class Totals:
    """What the customer sees: `due` is what is still to pay, `cash_due` the same rounded for cash."""

    subtotal: int
    tax: int
    total: int
    rounding: int
    paid: int
    due: int
    change: int
    cash_due: int
    discount: int
    taxes: list[dict[str, Any]]


def on_account_needs_approval(on_account_total: int, *, offline: bool, limit: int | None) -> bool:
    """Offline, the fleet cannot check a credit limit: on-account over `limit` needs a manager."""
    return offline and limit is not None and on_account_total > limit


@dataclass(frozen=True)
class Sale:
    """A cart from open to paid. Never mutated: every command returns a new Sale or raises Refused."""

    sale_id: str
    clerk_id: str
    phase: str = "open"
    lines: tuple[Line, ...] = ()
    tenders: tuple[Tender, ...] = ()
    customer_code: str | None = None
    kind: str = "sale"
    cart_discount: CartDiscount | None = None
    pricing: Pricing = field(default_factory=Pricing)
    refund_of: str | None = None
    approved_by: str | None = None
    reason: str | None = None
    allowed_tenders: tuple[str, ...] = TENDER_KINDS
    tax_override: tuple[tuple[str, int], ...] | None = None  # refunds: tax per code allocated from the original
    gift_loads: tuple[tuple[int, str, str, str], ...] = ()  # gift card lines: (line_no, kind, card_hash, last4)
    promos: SalePromotions | None = None  # the catalog's promotions, the till's clock, codes (sale_promotions.py)

    @classmethod
    def open(cls, sale_id: str, clerk_id: str, *, rates: Mapping[str, str] | None = None,
             tax_included: bool = True, cash_rounding: int = 0, currency: str = "EUR",
             currency_display: str = "symbol") -> Sale:
        """A new empty cart; `sale_id` is fixed here so a retried commit can never make two receipts."""
        if not sale_id or not clerk_id:
            raise Refused("A sale needs a sale id and a logged-in clerk")
        return cls(sale_id=sale_id, clerk_id=clerk_id,
                   pricing=Pricing(dict(rates or {}), tax_included, cash_rounding, currency, currency_display))

    def money(self, amount: int) -> str:
        """An amount in this sale's currency as the cashier reads it ("€3.17")."""
        return self.pricing.money(amount)

    @property
    def active_lines(self) -> list[Line]:
        return [line for line in self.lines if not line.voided]

    @cached_property
    def promotion_result(self) -> Priced | None:  # what promotions give this cart (None: none); once per value
        return price_sale(self)

    @property
    def is_empty(self) -> bool:
        return not self.active_lines

    def line(self, line_no: int) -> Line:
        if not isinstance(line_no, int) or not 1 <= line_no <= len(self.lines):
            raise Refused(f"There is no line {line_no}")
        return self.lines[line_no - 1]

    def add(self, item: Item, qty: object = 1, source: str = "sku") -> Sale:
        """Add `qty` of `item`; the same SKU scanned again right after merges into the last line."""
        self._editable("add items")
        if self.pricing.rates and item.tax_code not in self.pricing.rates:
            raise Refused(f"{item.name} has tax code {item.tax_code}, which has no rate; ask a manager")
        value = parse_qty(qty, item.weighed)
        last = self.lines[-1] if self.lines else None
        if (last is not None and not last.voided and last.sku == item.sku and not item.weighed
                and last.discount == 0 and last.unit_price == item.price and isinstance(value, int)):
            merged = parse_qty(last.qty + value, False)
            return replace(self, lines=self.lines[:-1] + (replace(last, qty=merged),))
        line = Line(line_no=len(self.lines) + 1, sku=item.sku, name=item.name, unit_price=item.price,
                    qty=value, tax_code=item.tax_code, weighed=item.weighed, source=source)
        return replace(self, lines=self.lines + (line,))

    def set_qty(self, line_no: int, qty: object) -> Sale:
        """Change a line's quantity; a percentage discount follows, an amount discount must still fit."""
        self._editable("change quantities")
        line = self._live_line(line_no)
        changed = replace(line, qty=parse_qty(qty, line.weighed))
        if line.discount_percent is not None:
            changed = replace(changed, discount=scale(changed.gross, line.discount_percent, 100))
        elif line.discount > changed.gross:
            raise Refused(f"Line {line_no} has a discount larger than its new price; remove the discount first")
        return self._with_line(changed)

    def void_line(self, line_no: int, approved_by: str | None = None) -> Sale:
        """Void a line; once payment has started, only with a manager's approval."""
        self._not_paid()
        self._not_refund("void lines")
        line = self._live_line(line_no)
        if self.phase == "tendering":
            if approved_by is None:
                raise Refused("Payment has started: voiding a line needs a manager")
            after = replace(self, lines=self._replaced(replace(line, voided=True, approved_by=approved_by)))
            if after.is_empty:
                raise Refused("Cannot void the last line while taking payment")
            if self.tenders and after._grand_total() - after._paid() <= 0:
                raise Refused("The payments taken already cover the cart without this line; cannot void it now")
            return after
        return self._with_line(replace(line, voided=True, approved_by=approved_by))

    def discount_line(self, line_no: int, percent: object = None, amount: int | None = None,
                      approved_by: str | None = None, limit_percent: int | Decimal = DEFAULT_DISCOUNT_LIMIT) -> Sale:
        """Discount one line by a percentage or an amount; above `limit_percent` a manager must approve."""
        self._editable("discount")
        line = self._live_line(line_no)
        pct, value = self._discount(line.gross, percent, amount, approved_by, limit_percent, f"line {line_no}")
        return self._with_line(replace(line, discount=value, discount_percent=pct,
                                       approved_by=approved_by if value else None))

    def discount_cart(self, percent: object = None, amount: int | None = None,
                      approved_by: str | None = None, limit_percent: int | Decimal = DEFAULT_DISCOUNT_LIMIT) -> Sale:
        """Discount the whole cart; it is spread over the lines so the tax stays right."""
        self._editable("discount")
        if self.is_empty:
            raise Refused("The cart is empty: nothing to discount")
        base = sum(line.amount for line in self.active_lines)
        pct, value = self._discount(base, percent, amount, approved_by, limit_percent, "the cart")
        discount = None if value == 0 else CartDiscount(pct, None if pct is not None else value, approved_by)
        return replace(self, cart_discount=discount)

    def set_customer(self, code: str | None) -> Sale:
        """Attach a customer code (loyalty or on-account); None or "" removes it."""
        self._not_paid()
        code = (code or "").strip() or None
        if code is not None and (len(code) > 64 or not code.isprintable()):
            raise Refused("A customer code is up to 64 printable characters")
        return replace(self, customer_code=code)

    def begin_tender(self) -> Sale:
        """Move to payment; a cart worth nothing is paid at once."""
        if self.phase != "open":
            raise Refused("Payment has already started" if self.phase == "tendering" else "This sale is already paid")
        if self.is_empty:
            raise Refused("The cart is empty: add an item before taking payment")
        return replace(self, phase="paid" if self._grand_total() == 0 else "tendering")

    def back_to_cart(self) -> Sale:
        """Leave payment to change the cart; refused once a payment has been taken."""
        if self.phase != "tendering":
            raise Refused("Not taking payment")
        if self.kind == "refund":
            raise Refused("A refund's lines come from the original receipt; cancel and start again")
        if self.tenders:
            raise Refused("Payments have been taken: remove them first (Remove, beside each payment), "
                          "then go back to the cart")
        return replace(self, phase="open")

    def remove_tender(self, index: int) -> Sale:
        """Take back a payment (0-based, in the order taken) while the sale is not finished; a card payment must
        also be reversed on the card terminal. Removing the last one leaves payment open, so the cart can change."""
        if self.phase != "tendering":
            raise Refused("This sale is already paid" if self.phase == "paid" else "No payment has been taken")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.tenders):
            raise Refused("There is no such payment to remove")
        return replace(self, tenders=self.tenders[:index] + self.tenders[index + 1:])

    def remaining(self) -> int:
        """What is still to pay (before cash rounding)."""
        return self._grand_total() + self._rounding() - self._paid()

    def add_tender(self, kind: str, amount: int | None = None, reference: str | None = None,
                   cash_rounding: int | None = None, *, offline: bool = False,
                   on_account_limit: int | None = None, approved_by: str | None = None,
                   account: str | None = None, points: int = 0) -> Sale:
        """Take a payment (None = exactly what is due). Only cash gives change; paid in full -> "paid"."""
        if self.phase != "tendering":
            raise Refused("This sale is already paid" if self.phase == "paid" else "Press Pay before taking payment")
        if kind not in TENDER_KINDS:
            raise Refused(f"Unknown tender {kind!r}; use {', '.join(TENDER_KINDS)}")
        if kind not in self.allowed_tenders:
            raise Refused(f"This refund can be paid back by {' or '.join(self.allowed_tenders)} only")
        if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
            raise Refused("Type the amount as money, such as 10.50")
        step = self.pricing.cash_rounding if cash_rounding is None else cash_rounding
        remaining = self._grand_total() + self._rounding() - self._paid()
        refund = self.kind == "refund"
        tender: Tender
        if kind == "cash":
            cash_due = round_cash(remaining, step)
            given = cash_due if amount is None else amount
            if given < 0 or (given == 0 and cash_due != 0):  # a due that rounds to 0 is settled by 0 cash
                raise Refused("Amount must be more than zero")
            if given >= cash_due:
                if refund and given != cash_due:
                    raise Refused(f"Pay back exactly {self.money(cash_due)} in cash; a refund gives no change")
                tender = Tender("cash", given, given - cash_due, reference, cash_due - remaining)
            elif given >= remaining:
                raise Refused(f"Cash due is {self.money(cash_due)} after rounding to {self.money(step)}; "
                              f"{self.money(given)} is not enough")
            else:
                tender = Tender("cash", given, 0, reference)
        else:
            given = remaining if amount is None else amount
            if given <= 0:
                raise Refused("Amount must be more than zero")
            if given > remaining:
                raise Refused(f"{kind.replace('_', ' ').capitalize()} cannot exceed the amount due "
                              f"({self.money(remaining)})")
            tender = Tender(kind, given, 0, reference, approved_by=approved_by, account=account, points=points)
        sale = self
        if kind == "on_account":
            code = (reference or "").strip() or self.customer_code
            if not code:
                raise Refused("On-account needs a customer code: enter or scan it first")
            total_on_account = given + sum(t.amount for t in self.tenders if t.kind == "on_account")
            if approved_by is None and on_account_needs_approval(total_on_account, offline=offline,
                                                                 limit=on_account_limit):
                raise Refused(f"Offline, on-account over {self.money(on_account_limit or 0)} needs a manager's "
                              "approval")
            sale, tender = replace(sale, customer_code=code), replace(tender, account=code)
        sale = replace(sale, tenders=self.tenders + (tender,))
        if sale._grand_total() + sale._rounding() - sale._paid() == 0:
            sale = replace(sale, phase="paid")
        return sale

    def receipt_lines(self) -> list[Line]:
        """Active lines with promotions and the cart discount folded into each line's `discount` (the receipt's)."""
        active = with_savings(self.active_lines, self.promotion_result)
        cart = self._cart_discount_value(active)
        if not cart:
            return active
        shares = allocate(cart, [line.amount for line in active])
        return [replace(line, discount=line.discount + share)
                for line, share in zip(active, shares, strict=True)]  # allocate: one share per weight

    def totals(self, rates: Mapping[str, str] | None = None, tax_included: bool | None = None,
               cash_rounding: int | None = None) -> Totals:
        """Totals with taxes (the sale's own pricing unless overridden here)."""
        rates = self.pricing.rates if rates is None else rates
        included = self.pricing.tax_included if tax_included is None else tax_included
        step = self.pricing.cash_rounding if cash_rounding is None else cash_rounding
        lines = self.receipt_lines()
        result = self._taxes(lines, rates, included)
        rounding = self._rounding()
        paid = self._paid()
        due = max(0, result.total + rounding - paid)
        return Totals(subtotal=result.subtotal, tax=result.tax, total=result.total, rounding=rounding,
                      paid=paid, due=due, change=sum(t.change for t in self.tenders),
                      cash_due=round_cash(due, step), discount=sum(line.discount for line in lines),
                      taxes=result.taxes)

    def receipt_body(self, store: str, register: str, currency: str, created_at: str, clock_trusted: bool,
                     offline: bool, rates: Mapping[str, str] | None = None, tax_included: bool | None = None,
                     cash_rounding: int | None = None, accounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A receipt (docs/contract.md#receipt) minus seq, receipt_id, prev_hash, hash; plus sale_id, customer_code."""
        if self.phase != "paid":
            raise Refused("The sale is not paid yet")
        totals = self.totals(rates, tax_included, cash_rounding)
        active = with_savings(self.active_lines, self.promotion_result)
        cart = self._cart_discount_value(active)  # each line's share of it is part of the line's `discount`
        shares = allocate(cart, [line.amount for line in active]) if cart else [0] * len(active)
        promoted, promotions = receipt_fields(self, active, shares)
        body: dict[str, Any] = {
            "store": store, "register": register, "kind": self.kind, "sale_id": self.sale_id,
            "created_at": created_at, "clock_trusted": clock_trusted, "offline": offline,
            "clerk_id": self.clerk_id, "currency": currency, "customer_code": self.customer_code,
            "lines": [
                {"sku": ln.sku, "name": ln.name, "qty": qty_text(ln.qty), "unit_price": ln.unit_price,
                 "discount": ln.discount, "tax_code": ln.tax_code, "amount": ln.amount}
                | ({"of_line": ln.of_line} if ln.of_line is not None else {})
                | ({"age_check": ln.age_check.to_doc()} if ln.age_check else {})
                | ({"cart_discount": share} if share else {}) | extra
                for ln, share, extra in zip(self.receipt_lines(), shares, promoted, strict=True)
            ],
            "totals": {"subtotal": totals.subtotal, "tax": totals.tax, "total": totals.total,
                       "rounding": totals.rounding},
            "taxes": totals.taxes,
            "tenders": [{"type": t.kind, "amount": t.amount, "change": t.change}
                        | ({"reference": t.reference} if t.reference else {}) for t in self.tenders],
            "refund_of": self.refund_of,
        } | ({"accounts": accounts} if accounts else {}) | promotions
        if cart and self.cart_discount is not None:  # printed as a line of its own (firmware/printout.py)
            cd = self.cart_discount
            body["cart_discount"] = {"amount": cart, "percent": None if cd.percent is None else str(cd.percent),
                                     "approved_by": cd.approved_by}
        if self.kind == "refund":
            body |= {"approved_by": self.approved_by, "reason": self.reason}
        return body

    def to_dict(self) -> dict[str, Any]:
        cd = self.cart_discount
        return {
            "sale_id": self.sale_id, "clerk_id": self.clerk_id, "phase": self.phase, "kind": self.kind,
            "lines": [line.to_dict() for line in self.lines],
            "tenders": [{"kind": t.kind, "amount": t.amount, "change": t.change, "reference": t.reference,
                         "rounding": t.rounding, "approved_by": t.approved_by} for t in self.tenders],
            "customer_code": self.customer_code,
            "cart_discount": None if cd is None else {
                "percent": None if cd.percent is None else str(cd.percent), "amount": cd.amount,
                "approved_by": cd.approved_by},
            "pricing": {"rates": dict(self.pricing.rates), "tax_included": self.pricing.tax_included,
                        "cash_rounding": self.pricing.cash_rounding, "currency": self.pricing.currency,
                        "currency_display": self.pricing.currency_display},
            "refund_of": self.refund_of, "approved_by": self.approved_by, "reason": self.reason,
            "allowed_tenders": list(self.allowed_tenders), "gift_loads": [list(g) for g in self.gift_loads],
            "tax_override": None if self.tax_override is None else [list(x) for x in self.tax_override],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Sale:
        """Inverse of `to_dict`; a malformed dict raises DomainError."""
        try:
            cd = d.get("cart_discount")
            pricing = d.get("pricing") or {}
            return cls(
                sale_id=d["sale_id"], clerk_id=d["clerk_id"], phase=d.get("phase", "open"),
                kind=d.get("kind", "sale"), lines=tuple(Line.from_dict(x) for x in d.get("lines", [])),
                tenders=tuple(Tender(t["kind"], int(t["amount"]), int(t.get("change", 0)), t.get("reference"),
                                     int(t.get("rounding", 0)), t.get("approved_by")) for t in d.get("tenders", [])),
                gift_loads=tuple((int(n), str(k), str(h), str(f)) for n, k, h, f in d.get("gift_loads", [])),
                customer_code=d.get("customer_code"),
                cart_discount=None if cd is None else CartDiscount(
                    None if cd.get("percent") is None else Decimal(cd["percent"]), cd.get("amount"),
                    cd.get("approved_by")),
                pricing=Pricing(dict(pricing.get("rates", {})), bool(pricing.get("tax_included", True)),
                                int(pricing.get("cash_rounding", 0)), str(pricing.get("currency", "EUR")),
                                str(pricing.get("currency_display", "symbol"))),
                refund_of=d.get("refund_of"), approved_by=d.get("approved_by"), reason=d.get("reason"),
                allowed_tenders=tuple(d.get("allowed_tenders", TENDER_KINDS)),
                tax_override=None if d.get("tax_override") is None else tuple(
                    (str(c), int(t)) for c, t in d["tax_override"]),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as err:
            raise DomainError(f"Saved cart is unreadable ({err!r}); it cannot be recalled") from None

    def _editable(self, what: str) -> None:
        self._not_refund(what)
        if self.phase == "tendering":
            raise Refused(f"Cannot {what} while taking payment; go back to the cart first")
        self._not_paid()

    def _not_paid(self) -> None:
        if self.phase == "paid":
            raise Refused("This sale is already paid; start a new sale")

    def _not_refund(self, what: str) -> None:
        if self.kind == "refund":
            raise Refused(f"Cannot {what} on a refund: its lines come from the original receipt")

    def _live_line(self, line_no: int) -> Line:
        line = self.line(line_no)
        if line.voided:
            raise Refused(f"Line {line_no} is already voided")
        return line

    def _replaced(self, line: Line) -> tuple[Line, ...]:
        return tuple(line if other.line_no == line.line_no else other for other in self.lines)

    def _with_line(self, line: Line) -> Sale:
        return replace(self, lines=self._replaced(line))

    def _discount(self, base: int, percent: object, amount: int | None, approved_by: str | None,
                  limit: int | Decimal, what: str) -> tuple[Decimal | None, int]:
        if (percent is None) == (amount is None):
            raise Refused("Give a discount as a percentage or as an amount, not both")
        if percent is not None:
            try:
                pct = to_decimal(percent)  # type: ignore[arg-type]
            except DomainError:
                raise Refused(f"Discount {percent!r} is not a percentage") from None
            if not Decimal(0) <= pct <= Decimal(100):
                raise Refused("A discount percentage is between 0 and 100")
            value = scale(base, pct, 100)
            over = pct > Decimal(limit)
        else:
            if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
                raise Refused("A discount amount is money, zero or more")
            if amount > base:
                raise Refused(f"The discount ({self.money(amount)}) is more than {what} is worth ({self.money(base)})")
            pct, value = None, amount
            over = value * 100 > Decimal(limit) * base
        if base <= 0 and (value or (pct is not None and pct > 0)):
            raise Refused(f"{what.capitalize()} is worth nothing: nothing to discount")
        if over and approved_by is None:
            raise Refused(f"A discount over {limit}% needs a manager's approval")
        return (pct if value else None), value

    def _cart_discount_value(self, active: list[Line]) -> int:
        cd = self.cart_discount  # an amount larger than a cart that shrank since is capped at its value
        if cd is None or not active:
            return 0
        base = sum(line.amount for line in active)
        value = scale(base, cd.percent, 100) if cd.percent is not None else (cd.amount or 0)
        return max(0, min(value, base))

    def _grand_total(self) -> int:
        lines = self.receipt_lines()
        if self.pricing.tax_included:
            return sum(line.amount for line in lines)
        return self._taxes(lines, self.pricing.rates, False).total

    def _taxes(self, lines: list[Line], rates: Mapping[str, str], included: bool) -> TaxResult:
        result = compute_taxes(lines, rates, included)
        if self.tax_override is None:
            return result
        fixed = dict(self.tax_override)
        taxes = []
        for entry in result.taxes:
            amount = entry["net"] + (0 if not included else entry["tax"])
            tax = fixed.get(entry["tax_code"], entry["tax"])
            taxes.append(dict(entry, tax=tax, net=amount - tax if included else amount))
        tax_total = sum(t["tax"] for t in taxes)
        total = result.subtotal if included else result.subtotal + tax_total
        return TaxResult(result.subtotal, tax_total, total, taxes)

    def _paid(self) -> int:
        return sum(t.amount - t.change for t in self.tenders)

    def _rounding(self) -> int:
        return sum(t.rounding for t in self.tenders)
