"""Gift cards offline: Luhn-checked numbers, keyed hashes (never the number), sell, top up, redeem within limits.

A card number is 12 to 19 digits whose last is a Luhn check digit (ISO/IEC
7812-1, what payment and most gift cards print): it catches every single-digit
error and every adjacent transposition except 09 <-> 90. Spaces and dashes
typed between digits are ignored. The number is a bearer credential, so it is
never stored: the register keeps `card_hash` (HMAC-SHA256 under the fleet-wide
gift-card key, hex) and the last 4 digits; receipts, the journal and the fleet
see only those (docs/accounts.md says why a keyed hash and not a plain one).

Balances follow firmware.domain.credit: the fleet's last snapshot plus this
register's movements since (sell and top-up add, redeem takes). A redemption
must fit the balance and the per-card offline limit: what this register has
redeemed from the card since the snapshot, plus this one, is at most the limit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from firmware.domain.credit import Position
from firmware.domain.errors import DomainError, Refused

__all__ = [
    "KEY_BYTES", "MAX_DIGITS", "MIN_DIGITS", "REDEEM", "SELL", "TOP_UP", "CardCheck", "CardRef", "GiftCardRules",
    "age_text", "balance_text", "card_hash", "card_ref", "check_card_number", "check_redeem", "check_sell",
    "check_top_up", "entry", "luhn_check_digit", "luhn_valid",
]

SELL, TOP_UP, REDEEM = "sell", "top_up", "redeem"  # movement kinds (firmware.domain.credit.Movement.kind)
MIN_DIGITS, MAX_DIGITS = 12, 19
KEY_BYTES = 32  # the gift-card key is at least 256 bits


def luhn_check_digit(body: str) -> int:
    """The Luhn check digit for `body` (the digits before it): double every second digit from the right."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    """True when the last digit of an all-digit `number` is its Luhn check digit."""
    return len(number) >= 2 and number.isascii() and number.isdigit() and \
        luhn_check_digit(number[:-1]) == int(number[-1])


@dataclass(frozen=True)
class CardCheck:
    """Outcome of checking a scanned or typed card number: `ok`, the bare digits `number`, `reason` if not ok."""

    ok: bool
    number: str
    reason: str = ""


def check_card_number(text: str) -> CardCheck:
    """Check one scanned or typed card number; never raises. Spaces and dashes between digits are dropped."""
    if not isinstance(text, str):
        return CardCheck(False, "", "Gift card number: not text")
    bare = text.strip().replace(" ", "").replace("-", "")
    if not bare:
        return CardCheck(False, "", "No gift card number: scan the card or type its number")
    if not bare.isascii() or not bare.isdigit():
        return CardCheck(False, "", "A gift card number has digits only; scan the card again or retype it")
    if not MIN_DIGITS <= len(bare) <= MAX_DIGITS:
        return CardCheck(False, "", f"A gift card number has {MIN_DIGITS} to {MAX_DIGITS} digits, "
                                    f"this one {len(bare)}; check it and retype it")
    if not luhn_valid(bare):
        return CardCheck(False, "", f"Gift card number ending {bare[-4:]} is wrong (check digit): a digit is "
                                    "mistyped or two are swapped; scan or retype it")
    return CardCheck(True, bare)


def card_hash(number: str, key: bytes) -> str:
    """HMAC-SHA256 of the card's digits under the fleet-wide gift-card key, in hex: the card's id everywhere."""
    if not isinstance(key, bytes) or len(key) < KEY_BYTES:
        raise DomainError(f"The gift-card key must be at least {KEY_BYTES} bytes; it is not configured right")
    return hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CardRef:
    """A card as everything but the card itself knows it: its keyed hash and last 4 digits."""

    hash: str
    last4: str

    @property
    def masked(self) -> str:
        """"**** 1234": ASCII, so every printer code page prints it (the tender's reference on the receipt)."""
        return f"**** {self.last4}"


def card_ref(text: str, key: bytes) -> CardRef:
    """The CardRef of a scanned or typed number; Refused (the cashier's reason) when the number is wrong."""
    check = check_card_number(text)
    if not check.ok:
        raise Refused(check.reason)
    return CardRef(card_hash(check.number, key), check.number[-4:])


@dataclass(frozen=True)
class GiftCardRules:
    """Shop settings in minor units: a sale or top-up loads `min_load` or more, a card holds at most
    `max_balance`, and at most `offline_limit` of one card is redeemed on one register until the fleet has
    reconciled it (a snapshot may set a card's own limit)."""

    min_load: int = 100
    max_balance: int = 50_000
    offline_limit: int = 10_000

    def __post_init__(self) -> None:
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0
               for v in (self.min_load, self.max_balance, self.offline_limit)):
            raise DomainError("Gift cards: min_load, max_balance and offline_limit are 0 or more minor units")


def check_sell(position: Position, amount: int, rules: GiftCardRules, *, known: bool,
               money: Callable[[int], str]) -> int:
    """Sell (first load) a card; the balance after. `known`: the snapshot lists the card or this register has
    moved it, so it is already sold (top it up instead)."""
    if known or position.movements:
        raise Refused("This gift card is already active: top it up instead of selling it")
    return _load(position, amount, rules, money)


def check_top_up(position: Position, amount: int, rules: GiftCardRules, *, known: bool, blocked: bool = False,
                 money: Callable[[int], str]) -> int:
    """Top up an active card; the balance after."""
    if blocked:
        raise Refused("This gift card is blocked; it cannot be topped up")
    if not known and not position.movements:
        raise Refused("This gift card is not active on this register: sell it first")
    return _load(position, amount, rules, money)


def check_redeem(position: Position, amount: int, rules: GiftCardRules, *, money: Callable[[int], str],
                 blocked: bool = False, card_limit: int | None = None, due: int | None = None) -> int:
    """Pay `amount` from the card; the balance after, or Refused saying what is possible.

    Within the balance shown and within the offline limit (`card_limit` from the snapshot, else the shop's):
    this register's redemptions of the card not yet in the snapshot, plus this one."""
    _require_amount(amount)
    if blocked:
        raise Refused("This gift card is blocked (reported lost or withdrawn); it cannot pay")
    if due is not None and amount > due:
        raise Refused(f"A gift card cannot pay more than the {money(due)} due")
    balance = position.balance
    if amount > balance:
        raise Refused(f"The card holds {money(max(balance, 0))}; {money(amount)} is too much")
    limit = rules.offline_limit if card_limit is None else card_limit
    left = max(0, limit - position.outflow(REDEEM))
    if amount > left:
        raise Refused(f"Until the fleet confirms, at most {money(limit)} of one card can be spent on this "
                      f"register; {money(left)} left")
    return balance - amount


def age_text(issued_at: datetime | None, now: datetime) -> str:
    """How old a snapshot is, in words: "no fleet update yet", "just now", "5 min ago", "2 h 5 min ago",
    "3 days ago"; a clock behind the snapshot says so instead of a negative age."""
    if issued_at is None:
        return "no fleet update yet"
    seconds = int((now - issued_at).total_seconds())
    if seconds < 0:
        return "clock is behind the fleet update"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 1:
        return "just now"
    if hours < 1:
        return f"{minutes} min ago"
    if days < 1:
        rest = minutes - hours * 60
        return f"{hours} h {rest} min ago" if rest else f"{hours} h ago"
    return "1 day ago" if days == 1 else f"{days} days ago"


def balance_text(card: CardRef, position: Position, *, issued_at: datetime | None, now: datetime,
                 money: Callable[[int], str]) -> str:
    """The balance check: "Gift card **** 1234: €12.50 (fleet update 2 h ago, plus 1 change on this register since)"."""
    local = len(position.unreconciled)
    since = f", plus {local} change{'s' if local != 1 else ''} on this register since" if local else ""
    when = "no fleet update yet" if issued_at is None else f"fleet update {age_text(issued_at, now)}"
    return f"Gift card {card.masked}: {money(position.balance)} ({when}{since})"


def entry(kind: str, card: CardRef, amount: int) -> dict[str, Any]:
    """The receipt's `accounts` entry of a sale, top-up or redemption of `card` (hash and last 4 only)."""
    types = {SELL: "giftcard_sell", TOP_UP: "giftcard_top_up", REDEEM: "giftcard_redeem"}
    if kind not in types:
        raise DomainError(f"Unknown gift-card movement {kind!r}")
    _require_amount(amount)
    return {"type": types[kind], "card_hash": card.hash, "last4": card.last4, "amount": amount}


def _load(position: Position, amount: int, rules: GiftCardRules, money: Callable[[int], str]) -> int:
    _require_amount(amount)
    if amount < rules.min_load:
        raise Refused(f"A gift card is loaded with at least {money(rules.min_load)}")
    after = position.balance + amount
    if after > rules.max_balance:
        raise Refused(f"A gift card holds at most {money(rules.max_balance)}; "
                      f"{money(max(0, rules.max_balance - position.balance))} can still be loaded")
    return after


def _require_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise Refused("Amount must be more than zero")
