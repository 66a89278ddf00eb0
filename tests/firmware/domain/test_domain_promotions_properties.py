"""Hypothesis properties of the promotions engine: never negative, scan order free, optimal, exact, refundable."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.promotion_rules import Promotion, Tier
from firmware.domain.promotions import PromoLine, PromotionBook, paid_for, refund_share

NOW = datetime(2026, 12, 2, 17, 30, tzinfo=timezone(timedelta(hours=1)))
GROUPS = {"A": ["g1"], "B": ["g1", "g2"], "C": ["g2"], "W": ["g2"]}
COUNTED = ["A", "B", "C", "D"]


@st.composite
def carts(draw, max_lines=6, max_qty=4, weighed=True):
    n = draw(st.integers(1, max_lines))
    lines = []
    for number in range(1, n + 1):
        if weighed and draw(st.integers(0, 5)) == 0:
            qty = draw(st.decimals(min_value="0.001", max_value="3", places=3))
            lines.append(PromoLine(number, "W", draw(st.integers(0, 2_000)), qty))
        else:
            unit = draw(st.sampled_from([0, 99, 100, 129, 250, 333, 1000]))
            lines.append(PromoLine(number, draw(st.sampled_from(COUNTED)), unit, draw(st.integers(1, max_qty))))
    return lines


def targets(draw):
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return frozenset(draw(st.lists(st.sampled_from(COUNTED + ["W"]), min_size=1, max_size=2))), frozenset()
    if kind == 1:
        return frozenset(), frozenset([draw(st.sampled_from(["g1", "g2"]))])
    return frozenset(draw(st.lists(st.sampled_from(COUNTED), min_size=1, max_size=1))), frozenset(["g2"])


@st.composite
def rules(draw, item_only=False, max_rules=5):
    found = []
    for i in range(draw(st.integers(0, max_rules))):
        pid = f"P{i}"
        choice = draw(st.integers(0, 1 if item_only else 3))
        skus, groups = targets(draw)
        if choice == 0:
            buy = draw(st.integers(2, 3))
            if draw(st.booleans()):
                pay = draw(st.integers(1, buy - 1))
                found.append(Promotion(pid, "deal", "multi_buy", skus, groups, buy=buy, pay=pay))
            else:
                price = draw(st.integers(0, 900))
                found.append(Promotion(pid, "deal", "multi_buy", skus, groups, buy=buy, price=price))
        elif choice == 1:
            pct = draw(st.none() | st.integers(1, 100).map(Decimal))
            amount = None if pct is not None else draw(st.integers(1, 400))
            stack = False if item_only else draw(st.booleans())
            found.append(Promotion(pid, "off", "discount", skus, groups, percent=pct, amount=amount, stackable=stack))
        else:
            cart = draw(st.booleans())
            pct = draw(st.none() | st.integers(1, 100).map(Decimal))
            amount = None if pct is not None else draw(st.integers(1, 3000))
            if choice == 2:
                found.append(Promotion(pid, "cart off", "discount", percent=pct, amount=amount,
                                       stackable=draw(st.booleans())))
            else:
                found.append(Promotion(pid, "spend save", "spend_save", frozenset() if cart else skus,
                                       frozenset() if cart else groups, percent=pct, amount=amount,
                                       spend=draw(st.integers(1, 3000)), stackable=draw(st.booleans())))
    return found


def price(lines, promos, **kw):
    return PromotionBook(promos, GROUPS).price(lines, now=NOW, clock_trusted=True, **kw)


def expand(tiers):
    """Per-unit paid amounts of a counted line, in refund order."""
    return [t.paid // t.qty for t in tiers for _ in range(t.qty)]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(carts(), rules())
def test_never_negative_and_every_split_sums_exactly(lines, promos):
    priced = price(lines, promos)
    assert 0 <= priced.total <= priced.gross
    assert priced.saving == priced.gross - priced.total
    per_line = {ln.line_no: 0 for ln in lines}
    for applied in priced.applied:
        assert applied.saving > 0 and sum(s for _, s in applied.lines) == applied.saving
        assert all(share > 0 for _, share in applied.lines)
        for number, share in applied.lines:
            per_line[number] += share
    for line in priced.lines:
        assert 0 <= line.saving <= line.gross
        assert per_line[line.line_no] == line.saving
        assert sum(t.paid for t in line.tiers) == line.paid >= 0
        assert sum(Decimal(t.qty) for t in line.tiers) == Decimal(line.qty)
        if isinstance(line.qty, int):
            each = [t.paid // t.qty for t in line.tiers]
            assert all(t.paid % t.qty == 0 for t in line.tiers) and each == sorted(each, reverse=True)
    assert [a.promotion_id for a in priced.applied] == sorted(a.promotion_id for a in priced.applied)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(carts(), rules(), st.randoms(use_true_random=False))
def test_scan_order_does_not_matter(lines, promos, rnd):
    priced = price(lines, promos)
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert price(shuffled, promos) == priced
    shuffled_rules = list(promos)
    rnd.shuffle(shuffled_rules)
    assert price(lines, shuffled_rules) == priced
    # scanned in another order means other line numbers: the money is the same
    renumbered = [replace(line, line_no=n) for n, line in enumerate(shuffled, 1)]
    again = price(renumbered, promos)
    assert (again.total, again.saving) == (priced.total, priced.saving)
    assert {a.promotion_id: a.saving for a in again.applied} == {a.promotion_id: a.saving for a in priced.applied}


def brute_force(lines, promos):
    """The best exclusive item saving over EVERY way to put units in complete bundles of the deals (each unit in
    at most one); units in no bundle get the best exclusive discount they are eligible for."""
    deals = [p for p in promos if p.kind == "multi_buy"]
    discounts = [p for p in promos if p.kind == "discount" and p.targeted and not p.stackable]

    def groups(sku):
        return frozenset(GROUPS.get(sku, ()))

    def best_off(sku, each, qty=None):
        cuts = [0]
        for p in discounts:
            if p.matches(sku, groups(sku)):
                if p.percent is not None:
                    cuts.append(_half_up(Decimal(each) * p.percent / 100))
                else:
                    cuts.append(min(each, p.amount if qty is None else _half_up(Decimal(p.amount) * qty)))
        return max(cuts)

    weighed = sum(best_off("W", ln.gross, ln.qty) for ln in lines if ln.weighed)
    units = [(ln.sku, ln.unit_price) for ln in lines if not ln.weighed for _ in range(ln.qty)]
    slots = [None] + [(d, b) for d, deal in enumerate(deals) for b in range(len(units) // deal.buy)]
    best = None
    for choice in itertools.product(*[[s for s in slots if s is None or deals[s[0]].matches(sku, groups(sku))]
                                      for sku, _ in units]):
        bundles: dict = {}
        total = 0
        for (sku, each), slot in zip(units, choice, strict=True):
            if slot is None:
                total += best_off(sku, each)
            else:
                bundles.setdefault(slot, []).append(each)
        if any(len(b) != deals[s[0]].buy for s, b in bundles.items()):
            continue
        for (d, _), prices in bundles.items():
            deal = deals[d]
            prices = sorted(prices, reverse=True)
            total += sum(prices[deal.pay:]) if deal.pay is not None else sum(prices) - deal.price
        best = total if best is None else max(best, total)
    return best + weighed


def _half_up(value: Decimal) -> int:
    from firmware.domain.money import round_half_up
    return round_half_up(value)


@pytest.mark.slow
@settings(max_examples=250, deadline=None)
@given(carts(max_lines=4, max_qty=3), rules(item_only=True, max_rules=3))
def test_the_chosen_combination_is_the_best_of_all(lines, promos):
    counted = sum(ln.qty for ln in lines if not ln.weighed)
    if counted > 6:
        lines = [ln if ln.weighed else replace(ln, qty=1) for ln in lines]
    assert price(lines, promos).saving == brute_force(lines, promos)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(carts(), rules())
def test_the_best_exclusive_basket_rule_is_chosen(lines, promos):
    """Against every choice of at most one exclusive basket rule (the rest of the rules as they are)."""
    exclusive_basket = [p for p in promos if not p.item_stage and not p.stackable]
    others = [p for p in promos if p not in exclusive_basket]
    options = [price(lines, others).saving] + [price(lines, others + [p]).saving for p in exclusive_basket]
    assert price(lines, promos).saving == max(options)


@st.composite
def refund_plans(draw):
    lines = draw(carts())
    promos = draw(rules())
    plan = []  # per line: a list of partial refund quantities
    for line in lines:
        if isinstance(line.qty, int):
            left, parts = line.qty, []
            while left and draw(st.booleans()):
                part = draw(st.integers(1, left))
                parts.append(part)
                left -= part
        else:
            left, parts = line.qty, []
            while left > 0 and draw(st.booleans()):
                part = draw(st.decimals(min_value="0.001", max_value=str(left), places=3))
                parts.append(part)
                left -= part
        plan.append(parts)
    return lines, promos, plan


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(refund_plans())
def test_refunds_give_back_what_was_paid_for_the_units(case):
    lines, promos, plan = case
    priced = price(lines, promos)
    for line, parts in zip(priced.lines, plan, strict=True):
        src = next(ln for ln in lines if ln.line_no == line.line_no)
        before = 0 if isinstance(line.qty, int) else Decimal(0)
        given_back = 0
        for part in parts:
            back = refund_share(line.tiers, before, part)
            assert 0 <= back <= (src.unit_price * part if isinstance(part, int) else line.gross)
            if isinstance(line.qty, int):  # the units given back, dearest-paid first, paid exactly this
                assert back == sum(expand(line.tiers)[before:before + part])
            before += part
            given_back += back
        assert given_back == paid_for(line.tiers, before)
        assert refund_share(line.tiers, before, line.qty - before) == line.paid - given_back
        if not line.saving and isinstance(line.qty, int):  # no promotion touched it: full price back
            assert given_back == src.unit_price * before
    assert sum(paid_for(line.tiers, line.qty) for line in priced.lines) == priced.total


def test_a_refund_of_units_outside_the_deal_gives_the_full_price():
    deal = Promotion("P1", "3 for 2", "multi_buy", frozenset({"A"}), buy=3, pay=2)
    priced = price([PromoLine(1, "A", 100, 4)], [deal])
    line = priced.line(1)
    assert line.tiers == (Tier(1, 100), Tier(2, 134), Tier(1, 66))
    assert [refund_share(line.tiers, n, 1) for n in range(4)] == [100, 67, 67, 66]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from([100, 129, 250]), st.integers(1, 40)),
                min_size=1, max_size=3),
       rules(item_only=True, max_rules=3))
def test_big_quantities_are_split_between_deals_as_well_as_trying_every_split(specs, promos):
    """Above FULL_RANGE the engine tries only the splits an optimum can take; it must find the same saving."""
    import firmware.domain.promotion_rules as engine

    lines = [PromoLine(n, sku, unit, qty) for n, (sku, unit, qty) in enumerate(specs, 1)]
    quick = price(lines, promos)
    saved = engine.FULL_RANGE
    engine.FULL_RANGE = 10**9
    try:
        full = price(lines, promos)
    finally:
        engine.FULL_RANGE = saved
    assert quick.saving == full.saving
