"""Goods sold by the kilogram: the weight the cashier typed, how it is shown, and the bounds a manager approves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from firmware.domain.errors import Refused
from firmware.domain.lines import MAX_QTY, WEIGHT_PLACES

__all__ = ["WeightBounds", "parse_weight", "weight_text", "outside_bounds", "GRAM"]

GRAM = Decimal(1).scaleb(-WEIGHT_PLACES)
_WEIGHT_RE = re.compile(r"^(\d{0,4})(?:[.,](\d*))?$")


@dataclass(frozen=True)
class WeightBounds:
    """Weights outside [min_kg, max_kg] are unusual for a till (a slip of the finger, a crate on the scale):
    a manager must approve them."""

    min_kg: Decimal = Decimal("0.005")
    max_kg: Decimal = Decimal("30.000")


def parse_weight(text: object) -> Decimal:
    """ "0.730", "0,73", ".5", "2" -> kilograms with 3 decimals; zero, more than 3 decimals or garbage is refused."""
    if isinstance(text, Decimal):
        raw = format(text, "f")
    elif isinstance(text, int) and not isinstance(text, bool):
        raw = str(text)
    elif isinstance(text, str):
        raw = text.strip().lower().removesuffix("kg").strip()
    else:
        raise Refused(f"Weight {text!r} is not a number such as 0.750")
    match = _WEIGHT_RE.match(raw)
    if not match or not (match.group(1) or match.group(2)):
        raise Refused(f"Weight {text!r} is not a number such as 0.750 (kg)")
    whole, frac = match.group(1) or "0", (match.group(2) or "").rstrip("0")
    if len(frac) > WEIGHT_PLACES:
        raise Refused(f"Weight {text} has more than {WEIGHT_PLACES} decimals: type it in kg, e.g. 0.730")
    weight = Decimal(f"{whole}.{frac or '0'}").quantize(GRAM)
    if weight <= 0:
        raise Refused("A weight of 0.000 kg sells nothing: put the goods on the scale, or type the weight in kg")
    if weight > MAX_QTY:
        raise Refused(f"Weight {weight} kg is more than {MAX_QTY} kg; check the number")
    return weight


def weight_text(weight: Decimal | int | str) -> str:
    """ "0.730 kg": always kilograms with 3 decimals."""
    return f"{Decimal(weight).quantize(GRAM)} kg"


def outside_bounds(weight: Decimal, bounds: WeightBounds) -> str | None:
    """Why `weight` needs a manager (a sentence that says so), or None when it is within the bounds."""
    if weight > bounds.max_kg:
        return (f"{weight_text(weight)} is more than {weight_text(bounds.max_kg)}: "
                "check the weight; a manager must approve it")
    if weight < bounds.min_kg:
        return (f"{weight_text(weight)} is less than {weight_text(bounds.min_kg)}: "
                "check the weight; a manager must approve it")
    return None
