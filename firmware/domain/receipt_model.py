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

The parts (lines, totals, taxes, tenders, cart discount) are typed
NamedTuples, immutable like a frozen dataclass but built about six times
faster; each part's `from_doc` compiles, per key set seen, one builder that
makes the tuple straight from the document's values. Do not index or unpack
them; read them by name. `Receipt` itself is an immutable slotted class:
`Receipt.from_json(stored bytes)` (the journal's readers; an export reads
100k) decodes once, keeps the decoded document private, and builds the
parts (all five at once) only when one is first read; `to_doc`/`to_json` of such a receipt are the
stored document again without rebuilding it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from firmware.domain.receipt_parts import (
    EMPTY_TOTALS,
    NONE,
    NOTHING,
    CartDiscount,
    ReceiptLine,
    ReceiptTax,
    ReceiptTender,
    ReceiptTotals,
    cart_of,
    lines_of,
    taxes_of,
    tenders_of,
    totals_of,
    unknown_fields,
    with_extra,
)

__all__ = ["CartDiscount", "Receipt", "ReceiptLine", "ReceiptTax", "ReceiptTender", "ReceiptTotals"]

_RECEIPT = {"receipt_id": "", "store": "", "register": "", "seq": 0, "kind": "sale", "created_at": "",
            "clock_trusted": None, "offline": False, "clerk_id": "", "currency": "", "lines": (), "totals": None,
            "taxes": (), "tenders": (), "refund_of": None, "sale_id": None, "customer_code": None,
            "approved_by": None, "reason": None, "cart_discount": None, "clerk_name": None, "prev_hash": "",
            "hash": ""}
_RECEIPT_KEYS = frozenset(_RECEIPT)
assert len(_RECEIPT) == 23
_PARTS = frozenset({"lines", "totals", "taxes", "tenders", "cart_discount"})
_SCALARS = {k: v for k, v in _RECEIPT.items() if k not in _PARTS}
# the C scanner json.loads ends in, without its Python wrappers (encoding detection, white space, checks)
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_set = object.__setattr__




class Receipt:
    """A receipt as committed (docs/contract.md#receipt): a sale, a refund (positive amounts) or a no_sale.

    `clock_trusted` is None when the document does not say (a park slip); `seq` is 0 when it has none.

    Immutable, compared by value. `from_doc` builds every part at once; `from_json` (the journal's readers,
    100k at a time for an export) keeps the document it decoded, private and never changed, and builds
    `lines`, `totals`, `taxes`, `tenders` and `cart_discount` together when one of them is first read, and
    `absent` and `extra` on first access.
    """

    __slots__ = ("_doc", "_json", "_absent", "_extra", "_lines", "_totals", "_taxes", "_tenders", "_cart")
    _doc: dict[str, Any]  # the top-level fields (all of them, parts included, when `_json` is set)
    _json: bytes | None  # the canonical JSON `_doc` was decoded from (None: built from values)
    _absent: frozenset[str]
    _extra: Mapping[str, Any]
    _lines: tuple[ReceiptLine, ...]
    _totals: ReceiptTotals
    _taxes: tuple[ReceiptTax, ...]
    _tenders: tuple[ReceiptTender, ...]
    _cart: CartDiscount | None

    def __init__(self, receipt_id: str = "", store: str = "", register: str = "", seq: int = 0,
                 kind: str = "sale", created_at: str = "", clock_trusted: bool | None = None,
                 offline: bool = False, clerk_id: str = "", currency: str = "",
                 lines: tuple[ReceiptLine, ...] = (), totals: ReceiptTotals = EMPTY_TOTALS,
                 taxes: tuple[ReceiptTax, ...] = (), tenders: tuple[ReceiptTender, ...] = (),
                 refund_of: str | None = None, sale_id: str | None = None, customer_code: str | None = None,
                 approved_by: str | None = None, reason: str | None = None,
                 cart_discount: CartDiscount | None = None, clerk_name: str | None = None,
                 prev_hash: str = "", hash: str = "",  # noqa: A002 - the document's field
                 absent: frozenset[str] = NONE, extra: Mapping[str, Any] = NOTHING) -> None:
        _set(self, "_doc", {"receipt_id": receipt_id, "store": store, "register": register, "seq": seq,
                            "kind": kind, "created_at": created_at, "clock_trusted": clock_trusted,
                            "offline": offline, "clerk_id": clerk_id, "currency": currency,
                            "refund_of": refund_of, "sale_id": sale_id, "customer_code": customer_code,
                            "approved_by": approved_by, "reason": reason, "clerk_name": clerk_name,
                            "prev_hash": prev_hash, "hash": hash})
        _set(self, "_json", None)
        _set(self, "_absent", absent)
        _set(self, "_extra", extra)
        _set(self, "_lines", lines)
        _set(self, "_totals", totals)
        _set(self, "_taxes", taxes)
        _set(self, "_tenders", tenders)
        _set(self, "_cart", cart_discount)

    @classmethod
    def from_doc(cls, d: Mapping[str, Any]) -> Receipt:
        """The receipt a JSON document (as the journal stores it) describes; nothing is checked or dropped."""
        absent = _RECEIPT_KEYS.difference(d)
        self = object.__new__(cls)
        _set(self, "_doc", {**_SCALARS, **{k: v for k, v in d.items() if k in _SCALARS}})
        _set(self, "_json", None)
        _set(self, "_absent", absent)
        _set(self, "_extra", NOTHING if len(d) + len(absent) == 23 else unknown_fields(d, _RECEIPT_KEYS))
        _set(self, "_lines", lines_of(d.get("lines")))
        _set(self, "_totals", totals_of(d.get("totals")))
        _set(self, "_taxes", taxes_of(d.get("taxes")))
        _set(self, "_tenders", tenders_of(d.get("tenders")))
        _set(self, "_cart", cart_of(d.get("cart_discount")))
        return self

    @classmethod
    def from_json(cls, data: bytes) -> Receipt:
        """The receipt stored as `data`, canonical JSON (sorted keys, as the journal writes it); ValueError
        when it is not a JSON object. Decoded once; the parts are built when first read."""
        text = data.decode("utf-8")
        try:
            doc, end = _scan(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            doc = json.loads(text)  # raises the usual JSONDecodeError, or takes the white space around
        if type(doc) is not dict:
            raise ValueError("a receipt is a JSON object")
        self = object.__new__(cls)
        _set(self, "_doc", doc)
        _set(self, "_json", data)
        return self

    # ---- immutable, compared by value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Receipt is immutable; cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Receipt is immutable; cannot delete {name}")

    def _values(self) -> tuple[Any, ...]:
        return (*[getattr(self, k) for k in _RECEIPT], self.absent, self.extra)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Receipt):
            return NotImplemented
        return self is other or self._values() == other._values()

    def __hash__(self) -> int:
        return hash((self.receipt_id, self.seq, self.hash))

    def __repr__(self) -> str:
        return "Receipt(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in (*_RECEIPT, "absent", "extra")) + ")"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Receipt.from_doc, (self.to_doc(),))

    # ---- the document's fields

    @property
    def receipt_id(self) -> str:
        return self._doc.get("receipt_id", "")  # type: ignore[no-any-return]

    @property
    def store(self) -> str:
        return self._doc.get("store", "")  # type: ignore[no-any-return]

    @property
    def register(self) -> str:
        return self._doc.get("register", "")  # type: ignore[no-any-return]

    @property
    def seq(self) -> int:
        return self._doc.get("seq", 0)  # type: ignore[no-any-return]

    @property
    def kind(self) -> str:
        return self._doc.get("kind", "sale")  # type: ignore[no-any-return]

    @property
    def created_at(self) -> str:
        return self._doc.get("created_at", "")  # type: ignore[no-any-return]

    @property
    def clock_trusted(self) -> bool | None:
        return self._doc.get("clock_trusted")

    @property
    def offline(self) -> bool:
        return self._doc.get("offline", False)  # type: ignore[no-any-return]

    @property
    def clerk_id(self) -> str:
        return self._doc.get("clerk_id", "")  # type: ignore[no-any-return]

    @property
    def currency(self) -> str:
        return self._doc.get("currency", "")  # type: ignore[no-any-return]

    @property
    def refund_of(self) -> str | None:
        return self._doc.get("refund_of")

    @property
    def sale_id(self) -> str | None:
        return self._doc.get("sale_id")

    @property
    def customer_code(self) -> str | None:
        return self._doc.get("customer_code")

    @property
    def approved_by(self) -> str | None:
        """Refunds and no_sales: the approving manager's clerk id."""
        return self._doc.get("approved_by")

    @property
    def reason(self) -> str | None:
        return self._doc.get("reason")

    @property
    def clerk_name(self) -> str | None:
        """Park slips carry the clerk's name."""
        return self._doc.get("clerk_name")

    @property
    def prev_hash(self) -> str:
        return self._doc.get("prev_hash", "")  # type: ignore[no-any-return]

    @property
    def hash(self) -> str:
        return self._doc.get("hash", "")  # type: ignore[no-any-return]

    # ---- the parts, built on first access when the receipt was read from JSON

    @property
    def lines(self) -> tuple[ReceiptLine, ...]:
        try:
            return self._lines
        except AttributeError:
            return self._parts()._lines

    @property
    def totals(self) -> ReceiptTotals:
        try:
            return self._totals
        except AttributeError:
            return self._parts()._totals

    @property
    def taxes(self) -> tuple[ReceiptTax, ...]:
        try:
            return self._taxes
        except AttributeError:
            return self._parts()._taxes

    @property
    def tenders(self) -> tuple[ReceiptTender, ...]:
        try:
            return self._tenders
        except AttributeError:
            return self._parts()._tenders

    @property
    def cart_discount(self) -> CartDiscount | None:
        try:
            return self._cart
        except AttributeError:
            return self._parts()._cart

    def _parts(self) -> Receipt:
        """Build every part of a receipt read from JSON at once: whoever reads one part reads the others too
        (a print, an export, a refund), and one missed slot costs less than five."""
        doc = self._doc
        get = doc.get
        _set(self, "_lines", lines_of(get("lines")))
        _set(self, "_totals", totals_of(get("totals")))
        _set(self, "_taxes", taxes_of(get("taxes")))
        _set(self, "_tenders", tenders_of(get("tenders")))
        _set(self, "_cart", cart_of(get("cart_discount")))
        return self

    @property
    def absent(self) -> frozenset[str]:
        """The known fields the document left out (`to_doc` leaves them out again)."""
        try:
            return self._absent
        except AttributeError:
            _set(self, "_absent", _RECEIPT_KEYS.difference(self._doc))
            return self._absent

    @property
    def extra(self) -> Mapping[str, Any]:
        """The document's fields this model does not know, as they were (read-only)."""
        try:
            return self._extra
        except AttributeError:
            doc = self._doc
            _set(self, "_extra", NOTHING if doc.keys() <= _RECEIPT_KEYS else unknown_fields(doc, _RECEIPT_KEYS))
            return self._extra

    def has(self, name: str) -> bool:
        """True when the document carried field `name` (even as null)."""
        return name not in self.absent

    def to_json(self) -> str:
        """`json.dumps(self.to_doc(), ensure_ascii=False)` (the export's text), without building the parts
        of a receipt read from JSON."""
        if self._json is not None:
            return json.dumps(self._doc, ensure_ascii=False)
        return json.dumps(self.to_doc(), ensure_ascii=False)

    def to_doc(self) -> dict[str, Any]:
        """The document again, exactly as `from_doc` read it (keys sorted, as canonical JSON has them)."""
        if self._json is not None:  # a fresh copy of the stored document, which is in canonical order
            doc: dict[str, Any] = json.loads(self._json)
            return doc
        a = self.absent
        doc = {}
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
        return with_extra(doc, self.extra)

    @property
    def tender_types(self) -> tuple[str, ...]:
        """The tender types paid with, each once, in the order first used."""
        return tuple(dict.fromkeys(t.type for t in self.tenders))
