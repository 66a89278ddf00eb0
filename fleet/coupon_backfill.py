"""`kassa-fleet backfill-coupons`: the single-use coupon uses of sales stored before schema version 7.

Version 7 added `coupon_uses`, written by the ingest for sales stored from then on (docs/promotions.md#on-the-fleet).
Sales stored before it are not in it, so a code redeemed once before the upgrade and once after is no alarm. This
scans the stored sales (`receipts`, kind 'sale': a conflict is never stored there, a refund is no use) whose body
names `coupons`, reads the codes as the ingest does (`coupons_of` on the decoded receipt) and inserts the missing
rows, keyed as the ingest keys them, with `ON CONFLICT DO NOTHING`: running it again, or while the ingest runs,
adds nothing twice. The receipt's own `ingested_at` is the use's. SQLite and PostgreSQL alike (fleet.sql).

A body that no longer decodes, or whose `coupons` is malformed, is counted and named, never guessed at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from firmware.contract import Receipt, decode
from firmware.contract.errors import PayloadRejected
from firmware.contract.promotions import coupons_of
from fleet.db import FleetDb

__all__ = ["BATCH", "Backfilled", "backfill_coupons"]

log = logging.getLogger(__name__)

BATCH = 500  # receipts read per transaction (keyset pages: never the whole table in memory)

_PAGE = ("SELECT store, register, epoch, seq, receipt_id, created_at, ingested_at, body FROM receipts "
         "WHERE kind = 'sale' AND body LIKE '%\"coupons\"%' AND (store, register, epoch, seq) > (?, ?, ?, ?) "
         "ORDER BY store, register, epoch, seq LIMIT ?")
_INSERT = "INSERT INTO coupon_uses VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"


@dataclass
class Backfilled:
    sales: int = 0  # stored sales whose body names coupons
    added: int = 0  # coupon_uses rows inserted now
    unreadable: list[str] = field(default_factory=list)  # receipt ids: body or coupons list not readable


def _codes(body: Any) -> tuple[str, ...]:  # Any: the stored body, TEXT (or bytes from a driver)
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return coupons_of(decode(Receipt, raw))


def backfill_coupons(db: FleetDb, batch: int = BATCH) -> Backfilled:
    """Insert the coupon uses of every stored sale that are missing; what was done."""
    out = Backfilled()
    after: tuple[Any, ...] = ("", "", "", -1)
    while True:
        with db.db.transaction() as tx:
            rows = tx.rows(_PAGE, (*after, batch))
            uses = []
            for store, register, epoch, seq, receipt_id, created_at, ingested_at, body in rows:
                out.sales += 1
                try:
                    codes = _codes(body)
                except (PayloadRejected, ValueError, TypeError) as exc:
                    log.warning("receipt %s: coupons not read (%s)", receipt_id, exc)
                    out.unreadable.append(str(receipt_id))
                    continue
                uses += [(code, store, register, epoch, seq, receipt_id, created_at, ingested_at) for code in codes]
            out.added += sum(tx.run(_INSERT, use) for use in sorted(uses))  # 1 inserted, 0 already there
        if len(rows) < batch:
            break
        after = tuple(rows[-1][:4])
    return out
