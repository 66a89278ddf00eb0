"""Finishing receipts: seq, receipt_id and the hash chain; plus the body of a no-sale drawer opening."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmware.chain import seal
from firmware.contract.receipt_id import format_receipt_id
from firmware.domain.errors import DomainError, Refused

__all__ = ["finalize", "receipt_id", "no_sale_body", "RECEIPT_KINDS"]

RECEIPT_KINDS = ("sale", "refund", "no_sale")


def receipt_id(register: str, epoch: str, seq: int, store: str | None = None) -> str:
    """`store:register:epoch:seq` (contract 1.1), or the 1.0 `register:epoch:seq` without a store."""
    return format_receipt_id(store, register, epoch, seq)


def finalize(body: Mapping[str, Any], *, register: str, epoch: str, seq: int, prev_hash: str,
             store: str | None = None) -> dict[str, Any]:
    """Set `seq` and `receipt_id` (1.1 `store:register:epoch:seq` when `store` is given), then seal the chain."""
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise DomainError(f"seq must be a positive int, not {seq!r}")
    if body.get("register", register) != register:
        raise DomainError(f"Receipt was made on register {body.get('register')}, not {register}")
    if store is not None and body.get("store", store) != store:
        raise DomainError(f"Receipt was made in store {body.get('store')}, not {store}")
    if body.get("kind") not in RECEIPT_KINDS:
        raise DomainError(f"Receipt kind {body.get('kind')!r} is not one of {', '.join(RECEIPT_KINDS)}")
    receipt = dict(body)
    receipt["register"] = register
    if store is not None:
        receipt["store"] = store
    receipt["seq"] = seq
    receipt["receipt_id"] = receipt_id(register, epoch, seq, store)
    return seal(receipt, prev_hash)


def no_sale_body(*, store: str, register: str, currency: str, created_at: str, clock_trusted: bool,
                 offline: bool, clerk_id: str, sale_id: str, approved_by: str | None,
                 reason: str | None = None) -> dict[str, Any]:
    """A `no_sale` receipt (the drawer opened without a sale), logged with clerk and approving manager."""
    if not approved_by:
        raise Refused("Opening the drawer without a sale needs a manager")
    return {
        "store": store, "register": register, "kind": "no_sale", "sale_id": sale_id,
        "created_at": created_at, "clock_trusted": clock_trusted, "offline": offline,
        "clerk_id": clerk_id, "currency": currency, "customer_code": None,
        "lines": [], "totals": {"subtotal": 0, "tax": 0, "total": 0, "rounding": 0},
        "taxes": [], "tenders": [], "refund_of": None, "approved_by": approved_by, "reason": reason,
    }
