"""Money in integer minor units: currency digits, formatting, parsing and half-up rounding."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from firmware.contract.money import CURRENCY_DISPLAYS, CURRENCY_SYMBOLS, MINOR_DIGITS, format_money, minor_digits
from firmware.domain.errors import DomainError

__all__ = [
    "CURRENCY_DISPLAYS", "CURRENCY_SYMBOLS", "MINOR_DIGITS", "minor_digits", "format_money", "money_formatter",
    "parse_money", "round_cash", "round_half_up", "scale", "to_decimal",
]

_MONEY_RE = re.compile(r"^([+-]?)(\d+)(?:[.,](\d*))?$")


def money_formatter(currency: str, display: str = "symbol") -> Callable[[int], str]:
    """`format_money` bound to a shop's currency and display: `money(317)` -> "€3.17"."""
    minor_digits(currency)  # an unknown currency is refused now, not at the first amount
    if display not in CURRENCY_DISPLAYS:
        raise DomainError(f"Unknown currency display {display!r}: use one of {', '.join(CURRENCY_DISPLAYS)}")
    return lambda amount: format_money(amount, currency, display)


def parse_money(text: str, currency: str) -> int:
    """"12.90", "12,9", "12" -> minor units; more decimals than the currency has, or garbage, is refused."""
    if not isinstance(text, str):
        raise DomainError(f"Amount must be text such as '12.90', not {type(text).__name__}")
    digits = minor_digits(currency)
    match = _MONEY_RE.match(text.strip())
    if not match:
        raise DomainError(f"Not an amount: {text!r}; type it like 12.90")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if len(frac) > digits:
        raise DomainError(f"Too many decimals in {text!r}: {currency} has {digits}")
    value = int(whole) * int(10**digits) + (int(frac.ljust(digits, "0")) if digits else 0)
    return -value if sign == "-" else value


def round_half_up(value: Decimal) -> int:
    """Nearest integer, halves away from zero (ROUND_HALF_UP in decimal's sense)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_cash(amount: int, step: int) -> int:
    """Round `amount` to a multiple of `step` minor units, halves away from zero; step 0 or 1 leaves it."""
    _require_int(amount)
    if step <= 1:
        return amount
    sign = -1 if amount < 0 else 1
    units, rest = divmod(abs(amount), step)
    if rest * 2 >= step:
        units += 1
    return sign * units * step


def to_decimal(value: int | str | Decimal) -> Decimal:
    """A Decimal from an int, a decimal string or a Decimal; floats are refused (they lose cents)."""
    if isinstance(value, bool) or isinstance(value, float):
        raise DomainError(f"Use a decimal string, not {type(value).__name__} {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(value.strip() if isinstance(value, str) else value)
        except ArithmeticError:
            raise DomainError(f"Not a number: {value!r}") from None
    else:
        raise DomainError(f"Not a number: {value!r}")
    if not result.is_finite():
        raise DomainError(f"Not a number: {value!r}")
    return result


def scale(amount: int, numerator: int | Decimal, denominator: int | Decimal = 1) -> int:
    """`amount * numerator / denominator`, rounded half up, in exact decimal arithmetic."""
    return round_half_up(Decimal(amount) * Decimal(numerator) / Decimal(denominator))


def _require_int(amount: object) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise DomainError(f"Money must be an int of minor units, not {type(amount).__name__} {amount!r}")
