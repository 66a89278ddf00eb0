"""Money formatting for printed receipts: int minor units to text, per currency, without floats."""

from __future__ import annotations

# ISO 4217 minor digits where they differ from 2.
MINOR_DIGITS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def minor_digits(currency: str) -> int:
    """Digits after the decimal point for `currency` (2 unless listed)."""
    return MINOR_DIGITS.get(currency.upper(), 2)


def format_money(amount: int, currency: str) -> str:
    """`1290, "EUR"` -> "12.90"; `-5, "EUR"` -> "-0.05"; `500, "JPY"` -> "500"."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"amounts are int minor units, got {amount!r}")
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
