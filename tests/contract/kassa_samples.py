"""Test receipts (docs/contract.md#receipt), sealed with the hash chain, built without the domain package."""

from __future__ import annotations

from typing import Any

from firmware.contract.chain import GENESIS, seal
from firmware.contract.receipt_id import format_receipt_id


def make_receipt(store: str = "S001", register: str = "R1", epoch: str = "7f3a9c2e", seq: int = 1,
                 prev_hash: str = GENESIS, *, offline: bool = False, pad: int = 0, id_store: str | None = None,
                 **fields: Any) -> dict[str, Any]:
    """One sealed sale receipt; `pad` adds lines to make the payload bigger (~90 bytes each).

    The id is the 1.0 form `register:epoch:seq` unless `id_store` is given (1.1 `store:register:epoch:seq`);
    `fields` replace top-level fields before sealing (created_at, totals, tenders, clock_trusted...)."""
    lines = [{"sku": "4006381333931", "name": "Pencil HB", "qty": 2, "unit_price": 129, "discount": 0,
              "tax_code": "A", "amount": 258}]
    lines += [{"sku": f"{i:013d}", "name": f"Item {i}", "qty": 1, "unit_price": 100, "discount": 0,
               "tax_code": "A", "amount": 100} for i in range(pad)]
    total = sum(line["amount"] for line in lines)
    body = {
        "receipt_id": format_receipt_id(id_store or None, register, epoch, seq), "store": store, "register": register,
        "seq": seq,
        "kind": "sale", "created_at": "2026-11-25T14:03:11.250Z", "clock_trusted": True, "offline": offline,
        "clerk_id": "c7", "currency": "EUR", "lines": lines,
        "totals": {"subtotal": total, "tax": total * 19 // 119, "total": total, "rounding": 0},
        "taxes": [{"tax_code": "A", "rate": "19.00", "net": total - total * 19 // 119, "tax": total * 19 // 119}],
        "tenders": [{"type": "cash", "amount": total, "change": 0}],
        "refund_of": None, "sale_id": f"sale-{epoch}-{seq}",
    }
    body.update(fields)
    return seal(body, prev_hash)


def make_chain(n: int, **kwargs: Any) -> list[dict[str, Any]]:
    """Receipts seq 1..n, each linked to the one before."""
    out, prev = [], GENESIS
    for seq in range(1, n + 1):
        receipt = make_receipt(seq=seq, prev_hash=prev, **kwargs)
        prev = receipt["hash"]
        out.append(receipt)
    return out


CATALOG = {"version": 3, "currency": "EUR",
           "items": [{"sku": "4006381333931", "name": "Pencil HB", "price": 129, "tax_code": "A",
                      "barcodes": ["4006381333931"], "weighed": False},
                     {"sku": "2001", "name": "Apples", "price": 299, "tax_code": "B", "weighed": True}],
           "quick_keys": [{"label": "Apples", "sku": "2001"}]}

# the firmware's exact hash format (16-byte salt, 32-byte scrypt hash): the acceptance gate refuses any other
CLERKS = {"version": 2, "clerks": [
    {"clerk_id": "c7", "name": "Ana", "role": "cashier",
     "pin_hash": "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g="},
    {"clerk_id": "m1", "name": "Max", "role": "manager",
     "pin_hash": "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzSGhhc0hoYXNIaGFzSGhhc0hoYXNIaGFzSGhhc0g="}]}
