"""Layby rules (firmware/domain/layby.py, docs/layby.md): opening, instalments, collecting, cancelling under the
refund policy, and the register's view as snapshot + its own movements, with properties over random histories."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from firmware.contract.accounts import decode_accounts
from firmware.domain import layby as lb
from firmware.domain.credit import Through
from firmware.domain.errors import Refused
from firmware.domain.money import money_formatter

MONEY = money_formatter("EUR", "symbol")
TODAY = date(2026, 12, 1)
POLICY = lb.LaybyPolicy(min_deposit_percent=10, max_days=90, fee_percent=10, fee_fixed=0)
LINE = lb.LaybyLine("4006380135079", "Coffee beans 500 g", "2", 799, "B", 1598)


def layby(total: int = 10_000, paid: int = 1_000, state: str = lb.OPEN) -> lb.Layby:
    return lb.Layby("LB-S001-R1-7", "C-1001", total, paid, TODAY + timedelta(days=30), (LINE,), state)


def test_opening_needs_the_smallest_deposit_a_term_within_the_policy_and_not_all_the_money():
    lb.check_open(10_000, 1_000, TODAY + timedelta(days=90), TODAY, POLICY, money=MONEY)
    with pytest.raises(Refused, match=r"deposit of at least €10.00 \(10% of €100.00\)"):
        lb.check_open(10_000, 999, TODAY + timedelta(days=30), TODAY, POLICY, money=MONEY)
    with pytest.raises(Refused, match="pays all of €100.00: sell it instead"):
        lb.check_open(10_000, 10_000, TODAY + timedelta(days=30), TODAY, POLICY, money=MONEY)
    with pytest.raises(Refused, match="after today"):
        lb.check_open(10_000, 1_000, TODAY, TODAY, POLICY, money=MONEY)
    with pytest.raises(Refused, match="at most 90 days: due on 2027-03-01 at the latest"):
        lb.check_open(10_000, 1_000, TODAY + timedelta(days=91), TODAY, POLICY, money=MONEY)
    with pytest.raises(Refused, match="cart is empty"):
        lb.check_open(0, 1, TODAY + timedelta(days=1), TODAY, POLICY, money=MONEY)
    assert lb.min_deposit(999, POLICY) == 100  # 10% of 9.99 rounded up
    assert lb.min_deposit(5, lb.LaybyPolicy(min_deposit_percent=0)) == 1


def test_a_due_date_typed_wrong_is_refused_in_words():
    assert lb.parse_due(" 2026-12-24 ") == date(2026, 12, 24)
    with pytest.raises(Refused, match="type the due date as YYYY-MM-DD"):
        lb.parse_due("24.12.2026")


def test_instalments_never_pass_the_balance_and_closed_laybys_take_none():
    assert lb.check_payment(layby(), 9_000, money=MONEY) == 10_000
    with pytest.raises(Refused, match="has €90.00 left to pay; take at most that"):
        lb.check_payment(layby(), 9_001, money=MONEY)
    with pytest.raises(Refused, match="more than zero"):
        lb.check_payment(layby(), 0, money=MONEY)
    with pytest.raises(Refused, match="paid in full"):
        lb.check_payment(layby(paid=10_000), 1, money=MONEY)
    with pytest.raises(Refused, match="collected already"):
        lb.check_payment(layby(state=lb.COLLECTED), 1, money=MONEY)
    with pytest.raises(Refused, match="was cancelled"):
        lb.check_payment(layby(state=lb.CANCELLED), 1, money=MONEY)


def test_collecting_needs_the_whole_total_paid():
    with pytest.raises(Refused, match="still has €90.00 to pay"):
        lb.check_collect(layby(), money=MONEY)
    lb.check_collect(layby(paid=10_000), money=MONEY)


def test_cancelling_keeps_the_fee_and_pays_back_the_rest():
    assert lb.check_cancel(layby(paid=3_333), POLICY) == (3_000, 333)  # 10% rounded down
    fixed = lb.LaybyPolicy(fee_percent=5, fee_fixed=500)
    assert lb.cancel_terms(1_000, fixed) == (450, 550)
    assert lb.cancel_terms(400, fixed) == (0, 400)  # the fee never passes what was paid in
    with pytest.raises(Refused, match="collected already"):
        lb.check_cancel(layby(state=lb.COLLECTED), POLICY)


def test_overdue_is_after_the_due_date_while_open():
    assert not layby().overdue(TODAY + timedelta(days=30))
    assert layby().overdue(TODAY + timedelta(days=31))
    assert not layby(state=lb.COLLECTED).overdue(TODAY + timedelta(days=31))


def test_the_entries_are_what_the_contract_accepts():
    entries = [lb.open_entry(layby(), 1_000), lb.payment_entry("LB-S001-R1-7", 500),
               lb.collect_entry("LB-S001-R1-7", 10_000), lb.cancel_entry("LB-S001-R1-7", 0, 0)]
    assert [m.type for m in decode_accounts(entries)] == ["layby_open", "layby_payment", "layby_collect",
                                                          "layby_cancel"]


def test_the_register_view_is_the_snapshot_plus_its_own_movements_since():
    opened = lb.open_entry(layby(paid=1_000), 1_000)
    doc = {"seq": 5, "accounts": [{"type": "loyalty_earn", "customer": "C", "points": 1}, opened]}
    moves = lb.moves_of_receipt(doc, "S001:R1")
    assert [(m.seq, m.index, m.kind) for m in moves] == [(5, 1, "layby_open")]
    pay = lb.moves_of_receipt({"seq": 6, "accounts": [lb.payment_entry("LB-S001-R1-7", 700)]}, "S001:R1")
    book = lb.LaybyBook().with_local(moves + pay + pay)  # a re-read receipt counts once
    assert book.get("LB-S001-R1-7").paid == 1_700
    # the fleet's snapshot now includes seq 5 (paid 1000 there) but not seq 6: nothing counted twice or lost
    snap = {"LB-S001-R1-7": layby(paid=1_000)}
    later = book.with_snapshot(snap, Through.of({"S001:R1": 5}))
    assert later.get("LB-S001-R1-7").paid == 1_700
    assert later.with_snapshot({"LB-S001-R1-7": layby(paid=1_700)}, Through.of({"S001:R1": 6})).local == ()
    # a payment into a layby neither in the snapshot nor opened here is left out until the snapshot brings it
    assert lb.fold({}, pay) == {}


def test_find_by_id_or_customer_open_first():
    a = layby()
    b = lb.Layby("LB-S001-R2-3", "Jane Miller", 500, 100, TODAY, (LINE,), lb.COLLECTED)
    c = lb.Layby("LB-S001-R2-9", "Jane Miller", 500, 100, TODAY, (LINE,))
    assert lb.find([a, b, c], "jane") == [c, b]
    assert lb.find([a, b, c], "r1-7") == [a]
    assert lb.find([a, b, c], "  ") == []


# ---- properties: whatever the cashier types, in whatever order


@st.composite
def histories(draw):
    total = draw(st.integers(1, 10**7))
    deposit = draw(st.integers(1, total))
    steps = draw(st.lists(st.one_of(st.tuples(st.just("pay"), st.integers(-5, 10**7)),
                                    st.tuples(st.just("collect"), st.just(0)),
                                    st.tuples(st.just("cancel"), st.just(0))), max_size=25))
    fee_percent = draw(st.integers(0, 100))
    fee_fixed = draw(st.integers(0, 10**6))
    return total, deposit, steps, lb.LaybyPolicy(fee_percent=fee_percent, fee_fixed=fee_fixed)


@pytest.mark.slow
@given(histories())
@settings(max_examples=300, deadline=None)
def test_balance_never_negative_paid_never_above_total_refund_never_above_paid(history):
    total, deposit, steps, policy = history
    current = lb.Layby("LB-S-R-1", "C", total, deposit, TODAY, (LINE,))
    for kind, amount in steps:
        try:
            if kind == "pay":
                paid = lb.check_payment(current, amount, money=MONEY)
                current = lb.fold({current.layby_id: current}, [lb.LaybyMove("S:R", len(steps), 0, lb.payment_entry(
                    current.layby_id, amount))])[current.layby_id]
                assert current.paid == paid
            elif kind == "collect":
                lb.check_collect(current, money=MONEY)
                assert current.paid == current.total  # goods leave only when all is paid
                current = lb.Layby(**{**current.__dict__, "state": lb.COLLECTED})
            else:
                refund, fee = lb.check_cancel(current, policy)
                assert 0 <= refund <= current.paid and 0 <= fee <= current.paid and refund + fee == current.paid
                current = lb.Layby(**{**current.__dict__, "state": lb.CANCELLED})
        except Refused:
            pass
        assert 0 <= current.balance == current.total - current.paid
        assert current.paid <= current.total


@pytest.mark.slow
@given(st.lists(st.integers(1, 10**6), max_size=12), st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_the_fold_does_not_depend_on_the_order_movements_arrive_in(payments, rnd):
    opened = lb.LaybyMove("S:R1", 1, 0, lb.open_entry(lb.Layby("LB-S-R1-1", "C", 10**8, 5, TODAY, (LINE,)), 5))
    moves = [opened] + [lb.LaybyMove("S:R2", i + 2, 0, lb.payment_entry("LB-S-R1-1", p))
                        for i, p in enumerate(payments)]
    shuffled = moves[:]
    rnd.shuffle(shuffled)
    assert lb.fold({}, moves) == lb.fold({}, shuffled + moves[:3])  # any order, re-sends included
    assert lb.fold({}, moves)["LB-S-R1-1"].paid == 5 + sum(payments)
