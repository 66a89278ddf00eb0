"""Plausibility flags of one receipt: nothing is dropped for being odd, it is flagged and counted.

Pure: the caller passes the ingest time and the stream's known head. A flag is
a short word stored on the row (`receipts.flags`, comma separated) and counted
per register in `kassa-fleet status`:

| flag | when |
|---|---|
| `amount` | a total below 0 (refunds carry positive amounts too), a no-sale not 0, or a total beyond MAX_TOTAL |
| `tenders` | sale or refund whose money paid (amount − change) is not total + rounding |
| `date` | created before MIN_YEAR, or more than a day after the fleet received it |
| `clock_skew` | `clock_trusted` yet created more than SKEW ahead of the fleet's clock |
| `clock_untrusted` | the register said its clock was not synchronised |
| `seq_bound` | seq more than SEQ_JUMP beyond what the stream is known to hold (see below) |

A `seq_bound` row is left out of gap checks: it would leave a gap no device can fill.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from firmware.contract import Receipt
from firmware.contract.clock import parse_iso_utc

MAX_TOTAL = 10**8          # minor units: 1,000,000.00 on one receipt
MIN_YEAR = 2020
SKEW = timedelta(minutes=10)
FUTURE = timedelta(days=1)
SEQ_JUMP = 100_000

FLAGS = ("amount", "tenders", "date", "clock_skew", "clock_untrusted", "seq_bound")


def flags_of(receipt: Receipt, *, received_at: datetime) -> tuple[str, ...]:
    """The content flags of `receipt` (`seq_bound` needs the ledger: fleet.db adds it on store)."""
    found: list[str] = []
    total = receipt.totals.total
    if total < 0 or total > MAX_TOTAL or (receipt.kind == "no_sale" and total != 0):
        found.append("amount")
    if receipt.kind in ("sale", "refund"):
        paid = sum(t.amount - t.change for t in receipt.tenders)
        due = total + receipt.totals.rounding
        if paid != due:
            found.append("tenders")
    try:
        created: datetime | None = parse_iso_utc(receipt.created_at)
    except ValueError:  # the contract's pattern passes 2026-13-45
        created = None
    if created is None or created.year < MIN_YEAR or created > received_at + FUTURE:
        found.append("date")
    elif receipt.clock_trusted and created > received_at + SKEW:
        found.append("clock_skew")
    if not receipt.clock_trusted:
        found.append("clock_untrusted")
    return tuple(found)
