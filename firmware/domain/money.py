"""Money in integer minor units: currency digits, formatting, parsing and half-up rounding."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from firmware.domain.errors import DomainError

__all__ = [
    "CURRENCY_DISPLAYS", "CURRENCY_SYMBOLS", "MINOR_DIGITS", "minor_digits", "format_money", "money_formatter",
    "parse_money", "round_cash", "round_half_up", "scale", "to_decimal",
]

# ISO 4217 minor-unit digits for the currencies a shop is likely to run.
MINOR_DIGITS: dict[str, int] = {
    "EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "TRY": 2, "MXN": 2, "BRL": 2,
    "ZAR": 2, "INR": 2, "CNY": 2, "HKD": 2, "SGD": 2, "ILS": 2, "AED": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "PYG": 0, "UGX": 0,
    "BIF": 0, "DJF": 0, "GNF": 0, "KMF": 0, "RWF": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3, "LYD": 3,
}

# Symbols shown before the amount ("€12.90"). Only symbols the shipped font carries and no two currencies of a
# likely shop share ambiguously; every other currency is shown by its code ("CHF 12.90").
CURRENCY_SYMBOLS: dict[str, str] = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥"}
CURRENCY_DISPLAYS = ("symbol", "code")  # [shop] currency_display

_MONEY_RE = re.compile(r"^([+-]?)(\d+)(?:[.,](\d*))?$")


def minor_digits(currency: str) -> int:
    """Digits after the decimal point in `currency` (EUR 2, JPY 0, KWD 3); unknown codes are refused."""
    try:
        return MINOR_DIGITS[currency.upper()]
    except (KeyError, AttributeError):
        raise DomainError(f"Unknown currency {currency!r}: use an ISO 4217 code such as EUR") from None


def format_money(amount: int, currency: str, display: str | None = None) -> str:
    """Minor units as the shop reads them; the one money formatter of screens, messages, receipts and exports.

    `display` "symbol": 1290 EUR -> "€12.90", -5 -> "-€0.05" (a currency without a known symbol shows its
    code); "code": "EUR 12.90"; None: the bare number "12.90" (JPY 1290 -> "1290"), only for a column whose
    heading already names the currency (a receipt's "TOTAL EUR" column, a spreadsheet), never grouped. With a
    display, thousands are grouped with commas: 123456 EUR -> "€1,234.56".
    """
    _require_int(amount)
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits)
    if display is None:
        return sign + (f"{whole}.{frac:0{digits}d}" if digits else f"{whole}")
    number = f"{whole:,}.{frac:0{digits}d}" if digits else f"{whole:,}"  # grouped for people: €1,234.56
    if display == "symbol" and currency.upper() in CURRENCY_SYMBOLS:
        return f"{sign}{CURRENCY_SYMBOLS[currency.upper()]}{number}"
    if display in CURRENCY_DISPLAYS:
        return f"{sign}{currency.upper()} {number}"
    raise DomainError(f"Unknown currency display {display!r}: use one of {', '.join(CURRENCY_DISPLAYS)}")


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
