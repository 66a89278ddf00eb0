"""Refunds: per-line limits over many partial refunds, tender rules, approvals, blind returns."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from firmware.chain import GENESIS
from firmware.domain import refunds
from firmware.domain.catalog import Item
from firmware.domain.errors import Refused
from firmware.domain.receipt import finalize
from firmware.domain.receipt_model import Receipt
from firmware.domain.refunds import build_blind_return
from firmware.domain.sale import Sale

RATES = {"A": "19.00", "B": "7.00"}


# the tests keep receipts as the journal stores them (documents); the domain reads them typed
def build_refund(orig, prior, *args, **kwargs):
    return refunds.build_refund(Receipt.from_doc(orig), [Receipt.from_doc(r) for r in prior], *args, **kwargs)


def refundable(orig, prior):
    return refunds.refundable(Receipt.from_doc(orig), [Receipt.from_doc(r) for r in prior])


def refunded_qty(orig, prior):
    return refunds.refunded_qty(Receipt.from_doc(orig), [Receipt.from_doc(r) for r in prior])
PENCIL = Item("P1", "Pencil HB", 129, "A")
SODA = Item("S1", "Soda", 99, "B")
BANANA = Item("4011", "Bananas", 199, "B", weighed=True)


def commit(sale, seq, prev=GENESIS):
    body = sale.receipt_body("S001", "R1", "EUR", "2026-11-25T14:03:11.250Z", True, False)
    return finalize(body, register="R1", epoch="e1", seq=seq, prev_hash=prev)


def original(tender="card", tax_included=True):
    sale = Sale.open("s1", "c1", rates=RATES, tax_included=tax_included).add(PENCIL, 3).add(SODA, 2)
    sale = sale.add(BANANA, "0.750").discount_line(1, amount=37).set_customer("K9")
    return commit(sale.begin_tender().add_tender(tender), 1)


def refund(orig, prior, lines, tender="cash", n=2, **kw):
    sale = build_refund(orig, prior, lines, sale_id=f"r{n}", clerk_id="c1", approved_by="m1", **kw)
    if sale.phase != "paid":
        sale = sale.add_tender(tender)
    return commit(sale, n)


def test_full_refund_returns_exactly_what_was_paid():
    orig = original()
    r = refund(orig, [], {1: 3, 2: 2, 3: "0.750"})
    assert r["kind"] == "refund" and r["refund_of"] == orig["receipt_id"] and r["approved_by"] == "m1"
    assert r["totals"] == orig["totals"]
    assert [ln["amount"] for ln in r["lines"]] == [ln["amount"] for ln in orig["lines"]]
    assert [ln["of_line"] for ln in r["lines"]] == [1, 2, 3]
    assert r["tenders"] == [{"type": "cash", "amount": orig["totals"]["total"], "change": 0}]
    assert r["customer_code"] == "K9"


def test_partial_refunds_add_up_and_then_nothing_is_left():
    orig = original()
    r1 = refund(orig, [], {1: 1}, n=2)
    r2 = refund(orig, [r1], {1: 1}, n=3)
    r3 = refund(orig, [r1, r2], {1: 1}, n=4)
    assert sum(r["lines"][0]["amount"] for r in (r1, r2, r3)) == orig["lines"][0]["amount"]
    assert refundable(orig, [r1, r2, r3])[1] == 0
    with pytest.raises(Refused, match=r"Line 1 \(Pencil HB\): only 0 left to refund \(3 sold, 3 refunded"):
        build_refund(orig, [r1, r2, r3], {1: 1}, sale_id="r5", clerk_id="c1", approved_by="m1")


def test_refunds_of_other_receipts_do_not_count():
    orig = original()
    other = dict(refund(orig, [], {1: 3}), refund_of="R1:e1:99")
    assert refunded_qty(orig, [other]) == {1: 0, 2: 0, 3: 0}


def test_refund_lines_without_of_line_are_matched_by_sku():
    orig = original()
    r1 = refund(orig, [], {2: 1})
    for line in r1["lines"]:
        line.pop("of_line")
    assert refunded_qty(orig, [r1])[2] == 1


@pytest.mark.parametrize("lines, reason", [
    ({}, "at least one line"), ({1: 0}, "at least one line"), ({9: 1}, "no line 9"), ({1: 4}, "only 3 left"),
    ({1: "1.5"}, "whole number"), ({3: "0.751"}, "only 0.750 left"), ({1: -1}, "at least 1"),
])
def test_refund_refusals(lines, reason):
    with pytest.raises(Refused, match=reason):
        build_refund(original(), [], lines, sale_id="r", clerk_id="c1", approved_by="m1")


def test_refund_needs_a_manager_and_a_sale():
    orig = original()
    with pytest.raises(Refused, match="manager"):
        build_refund(orig, [], {1: 1}, sale_id="r", clerk_id="c1", approved_by=None)
    r = refund(orig, [], {1: 1})
    with pytest.raises(Refused, match="not a sale"):
        build_refund(r, [], {1: 1}, sale_id="r", clerk_id="c1", approved_by="m1")


def test_refund_tender_is_cash_or_the_original_type():
    sale = build_refund(original("card"), [], {1: 1}, sale_id="r", clerk_id="c1", approved_by="m1")
    assert sale.add_tender("card").phase == "paid"
    with pytest.raises(Refused, match="cash or card only"):
        sale.add_tender("on_account")
    with pytest.raises(Refused, match="no change"):
        sale.add_tender("cash", 10_000)
    with pytest.raises(Refused, match="already paid"):
        sale.add_tender("cash").add_tender("cash", 1)
    with pytest.raises(Refused, match="original receipt"):
        sale.add(PENCIL)
    with pytest.raises(Refused, match="original receipt"):
        sale.back_to_cart()


def test_cash_refund_is_rounded_like_a_sale():
    sale = build_refund(original(), [], {1: 1}, sale_id="r", clerk_id="c1", approved_by="m1", cash_rounding=5)
    due = sale.totals().due
    paid = sale.add_tender("cash")
    assert paid.tenders[0].amount % 5 == 0 and paid.tenders[0].amount - due == paid.totals().rounding


def test_tax_excluded_original_is_refunded_tax_excluded():
    orig = original(tax_included=False)
    r = refund(orig, [], {1: 3, 2: 2, 3: "0.750"})
    assert r["totals"] == orig["totals"] and r["taxes"] == orig["taxes"]


def test_blind_return_needs_manager_and_reason():
    kw = dict(sale_id="b1", clerk_id="c1", rates=RATES, tax_included=True)
    with pytest.raises(Refused, match="manager"):
        build_blind_return([(PENCIL, 1)], approved_by=None, reason="faulty", **kw)
    with pytest.raises(Refused, match="reason"):
        build_blind_return([(PENCIL, 1)], approved_by="m1", reason=" ", **kw)
    with pytest.raises(Refused, match="at least one"):
        build_blind_return([], approved_by="m1", reason="faulty", **kw)
    sale = build_blind_return([(PENCIL, 2), (BANANA, "0.5")], approved_by="m1", reason="faulty", refund_of="R7:x:3",
                              **kw)
    with pytest.raises(Refused, match="cash or card only"):
        sale.add_tender("on_account", reference="K1")
    r = commit(sale.add_tender("cash"), 5)
    assert r["kind"] == "refund" and r["reason"] == "faulty" and r["refund_of"] == "R7:x:3"
    assert r["totals"]["total"] == 258 + 100


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 7), st.integers(0, 4000)), min_size=1, max_size=4),
    st.lists(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 7)), min_size=1, max_size=4), max_size=8),
    st.booleans(),
)
def test_refunds_never_exceed_what_was_sold(sold, attempts, tax_included):
    sale = Sale.open("s", "c1", rates=RATES, tax_included=tax_included)
    for n, (qty, price) in enumerate(sold):
        sale = sale.add(Item(f"X{n}", "Thing", price, "AB"[n % 2]), qty)
        if price and n % 2:
            sale = sale.discount_line(n + 1, percent=Decimal("12.5"))
    orig = commit(sale.begin_tender().add_tender("card") if sale.totals().total else sale.begin_tender(), 1)
    done: list[dict] = []
    for attempt in attempts:
        try:
            done.append(refund(orig, done, dict(attempt), n=len(done) + 2))
        except Refused as err:
            assert "left to refund" in str(err) or "no line" in str(err)
    for n, line in enumerate(orig["lines"], 1):
        mine = [rl for r in done for rl in r["lines"] if rl["of_line"] == n]
        assert sum(rl["qty"] for rl in mine) <= line["qty"]
        assert sum(rl["amount"] for rl in mine) <= line["amount"]
        assert sum(rl["discount"] for rl in mine) <= line["discount"]
        if sum(rl["qty"] for rl in mine) == line["qty"]:
            assert sum(rl["amount"] for rl in mine) == line["amount"]
    assert sum(r["totals"]["total"] for r in done) <= orig["totals"]["total"]
    for tax in orig["taxes"]:
        refunded = [t for r in done for t in r["taxes"] if t["tax_code"] == tax["tax_code"]]
        assert sum(t["tax"] for t in refunded) <= tax["tax"]
        assert sum(t["net"] for t in refunded) <= tax["net"]
    if all(left == 0 for left in refundable(orig, done).values()):
        assert sum(r["totals"]["total"] for r in done) == orig["totals"]["total"]
