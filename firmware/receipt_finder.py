"""Find a past receipt on the till, offline: by local date (range), amount, a card's last digits, customer code.

The journal is the only copy a register has while the link is down, so the search runs over it directly
(docs/digital-receipts.md#finding-a-receipt): newest first, stopping at `limit` matches, so the common
question ("the receipt of that 12.80 this morning") returns after a few hundred receipts.

What makes a scan of 100,000 receipts quick enough for a till: each receipt is first looked at as the
canonical JSON bytes the journal stores (`Journal.payload`), and only one that could match by a byte test
is parsed and checked properly. The byte tests never miss a match (they only let too much through):

- amount: `"total":<amount>` is in the bytes, or the receipt has cash rounding (then the paid amount,
  total + rounding, is checked after parsing);
- card digits: the digits and `"card"` are in the bytes;
- customer code: `"customer_code":"<CODE>"` is in the bytes;
- dates: the `created_at` text is compared with the local days' bounds in UTC (ISO text in UTC orders as
  time does); a `created_at` in another form is parsed.

Dates are the shop's local days (`tz`); a receipt's `created_at` is UTC. Receipts made while the clock was
unverified (`clock_trusted` false) carry the time the register believed; they are found by that time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from firmware.domain.receipt_model import Receipt

__all__ = ["FindResult", "MAX_LIMIT", "ReceiptQuery", "ReceiptSource", "find_receipts"]

MAX_LIMIT = 500
KINDS = ("sale", "refund", "no_sale")
_CREATED = b'"created_at":"'
_NOT_DIGITS = re.compile(r"\D")


class ReceiptSource(Protocol):
    """What the finder reads: firmware.journal.Journal has both."""

    @property
    def next_seq(self) -> int: ...

    def payload(self, seq: int) -> bytes: ...


@dataclass(frozen=True)
class ReceiptQuery:
    """What the cashier knows; every criterion given must hold (at least one is needed).

    `amount` is in minor units and matches the receipt's total or what was paid (total + cash rounding);
    `card_digits` the last digits (2 to 8) of a card tender's reference; `customer_code` the card number;
    `first_day`..`last_day` local days, inclusive (one of them alone: that single day).
    """

    first_day: date | None = None
    last_day: date | None = None
    amount: int | None = None
    card_digits: str | None = None
    customer_code: str | None = None
    kinds: tuple[str, ...] = KINDS

    def problem(self) -> str | None:
        """Why this search cannot run, in the cashier's words; None when it can."""
        if (self.first_day, self.last_day, self.amount, self.card_digits, self.customer_code) == (None,) * 5:
            return "Give a date, an amount, a card's last digits or a customer code"
        if self.first_day and self.last_day and self.first_day > self.last_day:
            return "The first day is after the last day"
        if self.amount is not None and (isinstance(self.amount, bool) or not isinstance(self.amount, int)
                                        or self.amount <= 0):
            return "The amount must be more than zero"
        digits = self.card_digits
        if digits is not None and (not digits.isascii() or not digits.isdigit() or not 2 <= len(digits) <= 8):
            return "Type the last 2 to 8 digits of the card"
        code = self.customer_code
        if code is not None and (not code.strip() or not code.strip().isascii() or not code.strip().isalnum()):
            return "A customer code is letters and digits"
        return None


@dataclass(frozen=True)
class FindResult:
    """Matches, newest first. `more`: the limit was reached (search again with `before_seq=next_before`)."""

    receipts: tuple[Receipt, ...]
    scanned: int  # receipts looked at
    parsed: int  # of which parsed (passed the byte test)
    more: bool
    next_before: int  # the seq to continue below
    unreadable: int = 0  # receipts the journal could not read (reported on the status page, skipped here)


def _bounds(query: ReceiptQuery, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    first = query.first_day or query.last_day
    last = query.last_day or query.first_day
    if first is None or last is None:
        return None, None
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def find_receipts(source: ReceiptSource, query: ReceiptQuery, tz: tzinfo, *, limit: int = 50,
                  before_seq: int | None = None) -> FindResult:
    """Receipts matching `query`, newest (highest seq) first, at most `limit` (capped at MAX_LIMIT).

    `before_seq`: look only at seqs below it (the next page). ValueError with the cashier's words when the
    query cannot run (`ReceiptQuery.problem`).
    """
    problem = query.problem()
    if problem is not None:
        raise ValueError(problem)
    limit = max(1, min(limit, MAX_LIMIT))
    start, end = _bounds(query, tz)
    start_text = start.strftime("%Y-%m-%dT%H:%M:%S") if start else ""
    end_text = end.strftime("%Y-%m-%dT%H:%M:%S") if end else ""
    amount = query.amount
    total_bytes = b'"total":%d' % amount if amount is not None else b""
    digits = query.card_digits
    digit_bytes = digits.encode() if digits else b""
    code = query.customer_code.strip().upper() if query.customer_code else None
    code_bytes = b'"customer_code":"' + code.encode() + b'"' if code else b""
    kinds = frozenset(query.kinds)

    top = source.next_seq - 1 if before_seq is None else min(before_seq - 1, source.next_seq - 1)
    found: list[Receipt] = []
    scanned = parsed = unreadable = 0
    seq = top
    while seq >= 1:
        scanned += 1
        try:
            data = source.payload(seq)
        except (KeyError, OSError, ValueError):
            unreadable += 1
            seq -= 1
            continue
        seq -= 1
        # ---- byte tests: cheap, never miss
        if code_bytes and code_bytes not in data:
            continue
        if digit_bytes and (digit_bytes not in data or b'"card"' not in data):
            continue
        if total_bytes and total_bytes not in data and (b'"rounding":0,' in data or b'"rounding":0}' in data):
            continue
        if start_text:
            at = data.find(_CREATED)
            if at >= 0:
                stamp = data[at + len(_CREATED): at + len(_CREATED) + 40].split(b'"', 1)[0].decode("ascii", "replace")
                if stamp.endswith("Z") and len(stamp) >= 20 and stamp[10] == "T":
                    if not start_text <= stamp[:19] < end_text:
                        continue
        # ---- the real check
        parsed += 1
        try:
            receipt = Receipt.from_doc(json.loads(data))
        except (ValueError, TypeError, AttributeError):
            unreadable += 1
            continue
        if _matches(receipt, query, kinds, start, end, code):
            found.append(receipt)
            if len(found) >= limit:
                break
    more = len(found) >= limit and seq >= 1
    return FindResult(tuple(found), scanned, parsed, more, seq + 1, unreadable)


def _matches(receipt: Receipt, query: ReceiptQuery, kinds: frozenset[str], start: datetime | None,
             end: datetime | None, code: str | None) -> bool:
    if receipt.kind not in kinds:
        return False
    if start is not None and end is not None:
        moment = _moment(receipt.created_at)
        if moment is None or not start <= moment < end:
            return False
    if query.amount is not None:
        totals = receipt.totals
        if query.amount not in (totals.total, totals.total + (totals.rounding or 0)):
            return False
    if query.card_digits is not None:
        if not any(t.type == "card" and t.reference and _NOT_DIGITS.sub("", t.reference).endswith(query.card_digits)
                   for t in receipt.tenders):
            return False
    if code is not None and (receipt.customer_code or "").upper() != code:
        return False
    return True
