"""Loyalty points offline: earned by a shop rule, reversed by refunds, redeemed up to the balance and an offline cap.

Earning (`points_earned`): N points per whole currency unit of the amount paid,
rounded down, counting neither excluded SKUs or groups nor what gift cards
and points paid (`EarnRule.no_points_tenders`). The eligible amount is the
eligible lines' share of the money paid by counting tenders:
floor(eligible lines * counting paid / all paid). A refund reverses the
points its original earned in proportion to the money refunded, counted
cumulatively so that refunding in parts never reverses more in all than a
whole refund (`points_to_reverse`).

Redemption (`check_redeem`): up to the balance shown (the snapshot plus this
register's movements since, firmware.domain.credit.Position) and, per
customer, up to `RedeemRule.offline_cap` points redeemed on this register that
the fleet has not reconciled yet. Points are worth `value` minor units per
`points` points, rounded down (`points_value`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from firmware.domain.credit import Position
from firmware.domain.errors import DomainError, Refused

__all__ = [
    "EARN", "GIFT_CARD_TENDER", "LOYALTY_TENDER", "REDEEM", "REVERSE", "EarnLine", "EarnRule", "RedeemRule",
    "check_redeem", "earn_entry", "eligible_amount", "group_lines", "points_earned", "points_for_amount",
    "points_to_reverse", "points_value", "redeem_entry", "reverse_entry",
]

EARN, REDEEM, REVERSE = "earn", "redeem", "reverse"  # movement kinds (firmware.domain.credit.Movement.kind)
GIFT_CARD_TENDER = "gift_card"
LOYALTY_TENDER = "loyalty"


@dataclass(frozen=True)
class EarnRule:
    """`points_per_unit` points per whole currency unit (`unit` minor units: 100 for EUR, 1 for JPY)."""

    points_per_unit: int = 1
    unit: int = 100
    excluded_skus: frozenset[str] = frozenset()
    excluded_groups: frozenset[str] = frozenset()
    no_points_tenders: frozenset[str] = field(default_factory=lambda: frozenset({GIFT_CARD_TENDER, LOYALTY_TENDER}))

    def __post_init__(self) -> None:
        if not _count(self.points_per_unit) or not _count(self.unit) or self.unit == 0:
            raise DomainError("Loyalty: points_per_unit is 0 or more and unit is 1 or more minor units")


@dataclass(frozen=True)
class RedeemRule:
    """`points` points pay `value` minor units; at most `offline_cap` points per customer redeemed on one register
    before the fleet has reconciled them (None: only the balance limits); at least `min_points` at a time."""

    points: int = 100
    value: int = 100
    offline_cap: int | None = None
    min_points: int = 1

    def __post_init__(self) -> None:
        if not (_count(self.points) and self.points > 0 and _count(self.value) and _count(self.min_points)
                and (self.offline_cap is None or _count(self.offline_cap))):
            raise DomainError("Loyalty: points is 1 or more; value, min_points and offline_cap are 0 or more")


@dataclass(frozen=True)
class EarnLine:
    """One receipt line as the earn rule sees it: its SKU, group (None: none) and amount after discounts."""

    sku: str
    amount: int
    group: str | None = None


def eligible_amount(rule: EarnRule, lines: Iterable[EarnLine], tenders: Iterable[tuple[str, int]]) -> int:
    """Minor units that earn points: the eligible lines' share of what counting tenders paid (rounded down).

    `tenders` are (kind, money paid = amount - change). The share is taken of the larger of what was paid and
    what the lines are worth, so a sale not paid in full earns only on what was paid."""
    lines = list(lines)
    eligible = sum(line.amount for line in lines if line.sku not in rule.excluded_skus
                   and (line.group is None or line.group not in rule.excluded_groups))
    paid = counting = 0
    for kind, amount in tenders:
        paid += amount
        if kind not in rule.no_points_tenders:
            counting += amount
    whole = max(paid, sum(line.amount for line in lines))
    if whole <= 0 or eligible <= 0 or counting <= 0:
        return 0
    return min(eligible, counting, eligible * counting // whole)


def points_earned(rule: EarnRule, lines: Iterable[EarnLine], tenders: Iterable[tuple[str, int]]) -> int:
    """Points a paid sale earns: N per whole currency unit of the eligible amount, rounded down."""
    return eligible_amount(rule, lines, tenders) // rule.unit * rule.points_per_unit


def points_to_reverse(earned: int, original: int, refunded_before: int, refunding: int) -> int:
    """Points a refund of `refunding` takes back from a sale of `original` money that earned `earned` points,
    when `refunded_before` of it was refunded already: the cumulative share, rounded up, minus what earlier
    refunds reversed. Refunding the whole sale, in one go or in parts, reverses exactly `earned`."""
    if earned <= 0 or original <= 0 or refunding <= 0:
        return 0
    before = min(max(refunded_before, 0), original)
    after = min(before + refunding, original)
    return _ceil_div(earned * after, original) - _ceil_div(earned * before, original)


def points_value(rule: RedeemRule, points: int) -> int:
    """Minor units `points` pay for, rounded down."""
    return max(points, 0) * rule.value // rule.points


def points_for_amount(rule: RedeemRule, amount: int) -> int:
    """The most points whose value is at most `amount` (what to offer when the customer redeems "all they can")."""
    if rule.value == 0 or amount <= 0:
        return 0
    return amount * rule.points // rule.value


def check_redeem(position: Position, points: int, rule: RedeemRule, *, due: int | None = None,
                 money: Callable[[int], str]) -> int:
    """Redeem `points` against `position` (the customer's points); the money they pay, or Refused with why.

    `due` (what the sale still owes) caps it: points never pay more than is due, and never give change."""
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise Refused("Points to redeem must be a whole number above zero")
    if points < rule.min_points:
        raise Refused(f"At least {rule.min_points} points can be redeemed at a time")
    balance = position.balance
    if points > balance:
        raise Refused(f"The customer has {max(balance, 0)} points on this register's last fleet update "
                      f"plus its sales since; {points} is too many")
    if rule.offline_cap is not None:
        left = max(0, rule.offline_cap - position.outflow(REDEEM))
        if points > left:
            raise Refused(f"Until the fleet confirms, at most {rule.offline_cap} points per customer can be redeemed "
                          f"on this register; {left} left")
    value = points_value(rule, points)
    if value <= 0:
        raise Refused(f"{points} points are worth nothing; {rule.points} points pay {money(rule.value)}")
    if due is not None and value > due:
        raise Refused(f"{points} points pay {money(value)}, more than the {money(due)} due; "
                      f"redeem {points_for_amount(rule, due)} points at most")
    return value


def earn_entry(customer: str, points: int) -> dict[str, Any]:
    """The receipt's `accounts` entry for points earned (docs/accounts.md)."""
    return {"type": "loyalty_earn", "customer": customer, "points": _positive(points)}


def redeem_entry(customer: str, points: int, value: int) -> dict[str, Any]:
    """The receipt's `accounts` entry for points redeemed; `value` is the money they paid (a "loyalty" tender)."""
    return {"type": "loyalty_redeem", "customer": customer, "points": _positive(points), "value": value}


def reverse_entry(customer: str, points: int, refund_of: str) -> dict[str, Any]:
    """The receipt's `accounts` entry for points a refund takes back from the receipt `refund_of`."""
    return {"type": "loyalty_reverse", "customer": customer, "points": _positive(points), "refund_of": refund_of}


def group_lines(lines: Iterable[tuple[str, int]], group_of: Mapping[str, str]) -> list[EarnLine]:
    """(sku, amount) pairs as EarnLines, each with its group from `group_of` (sku -> group)."""
    return [EarnLine(sku, amount, group_of.get(sku)) for sku, amount in lines]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(points: int) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise DomainError(f"Points on a receipt are a whole number above zero, not {points!r}")
    return points
