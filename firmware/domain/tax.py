"""Tax per receipt per tax code, for tax-included or tax-excluded prices.

Rounding rule: line amounts (after discounts) are summed per tax code first;
the tax of each code is then computed once on that sum and rounded
ROUND_HALF_UP to the minor unit (halves away from zero):
tax-included: tax = G * r / (100 + r), net = G - tax (G = gross sum);
tax-excluded: tax = N * r / 100, gross = N + tax (N = net sum).
So net + tax == gross per code exactly, and the receipt's tax is the sum
of the per-code taxes. `subtotal` is the sum of line amounts as priced;
`total` is subtotal (included) or subtotal + tax (excluded).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from firmware.domain.errors import DomainError
from firmware.domain.money import round_half_up, to_decimal

__all__ = ["TaxResult", "compute_taxes", "parse_rate", "rate_text"]


@dataclass(frozen=True)
class TaxResult:
    """Receipt-level tax: `taxes` is a list of {"tax_code", "rate", "net", "tax"} sorted by code."""

    subtotal: int
    tax: int
    total: int
    taxes: list[dict[str, Any]] = field(default_factory=list)


def parse_rate(rate: str | int | Decimal, code: str = "?") -> Decimal:
    """A tax rate in percent ("19.00") as a Decimal in 0..100; anything else is refused."""
    try:
        value = to_decimal(rate)
    except DomainError:
        raise DomainError(f"Tax code {code}: rate {rate!r} is not a decimal string such as '19.00'") from None
    if not Decimal(0) <= value <= Decimal(100):
        raise DomainError(f"Tax code {code}: rate {rate} must be between 0 and 100 percent")
    return value


def rate_text(rate: Decimal) -> str:
    """CONTRACT form of a rate: at least two decimals ("19.00", "7.50", "5.125")."""
    return str(rate.quantize(Decimal("0.01"))) if rate == rate.quantize(Decimal("0.01")) else str(rate)


def _pairs(lines: Iterable[Any]) -> Iterable[tuple[str, int]]:
    for line in lines:
        if isinstance(line, Mapping):
            yield line["tax_code"], line["amount"]
        elif isinstance(line, tuple):
            yield line[0], line[1]
        else:
            yield line.tax_code, line.amount


def compute_taxes(lines: Iterable[Any], rates: Mapping[str, str], tax_included: bool) -> TaxResult:
    """Taxes of a receipt. `lines` are mappings or objects with `tax_code` and `amount` (or (code, amount) pairs)."""
    sums: dict[str, int] = {}
    for code, amount in _pairs(lines):
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise DomainError(f"Line amount must be int minor units, not {amount!r}")
        sums[code] = sums.get(code, 0) + amount
    taxes: list[dict[str, Any]] = []
    subtotal = total_tax = 0
    for code in sorted(sums):
        if code not in rates:
            raise DomainError(f"Unknown tax code {code!r}: the catalog's tax rates do not define it")
        rate = parse_rate(rates[code], code)
        amount = sums[code]
        if tax_included:
            tax = round_half_up(Decimal(amount) * rate / (100 + rate))
            net = amount - tax
        else:
            tax = round_half_up(Decimal(amount) * rate / 100)
            net = amount
        subtotal += amount
        total_tax += tax
        taxes.append({"tax_code": code, "rate": rate_text(rate), "net": net, "tax": tax})
    total = subtotal if tax_included else subtotal + total_tax
    return TaxResult(subtotal=subtotal, tax=total_tax, total=total, taxes=taxes)
