"""Contract models of stock (docs/stock.md): the register's delta batches, the fleet's snapshot, catalog variants.

Topics (to be added to `topics.py`, see docs/stock.md#integration):

- `kassa/v1/{store}/{register}/stock` (device -> fleet, QoS 1): `StockDeltas`, a batch of the register's journaled
  deltas in seq order. Sent again until a snapshot's `upto` for the register reaches them.
- `kassa/v1/{store}/stock_snapshot` (fleet -> devices, QoS 1, retained, optionally in a signed envelope):
  `StockSnapshot`, replaced whole, newer `version` only. Its `upto` doubles as the confirmation of the deltas.

Quantities are ints of stock units: pieces, or grams for weighed goods. Strict and bounded like every payload
(firmware.contract.payloads): no coercion, unknown fields tolerated, size checked before parsing.
"""

from __future__ import annotations

import warnings
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from firmware.contract.payloads import ID, KIB, Key, Name, Seq, Timestamp, _Part, _Payload
from firmware.contract.receipt_id import RECEIPT_ID_PATTERN

__all__ = [
    "StockQty", "StockDelta", "StockDeltas", "StockPolicyDoc", "StockSnapshot", "VariantAxis", "VariantEntry",
    "VariantGroup", "CatalogVariants", "MAX_REGISTERS", "MAX_BATCH", "STOCK_LEAF", "SNAPSHOT_LEAF",
]

STOCK_LEAF = "stock"              # device leaf: kassa/v1/{store}/{register}/stock
SNAPSHOT_LEAF = "stock_snapshot"  # store leaf: kassa/v1/{store}/stock_snapshot
MAX_STOCK = 10**9
MAX_REGISTERS = 256
MAX_BATCH = 1000
MAX_TRACKED = 100_000

StockQty = Annotated[int, Field(ge=-MAX_STOCK, le=MAX_STOCK)]
Level = Annotated[int, Field(ge=-MAX_STOCK * 1000, le=MAX_STOCK * 1000)]  # a sum of deltas may pass one's bound
Upto = Annotated[int, Field(ge=0, le=2**53)]
ReceiptIdText = Annotated[str, StringConstraints(pattern=RECEIPT_ID_PATTERN)]


# ---- device -> fleet ------------------------------------------------------------------------

class StockDelta(_Part):
    """One change to one sku: `sale` takes (qty < 0), `refund` puts back (qty > 0), `adjust` is a signed
    correction, `count` is a stock-take (qty = the level counted, >= 0; `basis` = the counting till's snapshot
    `upto`)."""

    seq: Seq
    sku: Key
    kind: Literal["sale", "refund", "adjust", "count"]
    qty: StockQty
    at: Timestamp
    ref: ReceiptIdText | None = None
    basis: dict[ID, Upto] | None = Field(default=None, max_length=MAX_REGISTERS)

    @model_validator(mode="after")
    def _signed(self) -> StockDelta:
        if (self.kind == "sale" and self.qty >= 0) or (self.kind == "refund" and self.qty <= 0) or (
                self.kind == "count" and self.qty < 0):
            raise ValueError(f"a {self.kind} of {self.qty}: sales take (< 0), refunds put back (> 0), "
                             "counts are >= 0")
        if self.basis is not None and self.kind != "count":
            raise ValueError("only a count carries a basis")
        return self


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # `register` shadows ABCMeta.register; the field is meant

    class StockDeltas(_Payload):
        """A batch of one register's deltas; store and register must match the topic (the fleet checks)."""

        MAX_BYTES: ClassVar[int] = 256 * KIB  # as a receipt: the ingest's packet limit stays
        store: ID
        register: ID = Field()
        deltas: list[StockDelta] = Field(min_length=1, max_length=MAX_BATCH)

        @model_validator(mode="after")
        def _unique(self) -> StockDeltas:
            seqs = [d.seq for d in self.deltas]
            if len(set(seqs)) != len(seqs):
                raise ValueError("deltas: a seq appears more than once")
            return self


# ---- fleet -> device ------------------------------------------------------------------------

class StockPolicyDoc(_Part):
    low: Annotated[int, Field(ge=0, le=MAX_STOCK)] = 0
    past_zero: Literal["warn", "manager"] = "warn"
    track: bool = True


class StockSnapshot(_Payload):
    """The store's stock as the fleet holds it: `levels` per tracked sku, and per register `upto`: the seq up to
    which it holds every delta of that register (and counted them into `levels`, no later one)."""

    MAX_BYTES: ClassVar[int] = 4 * KIB * KIB
    version: Annotated[int, Field(ge=1)]
    store: ID
    at: Timestamp
    upto: dict[ID, Upto] = Field(max_length=MAX_REGISTERS)
    levels: dict[Key, Level] = Field(max_length=MAX_TRACKED)
    policy: StockPolicyDoc | None = None
    item_policies: dict[Key, StockPolicyDoc] | None = Field(default=None, max_length=MAX_TRACKED)


# ---- variants, as they come with the catalog ---------------------------------------------------

Value = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class VariantAxis(_Part):
    name: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    values: list[Value] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _unique(self) -> VariantAxis:
        if len(set(self.values)) != len(self.values):
            raise ValueError(f"axis {self.name!r}: a value appears more than once")
        return self


class VariantEntry(_Part):
    """One variant: its own catalog item (`sku`: barcode, price, stock), one value per axis in axis order."""

    sku: Key
    values: list[Value] = Field(min_length=1, max_length=3)


class VariantGroup(_Part):
    """A parent item with up to 3 axes (size, colour, ...) and its variants; combinations may be missing."""

    parent: Key
    name: Name
    axes: list[VariantAxis] = Field(min_length=1, max_length=3)
    variants: list[VariantEntry] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> VariantGroup:
        names = [axis.name for axis in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"group {self.parent}: an axis name appears more than once")
        combos: set[tuple[str, ...]] = set()
        skus: set[str] = set()
        for variant in self.variants:
            if len(variant.values) != len(self.axes):
                raise ValueError(f"group {self.parent}: variant {variant.sku} needs {len(self.axes)} value(s)")
            for axis, value in zip(self.axes, variant.values, strict=True):
                if value not in axis.values:
                    raise ValueError(f"group {self.parent}: variant {variant.sku}: {value!r} is not a "
                                     f"{axis.name} of this item")
            combo = tuple(variant.values)
            if combo in combos or variant.sku in skus:
                raise ValueError(f"group {self.parent}: variant {variant.sku} repeats a sku or a combination")
            combos.add(combo)
            skus.add(variant.sku)
        return self


class CatalogVariants(_Part):
    """The catalog's optional `variants` field (an addition: older devices ignore it). Every variant sku is a
    catalog item; a sku belongs to at most one group; a parent id is not an item's sku."""

    variants: list[VariantGroup] = Field(default_factory=list, max_length=5000)

    @model_validator(mode="after")
    def _disjoint(self) -> CatalogVariants:
        parents: set[str] = set()
        skus: set[str] = set()
        for group in self.variants:
            if group.parent in parents:
                raise ValueError(f"variants: parent {group.parent} appears more than once")
            parents.add(group.parent)
            for variant in group.variants:
                if variant.sku in skus:
                    raise ValueError(f"variants: sku {variant.sku} is in more than one group")
                skus.add(variant.sku)
        return self

    def check_against(self, item_skus: set[str]) -> str | None:
        """Why these variants do not fit the catalog's items (a sentence), or None."""
        for group in self.variants:
            if group.parent in item_skus:
                return f"variants: parent {group.parent} is also an item's sku; give the parent its own id"
            missing = [v.sku for v in group.variants if v.sku not in item_skus]
            if missing:
                return f"variants: group {group.parent} names skus not in items: {', '.join(missing[:5])}"
        return None
