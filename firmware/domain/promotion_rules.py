"""Promotion rules and the engine's inputs and answers: kinds, targets, time windows, codes, priced lines.

The contract model (firmware.contract.promotions) checks a payload as it travels; `promotion_from_dict` builds
the domain's frozen `Promotion` from a checked document, and `Promotion.__post_init__` refuses nonsense again
(PayloadInvalid), so the engine is never fed a rule it cannot price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from firmware.domain.errors import DomainError, PayloadInvalid
from firmware.domain.lines import Qty
from firmware.domain.money import scale, to_decimal

__all__ = ["KINDS", "Window", "Promotion", "normalize_code", "promotion_from_dict", "window_from_dict",
           "CODE_PATTERN", "MAX_CODE_LENGTH", "PromoLine", "Tier", "LinePrice", "Applied", "Priced", "paid_for",
           "refund_share", "ClassKey", "DealRow", "STATE_LIMIT", "FULL_RANGE", "deal_components", "solve_deals"]

KINDS = ("multi_buy", "discount", "spend_save")
MAX_CODE_LENGTH = 32
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$"
_CODE_RE = re.compile(CODE_PATTERN)
_MINUTES_IN_DAY = 24 * 60


def normalize_code(code: str) -> str:
    """A code as the engine compares it: trimmed and upper case ("summer-10 " -> "SUMMER-10")."""
    return code.strip().upper()


@dataclass(frozen=True)
class Window:
    """When a promotion is on, in shop time: ISO weekdays (1 Monday .. 7 Sunday; empty = every day), a time
    range [start_minute, end_minute) in minutes after local midnight (None = all day), and a date range
    [first_day, last_day], both inclusive (None = open). A range that crosses midnight is two promotions."""

    weekdays: frozenset[int] = frozenset()
    start_minute: int | None = None
    end_minute: int | None = None
    first_day: date | None = None
    last_day: date | None = None

    def __post_init__(self) -> None:
        if any(not isinstance(d, int) or not 1 <= d <= 7 for d in self.weekdays):
            raise PayloadInvalid("Promotion window: weekdays are 1 (Monday) to 7 (Sunday)")
        if (self.start_minute is None) != (self.end_minute is None):
            raise PayloadInvalid("Promotion window: give both a start and an end time, or neither")
        if self.start_minute is not None and self.end_minute is not None and not (
                0 <= self.start_minute < self.end_minute <= _MINUTES_IN_DAY):
            raise PayloadInvalid("Promotion window: the end time must be after the start time, within one day")
        if self.first_day is not None and self.last_day is not None and self.last_day < self.first_day:
            raise PayloadInvalid("Promotion window: the last day is before the first day")

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (aware, in shop time) is inside the window."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise DomainError("A promotion window needs an aware datetime in shop time")
        day = moment.date()
        if self.first_day is not None and day < self.first_day:
            return False
        if self.last_day is not None and day > self.last_day:
            return False
        if self.weekdays and moment.isoweekday() not in self.weekdays:
            return False
        if self.start_minute is not None and self.end_minute is not None:
            minute = moment.hour * 60 + moment.minute
            return self.start_minute <= minute < self.end_minute
        return True


@dataclass(frozen=True)
class Promotion:
    """One rule. `kind`:

    - "multi_buy": `buy` units of the target (any mix of its SKUs: mix and match when the target spans several)
      for the price of `pay` units (3 for 2: buy=3, pay=2), or for the fixed `price` (3 for €5: buy=3,
      price=500). Counted units only; always exclusive (a unit is in at most one exclusive deal).
    - "discount": `percent` off, or `amount` off each unit (per kg for weighed items) of the target; with no
      target, `percent` or `amount` off the cart (once).
    - "spend_save": when the shelf-price total of the target (no target: the cart) reaches `spend`, save
      `amount` or `percent` of it.

    `stackable` rules apply on top of others; exclusive ones compete (docs/promotions.md). `window` limits it in
    time; `codes` (normalized) makes it need one of them entered; `single_use` codes are consumed by a sale.
    """

    promotion_id: str
    name: str
    kind: str
    skus: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    buy: int = 0
    pay: int | None = None
    price: int | None = None
    percent: Decimal | None = None
    amount: int | None = None
    spend: int = 0
    stackable: bool = False
    window: Window | None = None
    codes: frozenset[str] = frozenset()
    single_use: bool = False

    def __post_init__(self) -> None:
        where = f"Promotion {self.promotion_id!r}"
        if not self.promotion_id or not self.name:
            raise PayloadInvalid("Promotion: needs an id and a name for the receipt")
        if self.kind not in KINDS:
            raise PayloadInvalid(f"{where}: unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.percent is not None and not Decimal(0) < self.percent <= Decimal(100):
            raise PayloadInvalid(f"{where}: a percentage is more than 0 and at most 100")
        for label, value in (("amount", self.amount), ("price", self.price), ("spend", self.spend)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise PayloadInvalid(f"{where}: '{label}' must be money, zero or more")
        if self.kind == "multi_buy":
            if not self.targeted:
                raise PayloadInvalid(f"{where}: a multi-buy needs SKUs or groups")
            if not isinstance(self.buy, int) or not 2 <= self.buy <= 100:
                raise PayloadInvalid(f"{where}: a multi-buy needs 'buy' between 2 and 100 units")
            if (self.pay is None) == (self.price is None):
                raise PayloadInvalid(f"{where}: a multi-buy has either 'pay' (units) or 'price' (money)")
            if self.pay is not None and not 1 <= self.pay < self.buy:
                raise PayloadInvalid(f"{where}: 'pay' must be at least 1 and less than 'buy'")
            if self.stackable:
                raise PayloadInvalid(f"{where}: a multi-buy cannot be stackable; its units are used up")
            if self.percent is not None or self.amount is not None:
                raise PayloadInvalid(f"{where}: a multi-buy has no 'percent' or 'amount'")
        else:
            if (self.percent is None) == (self.amount is None):
                raise PayloadInvalid(f"{where}: give a 'percent' or an 'amount', not both")
            if self.amount == 0:
                raise PayloadInvalid(f"{where}: an amount off must be more than zero")
            if self.buy or self.pay is not None or self.price is not None:
                raise PayloadInvalid(f"{where}: only a multi-buy has 'buy', 'pay' or 'price'")
        if self.kind != "spend_save" and self.spend:
            raise PayloadInvalid(f"{where}: only spend-and-save has 'spend'")
        if self.kind == "spend_save" and self.spend <= 0:
            raise PayloadInvalid(f"{where}: spend-and-save needs a 'spend' threshold above zero")
        if any(not _CODE_RE.match(code) or code != normalize_code(code) for code in self.codes):
            raise PayloadInvalid(f"{where}: codes are 3 to {MAX_CODE_LENGTH} letters, digits, '-' or '_'")
        if self.single_use and not self.codes:
            raise PayloadInvalid(f"{where}: a single-use promotion needs its coupon codes")

    @property
    def targeted(self) -> bool:
        """Whether it names SKUs or groups (otherwise it is about the whole cart)."""
        return bool(self.skus or self.groups)

    @property
    def item_stage(self) -> bool:
        """Priced on units (multi-buy, item/group discounts); the rest are basket rules, priced after."""
        return self.kind == "multi_buy" or (self.kind == "discount" and self.targeted)

    def matches(self, sku: str, sku_groups: frozenset[str]) -> bool:
        return sku in self.skus or not self.groups.isdisjoint(sku_groups)


def _day(raw: object, what: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise PayloadInvalid(f"Promotion window: {what} {raw!r} is not a date such as 2026-12-24") from None


def _minute(raw: object) -> int | None:
    if raw is None:
        return None
    match = re.fullmatch(r"([01][0-9]|2[0-4]):([0-5][0-9])", str(raw))
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise PayloadInvalid(f"Promotion window: {raw!r} is not a time such as 17:30")
    return int(match.group(1)) * 60 + int(match.group(2))


def window_from_dict(d: Mapping[str, Any]) -> Window:
    """A window from its payload form: {"weekdays": [1..7], "start": "17:00", "end": "19:00",
    "first_day": "2026-12-01", "last_day": "2026-12-24"} (every key optional)."""
    return Window(weekdays=frozenset(d.get("weekdays") or ()), start_minute=_minute(d.get("start")),
                  end_minute=_minute(d.get("end")), first_day=_day(d.get("first_day"), "first_day"),
                  last_day=_day(d.get("last_day"), "last_day"))


def promotion_from_dict(d: Mapping[str, Any]) -> Promotion:
    """A Promotion from one entry of the catalog's `promotions` list (firmware.contract.promotions)."""
    try:
        percent = d.get("percent")
        window = d.get("window")
        return Promotion(
            promotion_id=str(d["promotion_id"]), name=str(d["name"]), kind=str(d["kind"]),
            skus=frozenset(d.get("skus") or ()), groups=frozenset(d.get("groups") or ()),
            buy=int(d.get("buy") or 0), pay=d.get("pay"), price=d.get("price"),
            percent=None if percent is None else to_decimal(percent), amount=d.get("amount"),
            spend=int(d.get("spend") or 0), stackable=bool(d.get("stackable", False)),
            window=None if window is None else window_from_dict(window),
            codes=frozenset(normalize_code(c) for c in d.get("codes") or ()),
            single_use=bool(d.get("single_use", False)))
    except (KeyError, TypeError, ValueError, DomainError) as err:
        if isinstance(err, PayloadInvalid):
            raise
        raise PayloadInvalid(f"Promotion {d.get('promotion_id')!r}: unreadable ({err})") from None


# ---- what the engine is given and what it answers -------------------------------------------------------------

@dataclass(frozen=True)
class PromoLine:
    """A cart line as the engine sees it: `qty` an int of units, or Decimal kg for a weighed item."""

    line_no: int
    sku: str
    unit_price: int
    qty: Qty

    @property
    def weighed(self) -> bool:
        return not isinstance(self.qty, int)

    @property
    def gross(self) -> int:
        return scale(self.unit_price, self.qty)


@dataclass(frozen=True)
class Tier:
    """`qty` units of a line that paid `paid` in total (each the same, for counted units)."""

    qty: Qty
    paid: int


@dataclass(frozen=True)
class LinePrice:
    """A line after promotions: `saving` off its `gross`; `tiers` say what its units paid, dearest first (the
    order refunds take them in, see `refund_share`)."""

    line_no: int
    sku: str
    qty: Qty
    gross: int
    saving: int
    tiers: tuple[Tier, ...]

    @property
    def paid(self) -> int:
        return self.gross - self.saving


@dataclass(frozen=True)
class Applied:
    """One promotion the sale got: the name the receipt prints, what it saved, and that saving per line
    ((line_no, minor units), sums exactly to `saving`); `code` is the code that unlocked it, if it needed one."""

    promotion_id: str
    name: str
    saving: int
    lines: tuple[tuple[int, int], ...]
    code: str | None = None


@dataclass(frozen=True)
class Priced:
    """The engine's answer. `consumed_codes`: single-use coupons this sale uses up (the receipt records them);
    `code_problems`: (code, reason) for entered codes that gave nothing; `held_back`: ids of promotions with a
    time window left out because the till's clock is not trusted."""

    lines: tuple[LinePrice, ...]
    applied: tuple[Applied, ...]
    consumed_codes: tuple[str, ...] = ()
    code_problems: tuple[tuple[str, str], ...] = ()
    held_back: tuple[str, ...] = ()

    @property
    def gross(self) -> int:
        return sum(line.gross for line in self.lines)

    @property
    def saving(self) -> int:
        return sum(a.saving for a in self.applied)

    @property
    def total(self) -> int:
        return self.gross - self.saving

    def line(self, line_no: int) -> LinePrice:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise DomainError(f"There is no line {line_no}")


def paid_for(tiers: Sequence[Tier], qty: Qty) -> int:
    """What the first `qty` units of a line paid, taking its tiers in order (dearest first); a weighed line's one
    tier is shared in proportion to the weight, rounded half up."""
    left = Decimal(qty)
    total = 0
    for tier in tiers:
        if left <= 0:
            break
        take = min(left, Decimal(tier.qty))
        total += tier.paid if take == tier.qty else scale(tier.paid, take, Decimal(tier.qty))
        left -= take
    if left > 0:
        raise DomainError("Cannot refund more than the line sold")
    return total


def refund_share(tiers: Sequence[Tier], before: Qty, qty: Qty) -> int:
    """The money a refund of `qty` units gives back when `before` units of the line were refunded already:
    paid_for(before + qty) - paid_for(before). Any sequence of partial refunds adds up to paid_for(total)."""
    return paid_for(tiers, before + qty) - paid_for(tiers, before)


ClassKey = tuple[int, str]  # a price class of counted units: (-unit price, sku), so sorting puts the dearest first
DealRow = tuple[ClassKey, int, int, list[int]]  # class, units, exclusive discount per unit it would get instead, deals
STATE_LIMIT = 216  # residue states of one group of overlapping multi-buys solved together (docs/promotions.md)
FULL_RANGE = 64  # a deal may take any number of a class's units up to this many; beyond, only those an optimum can


# ---- multi-buys: the best assignment of units to deals (for firmware.domain.promotions) ----------------------

def deal_components(keys: Sequence[ClassKey], eligible: Mapping[ClassKey, list[int]],
                count: int) -> list[tuple[list[int], list[ClassKey]]]:
    """Deals that share units (directly or through others), with their classes; solved one group at a time."""
    parent = list(range(count))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for key in keys:
        first, *rest = eligible[key] or [-1]
        for other in rest:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    found: dict[int, tuple[list[int], list[ClassKey]]] = {}
    for key in keys:
        if eligible[key]:
            found.setdefault(find(eligible[key][0]), ([], []))[1].append(key)
    for i in range(count):
        if find(i) in found:
            found[find(i)][0].append(i)
    return [found[root] for root in sorted(found)]


def solve_deals(deals: Sequence[Promotion], rows: Sequence[DealRow]) -> list[dict[ClassKey, int]]:
    """Units of each class per deal, maximizing the saving (deals by id; groups of deals too many to solve together
    are solved in id order, each on what the ones before left)."""
    result: list[dict[ClassKey, int]] = [{} for _ in deals]
    left = {row[0]: row[1] for row in rows}
    lo = 0
    while lo < len(deals):
        hi, states = lo + 1, deals[lo].buy
        while hi < len(deals) and states * deals[hi].buy <= STATE_LIMIT:
            states *= deals[hi].buy
            hi += 1
        part = [(key, left[key], d, [j - lo for j in elig if lo <= j < hi]) for key, _, d, elig in rows]
        for j, counts in enumerate(_dp(deals[lo:hi], [row for row in part if row[3] and row[1]])):
            result[lo + j] = counts
            for key, units in counts.items():
                left[key] -= units
        lo = hi
    return result


def _dp(deals: Sequence[Promotion], rows: Sequence[DealRow]) -> list[dict[ClassKey, int]]:
    """Dynamic programme over the classes, dearest first; the state is each deal's units mod its bundle size (one
    int, mixed radix), so every deal's units are bundled dearest first (the best bundling of any set of units:
    docs/promotions.md). Within a class the deals take their units one deal after the other."""
    if len(deals) == 1 and len(rows) == 1:  # one deal, one class: whole bundles, or none
        deal, (key, units, instead, _) = deals[0], rows[0]
        bundles = units // deal.buy
        gain = _gain(deal, -key[0], 0, bundles * deal.buy)[0] - bundles * deal.buy * instead
        return [{key: bundles * deal.buy} if bundles and gain > 0 else {}]
    sizes = [deal.buy for deal in deals]
    radix = [1] * len(deals)
    for j in range(1, len(deals)):
        radix[j] = radix[j - 1] * sizes[j - 1]
    later = [0] * len(deals)  # units still to come that each deal could take
    for _, units, _, elig in rows:
        for j in elig:
            later[j] += units
    top = max(sizes)
    states: dict[int, int] = {0: 0}
    trail: list[tuple[list[dict[tuple[int, int], tuple[int, int, int]]], dict[int, int]]] = []
    for key, units, instead, elig in rows:
        price = -key[0]
        for j in elig:
            later[j] -= units  # now: units of the classes after this one
        span = max(FULL_RANGE, 2 * sum(sizes[j] * (top + 1) for j in elig))
        layer: dict[tuple[int, int], int] = {(state, 0): value for state, value in states.items()}
        backs: list[dict[tuple[int, int], tuple[int, int, int]]] = []
        for j in elig:
            deal, size, rad = deals[j], sizes[j], radix[j]
            step: dict[tuple[int, int], int] = {}
            back: dict[tuple[int, int], tuple[int, int, int]] = {}
            gains: dict[tuple[int, int], tuple[int, int]] = {}
            for node in sorted(layer):
                state, used = node
                base, residue, left = layer[node], (state // rad) % size, units - used
                takes = range(left + 1) if left < span else [*range(span // 2), *range(left - span // 2 + 1, left + 1)]
                for taken in takes:
                    found = gains.get((residue, taken))
                    if found is None:
                        gain, after = _gain(deal, price, residue, taken)
                        found = gains[(residue, taken)] = (gain - taken * instead, after)
                    if found[1] and found[1] + later[j] < size:
                        continue  # a bundle the units still to come cannot complete
                    target = (state + (found[1] - residue) * rad, used + taken)
                    value = base + found[0]
                    if target not in step or value > step[target]:
                        step[target], back[target] = value, (state, used, taken)
            layer = step
            backs.append(back)
        states, pick = {}, {}
        for node in sorted(layer):
            state, value = node[0], layer[node]
            if state not in states or value > states[state]:
                states[state], pick[state] = value, node[1]
        trail.append((backs, pick))
    counts: list[dict[ClassKey, int]] = [{} for _ in deals]
    state = 0
    for (key, _, _, elig), (backs, pick) in zip(reversed(rows), reversed(trail), strict=True):
        node = (state, pick[state])
        for j, back in zip(reversed(elig), reversed(backs), strict=True):
            previous, used, taken = back[node]
            if taken:
                counts[j][key] = taken
            node = (previous, used)
        state = node[0]
    return counts


def _gain(deal: Promotion, price: int, residue: int, taken: int) -> tuple[int, int]:
    """Saving of `taken` more units at `price` for a deal whose units so far fill `residue` of a bundle."""
    size, end = deal.buy, residue + taken
    if deal.pay is not None:
        pay = deal.pay
        free_end = (end // size) * (size - pay) + max(0, end % size - pay)  # units at the cheap end of a bundle
        return price * (free_end - max(0, residue - pay)), end % size
    return taken * price - (deal.price or 0) * (end // size), end % size
