"""Layby (docs/layby.md): goods reserved against a deposit, paid off in instalments, collected or cancelled.

Pure rules, integer minor units only, no clock (the caller passes today's date in the shop's zone). A layby lives
in receipts' `accounts` lists as movements (`layby_open`, `layby_payment`, `layby_collect`, `layby_cancel`); what a
register knows of one is the fleet's snapshot plus its own movements since (`fold`), the rule accounts follow
(docs/accounts.md). Sums commute: the order movements arrive in changes nothing.

    balance = total - paid        paid = deposit + instalments        cancel: refund = paid - fee
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from firmware.domain.credit import Through
from firmware.domain.errors import Refused

__all__ = [
    "CANCELLED", "COLLECTED", "ENTRY_TYPES", "OPEN", "Layby", "LaybyBook", "LaybyLine", "LaybyMove", "LaybyPolicy",
    "cancel_entry", "cancel_terms", "check_cancel", "check_collect", "check_open", "check_payment", "collect_entry",
    "find", "fold", "layby_id", "min_deposit", "moves_of_receipt", "open_entry", "parse_due", "payment_entry",
]

OPEN, COLLECTED, CANCELLED = "open", "collected", "cancelled"
ENTRY_TYPES = ("layby_open", "layby_payment", "layby_collect", "layby_cancel")
MAX_AMOUNT = 10**12

Money = Callable[[int], str]


@dataclass(frozen=True)
class LaybyLine:
    """One reserved line, as it will be sold when the layby is collected."""

    sku: str
    name: str
    qty: str
    unit_price: int
    tax_code: str
    amount: int
    discount: int = 0

    def to_doc(self) -> dict[str, Any]:
        qty: int | str = int(self.qty) if self.qty.isdigit() else self.qty
        return {"sku": self.sku, "name": self.name, "qty": qty, "unit_price": self.unit_price,
                "discount": self.discount, "tax_code": self.tax_code, "amount": self.amount}

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> LaybyLine:
        return cls(str(doc["sku"]), str(doc["name"]), str(doc["qty"]), int(doc["unit_price"]), str(doc["tax_code"]),
                   int(doc["amount"]), int(doc.get("discount", 0)))


@dataclass(frozen=True)
class Layby:
    """A layby as one register or the fleet knows it."""

    layby_id: str
    customer: str
    total: int
    paid: int
    due: date
    lines: tuple[LaybyLine, ...]
    state: str = OPEN

    @property
    def balance(self) -> int:
        """What is still to pay (never below 0: a layby paid past its total on two registers shows 0 left)."""
        return max(0, self.total - self.paid)

    def overdue(self, today: date) -> bool:
        return self.state == OPEN and today > self.due

    def to_doc(self) -> dict[str, Any]:
        """As the snapshot lists it (firmware.contract.accounts.LaybyState)."""
        return {"layby": self.layby_id, "customer": self.customer, "total": self.total, "paid": self.paid,
                "due": self.due.isoformat(), "lines": [line.to_doc() for line in self.lines]}

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Layby:
        """From a snapshot entry (validated already) or a `layby_open` entry (paid = its deposit)."""
        paid = doc["paid"] if "paid" in doc else doc["deposit"]
        return cls(str(doc["layby"]), str(doc["customer"]), int(doc["total"]), int(paid), parse_due(str(doc["due"])),
                   tuple(LaybyLine.of(line) for line in doc["lines"]))


@dataclass(frozen=True)
class LaybyPolicy:
    """The shop's layby rules ([layby] in the config): the smallest deposit, the longest term, the cancel fee."""

    min_deposit_percent: int = 10  # of the total, rounded up
    max_days: int = 90  # the due date is at most this many days after the day it is opened
    fee_percent: int = 10  # of what was paid in, rounded down, kept when a layby is cancelled
    fee_fixed: int = 0  # minor units kept on top of the percentage (the fee never passes what was paid)


def layby_id(store: str, register: str, seq: int) -> str:
    """A layby's id: its opening receipt's store, register and seq (seqs run on across epochs: unique)."""
    return f"LB-{store}-{register}-{seq}"


def parse_due(text: str) -> date:
    """A due date typed or stored as YYYY-MM-DD; Refused in the cashier's words otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(f"{text.strip()[:20]!r} is not a date: type the due date as YYYY-MM-DD, "
                      "such as 2026-12-24") from None


def min_deposit(total: int, policy: LaybyPolicy) -> int:
    """The smallest deposit: `min_deposit_percent` of the total, rounded up, at least 1 minor unit."""
    return max(1, -(-total * policy.min_deposit_percent // 100))


def _amount(amount: int, what: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Refused(f"The {what} must be more than zero")
    if amount > MAX_AMOUNT:
        raise Refused(f"The {what} is too large")


def check_open(total: int, deposit: int, due: date, today: date, policy: LaybyPolicy, *, money: Money) -> None:
    """A new layby of `total` with `deposit` paid now, due on `due`: nothing, or Refused saying why."""
    if total <= 0:
        raise Refused("Scan the goods to reserve first: the cart is empty")
    _amount(deposit, "deposit")
    least = min_deposit(total, policy)
    if deposit < least:
        raise Refused(f"A layby needs a deposit of at least {money(least)} ({policy.min_deposit_percent}% of "
                      f"{money(total)})")
    if deposit >= total:
        raise Refused(f"The deposit of {money(deposit)} pays all of {money(total)}: sell it instead")
    if due <= today:
        raise Refused(f"The due date must be after today ({today.isoformat()})")
    last = today + timedelta(days=policy.max_days)
    if due > last:
        raise Refused(f"A layby runs at most {policy.max_days} days: due on {last.isoformat()} at the latest")


def _open(layby: Layby) -> None:
    if layby.state == COLLECTED:
        raise Refused(f"Layby {layby.layby_id} was collected already")
    if layby.state == CANCELLED:
        raise Refused(f"Layby {layby.layby_id} was cancelled")


def check_payment(layby: Layby, amount: int, *, money: Money) -> int:
    """An instalment of `amount`: what is paid after it, or Refused (never more than the balance)."""
    _open(layby)
    if layby.balance == 0:
        raise Refused(f"Layby {layby.layby_id} is paid in full: the customer can collect it")
    _amount(amount, "instalment")
    if amount > layby.balance:
        raise Refused(f"Layby {layby.layby_id} has {money(layby.balance)} left to pay; take at most that")
    return layby.paid + amount


def check_collect(layby: Layby, *, money: Money) -> None:
    """The goods may leave only when the layby is open and paid in full."""
    _open(layby)
    if layby.balance > 0:
        raise Refused(f"Layby {layby.layby_id} still has {money(layby.balance)} to pay: take the last instalment "
                      "first")


def cancel_terms(paid: int, policy: LaybyPolicy) -> tuple[int, int]:
    """(refund, fee) of cancelling a layby with `paid` paid in: fee = fixed + percent (down), at most `paid`."""
    fee = min(paid, policy.fee_fixed + paid * policy.fee_percent // 100)
    return paid - fee, fee


def check_cancel(layby: Layby, policy: LaybyPolicy) -> tuple[int, int]:
    """(refund, fee) of cancelling `layby`, or Refused when it is closed already."""
    _open(layby)
    return cancel_terms(layby.paid, policy)


# ---- on the receipt

def open_entry(layby: Layby, deposit: int) -> dict[str, Any]:
    return {"type": "layby_open", "layby": layby.layby_id, "customer": layby.customer, "total": layby.total,
            "deposit": deposit, "due": layby.due.isoformat(), "lines": [line.to_doc() for line in layby.lines]}


def payment_entry(layby: str, amount: int, *, total: int | None = None, balance: int | None = None) -> dict[str, Any]:
    """An instalment; `total` and `balance` (after it) as this register knows them, for the printed receipt."""
    entry: dict[str, Any] = {"type": "layby_payment", "layby": layby, "amount": amount}
    return entry | ({"total": total, "balance": balance} if total is not None and balance is not None else {})


def collect_entry(layby: str, paid: int) -> dict[str, Any]:
    return {"type": "layby_collect", "layby": layby, "paid": paid}


def cancel_entry(layby: str, refund: int, fee: int) -> dict[str, Any]:
    return {"type": "layby_cancel", "layby": layby, "refund": refund, "fee": fee}


@dataclass(frozen=True)
class LaybyMove:
    """One layby movement of a committed receipt: (register, seq, index) names it, `entry` is the receipt's."""

    register: str
    seq: int
    index: int
    entry: Mapping[str, Any]

    @property
    def key(self) -> tuple[str, int, int]:
        return self.register, self.seq, self.index

    @property
    def layby(self) -> str:
        return str(self.entry.get("layby", ""))

    @property
    def kind(self) -> str:
        return str(self.entry.get("type", ""))


def moves_of_receipt(doc: Mapping[str, Any], register: str) -> list[LaybyMove]:
    """The layby movements of a committed receipt document (its `accounts` list), in order; others skipped."""
    seq = doc.get("seq")
    entries = doc.get("accounts") or []
    if not isinstance(seq, int) or not isinstance(entries, list):
        return []
    return [LaybyMove(register, seq, index, entry) for index, entry in enumerate(entries)
            if isinstance(entry, Mapping) and entry.get("type") in ENTRY_TYPES and isinstance(entry.get("layby"), str)]


def fold(known: Mapping[str, Layby], moves: Iterable[LaybyMove]) -> dict[str, Layby]:
    """`known` laybys with `moves` applied, each once (by key), in any order: an open adds a layby not known yet,
    payments add to `paid`, a collect or cancel closes it (cancelled wins over collected only if it came alone).
    Moves of a layby neither known nor opened here are left out (the next snapshot brings it)."""
    unique = {m.key: m for m in moves}
    out = dict(known)
    for move in unique.values():
        if move.kind == "layby_open" and move.layby not in out:
            try:
                out[move.layby] = Layby.of(move.entry)
            except (KeyError, TypeError, ValueError, Refused):
                continue
    for move in unique.values():
        layby = out.get(move.layby)
        if layby is None:
            continue
        if move.kind == "layby_payment":
            out[move.layby] = replace(layby, paid=layby.paid + int(move.entry.get("amount", 0)))
        elif move.kind == "layby_collect":
            out[move.layby] = replace(layby, state=COLLECTED)
        elif move.kind == "layby_cancel" and layby.state != COLLECTED:
            out[move.layby] = replace(layby, state=CANCELLED)
    return out


def find(laybys: Iterable[Layby], text: str, *, limit: int = 20) -> list[Layby]:
    """Laybys whose id or customer contains `text` (case ignored; an id's digits alone match its seq), open ones
    first, then by id."""
    needle = text.strip().casefold()
    if not needle:
        return []
    hits = [lb for lb in laybys if needle in lb.layby_id.casefold() or needle in lb.customer.casefold()]
    hits.sort(key=lambda lb: (lb.state != OPEN, lb.layby_id))
    return hits[:limit]


@dataclass(frozen=True)
class LaybyBook:
    """What a register knows of laybys: the fleet snapshot's open ones (`known`, movements up to `through`), this
    register's own movements the snapshot does not include (`local`), and the layby movement of the sale being
    rung up (`pending`: its sale id and entry, added to the receipt when that sale is committed)."""

    known: Mapping[str, Layby] = field(default_factory=dict)
    through: Through = Through()
    local: tuple[LaybyMove, ...] = ()
    pending: tuple[str, Mapping[str, Any]] | None = None

    def laybys(self) -> dict[str, Layby]:
        return fold(self.known, self.local)

    def get(self, layby: str) -> Layby | None:
        return self.laybys().get(layby.strip())

    def with_local(self, moves: Iterable[LaybyMove]) -> LaybyBook:
        fresh = tuple(m for m in moves if m.seq > self.through.seq(m.register))
        return replace(self, local=self.local + fresh) if fresh else self

    def with_snapshot(self, known: Mapping[str, Layby], through: Through) -> LaybyBook:
        """A newer snapshot: its laybys, and the local movements it does not include yet."""
        return replace(self, known=dict(known), through=through, local=()).with_local(self.local)
