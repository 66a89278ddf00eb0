"""Stock levels on the till: the fleet's snapshot plus this register's own deltas, and the sale check.

Rules (docs/stock.md):

- **Units.** A stock quantity is an int of *stock units*: pieces for counted items, grams for weighed ones
  (`stock_units(Decimal("0.730"), weighed=True) == 730`). Sums stay exact and cheap; `stock_text` shows them.
- **Deltas.** Each register numbers its stock deltas 1, 2, 3... (`seq`, its own counter, not the receipt seq).
  A `sale` takes (qty < 0), a `refund` puts back (qty > 0), an `adjust` is a signed correction (a delivery,
  breakage), a `count` is a stock-take: `qty` is the level counted, absolute, and replaces what came before.
- **Snapshot.** The fleet's view of the store: a level per tracked sku and, per register, `upto`: the highest
  seq up to which it holds *all* of that register's deltas. A delta is in the snapshot iff
  `seq <= upto[register]`.
- **On hand** = snapshot level + this register's deltas not in it, applied in seq order; a local count not in
  the snapshot replaces the level, and only the deltas after it are added. The arrival order of the deltas does
  not matter. An sku the snapshot does not list is untracked (None): never warned about.
- **The sale check** (`check_sale`) never refuses: it says ok, warn (low stock, last one, past zero) or that a
  manager must approve selling past zero, as the shop's policy (or the item's own) says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from firmware.domain.errors import PayloadInvalid, Refused

__all__ = [
    "DeltaKind", "StockDelta", "StockSnapshot", "StockPolicy", "PolicyBook", "StockOk", "StockWarn", "NeedsManager",
    "StockCheck", "parse_count", "stock_units", "stock_text", "included", "pending", "on_hand", "check_sale",
    "deltas_for_receipt", "count_delta", "MAX_STOCK",
]

DeltaKind = Literal["sale", "refund", "adjust", "count"]
KINDS: tuple[DeltaKind, ...] = ("sale", "refund", "adjust", "count")
MAX_STOCK = 10**9  # stock units (a million kg in grams); the contract's bound on one delta and one level
GRAMS_PER_KG = 1000


def stock_units(qty: int | Decimal | str, weighed: bool) -> int:
    """A receipt quantity in stock units: pieces, or grams for weighed goods ("0.730" kg -> 730)."""
    if isinstance(qty, bool):
        raise PayloadInvalid("Stock: a quantity is a number, not true/false")
    if not weighed:
        if not isinstance(qty, int):
            try:
                value = Decimal(qty)
            except ArithmeticError:
                raise PayloadInvalid(f"Stock: {qty!r} is not a number of pieces") from None
            if value != value.to_integral_value():
                raise PayloadInvalid(f"Stock: {qty} is not a whole number of pieces")
            return int(value)
        return qty
    try:
        grams = Decimal(qty) * GRAMS_PER_KG
    except ArithmeticError:
        raise PayloadInvalid(f"Stock: {qty!r} is not a weight in kg") from None
    if grams != grams.to_integral_value():
        raise PayloadInvalid(f"Stock: weight {qty} kg has more than 3 decimals")
    return int(grams)


_COUNT_PIECES = re.compile(r"^[0-9]{1,10}$")
_COUNT_KG = re.compile(r"^[0-9]{1,7}(?:[.,][0-9]{1,3})?$")


def parse_count(counted: object, weighed: bool) -> int:
    """A stock-take count as typed ("12", or "2.5" kg for weighed goods) in stock units; Refused in the manager's
    words for anything else: no exponents, signs, fractions of a piece or counts past MAX_STOCK."""
    if isinstance(counted, bool) or not isinstance(counted, (int, str)):
        raise Refused("Type the count as a number, e.g. 12" + (" or 2.5 (kg)" if weighed else ""))
    text = str(counted).strip()
    shape = _COUNT_KG if weighed else _COUNT_PIECES
    if not shape.match(text):
        how = "the weight on the shelf in kg, e.g. 2.5" if weighed else "a whole number of pieces, e.g. 12"
        raise Refused(f"A count of {text[:20]!r} is not possible: type {how}")
    units = stock_units(text.replace(",", "."), weighed)
    if units > MAX_STOCK:
        most = stock_text(MAX_STOCK, weighed)
        raise Refused(f"A count of {text} is more than a till keeps (at most {most}); count again")
    return units


def stock_text(units: int, weighed: bool) -> str:
    """ "3", or "0.730 kg" for weighed goods (units are grams)."""
    if not weighed:
        return str(units)
    return f"{Decimal(units).scaleb(-3).quantize(Decimal('0.001'))} kg"


@dataclass(frozen=True)
class StockDelta:
    """One change to one sku's stock, made on `register` as its `seq`-th delta.

    `at` is the contract timestamp it was made at (text: the domain never reads a clock); `ref` the receipt id
    for sales and refunds. `basis` (counts only) is what the counting till had seen: per register, the seq up to
    which its snapshot held that register's deltas; the fleet uses it to order other tills' deltas against the
    count (docs/stock.md#counts).
    """

    register: str
    seq: int
    sku: str
    kind: DeltaKind
    qty: int
    at: str = ""
    ref: str | None = None
    basis: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if self.seq < 1:
            raise PayloadInvalid(f"Stock delta {self.register}/{self.seq}: seq starts at 1")
        if self.kind not in KINDS:
            raise PayloadInvalid(f"Stock delta {self.register}/{self.seq}: unknown kind {self.kind!r}")
        if abs(self.qty) > MAX_STOCK:
            raise PayloadInvalid(f"Stock delta {self.register}/{self.seq}: quantity {self.qty} is out of range")
        if (self.kind == "sale" and self.qty > 0) or (self.kind == "refund" and self.qty < 0) or (
                self.kind == "count" and self.qty < 0):
            raise PayloadInvalid(f"Stock delta {self.register}/{self.seq}: a {self.kind} of {self.qty} is "
                                 "the wrong way round (sales take, refunds put back, counts are not negative)")

    @property
    def key(self) -> tuple[str, int]:
        return (self.register, self.seq)


@dataclass(frozen=True)
class StockSnapshot:
    """The fleet's last word on the store's stock: `levels` per tracked sku, `upto` per register."""

    version: int = 0
    levels: Mapping[str, int] = field(default_factory=dict)
    upto: Mapping[str, int] = field(default_factory=dict)
    at: str = ""

    def level(self, sku: str) -> int | None:
        return self.levels.get(sku)


def included(snapshot: StockSnapshot, delta: StockDelta) -> bool:
    """Whether the snapshot already holds `delta` (its register's `upto` reaches its seq)."""
    return delta.seq <= snapshot.upto.get(delta.register, 0)


def pending(snapshot: StockSnapshot, deltas: Iterable[StockDelta]) -> list[StockDelta]:
    """The deltas the snapshot does not hold yet, in (register, seq) order, duplicates dropped."""
    seen: dict[tuple[str, int], StockDelta] = {}
    for delta in deltas:
        if not included(snapshot, delta):
            seen.setdefault(delta.key, delta)
    return [seen[key] for key in sorted(seen)]


def on_hand(snapshot: StockSnapshot, deltas: Iterable[StockDelta], sku: str) -> int | None:
    """What the till shows for `sku`: the snapshot's level plus the deltas not in it (None: untracked).

    A count among them replaces the level; later deltas add to it. Order and repeats of `deltas` do not matter.
    """
    level = snapshot.level(sku)
    for delta in pending(snapshot, (d for d in deltas if d.sku == sku)):
        if delta.kind == "count":
            level = delta.qty
        elif level is not None:
            level += delta.qty
    return level


# ---- policy and the sale check ----------------------------------------------------------------------------

PastZero = Literal["warn", "manager"]


@dataclass(frozen=True)
class StockPolicy:
    """What the till does about stock: warn when a sale leaves `low` or fewer units; past zero, warn or ask for a
    manager. `track=False`: no stock checks for this item (services, deposits)."""

    low: int = 0
    past_zero: PastZero = "warn"
    track: bool = True

    def __post_init__(self) -> None:
        if self.low < 0 or self.past_zero not in ("warn", "manager"):
            raise PayloadInvalid(f"Stock policy: low {self.low} must be >= 0 and past_zero 'warn' or 'manager'")


@dataclass(frozen=True)
class PolicyBook:
    """The shop's policy and the items that have their own."""

    default: StockPolicy = StockPolicy()
    items: Mapping[str, StockPolicy] = field(default_factory=dict)

    def for_sku(self, sku: str) -> StockPolicy:
        return self.items.get(sku, self.default)

    @classmethod
    def from_doc(cls, policy: Mapping[str, Any] | None, items: Mapping[str, Mapping[str, Any]] | None
                 ) -> PolicyBook:
        """From the snapshot's `policy` and `item_policies` (already checked by the contract model)."""
        def one(doc: Mapping[str, Any]) -> StockPolicy:
            return StockPolicy(low=int(doc.get("low", 0)), past_zero=doc.get("past_zero", "warn"),
                               track=bool(doc.get("track", True)))
        return cls(one(policy or {}), {sku: one(doc) for sku, doc in (items or {}).items()})


@dataclass(frozen=True)
class StockOk:
    pass


@dataclass(frozen=True)
class StockWarn:
    """Sell, but show `message` to the cashier."""

    message: str


@dataclass(frozen=True)
class NeedsManager:
    """Selling this goes past zero and the policy wants a manager's approval; `message` says so."""

    message: str


StockCheck = StockOk | StockWarn | NeedsManager
OK = StockOk()


def check_sale(on_hand_units: int | None, qty: int, policy: StockPolicy, *, name: str = "this item",
               weighed: bool = False) -> StockCheck:
    """Whether selling `qty` stock units more is fine, worth a warning, or needs a manager.

    `qty` is what the cart will take of this sku in all (lines already in the cart plus this one), so a second
    scan of the last item warns too. Untracked items (`on_hand_units` None, `policy.track` False) are ok.
    Never refuses: a till that cannot see the fleet sells on (the fleet flags an oversell afterwards).
    """
    if on_hand_units is None or not policy.track or qty <= 0:
        return OK
    after = on_hand_units - qty
    have = stock_text(max(on_hand_units, 0), weighed)
    if after < 0:  # short, so the sell screen's message line holds it whole
        if on_hand_units <= 0:
            state = f"{name} is out of stock"
        else:
            state = f"Only {have} of {name} in stock for {stock_text(qty, weighed)}"
        if policy.past_zero == "manager":
            return NeedsManager(f"{state}: a manager must approve")
        return StockWarn(f"{state}: check the shelf")
    if after == 0:
        return StockWarn(f"Last of {name} in stock: stock is now 0")
    if after <= policy.low:
        return StockWarn(f"Low stock: {stock_text(after, weighed)} of {name} left after this sale")
    return OK


# ---- building deltas --------------------------------------------------------------------------------------

def deltas_for_receipt(receipt: Mapping[str, Any], register: str, first_seq: int,
                       weighed: Callable[[str], bool]) -> tuple[StockDelta, ...]:
    """The stock deltas of a committed receipt (the journal's document), numbered from `first_seq`.

    One delta per sku (lines of the same sku summed; voided lines are not on a receipt): a sale takes, a
    refund puts back, a no-sale moves nothing. Lines that net to zero give no delta. `weighed(sku)` says whether
    an sku's quantities are kilograms (the catalog's `Item.weighed`).
    """
    kind = receipt.get("kind")
    if kind not in ("sale", "refund"):
        return ()
    sign = -1 if kind == "sale" else 1
    totals: dict[str, int] = {}
    for line in receipt.get("lines") or ():
        sku = str(line["sku"])
        totals[sku] = totals.get(sku, 0) + stock_units(line.get("qty", 1), weighed(sku))
    out = []
    seq = first_seq
    for sku, units in totals.items():
        if units == 0:
            continue
        qty = sign * units
        out.append(StockDelta(register=register, seq=seq, sku=sku, kind="sale" if qty < 0 else "refund", qty=qty,
                              at=str(receipt.get("created_at", "")), ref=receipt.get("receipt_id")))
        seq += 1
    return tuple(out)


def count_delta(register: str, seq: int, sku: str, counted: int, at: str, snapshot: StockSnapshot) -> StockDelta:
    """A stock-take of one sku: `counted` stock units on the shelf, with the snapshot the till saw as its basis."""
    if counted < 0:
        raise PayloadInvalid(f"A count of {counted} is not possible: count what is on the shelf (0 or more)")
    return StockDelta(register=register, seq=seq, sku=sku, kind="count", qty=counted, at=at,
                      basis=tuple(sorted(snapshot.upto.items())))
