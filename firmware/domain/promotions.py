"""Coupons and promotions: a pure, deterministic engine that prices a cart under the shop's rules (docs/promotions.md).

`PromotionBook(promotions, sku_groups)` indexes the catalog's rules once; `book.price(lines, now=..., clock_trusted=...,
codes=...)` returns, per applied promotion, its saving and that saving's exact split over the lines, and per line
what its units paid (`tiers`, in refund order) so `refund_share` gives back exactly what was paid for refunded
units. Amounts are integer minor units; nothing here reads a clock: `now` comes from the till.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from firmware.domain.errors import DomainError, PayloadInvalid
from firmware.domain.lines import allocate
from firmware.domain.money import scale
from firmware.domain.promotion_rules import (
    Applied,
    ClassKey,
    LinePrice,
    Priced,
    PromoLine,
    Promotion,
    Tier,
    deal_components,
    normalize_code,
    paid_for,
    refund_share,
    solve_deals,
)

__all__ = ["PromoLine", "Tier", "LinePrice", "Applied", "Priced", "PromotionBook", "price_cart", "refund_share",
           "paid_for"]



# ---- working state --------------------------------------------------------------------------------------------

class _Line:
    """A line being priced: paid-per-unit -> count (a weighed line is one unit: the whole line)."""

    __slots__ = ("src", "units", "savings", "gross", "paid", "rules")

    def __init__(self, src: PromoLine, rules: list[Promotion]) -> None:
        self.src = src
        self.gross = src.unit_price * src.qty if isinstance(src.qty, int) else src.gross
        self.paid = self.gross
        self.units: dict[int, int] = {src.unit_price: src.qty} if isinstance(src.qty, int) else {self.gross: 1}
        self.savings: dict[str, int] = {}
        self.rules = rules  # the active targeted rules this line's SKU meets, by id

    def take(self, each: int, count: int, cut: int, pid: str) -> None:
        """`count` units paying `each` save `cut` each, for promotion `pid`."""
        if cut <= 0 or count <= 0:
            return
        left = self.units[each] - count
        if left:
            self.units[each] = left
        else:
            del self.units[each]
        self.units[each - cut] = self.units.get(each - cut, 0) + count
        self.savings[pid] = self.savings.get(pid, 0) + cut * count
        self.paid -= cut * count


def _unit_cut(promo: Promotion, line: _Line, each: int) -> int:
    """A discount's saving on one unit paying `each` (a weighed line's single unit is the whole line)."""
    if promo.percent is not None:
        return scale(each, promo.percent, 100)
    amount = promo.amount or 0
    return min(each, scale(amount, line.src.qty) if line.src.weighed else amount)


def _spread_line(line: _Line, share: int, pid: str) -> None:
    """Spread a line's share of a basket saving over its units by what they pay; never more than a unit pays."""
    slots = sorted(line.units.items(), reverse=True)
    parts = allocate(share, [each * n for each, n in slots])
    for (each, n), part in zip(slots, parts, strict=True):
        if part:
            low, extra = divmod(part, n)
            if extra:
                line.take(each, extra, low + 1, pid)
            if low:
                line.take(each, n - extra, low, pid)


def _basket_saving(promo: Promotion, paid: int) -> int:
    if promo.percent is not None:
        return scale(paid, promo.percent, 100)
    return min(promo.amount or 0, paid)


# ---- the book -------------------------------------------------------------------------------------------------

class PromotionBook:
    """The shop's promotions, indexed by SKU and group once (per catalog), so pricing a cart looks only at the
    rules its SKUs can meet. Immutable after construction."""

    def __init__(self, promotions: Iterable[Promotion], sku_groups: Mapping[str, Iterable[str]] | None = None) -> None:
        self.promotions: tuple[Promotion, ...] = tuple(sorted(promotions, key=lambda p: p.promotion_id))
        self.sku_groups: dict[str, frozenset[str]] = {sku: frozenset(g) for sku, g in (sku_groups or {}).items()}
        self._by_sku: dict[str, list[Promotion]] = {}
        self._by_group: dict[str, list[Promotion]] = {}
        self._untargeted: list[Promotion] = []
        self._code_owner: dict[str, str] = {}
        self._rules_of: dict[str, tuple[Promotion, ...]] = {}  # filled as SKUs are sold (a benign race)
        seen: set[str] = set()
        for promo in self.promotions:
            if promo.promotion_id in seen:
                raise PayloadInvalid(f"Promotions: id {promo.promotion_id!r} appears twice")
            seen.add(promo.promotion_id)
            for code in promo.codes:
                owner = self._code_owner.setdefault(code, promo.promotion_id)
                if owner != promo.promotion_id and promo.single_use:
                    raise PayloadInvalid(f"Promotions: single-use code {code} is on {owner} and {promo.promotion_id}")
            for sku in promo.skus:
                self._by_sku.setdefault(sku, []).append(promo)
            for group in promo.groups:
                self._by_group.setdefault(group, []).append(promo)
            if not promo.targeted:
                self._untargeted.append(promo)

    def __len__(self) -> int:
        return len(self.promotions)

    def groups_of(self, sku: str) -> frozenset[str]:
        return self.sku_groups.get(sku, frozenset())

    def rules_for(self, sku: str) -> tuple[Promotion, ...]:
        """The targeted rules a SKU meets (by SKU or by one of its groups), by id; remembered per SKU."""
        known = self._rules_of.get(sku)
        if known is None:
            found: dict[str, Promotion] = {p.promotion_id: p for p in self._by_sku.get(sku, ())}
            for group in self.groups_of(sku):
                for promo in self._by_group.get(group, ()):
                    found[promo.promotion_id] = promo
            known = self._rules_of[sku] = tuple(found[pid] for pid in sorted(found))
        return known

    def price(self, lines: Sequence[PromoLine], *, now: datetime, clock_trusted: bool, codes: Iterable[str] = (),
              used_codes: Iterable[str] = ()) -> Priced:
        """Price `lines` at `now` (aware, shop time). `codes`: what the cashier entered; `used_codes`: single-use
        coupons this till already knows are spent (they unlock nothing)."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise DomainError("Promotions are priced at an aware datetime in shop time")
        _check_lines(lines)
        ordered = sorted(lines, key=lambda ln: ln.line_no)
        by_sku = {sku: self.rules_for(sku) for sku in sorted({ln.sku for ln in ordered})}
        entered = sorted({normalize_code(c) for c in codes if normalize_code(c)})
        spent = {normalize_code(c) for c in used_codes}
        problems: dict[str, str] = {}
        for code in entered:
            if code not in self._code_owner:
                problems[code] = "No promotion has this code"
            elif code in spent:
                problems[code] = "This coupon has already been used"
        usable = [c for c in entered if c not in problems]
        active: list[Promotion] = []
        unlocked_by: dict[str, str] = {}
        held: list[str] = []
        seen: dict[str, Promotion] = {p.promotion_id: p for p in self._untargeted}
        for rules in by_sku.values():
            seen.update((p.promotion_id, p) for p in rules)
        for promo in (seen[pid] for pid in sorted(seen)):
            if promo.codes:
                mine = [c for c in usable if c in promo.codes]
                if not mine:
                    continue
                unlocked_by[promo.promotion_id] = mine[0]
            if promo.window is not None:
                if not clock_trusted:
                    held.append(promo.promotion_id)
                    continue
                if not promo.window.contains(now):
                    continue
            active.append(promo)
        on = {p.promotion_id for p in active}
        work = [_Line(ln, [p for p in by_sku[ln.sku] if p.promotion_id in on]) for ln in ordered]
        self._item_stage(work, [p for p in active if p.item_stage])
        work = self._basket_stage(work, [p for p in active if not p.item_stage])
        return self._result(work, active, unlocked_by, usable, problems, held)

    # -- item stage --------------------------------------------------------------------------------------------

    def _item_stage(self, work: list[_Line], promos: list[Promotion]) -> None:
        deals = [p for p in promos if p.kind == "multi_buy"]
        deal_index = {p.promotion_id: i for i, p in enumerate(deals)}
        # counted units pool by (price, sku): interchangeable; weighed lines stand alone
        classes: dict[ClassKey, list[_Line]] = {}
        for line in work:
            if line.src.weighed:
                best = _best_discount(line, line.gross)
                if best is not None:
                    line.take(line.gross, 1, _unit_cut(best, line, line.gross), best.promotion_id)
            else:
                classes.setdefault((-line.src.unit_price, line.src.sku), []).append(line)
        keys = sorted(classes)
        fallback: dict[ClassKey, tuple[int, Promotion | None]] = {}
        eligible: dict[ClassKey, list[int]] = {}
        for key in keys:
            first = classes[key][0]
            best = _best_discount(first, -key[0])
            fallback[key] = (0, None) if best is None else (_unit_cut(best, first, -key[0]), best)
            eligible[key] = [deal_index[p.promotion_id] for p in first.rules if p.kind == "multi_buy"]
        drawn: dict[int, int] = {line.src.line_no: 0 for line in work}  # units of each line already in deals
        for members, member_keys in deal_components(keys, eligible, len(deals)):
            local = {index: j for j, index in enumerate(members)}
            rows = [(key, sum(int(line.src.qty) for line in classes[key]), fallback[key][0],
                     [local[i] for i in eligible[key]]) for key in member_keys]
            chosen = solve_deals([deals[i] for i in members], rows)
            for j, counts in enumerate(chosen):
                _deal_out(deals[members[j]], counts, classes, drawn)
        for key in keys:
            cut, promo = fallback[key]
            if promo is not None and cut > 0:
                for line in classes[key]:
                    line.take(-key[0], int(line.src.qty) - drawn[line.src.line_no], cut, promo.promotion_id)
        stacked: dict[str, list[_Line]] = {}
        for line in work:
            for promo in line.rules:
                if promo.stackable and promo.item_stage:
                    stacked.setdefault(promo.promotion_id, []).append(line)
        rules = {p.promotion_id: p for p in promos}
        for pid in sorted(stacked):
            for line in stacked[pid]:
                for each, n in sorted(line.units.items(), reverse=True):
                    line.take(each, n, _unit_cut(rules[pid], line, each), pid)

    # -- basket stage ------------------------------------------------------------------------------------------

    def _basket_stage(self, work: list[_Line], promos: list[Promotion]) -> list[_Line]:
        """At most one exclusive basket rule (the one that leaves the least to pay), then the stackable ones."""
        if not promos:
            return work
        targeted: dict[str, list[int]] = {}
        for i, line in enumerate(work):
            for promo in line.rules:
                if not promo.item_stage:
                    targeted.setdefault(promo.promotion_id, []).append(i)
        everything = list(range(len(work)))
        qualifying: dict[str, list[int]] = {}
        for promo in promos:
            idx = targeted.get(promo.promotion_id, []) if promo.targeted else everything
            if idx and sum(work[i].gross for i in idx) >= promo.spend:
                qualifying[promo.promotion_id] = idx
        promos = [p for p in promos if p.promotion_id in qualifying]
        stackable = [p for p in promos if p.stackable]
        start = [line.paid for line in work]
        alone = {p.promotion_id: _basket_saving(p, sum(start[i] for i in qualifying[p.promotion_id])) for p in promos}
        ceiling = sum(alone[p.promotion_id] for p in stackable)  # what stackables save can only shrink after another
        choices: list[Promotion | None] = [None, *sorted((p for p in promos if not p.stackable),
                                                         key=lambda p: (-alone[p.promotion_id], p.promotion_id))]
        best: list[tuple[str, list[int], list[int]]] = []
        best_key = (-1, 0)
        exclusive_ids = sorted(p.promotion_id for p in choices if p is not None)
        for first in choices:
            if first is not None and alone[first.promotion_id] + ceiling < best_key[0]:
                continue  # cannot beat the best so far
            paid = list(start)  # the basket stage works on line amounts: a saving is spread over lines by amount
            plan: list[tuple[str, list[int], list[int]]] = []
            saved = 0
            for promo in ([first] if first is not None else []) + stackable:
                idx = qualifying[promo.promotion_id]
                saving = _basket_saving(promo, sum(paid[i] for i in idx))
                if saving:
                    shares = allocate(saving, [paid[i] for i in idx])
                    for i, share in zip(idx, shares, strict=True):
                        paid[i] -= share
                    plan.append((promo.promotion_id, idx, shares))
                    saved += saving
            # the most saved wins; equal savings: no exclusive rule, then the smaller promotion id
            order = 0 if first is None else -exclusive_ids.index(first.promotion_id) - 1
            if (saved, order) > best_key:
                best, best_key = plan, (saved, order)
        for pid, idx, shares in best:
            for i, share in zip(idx, shares, strict=True):
                if share:
                    _spread_line(work[i], share, pid)
        return work

    # -- the answer --------------------------------------------------------------------------------------------

    def _result(self, work: list[_Line], active: list[Promotion], unlocked_by: Mapping[str, str],
                usable: list[str], problems: dict[str, str], held: list[str]) -> Priced:
        applied = []
        consumed: list[str] = []
        used: set[str] = set()
        splits: dict[str, list[tuple[int, int]]] = {}
        for line in work:
            for pid, saving in line.savings.items():
                if saving:
                    splits.setdefault(pid, []).append((line.src.line_no, saving))
        for promo in active:
            pid = promo.promotion_id
            split = tuple(splits.get(pid, ()))
            if not split:
                continue
            code = unlocked_by.get(pid)
            if code is not None:
                used.add(code)
                if promo.single_use:
                    consumed.append(code)
            applied.append(Applied(pid, promo.name, sum(s for _, s in split), split, code))
        held_ids = set(held)
        for code in usable:
            if code in used:
                continue
            owner = self._code_owner[code]
            if owner in held_ids:
                problems[code] = "This promotion has a time window and the till's clock is not set"
            elif any(a.promotion_id == owner for a in applied):
                problems[code] = "Another code already unlocked this promotion"
            else:
                problems[code] = "The promotion for this code does not apply to this cart now"
        priced = []
        for line in work:
            src = line.src
            if src.weighed:
                tiers: tuple[Tier, ...] = (Tier(src.qty, line.paid),)
            else:
                tiers = tuple(Tier(n, each * n) for each, n in sorted(line.units.items(), reverse=True) if n)
            priced.append(LinePrice(src.line_no, src.sku, src.qty, line.gross, line.gross - line.paid, tiers))
        return Priced(tuple(priced), tuple(applied), tuple(sorted(consumed)), tuple(sorted(problems.items())),
                      tuple(held))


def price_cart(lines: Sequence[PromoLine], promotions: Iterable[Promotion], *, sku_groups: Mapping[str, Iterable[str]]
               | None = None, now: datetime, clock_trusted: bool, codes: Iterable[str] = (),
               used_codes: Iterable[str] = ()) -> Priced:
    """One-off pricing (builds the index each call; a till keeps a PromotionBook per catalog instead)."""
    return PromotionBook(promotions, sku_groups).price(lines, now=now, clock_trusted=clock_trusted, codes=codes,
                                                       used_codes=used_codes)


def _check_lines(lines: Sequence[PromoLine]) -> None:
    numbers = set()
    for line in lines:
        if line.line_no in numbers:
            raise DomainError(f"Line {line.line_no} appears twice")
        numbers.add(line.line_no)
        if not isinstance(line.unit_price, int) or isinstance(line.unit_price, bool) or line.unit_price < 0:
            raise DomainError(f"Line {line.line_no}: a unit price is money, zero or more")
        qty = line.qty
        if isinstance(qty, bool) or not isinstance(qty, (int, Decimal)) or qty <= 0:
            raise DomainError(f"Line {line.line_no}: quantity must be more than zero")


def _best_discount(line: _Line, each: int) -> Promotion | None:
    """The exclusive discount that saves most on a unit paying `each` (ties: the smaller id; rules are by id)."""
    best, best_cut = None, 0
    for promo in line.rules:
        if promo.kind != "discount" or promo.stackable:
            continue
        cut = _unit_cut(promo, line, each)
        if cut > best_cut:
            best, best_cut = promo, cut
    return best




def _deal_out(deal: Promotion, counts: Mapping[ClassKey, int], classes: Mapping[ClassKey, list[_Line]],
              drawn: dict[int, int]) -> None:
    """Bundle a deal's units dearest first and hand each bundle's saving to its units."""
    size, pending, filled = deal.buy, [], 0
    for key in sorted(counts):
        left = counts[key]
        while left:
            if not filled and left >= size:
                times = left // size
                _bundle(deal, [(key, size)], classes, drawn, times)
                left -= times * size
                continue
            take = min(left, size - filled)
            pending.append((key, take))
            filled, left = filled + take, left - take
            if filled == size:
                _bundle(deal, pending, classes, drawn, 1)
                pending, filled = [], 0


def _bundle(deal: Promotion, parts: Sequence[tuple[ClassKey, int]], classes: Mapping[ClassKey, list[_Line]],
            drawn: dict[int, int], times: int) -> None:
    """`times` identical bundles made of `parts`: the saving is spread over its units by price."""
    prices = [-key[0] for key, n in parts for _ in range(n)]
    if deal.pay is not None:
        saving = sum(prices[deal.pay:])
    else:
        saving = max(0, sum(prices) - (deal.price or 0))
    shares = allocate(saving, prices)
    at = 0
    for key, n in parts:
        tally: dict[int, int] = {}
        for share in shares[at:at + n]:
            tally[share] = tally.get(share, 0) + 1
        at += n
        for share in sorted(tally, reverse=True):
            _draw(classes[key], drawn, -key[0], tally[share] * times, share, deal.promotion_id)


def _draw(lines: Sequence[_Line], drawn: dict[int, int], price: int, count: int, cut: int, pid: str) -> None:
    """Put `count` more units of a class (lines by number, units not yet in a deal) in a deal, `cut` off each."""
    for line in lines:
        if not count:
            return
        number = line.src.line_no
        take = min(int(line.src.qty) - drawn[number], count)
        if take > 0:
            line.take(price, take, cut, pid)
            drawn[number] += take
            count -= take
