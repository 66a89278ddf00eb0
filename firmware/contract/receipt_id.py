"""A receipt's identity, parsed and formatted in one place.

Contract 1.1 (docs/ledger-integrity.md): a receipt is identified by
(store, register, epoch, seq) and its id is `store:register:epoch:seq`.
Contract 1.0 ids, `register:epoch:seq`, are still read: journals written
before 1.1 hold them inside hash-chained receipts that can never be
rewritten, and the fleet keys them by the store of the authenticated topic.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["EPOCH_PART", "ID_PART", "RECEIPT_ID_PATTERN", "ReceiptId", "ReceiptKey", "SEQ_PART", "format_receipt_id",
           "names", "parse_receipt_id"]

ID_PART = r"[A-Za-z0-9_-]{1,32}"
EPOCH_PART = r"[A-Za-z0-9_-]{1,64}"
SEQ_PART = r"[1-9][0-9]{0,15}"
RECEIPT_ID_PATTERN = rf"^(?:{ID_PART}:)?{ID_PART}:{EPOCH_PART}:{SEQ_PART}$"
_RECEIPT_ID = re.compile(RECEIPT_ID_PATTERN)


class ReceiptId(NamedTuple):
    """One receipt's identity (the fleet's key); `store` is None in a 1.0 id, which does not carry it.

    `str(rid)` is the id's text; `ReceiptId.parse(text)` reads one (None when `text` is not an id).
    """

    store: str | None
    register: str
    epoch: str
    seq: int

    def __str__(self) -> str:
        return format_receipt_id(self.store, self.register, self.epoch, self.seq)

    @classmethod
    def parse(cls, text: object) -> ReceiptId | None:
        return parse_receipt_id(text)


ReceiptKey = ReceiptId  # the name the fleet's ingest knew it by


def format_receipt_id(store: str | None, register: str, epoch: str, seq: int) -> str:
    """`store:register:epoch:seq` (1.1), or the 1.0 form when no store is given."""
    return f"{register}:{epoch}:{seq}" if store is None else f"{store}:{register}:{epoch}:{seq}"


def parse_receipt_id(text: object) -> ReceiptId | None:
    """The key of a 1.1 or 1.0 receipt id; None when `text` is neither."""
    if not isinstance(text, str) or _RECEIPT_ID.match(text) is None:
        return None
    parts = text.split(":")
    if len(parts) == 4:
        return ReceiptId(parts[0], parts[1], parts[2], int(parts[3]))
    return ReceiptId(None, parts[0], parts[1], int(parts[2]))


def names(key: ReceiptId, store: str, register: str) -> bool:
    """True when `key` can be a receipt of this store's register (a 1.0 id names no store)."""
    return key.register == register and (key.store is None or key.store == store)
