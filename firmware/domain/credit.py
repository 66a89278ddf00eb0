"""Account balances offline (last fleet snapshot plus this register's movements since) and on-account credit limits.

Every account a register keeps offline (loyalty points, gift cards, on-account
credit) follows one rule (docs/accounts.md): the balance shown is the balance
in the fleet's last snapshot plus the movements this register committed that
the snapshot does not include yet. A movement is identified by the receipt
that carries it, (register, seq), and the snapshot says up to which seq of
each register it includes (`Through`): a movement is in the snapshot exactly
when its seq is at or below the snapshot's seq for its register. Registers are
named by `register_key(store, register)` ("S001:R1"): register ids repeat
across stores.

On-account: the balance is what the customer owes. A charge that would take it
over the customer's credit limit (from the snapshot) needs a manager's
approval, offline or not: the register never asks the fleet live, the
snapshot is all it knows (`NeedsApproval`, a Refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from firmware.domain.errors import Refused

__all__ = [
    "CHARGE", "CREDIT", "ENTRY_TYPES", "PENDING_REGISTER", "PENDING_SEQ", "AccountKey", "Movement", "NeedsApproval",
    "Position", "Through", "charge_entry", "check_charge", "check_credit", "credit_entry", "credit_left",
    "movements_of_receipt", "register_key",
]

CHARGE, CREDIT = "charge", "credit"  # on-account movement kinds: a sale charged to the account, a refund onto it
PENDING_REGISTER = ""  # movements of the sale being rung up: never in any snapshot
PENDING_SEQ = 2**53 + 1  # above every seq the contract allows


# a receipt's `accounts` entry type -> (ledger, movement kind, sign of delta, field holding the quantity)
ENTRY_TYPES: dict[str, tuple[str, str, int, str]] = {
    "loyalty_earn": ("loyalty", "earn", 1, "points"),
    "loyalty_redeem": ("loyalty", "redeem", -1, "points"),
    "loyalty_reverse": ("loyalty", "reverse", -1, "points"),
    "giftcard_sell": ("gift_card", "sell", 1, "amount"),
    "giftcard_top_up": ("gift_card", "top_up", 1, "amount"),
    "giftcard_redeem": ("gift_card", "redeem", -1, "amount"),
    "on_account_charge": ("on_account", CHARGE, 1, "amount"),
    "on_account_credit": ("on_account", CREDIT, -1, "amount"),
}


@dataclass(frozen=True)
class AccountKey:
    """Which account: `ledger` "loyalty" or "on_account" (`account` = customer code) or "gift_card" (the hash)."""

    ledger: str
    account: str


def register_key(store: str, register: str) -> str:
    """The name of one register across the fleet: "S001:R1" (register ids repeat across stores)."""
    return f"{store}:{register}"


@dataclass(frozen=True)
class Movement:
    """One change to one account made by a committed receipt: `delta` in the account's unit (points or minor
    units), positive adds to the balance. `index` is its position among the receipt's account movements."""

    register: str
    seq: int
    delta: int
    kind: str
    index: int = 0


@dataclass(frozen=True)
class Through:
    """Up to which seq of each register a snapshot includes movements (a register not named: none of them)."""

    seqs: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, seqs: Mapping[str, int]) -> Through:
        return cls(tuple(sorted(seqs.items())))

    def seq(self, register: str) -> int:
        for name, seq in self.seqs:
            if name == register:
                return seq
        return 0

    def includes(self, movement: Movement) -> bool:
        return movement.register != PENDING_REGISTER and movement.seq <= self.seq(movement.register)


@dataclass(frozen=True)
class Position:
    """What a register knows of one account: the snapshot's balance (0 when the account is not in it), what the
    snapshot includes, and this register's own movements of the account (included ones are simply ignored)."""

    snapshot: int = 0
    through: Through = Through()
    movements: tuple[Movement, ...] = ()

    @property
    def unreconciled(self) -> tuple[Movement, ...]:
        """The movements the snapshot does not include yet (committed here, or pending in this sale)."""
        return tuple(m for m in self.movements if not self.through.includes(m))

    @property
    def balance(self) -> int:
        """The balance shown: snapshot plus the local movements since it."""
        return self.snapshot + sum(m.delta for m in self.unreconciled)

    def outflow(self, kind: str) -> int:
        """How much movements of `kind` not yet in the snapshot took out (their negative deltas, as a positive sum)."""
        return -sum(m.delta for m in self.unreconciled if m.kind == kind and m.delta < 0)

    def inflow(self, kind: str) -> int:
        """How much movements of `kind` not yet in the snapshot put in."""
        return sum(m.delta for m in self.unreconciled if m.kind == kind and m.delta > 0)

    def with_movements(self, movements: Iterable[Movement]) -> Position:
        return replace(self, movements=self.movements + tuple(movements))

    def pending(self, kind: str, delta: int) -> Position:
        """This position with a movement of the sale being rung up (not committed, in no snapshot)."""
        index = sum(1 for m in self.movements if m.register == PENDING_REGISTER)
        return self.with_movements([Movement(PENDING_REGISTER, PENDING_SEQ, delta, kind, index)])


class NeedsApproval(Refused):
    """Refused until a manager approves: the reason says so. `limit` and `balance_after` say by how much."""

    def __init__(self, reason: str, *, limit: int, balance_after: int) -> None:
        super().__init__(reason)
        self.limit = limit
        self.balance_after = balance_after


def credit_left(owed: Position, limit: int | None) -> int:
    """What the customer can still charge without a manager: limit minus what they owe now (never below 0)."""
    return max(0, (limit or 0) - owed.balance)


def check_charge(owed: Position, amount: int, *, limit: int | None, money: Callable[[int], str],
                 approved_by: str | None = None) -> int:
    """Charge `amount` to an account that owes `owed.balance`; the new balance owed, or Refused.

    Over the credit `limit` (None: the customer is not in the snapshot, so no credit is known) it raises
    NeedsApproval unless `approved_by` names the manager who approved it."""
    _require_amount(amount)
    after = owed.balance + amount
    known = 0 if limit is None else limit
    if after > known and approved_by is None:
        if limit is None:
            reason = ("This customer has no credit limit on this register yet (not in the fleet's last update): "
                      f"charging {money(amount)} needs a manager's approval")
        else:
            reason = (f"On-account over the credit limit of {money(limit)} needs a manager's approval: the customer "
                      f"owes {money(owed.balance)}, {money(credit_left(owed, limit))} is left")
        raise NeedsApproval(reason, limit=known, balance_after=after)
    return after


def check_credit(owed: Position, amount: int) -> int:
    """Pay a refund back onto the account (it then owes less, possibly below 0: the shop owes the customer)."""
    _require_amount(amount)
    return owed.balance - amount


def charge_entry(customer: str, amount: int, approved_by: str | None = None) -> dict[str, Any]:
    """The receipt's `accounts` entry of an on-account charge (docs/accounts.md)."""
    _require_amount(amount)
    entry: dict[str, Any] = {"type": "on_account_charge", "customer": customer, "amount": amount}
    return entry | ({"approved_by": approved_by} if approved_by else {})


def credit_entry(customer: str, amount: int) -> dict[str, Any]:
    """The receipt's `accounts` entry of a refund paid back onto the account."""
    _require_amount(amount)
    return {"type": "on_account_credit", "customer": customer, "amount": amount}


def movements_of_receipt(doc: Mapping[str, Any], register: str) -> list[tuple[AccountKey, Movement]]:
    """The account movements a committed receipt document carries (its `accounts` list), in order.

    `register` is `register_key(store, register)`; the seq is the receipt's. Entries of a type this version
    does not know are skipped (the contract grows by adding types); a receipt without `accounts` has none."""
    seq = doc.get("seq")
    entries = doc.get("accounts") or []
    if not isinstance(seq, int) or not isinstance(entries, list):
        return []
    out: list[tuple[AccountKey, Movement]] = []
    for index, entry in enumerate(entries):
        known = ENTRY_TYPES.get(entry.get("type", "")) if isinstance(entry, Mapping) else None
        if known is None or not isinstance(entry, Mapping):
            continue
        ledger, kind, sign, field = known
        account = entry.get("card_hash" if ledger == "gift_card" else "customer")
        quantity = entry.get(field)
        if isinstance(account, str) and isinstance(quantity, int) and not isinstance(quantity, bool):
            out.append((AccountKey(ledger, account), Movement(register, seq, sign * quantity, kind, index)))
    return out


def _require_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Refused("Amount must be more than zero")
