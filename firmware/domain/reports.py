"""X and Z reports computed from receipts: counts and totals by tender, tax code and clerk, and the cash count.

Refund receipts carry positive amounts (see refunds.py); here they are
subtracted: every "net" figure is sales minus refunds. `tenders[].amount` is
money kept (amount - change) net of what refunds paid back (`refunded`, over
`refund_count` refunds; `count` counts both), so sum(tenders) == net_total +
rounding. `discounts` counts each discount once: a line's own discount per
line (`line_*`), a cart discount once per sale (`cart_*`); `count`/`total`
are both together.
Expected cash = opening float + cash kept from sales - cash paid back on
refunds + paid-in - paid-out - drops; difference = counted - expected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from firmware.domain.errors import Refused
from firmware.domain.receipt_model import Receipt
from firmware.domain.shift import Shift

__all__ = ["summarize", "expected_cash", "REPORT_KINDS"]

REPORT_KINDS = ("x", "z")


def _sign(receipt: Receipt) -> int:
    return -1 if receipt.kind == "refund" else 1


def expected_cash(receipts: Iterable[Receipt], shift: Shift | None = None) -> int:
    """What the drawer should hold: float and movements from `shift`, plus cash kept net of refunds."""
    cash: int = sum(_sign(r) * (t.amount - t.change)
                    for r in receipts if r.kind in ("sale", "refund")
                    for t in r.tenders if t.type == "cash")
    return cash + (shift.cash_adjustment if shift else 0)


def summarize(receipts: Iterable[Receipt], *, kind: str, z_number: int | None = None,
              shift: Shift | None = None, report_id: str, created_at: str,
              counted_cash: int | None = None) -> dict[str, Any]:
    """The report over exactly `receipts` (the caller picks the seq range); a Z needs z_number and a count.

    `counted_cash` defaults to the closed shift's count; an X report may have none (difference None).
    """
    if kind not in REPORT_KINDS:
        raise Refused(f"Report kind {kind!r}: use 'x' or 'z'")
    counted = counted_cash if counted_cash is not None else (shift.counted_cash if shift else None)
    if kind == "z":
        if not isinstance(z_number, int) or isinstance(z_number, bool) or z_number < 1:
            raise Refused("A Z report needs its number (z_number 1, 2, ...)")
        if counted is None:
            raise Refused("A Z report needs the counted cash")
    items = sorted(receipts, key=lambda r: r.seq)
    sales = {"count": 0, "total": 0}
    refunds = {"count": 0, "total": 0}
    no_sales = {"count": 0}
    # every discount given once: a line's own discount per line, a cart discount per sale (not once per line)
    discounts = {"count": 0, "total": 0, "line_count": 0, "line_total": 0, "cart_count": 0, "cart_total": 0}
    rounding = 0
    tenders: dict[str, dict[str, Any]] = {}
    taxes: dict[tuple[str, str], dict[str, Any]] = {}
    clerks: dict[str, dict[str, Any]] = {}
    for r in items:
        clerk = clerks.setdefault(r.clerk_id or "", {
            "clerk_id": r.clerk_id or "", "sales_count": 0, "sales_total": 0,
            "refunds_count": 0, "refunds_total": 0, "no_sales": 0, "discounts": 0})
        if r.kind == "no_sale":
            no_sales["count"] += 1
            clerk["no_sales"] += 1
            continue
        sign = _sign(r)
        total = r.totals.total
        bucket, prefix = (refunds, "refunds") if sign < 0 else (sales, "sales")
        bucket["count"] += 1
        bucket["total"] += total
        clerk[f"{prefix}_count"] += 1
        clerk[f"{prefix}_total"] += total
        rounding += sign * r.totals.rounding
        if sign > 0:
            cart_share = 0
            for line in r.lines:
                share = line.cart_discount or 0  # the line's part of a cart discount, inside `discount`
                own = line.discount - share
                if own:
                    discounts["line_count"] += 1
                    discounts["line_total"] += own
                cart_share += share
                clerk["discounts"] += line.discount
            if cart_share:
                discounts["cart_count"] += 1
                discounts["cart_total"] += cart_share
        for t in r.tenders:
            entry = tenders.setdefault(t.type, {"type": t.type, "count": 0, "amount": 0, "refunded": 0,
                                                "refund_count": 0})
            entry["count"] += 1
            entry["amount"] += sign * (t.amount - t.change)
            if sign < 0:
                entry["refunded"] += t.amount - t.change
                entry["refund_count"] += 1
        for tax in r.taxes:
            key = (tax.tax_code, tax.rate)
            entry = taxes.setdefault(key, {"tax_code": key[0], "rate": key[1], "net": 0, "tax": 0})
            entry["net"] += sign * tax.net
            entry["tax"] += sign * tax.tax
    discounts["count"] = discounts["line_count"] + discounts["cart_count"]
    discounts["total"] = discounts["line_total"] + discounts["cart_total"]
    expected = expected_cash(items, shift)
    seqs = [r.seq for r in items if r.has("seq")]
    first = items[0] if items else None
    return {
        "report_id": report_id, "kind": kind, "z_number": z_number if kind == "z" else None,
        "created_at": created_at, "store": first.store if first else None,
        "register": first.register if first else None, "currency": first.currency if first else None,
        "shift_id": shift.shift_id if shift else None,
        # 0: none (the contract wants ints)
        "first_seq": min(seqs) if seqs else 0, "last_seq": max(seqs) if seqs else 0,
        "receipt_count": len(items),
        "sales": sales, "refunds": refunds, "no_sales": no_sales, "discounts": discounts,
        "net_total": sales["total"] - refunds["total"], "rounding": rounding,
        "tenders": [tenders[k] for k in sorted(tenders)],
        "taxes": [taxes[k] for k in sorted(taxes)],
        "clerks": [clerks[k] for k in sorted(clerks)],
        "cash": {
            "opening_float": shift.opening_float if shift else 0,
            "paid_in": shift.total("paid_in") if shift else 0,
            "paid_out": shift.total("paid_out") if shift else 0,
            "drops": shift.total("drop") if shift else 0,
        },
        "expected_cash": expected, "counted_cash": counted,
        "difference": None if counted is None else counted - expected,
    }
