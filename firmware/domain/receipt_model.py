"""The typed, immutable receipt: built once from the journal's stored document, and back to it exactly.

A committed receipt is hash-chained over its canonical JSON, so the model
must not lose or add a byte: `Receipt.from_doc(doc).to_doc() == doc` for
every document, whatever it holds. Each part therefore remembers which of
its fields the document left out (`absent`: `to_doc` leaves them out again,
and an absent field reads as its default) and keeps the fields it does not
know (`extra`, the only place JSON values stay untyped). `to_doc` writes
keys in sorted order, as the journal stores them (canonical JSON), so a
document read from the journal serialises to the same text.

Use `has(name)` where a field's absence means something (a park slip has a
total but no subtotal); otherwise read the attributes.

The parts are typed NamedTuples, immutable like a frozen dataclass: every
read of the journal builds one (exports read 100k), and a NamedTuple is
built about six times faster than a frozen slots dataclass, whose
`__init__` sets each field through `object.__setattr__`. Do not index or
unpack them; read them by name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = ["CartDiscount", "Receipt", "ReceiptLine", "ReceiptTax", "ReceiptTender", "ReceiptTotals"]

NOTHING: Mapping[str, Any] = MappingProxyType({})
NONE: frozenset[str] = frozenset()

# each part's fields in order, with the value an absent field reads as
_LINE = {"sku": "", "name": "", "qty": 1, "unit_price": 0, "discount": 0, "tax_code": "", "amount": 0,
         "of_line": None, "cart_discount": 0}
_TOTALS = {"subtotal": 0, "tax": 0, "total": 0, "rounding": 0}
_TAX = {"tax_code": "", "rate": "", "net": 0, "tax": 0}
_TENDER = {"type": "", "amount": 0, "change": 0, "reference": None}
_CART = {"amount": 0, "percent": None, "approved_by": None}
_RECEIPT = {"receipt_id": "", "store": "", "register": "", "seq": 0, "kind": "sale", "created_at": "",
            "clock_trusted": None, "offline": False, "clerk_id": "", "currency": "", "lines": (), "totals": None,
            "taxes": (), "tenders": (), "refund_of": None, "sale_id": None, "customer_code": None,
            "approved_by": None, "reason": None, "cart_discount": None, "clerk_name": None, "prev_hash": "",
            "hash": ""}
_LINE_KEYS, _TOTALS_KEYS, _TAX_KEYS, _TENDER_KEYS, _CART_KEYS, _RECEIPT_KEYS = (
    frozenset(d) for d in (_LINE, _TOTALS, _TAX, _TENDER, _CART, _RECEIPT))
_line_values, _totals_values, _tax_values, _tender_values, _cart_values, _receipt_values = (
    itemgetter(*d) for d in (_LINE, _TOTALS, _TAX, _TENDER, _CART, _RECEIPT))
_new = tuple.__new__  # builds a NamedTuple from its values without the keyword-handling __new__
assert [len(d) for d in (_LINE, _TOTALS, _TAX, _TENDER, _CART, _RECEIPT)] == [9, 4, 4, 4, 3, 23]


def _unknown(doc: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    """The fields of `doc` outside `known` (a copy, read-only)."""
    return MappingProxyType({k: copy.deepcopy(v) for k, v in doc.items() if k not in known})


def _finish(doc: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`doc` (built in sorted key order) with the unknown fields merged in, still sorted."""
    if not extra:
        return doc
    doc.update((k, copy.deepcopy(v)) for k, v in extra.items())
    return dict(sorted(doc.items()))


class ReceiptLine(NamedTuple):
    """One receipt line; `discount` includes the line's share of a cart discount (`cart_discount`)."""

    sku: str = ""
    name: str = ""
    qty: int | str = 1  # whole units, or a weight as decimal text ("0.750")
    unit_price: int = 0
    discount: int = 0
    tax_code: str = ""
    amount: int = 0
    of_line: int | None = None  # refunds: the original's line number (1-based)
    cart_discount: int = 0
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ReceiptLine:
        absent = _LINE_KEYS.difference(d)
        extra = NOTHING if len(d) + len(absent) == 9 else _unknown(d, _LINE_KEYS)
        return _new(cls, (*_line_values({**_LINE, **d}), absent, extra))

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "amount" not in a:
            doc["amount"] = self.amount
        if "cart_discount" not in a:
            doc["cart_discount"] = self.cart_discount
        if "discount" not in a:
            doc["discount"] = self.discount
        if "name" not in a:
            doc["name"] = self.name
        if "of_line" not in a:
            doc["of_line"] = self.of_line
        if "qty" not in a:
            doc["qty"] = self.qty
        if "sku" not in a:
            doc["sku"] = self.sku
        if "tax_code" not in a:
            doc["tax_code"] = self.tax_code
        if "unit_price" not in a:
            doc["unit_price"] = self.unit_price
        return _finish(doc, self.extra)


class ReceiptTotals(NamedTuple):
    subtotal: int = 0
    tax: int = 0
    total: int = 0
    rounding: int = 0  # cash rounding, added to `total` for a cash payment
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ReceiptTotals:
        absent = _TOTALS_KEYS.difference(d)
        extra = NOTHING if len(d) + len(absent) == 4 else _unknown(d, _TOTALS_KEYS)
        return _new(cls, (*_totals_values({**_TOTALS, **d}), absent, extra))

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "rounding" not in a:
            doc["rounding"] = self.rounding
        if "subtotal" not in a:
            doc["subtotal"] = self.subtotal
        if "tax" not in a:
            doc["tax"] = self.tax
        if "total" not in a:
            doc["total"] = self.total
        return _finish(doc, self.extra)


class ReceiptTax(NamedTuple):
    """The tax of one code: `rate` as decimal text ("19.00"), `net` and `tax` in minor units."""

    tax_code: str = ""
    rate: str = ""
    net: int = 0
    tax: int = 0
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ReceiptTax:
        absent = _TAX_KEYS.difference(d)
        extra = NOTHING if len(d) + len(absent) == 4 else _unknown(d, _TAX_KEYS)
        return _new(cls, (*_tax_values({**_TAX, **d}), absent, extra))

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "net" not in a:
            doc["net"] = self.net
        if "rate" not in a:
            doc["rate"] = self.rate
        if "tax" not in a:
            doc["tax"] = self.tax
        if "tax_code" not in a:
            doc["tax_code"] = self.tax_code
        return _finish(doc, self.extra)


class ReceiptTender(NamedTuple):
    """A payment: `amount` taken, `change` given back (money kept = amount - change), `reference` (card slip)."""

    type: str = ""
    amount: int = 0
    change: int = 0
    reference: str | None = None
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ReceiptTender:
        absent = _TENDER_KEYS.difference(d)
        extra = NOTHING if len(d) + len(absent) == 4 else _unknown(d, _TENDER_KEYS)
        return _new(cls, (*_tender_values({**_TENDER, **d}), absent, extra))

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "amount" not in a:
            doc["amount"] = self.amount
        if "change" not in a:
            doc["change"] = self.change
        if "reference" not in a:
            doc["reference"] = self.reference
        if "type" not in a:
            doc["type"] = self.type
        return _finish(doc, self.extra)


class CartDiscount(NamedTuple):
    """A discount on the whole cart: its amount, the percent it was given as (decimal text), who approved it."""

    amount: int = 0
    percent: str | None = None
    approved_by: str | None = None
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> CartDiscount:
        absent = _CART_KEYS.difference(d)
        extra = NOTHING if len(d) + len(absent) == 3 else _unknown(d, _CART_KEYS)
        return _new(cls, (*_cart_values({**_CART, **d}), absent, extra))

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "amount" not in a:
            doc["amount"] = self.amount
        if "approved_by" not in a:
            doc["approved_by"] = self.approved_by
        if "percent" not in a:
            doc["percent"] = self.percent
        return _finish(doc, self.extra)


_EMPTY_TOTALS = ReceiptTotals(absent=_TOTALS_KEYS)  # a document without totals has none of them


class Receipt(NamedTuple):
    """A receipt as committed (docs/contract.md#receipt): a sale, a refund (positive amounts) or a no_sale.

    `clock_trusted` is None when the document does not say (a park slip); `seq` is 0 when it has none.
    """

    receipt_id: str = ""
    store: str = ""
    register: str = ""
    seq: int = 0
    kind: str = "sale"
    created_at: str = ""
    clock_trusted: bool | None = None
    offline: bool = False
    clerk_id: str = ""
    currency: str = ""
    lines: tuple[ReceiptLine, ...] = ()
    totals: ReceiptTotals = _EMPTY_TOTALS
    taxes: tuple[ReceiptTax, ...] = ()
    tenders: tuple[ReceiptTender, ...] = ()
    refund_of: str | None = None
    sale_id: str | None = None
    customer_code: str | None = None
    approved_by: str | None = None  # refunds and no_sales: the approving manager's clerk id
    reason: str | None = None
    cart_discount: CartDiscount | None = None
    clerk_name: str | None = None  # park slips carry the clerk's name
    prev_hash: str = ""
    hash: str = ""
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Receipt:
        """The receipt a JSON document (as the journal stores it) describes; nothing is checked or dropped."""
        absent = _RECEIPT_KEYS.difference(d)
        extra = NOTHING if len(d) + len(absent) == 23 else _unknown(d, _RECEIPT_KEYS)
        v = {**_RECEIPT, **d}
        line, tax, tender = ReceiptLine.from_doc, ReceiptTax.from_doc, ReceiptTender.from_doc
        v["lines"] = tuple([line(x) for x in v["lines"] or ()])
        v["taxes"] = tuple([tax(x) for x in v["taxes"] or ()])
        v["tenders"] = tuple([tender(x) for x in v["tenders"] or ()])
        totals, cart = v["totals"], v["cart_discount"]
        v["totals"] = _EMPTY_TOTALS if totals is None else ReceiptTotals.from_doc(totals)
        if cart is not None:
            v["cart_discount"] = CartDiscount.from_doc(cart)
        return _new(cls, (*_receipt_values(v), absent, extra))

    def to_doc(self) -> dict[str, Any]:
        """The document again, exactly as `from_doc` read it (keys sorted, as canonical JSON has them)."""
        a = self.absent
        doc: dict[str, Any] = {}
        if "approved_by" not in a:
            doc["approved_by"] = self.approved_by
        if "cart_discount" not in a:
            doc["cart_discount"] = None if self.cart_discount is None else self.cart_discount.to_doc()
        if "clerk_id" not in a:
            doc["clerk_id"] = self.clerk_id
        if "clerk_name" not in a:
            doc["clerk_name"] = self.clerk_name
        if "clock_trusted" not in a:
            doc["clock_trusted"] = self.clock_trusted
        if "created_at" not in a:
            doc["created_at"] = self.created_at
        if "currency" not in a:
            doc["currency"] = self.currency
        if "customer_code" not in a:
            doc["customer_code"] = self.customer_code
        if "hash" not in a:
            doc["hash"] = self.hash
        if "kind" not in a:
            doc["kind"] = self.kind
        if "lines" not in a:
            doc["lines"] = [line.to_doc() for line in self.lines]
        if "offline" not in a:
            doc["offline"] = self.offline
        if "prev_hash" not in a:
            doc["prev_hash"] = self.prev_hash
        if "reason" not in a:
            doc["reason"] = self.reason
        if "receipt_id" not in a:
            doc["receipt_id"] = self.receipt_id
        if "refund_of" not in a:
            doc["refund_of"] = self.refund_of
        if "register" not in a:
            doc["register"] = self.register
        if "sale_id" not in a:
            doc["sale_id"] = self.sale_id
        if "seq" not in a:
            doc["seq"] = self.seq
        if "store" not in a:
            doc["store"] = self.store
        if "taxes" not in a:
            doc["taxes"] = [tax.to_doc() for tax in self.taxes]
        if "tenders" not in a:
            doc["tenders"] = [tender.to_doc() for tender in self.tenders]
        if "totals" not in a:
            doc["totals"] = self.totals.to_doc()
        return _finish(doc, self.extra)

    @property
    def tender_types(self) -> tuple[str, ...]:
        """The tender types paid with, each once, in the order first used."""
        return tuple(dict.fromkeys(t.type for t in self.tenders))
