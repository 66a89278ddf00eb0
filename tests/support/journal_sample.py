"""Plausible finalized receipts (docs/contract.md#receipt, plus sale_id) for the crash tools, tests and benchmark."""

from __future__ import annotations

import uuid
from typing import Any

from firmware.chain import seal


def make_receipt(
    journal: Any,
    *,
    sale_id: str | None = None,
    lines: int = 3,
    created_at: str = "2026-11-25T14:03:11.250Z",
    seq: int | None = None,
    prev_hash: str | None = None,
) -> dict[str, Any]:
    """A sale receipt finalized for `journal` (next seq, linked to its last hash)."""
    seq = journal.next_seq if seq is None else seq
    body_lines = [
        {
            "sku": f"40063813{n:05d}",
            "name": f"Item {n}",
            "qty": 1 + n % 3,
            "unit_price": 129 + n,
            "discount": 0,
            "tax_code": "A",
            "amount": (1 + n % 3) * (129 + n),
        }
        for n in range(lines)
    ]
    total = sum(line["amount"] for line in body_lines)
    tax = total * 19 // 119
    body = {
        "receipt_id": journal.receipt_id(seq),
        "store": journal.store,
        "register": journal.register,
        "seq": seq,
        "kind": "sale",
        "created_at": created_at,
        "clock_trusted": True,
        "offline": False,
        "clerk_id": "c7",
        "currency": "EUR",
        "lines": body_lines,
        "totals": {"subtotal": total, "tax": tax, "total": total, "rounding": 0},
        "taxes": [{"tax_code": "A", "rate": "19.00", "net": total - tax, "tax": tax}],
        "tenders": [{"type": "cash", "amount": total + 100, "change": 100}],
        "refund_of": None,
        "sale_id": sale_id or uuid.uuid4().hex,
    }
    return seal(body, journal.last_hash if prev_hash is None else prev_hash)
