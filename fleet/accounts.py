"""Account reconciliation on the fleet: balances across registers, flags, and the next snapshot (docs/accounts.md).

Pure functions over what the fleet holds: the `Book` (balances and limits kept
outside receipts: cards issued and customers' payments in the back office,
credit limits, blocked cards) and the receipts received, each with its account
movements (`ReceivedReceipt.of(receipt)`; a receipt without movements counts
too: it tells the fleet that seq has arrived).

- Balances are the book plus every movement received, from every register.
  A receipt key (store, register, seq) counts once: a re-sent receipt is the
  same receipt (ingest keeps the first of a conflict and never passes the
  other on). Sums commute, and flags are judged on the final balances, so the
  order in which receipts arrive changes neither balances nor flags.
- Flags (`AccountFlag`, for `kassa-fleet status`): a loyalty balance below
  zero (`loyalty_overdraft`), a gift card below zero after all movements, as
  when two registers spent it during an outage (`giftcard_overspent`), an
  on-account balance over the customer's credit limit (`on_account_over_limit`,
  with the managers who approved charges).
- The snapshot counts, per register, only movements up to the highest seq
  below which every receipt of that register has arrived (`through`; the
  caller may raise that floor over receipts declared lost): a register adds
  its own movements above that seq itself, so none is counted twice or missed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, cast

from firmware.contract import Receipt
from firmware.contract.accounts import (
    LAYBY_TYPES,
    AccountsSnapshot,
    AnyMovement,
    CreditBalance,
    GiftCardBalance,
    GiftCardRedeem,
    GiftCardSell,
    GiftCardTopUp,
    LaybyState,
    LoyaltyBalance,
    LoyaltyEarn,
    LoyaltyRedeem,
    LoyaltyReverse,
    OnAccountCharge,
    OnAccountCredit,
    RegisterThrough,
    accounts_of,
)
from fleet.layby import reconcile_laybys

__all__ = ["FLAG_KINDS", "AccountFlag", "Balances", "Book", "ReceivedReceipt", "Reconciliation",
           "contiguous_through", "reconcile", "snapshot", "snapshot_document"]

RegisterId = tuple[str, str]  # (store, register)
FlagKind = Literal["loyalty_overdraft", "giftcard_overspent", "on_account_over_limit", "layby_overpaid",
                   "layby_closed_twice", "layby_overdue"]
FLAG_KINDS: tuple[FlagKind, ...] = ("loyalty_overdraft", "giftcard_overspent", "on_account_over_limit",
                                    "layby_overpaid", "layby_closed_twice", "layby_overdue")  # layby: fleet/layby.py


@dataclass(frozen=True)
class ReceivedReceipt:
    """One receipt as reconciliation needs it: its key and its account movements in order."""

    store: str
    register: str
    seq: int
    movements: tuple[AnyMovement, ...] = ()

    @classmethod
    def of(cls, receipt: Receipt) -> ReceivedReceipt:
        """From a decoded receipt (PayloadRejected when its `accounts` list is malformed)."""
        return cls(receipt.store, receipt.register, receipt.seq, tuple(accounts_of(receipt)))

    @property
    def key(self) -> tuple[str, str, int]:
        return self.store, self.register, self.seq


@dataclass(frozen=True)
class Book:
    """What the fleet holds outside receipts: opening balances (points; minor units owed or on a card), each
    card's last 4 digits and own offline limit, customers' credit limits (absent: none) and blocked cards."""

    loyalty: Mapping[str, int] = field(default_factory=dict)
    gift_cards: Mapping[str, int] = field(default_factory=dict)
    on_account: Mapping[str, int] = field(default_factory=dict)
    last4: Mapping[str, str] = field(default_factory=dict)
    credit_limits: Mapping[str, int] = field(default_factory=dict)
    card_limits: Mapping[str, int] = field(default_factory=dict)
    blocked: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Balances:
    """Points per customer, minor units per gift card (hash), minor units owed per on-account customer."""

    loyalty: dict[str, int]
    gift_cards: dict[str, int]
    on_account: dict[str, int]


@dataclass(frozen=True)
class AccountFlag:
    """One account the registers took past what it allowed. `account` is the customer code or the card hash;
    `registers` ("store:register") moved it that way; `approved_by` managers approved on-account charges."""

    kind: FlagKind
    account: str
    balance: int
    limit: int | None = None
    last4: str | None = None
    registers: tuple[str, ...] = ()
    approved_by: tuple[str, ...] = ()

    def describe(self, money: Callable[[int], str]) -> str:
        """One line for `kassa-fleet status`; `money` formats minor units in the fleet's currency
        (fleet.accounting.money_of)."""
        where = f" (by {', '.join(self.registers)})" if self.registers else ""
        if self.kind == "loyalty_overdraft":
            return f"loyalty {self.account}: {self.balance} points{where}"
        if self.kind == "giftcard_overspent":
            return f"gift card **** {self.last4 or '????'} overspent: balance {money(self.balance)}{where}"
        if self.kind.startswith("layby_"):  # balance: paid in, limit: the layby's total (docs/layby.md)
            what = {"layby_overpaid": "paid past its total", "layby_closed_twice": "collected or cancelled twice",
                    "layby_overdue": "overdue, not collected"}.get(self.kind, self.kind)
            return f"layby {self.account} {what}: {money(self.balance)} paid of {money(self.limit or 0)}{where}"
        approved = f"; approved by {', '.join(self.approved_by)}" if self.approved_by else ""
        return (f"on-account {self.account}: owes {money(self.balance)}, limit {money(self.limit or 0)}"
                f"{where}{approved}")


@dataclass(frozen=True)
class Reconciliation:
    """`balances`: every movement received; `snapshot_balances`: only those up to `through` (what the next
    snapshot says); `flags` judged on `balances`, sorted by kind and account."""

    balances: Balances
    snapshot_balances: Balances
    through: dict[RegisterId, int]
    flags: tuple[AccountFlag, ...]
    last4: dict[str, str]
    laybys: tuple[LaybyState, ...] = ()  # the open laybys up to `through` (fleet/layby.py)


def contiguous_through(seqs: Iterable[int], floor: int = 0) -> int:
    """The highest seq such that every seq from 1 (or above `floor`) up to it is in `seqs`."""
    have = set(seqs)
    top = max(floor, 0)
    while top + 1 in have:
        top += 1
    return top


def _delta(movement: AnyMovement) -> tuple[str, str, int]:
    """(ledger, account, delta) of one movement."""
    if isinstance(movement, LoyaltyEarn):
        return "loyalty", movement.customer, movement.points
    if isinstance(movement, (LoyaltyRedeem, LoyaltyReverse)):
        return "loyalty", movement.customer, -movement.points
    if isinstance(movement, (GiftCardSell, GiftCardTopUp)):
        return "gift_cards", movement.card_hash, movement.amount
    if isinstance(movement, GiftCardRedeem):
        return "gift_cards", movement.card_hash, -movement.amount
    if isinstance(movement, OnAccountCharge):
        return "on_account", movement.customer, movement.amount
    if isinstance(movement, OnAccountCredit):
        return "on_account", movement.customer, -movement.amount
    raise TypeError(f"not an account movement: {movement!r}")


def _spends(movement: AnyMovement) -> bool:
    """Whether a movement uses up what the account allows (the kind a flag names registers for)."""
    return isinstance(movement, (LoyaltyRedeem, LoyaltyReverse, GiftCardRedeem, OnAccountCharge))


def _unique(receipts: Iterable[ReceivedReceipt]) -> list[ReceivedReceipt]:
    seen: dict[tuple[str, str, int], ReceivedReceipt] = {}
    for receipt in receipts:
        seen.setdefault(receipt.key, receipt)
    return [seen[key] for key in sorted(seen)]


def _opening(book: Book) -> dict[str, dict[str, int]]:
    return {"loyalty": dict(book.loyalty), "gift_cards": dict(book.gift_cards), "on_account": dict(book.on_account)}


def _balances(sums: dict[str, dict[str, int]]) -> Balances:
    return Balances(*(dict(sorted(sums[name].items())) for name in ("loyalty", "gift_cards", "on_account")))


def reconcile(book: Book, receipts: Iterable[ReceivedReceipt], *,
              floors: Mapping[RegisterId, int] | None = None, today: date | None = None) -> Reconciliation:
    """Balances, flags and the snapshot's `through` from the book and the receipts received (any order); laybys
    too (fleet/layby.py: overdue judged on `today`, None: not judged)."""
    unique = _unique(receipts)
    floors = floors or {}
    seqs: dict[RegisterId, set[int]] = {}
    for receipt in unique:
        seqs.setdefault((receipt.store, receipt.register), set()).add(receipt.seq)
    through = {reg: contiguous_through(seqs.get(reg, ()), floors.get(reg, 0))
               for reg in sorted(set(seqs) | set(floors))}
    every, known = _opening(book), _opening(book)
    last4 = dict(book.last4)
    spenders: dict[tuple[str, str], set[str]] = {}
    approvals: dict[str, set[str]] = {}
    for receipt in unique:
        in_snapshot = receipt.seq <= through[(receipt.store, receipt.register)]
        for movement in receipt.movements:
            if isinstance(movement, LAYBY_TYPES):  # laybys are reconciled by fleet/layby.py
                continue
            ledger, account, delta = _delta(movement)
            every[ledger][account] = every[ledger].get(account, 0) + delta
            if in_snapshot:
                known[ledger][account] = known[ledger].get(account, 0) + delta
            else:
                known[ledger].setdefault(account, 0)
            if isinstance(movement, (GiftCardSell, GiftCardTopUp, GiftCardRedeem)):
                last4.setdefault(movement.card_hash, movement.last4)
            if _spends(movement):
                spenders.setdefault((ledger, account), set()).add(f"{receipt.store}:{receipt.register}")
            if isinstance(movement, OnAccountCharge) and movement.approved_by:
                approvals.setdefault(account, set()).add(movement.approved_by)
    balances = _balances(every)
    flags: list[AccountFlag] = []

    def who(ledger: str, account: str) -> tuple[str, ...]:
        return tuple(sorted(spenders.get((ledger, account), ())))

    flags += [AccountFlag("loyalty_overdraft", customer, points, registers=who("loyalty", customer))
              for customer, points in balances.loyalty.items() if points < 0]
    flags += [AccountFlag("giftcard_overspent", card, amount, last4=last4.get(card), registers=who("gift_cards", card))
              for card, amount in balances.gift_cards.items() if amount < 0]
    flags += [AccountFlag("on_account_over_limit", customer, owed, limit=book.credit_limits.get(customer, 0),
                          registers=who("on_account", customer), approved_by=tuple(sorted(approvals.get(customer, ()))))
              for customer, owed in balances.on_account.items() if owed > book.credit_limits.get(customer, 0)]
    laybys, findings = reconcile_laybys(unique, through, today)
    flags += [AccountFlag(cast(FlagKind, f.kind), f.layby, f.paid, limit=f.total, registers=f.registers)
              for f in findings]
    flags.sort(key=lambda f: (FLAG_KINDS.index(f.kind), f.account))
    return Reconciliation(balances, _balances(known), through, tuple(flags), dict(sorted(last4.items())),
                          tuple(laybys))


def snapshot(result: Reconciliation, book: Book, *, version: int, issued_at: str, currency: str) -> AccountsSnapshot:
    """The next snapshot document (validated): `snapshot_balances` and `through` of `result`, with the book's
    limits and blocked cards. Every account the book or a receipt named is listed, a zero balance too."""
    known = result.snapshot_balances
    customers = sorted(set(known.on_account) | set(book.credit_limits))
    listed = book.blocked | set(book.card_limits)  # a card only the book names: listed when its last 4 are known
    cards = sorted(set(known.gift_cards) | {card for card in listed if card in result.last4})
    return AccountsSnapshot(
        version=version, issued_at=issued_at, currency=currency,
        through=[RegisterThrough(store=store, register=register, seq=seq)
                 for (store, register), seq in sorted(result.through.items())],
        loyalty=[LoyaltyBalance(customer=customer, points=points) for customer, points in known.loyalty.items()],
        gift_cards=[GiftCardBalance(card_hash=card, last4=result.last4.get(card, "0000"),
                                    balance=known.gift_cards.get(card, 0), offline_limit=book.card_limits.get(card),
                                    blocked=card in book.blocked) for card in cards],
        on_account=[CreditBalance(customer=customer, owed=known.on_account.get(customer, 0),
                                  limit=book.credit_limits.get(customer)) for customer in customers],
        laybys=list(result.laybys) or None,
    )


def snapshot_document(result: Reconciliation, book: Book, *, version: int, issued_at: str,
                      currency: str) -> dict[str, Any]:
    """`snapshot` as the JSON object published (fields left at None omitted, as `firmware.contract.encode`)."""
    model = snapshot(result, book, version=version, issued_at=issued_at, currency=currency)
    document: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return document
