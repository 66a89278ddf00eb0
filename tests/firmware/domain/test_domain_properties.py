"""Hypothesis properties of money and tax over random carts, discounts and tenders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.catalog import Item
from firmware.domain.errors import Refused
from firmware.domain.lines import allocate
from firmware.domain.sale import Sale
from firmware.domain.tax import compute_taxes

RATES = {"A": "19.00", "B": "7.00", "C": "0.00", "D": "5.5"}

items = st.builds(
    Item,
    sku=st.sampled_from(["P1", "P2", "P3", "P4", "P5"]),
    name=st.just("Thing"),
    price=st.integers(0, 100_000),
    tax_code=st.sampled_from(sorted(RATES)),
    weighed=st.booleans(),
)
weights = st.decimals(min_value="0.001", max_value="50", places=3)


@st.composite
def carts(draw):
    sale = Sale.open("s", "c1", rates=RATES, tax_included=draw(st.booleans()),
                     cash_rounding=draw(st.sampled_from([0, 5, 10])))
    for n, item in enumerate(draw(st.lists(items, min_size=1, max_size=8))):
        item = Item(f"{item.sku}-{n % 3}", item.name, item.price, item.tax_code, weighed=item.weighed)
        qty = draw(weights) if item.weighed else draw(st.integers(1, 20))
        sale = sale.add(item, qty)
    for line in sale.lines:
        if draw(st.booleans()) and line.gross > 0:
            sale = sale.discount_line(line.line_no, percent=draw(st.integers(0, 100)), approved_by="m1")
    if draw(st.booleans()) and sale.totals().subtotal > 0:
        sale = sale.discount_cart(amount=draw(st.integers(0, sale.totals().subtotal)), approved_by="m1")
    return sale


@settings(max_examples=150, deadline=None)
@given(carts())
def test_lines_sum_to_totals_and_taxes_to_the_tax(sale):
    totals = sale.totals()
    lines = sale.receipt_lines()
    assert sum(ln.amount for ln in lines) == totals.subtotal
    assert all(ln.amount >= 0 and ln.discount >= 0 for ln in lines)
    assert sum(t["tax"] for t in totals.taxes) == totals.tax
    gross = sum(t["net"] + t["tax"] for t in totals.taxes)
    assert gross == totals.total
    if sale.pricing.tax_included:
        assert totals.total == totals.subtotal
    else:
        assert totals.total == totals.subtotal + totals.tax
    assert totals.discount == sum(ln.discount for ln in lines)


@given(st.lists(st.tuples(st.sampled_from(sorted(RATES)), st.integers(0, 10**7)), max_size=30), st.booleans())
def test_net_plus_tax_is_gross_per_code(pairs, included):
    result = compute_taxes(pairs, RATES, included)
    for entry in result.taxes:
        code_sum = sum(a for c, a in pairs if c == entry["tax_code"])
        if included:
            assert entry["net"] + entry["tax"] == code_sum
        else:
            assert entry["net"] == code_sum
        assert 0 <= entry["tax"] <= code_sum


@settings(max_examples=150, deadline=None)
@given(carts(), st.integers(0, 10**7))
def test_change_is_tendered_minus_total_after_rounding(sale, extra):
    sale = sale.begin_tender()
    if sale.phase == "paid":
        return
    totals = sale.totals()
    handed = totals.cash_due + extra
    paid = sale.add_tender("cash", handed)
    after = paid.totals()
    assert paid.phase == "paid"
    assert paid.tenders[-1].change == handed - (totals.total + after.rounding)
    assert abs(after.rounding) * 2 <= max(sale.pricing.cash_rounding, 1)
    assert after.due == 0 and after.paid == after.total + after.rounding


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    carts(), st.lists(st.tuples(st.sampled_from(["cash", "card", "on_account"]), st.integers(1, 10**6)), max_size=12)
)
def test_split_tenders_never_leave_a_negative_due(sale, tenders):
    sale = sale.set_customer("K1").begin_tender()
    for kind, amount in tenders:
        if sale.phase == "paid":
            break
        try:
            sale = sale.add_tender(kind, amount)
        except Refused:
            continue
        totals = sale.totals()
        assert totals.due >= 0
        assert all(t.change == 0 for t in sale.tenders if t.kind != "cash")
        assert totals.paid <= totals.total + totals.rounding
    if sale.phase == "paid":
        totals = sale.totals()
        assert totals.paid == totals.total + totals.rounding and totals.due == 0


@given(st.integers(0, 10**7), st.lists(st.integers(0, 10**6), min_size=1, max_size=20))
def test_allocation_sums_exactly_and_never_exceeds_a_share_by_a_unit(total, ws):
    if sum(ws) == 0:
        total = 0
    total = min(total, sum(ws))
    shares = allocate(total, ws)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, ws, strict=True))
