"""The parts of a typed receipt (firmware/domain/receipt_model.py): lines, totals, taxes, tenders, cart discount.

Typed NamedTuples, immutable like a frozen dataclass but built about six
times faster; each part's `from_doc` compiles, per key set seen, one builder
that makes the tuple straight from the document's values. Each remembers the
fields its document left out (`absent`) and keeps the ones it does not know
(`extra`), so `to_doc` gives back the document exactly, keys sorted.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

__all__ = ["EMPTY_TOTALS", "NONE", "NOTHING", "CartDiscount", "ReceiptLine", "ReceiptTax", "ReceiptTender",
           "ReceiptTotals", "cart_of", "lines_of", "taxes_of", "tenders_of", "totals_of", "unknown_fields",
           "with_extra"]

NOTHING: Mapping[str, Any] = MappingProxyType({})
NONE: frozenset[str] = frozenset()

# each part's fields in order, with the value an absent field reads as
_LINE = {"sku": "", "name": "", "qty": 1, "unit_price": 0, "discount": 0, "tax_code": "", "amount": 0,
         "of_line": None, "cart_discount": 0, "age_check": None}
_TOTALS = {"subtotal": 0, "tax": 0, "total": 0, "rounding": 0}
_TAX = {"tax_code": "", "rate": "", "net": 0, "tax": 0}
_TENDER = {"type": "", "amount": 0, "change": 0, "reference": None}
_CART = {"amount": 0, "percent": None, "approved_by": None}
_LINE_KEYS, _TOTALS_KEYS, _TAX_KEYS, _TENDER_KEYS, _CART_KEYS = (
    frozenset(d) for d in (_LINE, _TOTALS, _TAX, _TENDER, _CART))
_new = tuple.__new__  # builds a NamedTuple from its values without the keyword-handling __new__
assert [len(d) for d in (_LINE, _TOTALS, _TAX, _TENDER, _CART)] == [10, 4, 4, 4, 3]


def unknown_fields(doc: Mapping[str, Any], known: frozenset[str]) -> Mapping[str, Any]:
    """The fields of `doc` outside `known` (a copy, read-only)."""
    return MappingProxyType({k: copy.deepcopy(v) for k, v in doc.items() if k not in known})


def with_extra(doc: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`doc` (built in sorted key order) with the unknown fields merged in, still sorted."""
    if not extra:
        return doc
    doc.update((k, copy.deepcopy(v)) for k, v in extra.items())
    return dict(sorted(doc.items()))

_MAX_SHAPES = 64  # per part: the key sets seen (a journal's receipts come in a handful)


def _maker(fields: dict[str, Any], keys: frozenset[str]) -> tuple[Callable[[Any, Mapping[str, Any]], Any],
                                                                   Callable[[Any, Any], tuple[Any, ...]]]:
    """`from_doc` for a part with `fields` (name -> value when absent).

    A document's key tuple (its shape) picks a builder compiled for it the first time it is seen: one tuple
    built straight from the document's values and the absent fields' defaults, with `absent` computed once.
    A shape with unknown keys (kept in `extra`, deep-copied) takes the general path.
    """
    count, getter = len(fields), itemgetter(*fields)
    shapes: dict[tuple[str, ...], Callable[[Any, Mapping[str, Any]], Any]] = {}

    def general(cls: Any, d: Mapping[str, Any]) -> Any:
        absent = keys.difference(d)
        extra = NOTHING if len(d) + len(absent) == count else unknown_fields(d, keys)
        return _new(cls, (*getter({**fields, **d}), absent, extra))

    def from_doc(cls: Any, d: Mapping[str, Any]) -> Any:
        shape = tuple(d)
        build = shapes.get(shape)
        if build is None:
            if len(shapes) >= _MAX_SHAPES or not keys.issuperset(shape):
                return general(cls, d)
            # the names are the model's own fields, never a document's text
            values = ", ".join(f"d[{k!r}]" if k in shape else repr(v) for k, v in fields.items())
            build = shapes[shape] = eval(  # noqa: S307 - compiled from the field table above
                f"lambda cls, d: _new(cls, ({values}, absent, NOTHING))",
                {"_new": _new, "NOTHING": NOTHING, "absent": keys.difference(shape)})
        return build(cls, d)

    def many(cls: Any, v: Any) -> tuple[Any, ...]:
        """`from_doc` of each document in `v` (None or empty: none), one call for all of them."""
        if not v:
            return ()
        get = shapes.get
        out = []
        for d in v:
            build = get(tuple(d))
            out.append(from_doc(cls, d) if build is None else build(cls, d))
        return tuple(out)

    return from_doc, many


(_line_doc, _lines), (_totals_doc, _), (_tax_doc, _taxes), (_tender_doc, _tenders), (_cart_doc, _) = (
    _maker(f, k) for f, k in ((_LINE, _LINE_KEYS), (_TOTALS, _TOTALS_KEYS), (_TAX, _TAX_KEYS),
                              (_TENDER, _TENDER_KEYS), (_CART, _CART_KEYS)))



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
    age_check: Mapping[str, Any] | None = None  # {"min_age", "by", "dob"?}: the cashier confirmed the age
    absent: frozenset[str] = NONE
    extra: Mapping[str, Any] = NOTHING

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> ReceiptLine:
        built: ReceiptLine = _line_doc(cls, d)
        return built

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "age_check" not in a:
            doc["age_check"] = copy.deepcopy(self.age_check)
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
        return with_extra(doc, self.extra)


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
        built: ReceiptTotals = _totals_doc(cls, d)
        return built

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
        return with_extra(doc, self.extra)


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
        built: ReceiptTax = _tax_doc(cls, d)
        return built

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
        return with_extra(doc, self.extra)


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
        built: ReceiptTender = _tender_doc(cls, d)
        return built

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
        return with_extra(doc, self.extra)


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
        built: CartDiscount = _cart_doc(cls, d)
        return built

    def to_doc(self) -> dict[str, Any]:
        a = self.absent
        doc: dict[str, Any] = {}
        if "amount" not in a:
            doc["amount"] = self.amount
        if "approved_by" not in a:
            doc["approved_by"] = self.approved_by
        if "percent" not in a:
            doc["percent"] = self.percent
        return with_extra(doc, self.extra)


EMPTY_TOTALS = ReceiptTotals(absent=_TOTALS_KEYS)  # a document without totals has none of them
def lines_of(v: Any) -> tuple[ReceiptLine, ...]:
    return _lines(ReceiptLine, v)


def taxes_of(v: Any) -> tuple[ReceiptTax, ...]:
    return _taxes(ReceiptTax, v)


def tenders_of(v: Any) -> tuple[ReceiptTender, ...]:
    return _tenders(ReceiptTender, v)


def totals_of(v: Any) -> ReceiptTotals:
    return EMPTY_TOTALS if v is None else _totals_doc(ReceiptTotals, v)


def cart_of(v: Any) -> CartDiscount | None:
    return None if v is None else _cart_doc(CartDiscount, v)
