"""Canonical JSON and the receipt hash chain, shared by the journal and the fleet (contract: docs/ledger-integrity.md).

Each receipt carries `prev_hash` (the `hash` of the receipt before it, or
GENESIS for the first of a journal epoch) and `hash`, the SHA-256 of the
receipt's canonical JSON without its own `hash` field. Canonical JSON is
UTF-8, sorted keys, no spaces, so both ends compute the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

GENESIS = "0" * 64


def canonical_json(obj: Any) -> bytes:
    """Stable bytes for hashing and storing: sorted keys, compact, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def receipt_hash(receipt: Mapping[str, Any]) -> str:
    """SHA-256 hex over the receipt without its `hash` field."""
    body = {k: v for k, v in receipt.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def seal(receipt: Mapping[str, Any], prev_hash: str) -> dict[str, Any]:
    """Return a copy of `receipt` with `prev_hash` set and `hash` computed."""
    sealed = dict(receipt)
    sealed["prev_hash"] = prev_hash
    sealed.pop("hash", None)
    sealed["hash"] = receipt_hash(sealed)
    return sealed


class ChainBroken(ValueError):
    """A receipt's hash or link does not match: the journal was altered."""


def verify_chain(receipts: Iterable[Mapping[str, Any]], prev_hash: str = GENESIS) -> str:
    """Check every link and hash in order; return the last hash. Raises ChainBroken naming the seq."""
    for receipt in receipts:
        if receipt.get("prev_hash") != prev_hash:
            raise ChainBroken(f"receipt seq {receipt.get('seq')} does not link to the one before it")
        if receipt_hash(receipt) != receipt.get("hash"):
            raise ChainBroken(f"receipt seq {receipt.get('seq')} was altered after it was written")
        prev_hash = receipt["hash"]
    return prev_hash
