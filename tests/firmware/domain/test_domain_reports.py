"""Shifts and X/Z reports: cash movements, expected vs counted cash, totals equal to the receipts covered."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from firmware.chain import GENESIS
from firmware.domain.catalog import Item
from firmware.domain.errors import DomainError, Refused
from firmware.domain.receipt import finalize, no_sale_body
from firmware.domain.receipt_model import Receipt
from firmware.domain.refunds import build_refund
from firmware.domain.reports import expected_cash, summarize
from firmware.domain.sale import Sale
from firmware.domain.shift import Shift

RATES = {"A": "19.00", "B": "7.00"}
PENCIL = Item("P1", "Pencil HB", 129, "A")
SODA = Item("S1", "Soda", 99, "B")
AT = "2026-11-25T14:03:11.250Z"



def typed(receipts):
    """The stored documents as the typed receipts reports read."""
    return [Receipt.from_doc(r) for r in receipts]

class Till:
    """Commits receipts in seq order, as the journal would."""

    def __init__(self):
        self.receipts: list[dict] = []

    def commit(self, body):
        prev = self.receipts[-1]["hash"] if self.receipts else GENESIS
        receipt = finalize(body, register="R1", epoch="e1", seq=len(self.receipts) + 1, prev_hash=prev)
        self.receipts.append(receipt)
        return receipt

    def sell(self, sale):
        return self.commit(sale.receipt_body("S001", "R1", "EUR", AT, True, False))


def shift():
    return Shift.open("sh1", "c1", 10_000, AT)


def test_shift_movements_and_close():
    s = shift().paid_in(500, "change from bank", "c1", AT).paid_out(300, "window cleaner", "c1", AT)
    s = s.cash_drop(5_000, "m1", AT)
    assert s.cash_adjustment == 10_000 + 500 - 300 - 5_000
    closed = s.close(7, 5_200, "m1", AT)
    assert not closed.is_open and closed.z_number == 7
    assert Shift.from_dict(closed.to_dict()) == closed
    with pytest.raises(Refused, match="closed"):
        closed.paid_in(1, "x", "c1", AT)


@pytest.mark.parametrize("command, reason", [
    (lambda s: s.paid_in(0, "x", "c1", AT), "positive"),
    (lambda s: s.paid_out(-5, "x", "c1", AT), "positive"),
    (lambda s: s.paid_out(5, " ", "c1", AT), "reason"),
    (lambda s: s.paid_out(50_000, "x", "c1", AT, cash_in_drawer=10_000), "more than the drawer"),
    (lambda s: s.cash_drop(50_000, "c1", AT, cash_in_drawer=10_000), "more than the drawer"),
    (lambda s: s.close(0, 100, "m1", AT), "Z report number"),
    (lambda s: s.close(1, -1, "m1", AT), "Counted cash"),
    (lambda s: Shift.open("x", "c1", 1.5, AT), "opening float"),
])
def test_shift_refusals(command, reason):
    with pytest.raises(Refused, match=reason):
        command(shift())


def test_unreadable_shift_dict():
    with pytest.raises(DomainError, match="unreadable"):
        Shift.from_dict({"shift_id": "x"})


def test_x_and_z_report():
    till = Till()
    s1 = Sale.open("s1", "c1", rates=RATES).add(PENCIL, 2).discount_line(1, amount=10)
    r1 = till.sell(s1.begin_tender().add_tender("cash", 500))                     # 248 cash
    till.sell(Sale.open("s2", "c2", rates=RATES).add(SODA).begin_tender().add_tender("card"))  # 99 card
    till.commit(no_sale_body(store="S001", register="R1", currency="EUR", created_at=AT, clock_trusted=True,
                             offline=False, clerk_id="c2", sale_id="ns1", approved_by="m1"))
    refund = build_refund(Receipt.from_doc(r1), [], {1: 1}, sale_id="rf1", clerk_id="c1",
                          approved_by="m1").add_tender("cash")
    till.sell(refund)                                                            # 124 cash back
    sh = shift().paid_out(300, "cleaner", "c1", AT).close(1, 10_000 + 248 - 124 - 300 - 5, "m1", AT)
    x = summarize(typed(till.receipts), kind="x", report_id="x1", created_at=AT, shift=shift())
    assert x["z_number"] is None and x["counted_cash"] is None and x["difference"] is None
    z = summarize(typed(till.receipts), kind="z", z_number=1, shift=sh, report_id="z1", created_at=AT)
    assert (z["first_seq"], z["last_seq"], z["receipt_count"]) == (1, 4, 4)
    assert z["sales"] == {"count": 2, "total": 347} and z["refunds"] == {"count": 1, "total": 124}
    assert z["no_sales"] == {"count": 1} and z["discounts"] == {"count": 1, "total": 10, "line_count": 1,
                                                                "line_total": 10, "cart_count": 0, "cart_total": 0}
    assert z["net_total"] == 223
    assert z["tenders"] == [{"type": "card", "count": 1, "amount": 99, "refunded": 0, "refund_count": 0},
                            {"type": "cash", "count": 2, "amount": 124, "refunded": 124, "refund_count": 1}]
    assert sum(t["net"] + t["tax"] for t in z["taxes"]) == 223
    assert {c["clerk_id"]: (c["sales_total"], c["refunds_total"], c["no_sales"]) for c in z["clerks"]} == {
        "c1": (248, 124, 0), "c2": (99, 0, 1)}
    assert z["expected_cash"] == 10_000 + 124 - 300 and z["difference"] == -5
    assert z["cash"] == {"opening_float": 10_000, "paid_in": 0, "paid_out": 300, "drops": 0}


def test_a_cart_discount_counts_once_per_sale_and_a_line_discount_once_per_line():
    till = Till()
    cart = Sale.open("s1", "c1", rates=RATES).add(PENCIL, 2).add(SODA).discount_line(2, amount=9)
    cart = cart.discount_cart(percent="10", limit_percent=100)  # shared over both lines: one discount, not two
    sold = till.sell(cart.begin_tender().add_tender("cash", 500))
    till.sell(Sale.open("s2", "c1", rates=RATES).add(PENCIL).discount_line(1, amount=5).begin_tender()
              .add_tender("card"))
    x = summarize(typed(till.receipts), kind="x", report_id="x1", created_at=AT)
    shares = sum(line.get("cart_discount", 0) for line in sold["lines"])
    assert shares == sold["cart_discount"]["amount"] > 0
    assert x["discounts"] == {"count": 3, "total": 9 + 5 + shares, "line_count": 2, "line_total": 14,
                              "cart_count": 1, "cart_total": shares}


def test_report_refusals():
    with pytest.raises(Refused, match="'x' or 'z'"):
        summarize([], kind="y", report_id="r", created_at=AT)
    with pytest.raises(Refused, match="number"):
        summarize([], kind="z", report_id="r", created_at=AT, counted_cash=0)
    with pytest.raises(Refused, match="counted cash"):
        summarize([], kind="z", z_number=1, report_id="r", created_at=AT)


def test_empty_report_is_still_a_valid_contract_report():
    """A Z with no sales must still reach the fleet: the contract's Report wants int seqs (0: none)."""
    from firmware.contract import Report, decode
    from firmware.contract.chain import canonical_json

    z = summarize([], kind="z", z_number=3, report_id="z3", created_at=AT, counted_cash=0)
    assert z["first_seq"] == 0 == z["last_seq"] and z["net_total"] == 0 and z["difference"] == 0
    assert decode(Report, canonical_json(z)).first_seq == 0


sales_plan = st.lists(st.tuples(
    st.lists(st.tuples(st.sampled_from([PENCIL, SODA]), st.integers(1, 5)), min_size=1, max_size=4),
    st.sampled_from(["cash", "card", "split", "refund", "no_sale"]),
    st.sampled_from(["c1", "c2", "c3"]),
    st.integers(0, 2000),
), max_size=25)


@settings(max_examples=60, deadline=None)
@given(sales_plan, st.sampled_from([0, 5]), st.integers(0, 5000))
def test_z_report_totals_equal_the_sum_of_its_receipts(plan, rounding, paid_in):
    till = Till()
    for n, (items, how, clerk, extra) in enumerate(plan):
        sales = [r for r in till.receipts if r["kind"] == "sale"]
        if how == "no_sale":
            till.commit(no_sale_body(store="S001", register="R1", currency="EUR", created_at=AT, clock_trusted=True,
                                     offline=False, clerk_id=clerk, sale_id=f"n{n}", approved_by="m1"))
            continue
        if how == "refund" and sales:
            orig = sales[extra % len(sales)]
            try:
                sale = build_refund(Receipt.from_doc(orig), typed(till.receipts), {1: 1}, sale_id=f"r{n}",
                                    clerk_id=clerk, approved_by="m1", cash_rounding=rounding)
            except Refused:
                continue
            till.sell(sale.add_tender("cash"))
            continue
        sale = Sale.open(f"s{n}", clerk, rates=RATES, cash_rounding=rounding)
        for item, qty in items:
            sale = sale.add(item, qty)
        sale = sale.begin_tender()
        if how == "split":
            sale = sale.add_tender("card", max(1, sale.totals().due // 2))
        if how == "card":
            sale = sale.add_tender("card")
        else:
            sale = sale.add_tender("cash", sale.totals().cash_due + extra)
        till.sell(sale)
    sh = shift().paid_in(paid_in, "float top-up", "c1", AT) if paid_in else shift()
    counted = expected_cash(typed(till.receipts), sh) + 7
    z = summarize(typed(till.receipts), kind="z", z_number=1, shift=sh.close(1, counted, "m1", AT), report_id="z",
                  created_at=AT)
    sign = {"sale": 1, "refund": -1, "no_sale": 0}
    rs = till.receipts
    assert z["receipt_count"] == len(rs)
    assert z["net_total"] == sum(sign[r["kind"]] * r["totals"]["total"] for r in rs)
    assert z["rounding"] == sum(sign[r["kind"]] * r["totals"]["rounding"] for r in rs)
    assert sum(t["amount"] for t in z["tenders"]) == z["net_total"] + z["rounding"]
    assert sum(t["tax"] for t in z["taxes"]) == sum(sign[r["kind"]] * r["totals"]["tax"] for r in rs)
    assert sum(t["net"] + t["tax"] for t in z["taxes"]) == z["net_total"]
    assert sum(c["sales_total"] - c["refunds_total"] for c in z["clerks"]) == z["net_total"]
    assert z["sales"]["count"] + z["refunds"]["count"] + z["no_sales"]["count"] == len(rs)
    cash = sum(sign[r["kind"]] * (t["amount"] - t["change"]) for r in rs for t in r["tenders"] if t["type"] == "cash")
    assert z["expected_cash"] == 10_000 + paid_in + cash and z["difference"] == 7
    if rs:
        assert (z["first_seq"], z["last_seq"]) == (1, len(rs))
