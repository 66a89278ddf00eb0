"""Cart lines, quantities (int, or Decimal kilograms for weighed items) and fair discount allocation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from firmware.domain.errors import DomainError, Refused
from firmware.domain.money import scale, to_decimal

__all__ = ["AgeCheck", "Line", "Qty", "parse_qty", "qty_value", "qty_text", "allocate", "MAX_QTY", "WEIGHT_PLACES"]

Qty = int | Decimal
MAX_QTY = 9999
WEIGHT_PLACES = 3  # grams


@dataclass(frozen=True)
class AgeCheck:
    """The cashier confirmed the customer is at least `min_age` (clerk `by`; `dob` "YYYY-MM-DD" where asked)."""

    min_age: int
    by: str
    dob: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return {"by": self.by, "min_age": self.min_age} | ({"dob": self.dob} if self.dob else {})

    @classmethod
    def from_doc(cls, d: Any) -> AgeCheck | None:
        return None if not d else cls(int(d["min_age"]), str(d["by"]), d.get("dob"))


@dataclass(frozen=True)
class Line:
    """One cart line. `discount` is the line's own discount in minor units; voided lines stay, marked."""

    line_no: int
    sku: str
    name: str
    unit_price: int
    qty: Qty
    tax_code: str
    weighed: bool = False
    discount: int = 0
    discount_percent: Decimal | None = None  # kept so a quantity change re-applies the percentage
    voided: bool = False
    source: str = "sku"
    approved_by: str | None = None  # the manager who approved this line's void or discount
    of_line: int | None = None  # refunds: the original receipt's line number (1-based)
    fixed_gross: int | None = None  # refunds: gross share allocated from the original line
    age_check: AgeCheck | None = None  # an item with a minimum age: who confirmed it (docs/item-prompts.md)

    @property
    def gross(self) -> int:
        """Price times quantity, rounded half up for weighed items (before discounts)."""
        return self.fixed_gross if self.fixed_gross is not None else scale(self.unit_price, self.qty)

    @property
    def amount(self) -> int:
        return self.gross - self.discount

    def to_dict(self) -> dict[str, Any]:
        return {
            "line_no": self.line_no, "sku": self.sku, "name": self.name, "unit_price": self.unit_price,
            "qty": qty_text(self.qty), "tax_code": self.tax_code, "weighed": self.weighed,
            "discount": self.discount,
            "discount_percent": None if self.discount_percent is None else str(self.discount_percent),
            "voided": self.voided, "source": self.source, "approved_by": self.approved_by,
            "of_line": self.of_line, "fixed_gross": self.fixed_gross,
        } | ({"age_check": self.age_check.to_doc()} if self.age_check else {})

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Line:
        pct = d.get("discount_percent")
        return cls(
            line_no=int(d["line_no"]), sku=d["sku"], name=d["name"], unit_price=int(d["unit_price"]),
            qty=qty_value(d["qty"]), tax_code=d["tax_code"], weighed=bool(d.get("weighed", False)),
            discount=int(d.get("discount", 0)), discount_percent=None if pct is None else Decimal(pct),
            voided=bool(d.get("voided", False)), source=d.get("source", "sku"),
            approved_by=d.get("approved_by"), of_line=d.get("of_line"), fixed_gross=d.get("fixed_gross"),
            age_check=AgeCheck.from_doc(d.get("age_check")),
        )


def parse_qty(value: object, weighed: bool) -> Qty:
    """A positive quantity: a whole number of units, or up to 3 decimals (kg) for weighed items."""
    if isinstance(value, bool) or isinstance(value, float):
        raise Refused("Quantity must be a whole number or a decimal string, not a float")
    if weighed:
        try:
            qty = to_decimal(value)  # type: ignore[arg-type]
        except DomainError:
            raise Refused(f"Weight {value!r} is not a number such as 0.750") from None
        if qty <= 0:
            raise Refused("Weight must be more than zero")
        if qty != qty.quantize(Decimal(1).scaleb(-WEIGHT_PLACES)):
            raise Refused(f"Weight {value} has more than {WEIGHT_PLACES} decimals")
        if qty > MAX_QTY:
            raise Refused(f"Weight {value} is more than {MAX_QTY}")
        return qty.quantize(Decimal(1).scaleb(-WEIGHT_PLACES))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise Refused(f"Quantity {value!r} must be a whole number for this item")
    if value < 1:
        raise Refused("Quantity must be at least 1; void the line to remove it")
    if value > MAX_QTY:
        raise Refused(f"Quantity {value} is more than {MAX_QTY}; check the number")
    return value


def qty_value(raw: object) -> Qty:
    """Read a receipt/dict quantity back: an int, or a decimal string for weighed items."""
    if isinstance(raw, bool):
        raise DomainError(f"Bad quantity {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        return to_decimal(raw)
    if isinstance(raw, Decimal):
        return raw
    raise DomainError(f"Bad quantity {raw!r}")


def qty_text(qty: Qty) -> int | str:
    """CONTRACT form: an int, or a decimal string ("0.750") for weighed quantities."""
    return qty if isinstance(qty, int) else str(qty)


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` over `weights` proportionally (largest remainder; ties to earlier lines); sums exactly."""
    base = sum(weights)
    if base <= 0 or total == 0:
        if total and not base:
            raise DomainError("Cannot spread an amount over lines worth nothing")
        return [0] * len(weights)
    shares = [total * w // base for w in weights]
    remainders = [(total * w % base, -i) for i, w in enumerate(weights)]
    leftover = total - sum(shares)
    for _, neg_i in sorted(remainders, reverse=True)[:leftover]:
        shares[-neg_i] += 1
    return shares
