"""Refunds of promoted lines: units come back at what they paid (docs/promotions.md#allocation-and-refunds)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import event, given, settings, strategies as st

from firmware.chain import GENESIS
from firmware.domain import refunds, sale_promotions as sp
from firmware.domain.catalog import Item
from firmware.domain.lines import qty_value
from firmware.domain.promotion_rules import Tier, promotion_from_dict, refund_share
from firmware.domain.promotions import PromotionBook
from firmware.domain.receipt import finalize
from firmware.domain.receipt_model import Receipt
from firmware.domain.sale import Sale

RATES = {"A": "19.00", "B": "7.00"}
NOW = datetime(2026, 12, 2, 17, 30, tzinfo=timezone(timedelta(hours=1)))
PEN = Item("PEN", "Pencil", 100, "A")
COLA = Item("COLA", "Cola", 200, "B")
BEER = Item("BEER", "Beer", 300, "B")
CHEESE = Item("CHEESE", "Cheese", 1999, "A", weighed=True)
ITEMS = (PEN, COLA, BEER, CHEESE)
GROUPS = {"COLA": ["drinks"], "BEER": ["drinks"], "CHEESE": ["deli"]}
RULES = {
    "PENS": {"promotion_id": "PENS", "name": "Pencils 3 for 2", "kind": "multi_buy", "skus": ["PEN"], "buy": 3,
             "pay": 2},
    "DRINKS": {"promotion_id": "DRINKS", "name": "Any 2 drinks 3.50", "kind": "multi_buy", "groups": ["drinks"],
               "buy": 2, "price": 350},
    "HAPPY": {"promotion_id": "HAPPY", "name": "Happy hour -20%", "kind": "discount", "groups": ["drinks"],
              "percent": "20", "stackable": True, "window": {"start": "17:00", "end": "19:00"}},
    "DELI": {"promotion_id": "DELI", "name": "Deli 1.00 off a kg", "kind": "discount", "groups": ["deli"],
             "amount": 100},
    "SPEND": {"promotion_id": "SPEND", "name": "Spend 10 save 7.5%", "kind": "spend_save", "spend": 1000,
              "percent": "7.5"},
}


def book(*ids):
    return PromotionBook([promotion_from_dict(RULES[i]) for i in ids], GROUPS)


def sell(promos, lines, cart_percent=None):
    sale = sp.at(sp.attach(Sale.open("s1", "c1", rates=RATES), promos), NOW, True)
    for item, qty in lines:
        sale = sale.add(item, qty)
    if cart_percent:
        sale = sale.discount_cart(percent=cart_percent, approved_by="m1")
    body = sale.begin_tender().add_tender("card").receipt_body("S1", "R1", "EUR", "2026-12-02T16:30:00Z", True,
                                                               False)
    return Receipt.from_doc(finalize(body, register="R1", epoch="e1", seq=1, prev_hash=GENESIS))


def refund(original, prior, lines, seq):
    sale = refunds.build_refund(original, prior, lines, sale_id=f"r{seq}", clerk_id="c1", approved_by="m1")
    if sale.phase != "paid":
        sale = sale.add_tender("card")
    body = sale.receipt_body("S1", "R1", "EUR", "2026-12-02T17:00:00Z", True, False)
    return Receipt.from_doc(finalize(body, register="R1", epoch="e1", seq=seq, prev_hash=GENESIS))


def test_units_outside_the_deal_come_back_first_at_full_price():
    original = sell(book("PENS"), [(PEN, 4)])
    assert original.totals.total == 300
    first = refund(original, [], {1: 1}, 2)
    assert first.totals.total == 100  # the pencil outside the 3 for 2
    second = refund(original, [first], {1: 2}, 3)
    third = refund(original, [first, second], {1: 1}, 4)
    assert second.totals.total + third.totals.total == 200
    assert sum(r.totals.tax for r in (first, second, third)) == original.totals.tax


def test_three_for_two_with_happy_hour_refund_one_unit():
    original = sell(book("DRINKS", "HAPPY", "SPEND"), [(COLA, 3), (BEER, 1), (PEN, 2)])
    back = refund(original, [], {2: 1}, 2)  # the beer: what it paid in its bundle
    units = original.lines[1].extra["units"]
    assert back.totals.total == units[0]["paid"] // units[0]["qty"]
    rest = refund(original, [back], {1: 3, 3: 2}, 3)
    assert back.totals.total + rest.totals.total == original.totals.total


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(ids=st.sets(st.sampled_from(sorted(RULES))),
       lines=st.lists(st.tuples(st.integers(0, 3), st.integers(1, 7)), min_size=1, max_size=5),
       cart_percent=st.sampled_from([None, "5", "12.5"]),
       order=st.randoms(use_true_random=False))
def test_any_sequence_of_partial_refunds_gives_back_exactly_what_was_paid(ids, lines, cart_percent, order):
    cart = [(ITEMS[i], f"0.{q}25" if ITEMS[i].weighed else q) for i, q in lines]
    original = sell(book(*sorted(ids)), cart, cart_percent)
    event(f"promoted lines: {sum('units' in ln.extra for ln in original.lines)}")
    left = refunds.refundable(original, [])
    prior: list[Receipt] = []
    seq = 2
    while any(left.values()):
        number = order.choice([n for n, q in left.items() if q])
        if isinstance(left[number], int):
            qty = order.randint(1, left[number])
        else:  # a weighed line: part of its weight, then the rest
            qty = Decimal("0.1") if left[number] > Decimal("0.1") and order.random() < 0.5 else left[number]
        done = refund(original, prior, {number: qty}, seq)
        sold = original.lines[number - 1]
        if "units" in sold.extra:  # exactly what those units paid
            tiers = [Tier(qty_value(u["qty"]), u["paid"]) for u in sold.extra["units"]]
            assert done.lines[0].amount == refund_share(tiers, refunds.refunded_qty(original, prior)[number], qty)
        prior.append(done)
        seq += 1
        left = refunds.refundable(original, prior)
    assert sum(r.totals.total for r in prior) == original.totals.total
    assert sum(r.totals.tax for r in prior) == original.totals.tax
    for n, sold in enumerate(original.lines, 1):
        assert sum(ln.amount for r in prior for ln in r.lines if ln.of_line == n) == sold.amount
