"""Money as people read it: ISO 4217 minor-unit digits and the one formatter, shared by the till and the fleet.

In the contract so that `kassa-fleet` (which may import only `firmware.contract`) shows an amount exactly as the
till does ("€1,234.56", "CHF 12.90"); `firmware/domain/money.py` re-exports it with the rest of the money rules.
"""

from __future__ import annotations

from firmware.errors import DomainError

__all__ = ["CURRENCY_DISPLAYS", "CURRENCY_SYMBOLS", "MINOR_DIGITS", "format_money", "minor_digits"]

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
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise DomainError(f"Money must be an int of minor units, not {type(amount).__name__} {amount!r}")
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
