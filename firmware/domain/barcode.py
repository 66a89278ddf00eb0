"""Scanner input checks: EAN-13, EAN-8 and UPC-A check digits, PLU codes, noise rejected with a reason."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ScanCheck", "check_scan", "gtin_check_digit", "lookup_key", "MAX_SCAN_LENGTH"]

MAX_SCAN_LENGTH = 48
_KIND_BY_LENGTH = {13: "ean13", 12: "upca", 8: "ean8"}
_NAMES = {"ean13": "EAN-13", "upca": "UPC-A", "ean8": "EAN-8"}


@dataclass(frozen=True)
class ScanCheck:
    """Outcome of checking one scan: `ok`, `kind` ("ean13"|"ean8"|"upca"|"plu"), normalised `code`, `reason`."""

    ok: bool
    kind: str | None
    code: str
    reason: str = ""


def gtin_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it: weights 3,1,3,... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def check_scan(code: str) -> ScanCheck:
    """Check one scanned or keyed code; never raises. PLUs are 4 or 5 digits (no check digit)."""
    if not isinstance(code, str):
        return ScanCheck(False, None, "", "Invalid barcode: not text")
    text = code.strip()
    if not text:
        return ScanCheck(False, None, "", "Empty scan: nothing was read")
    if len(text) > MAX_SCAN_LENGTH:
        return ScanCheck(False, None, text[:MAX_SCAN_LENGTH], f"Invalid barcode: too long ({len(text)} characters)")
    if not text.isascii() or not text.isprintable():
        return ScanCheck(False, None, "", "Invalid barcode: unreadable characters (scan again)")
    if not text.isdigit():
        return ScanCheck(False, None, text, f"Invalid barcode: {text} is not an EAN-13, EAN-8 or UPC-A code")
    if len(text) in (4, 5):
        return ScanCheck(True, "plu", text)
    kind = _KIND_BY_LENGTH.get(len(text))
    if kind is None:
        return ScanCheck(False, None, text,
                         f"Invalid barcode: {len(text)} digits is not an EAN-13, EAN-8 or UPC-A code")
    if gtin_check_digit(text[:-1]) != int(text[-1]):
        return ScanCheck(False, kind, text, f"Invalid barcode: check digit wrong ({_NAMES[kind]} {text})")
    return ScanCheck(True, kind, text)


def lookup_key(code: str) -> str:
    """Index key for a barcode: a UPC-A is stored in its 13-digit EAN form (leading 0), so either finds it."""
    return "0" + code if len(code) == 12 and code.isdigit() else code
