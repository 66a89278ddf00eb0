"""Stock on the till (firmware/domain/stock.py): units, on-hand, the sale check, deltas of a receipt."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.errors import PayloadInvalid
from firmware.domain.stock import (
    NeedsManager,
    PolicyBook,
    StockDelta,
    StockOk,
    StockPolicy,
    StockSnapshot,
    StockWarn,
    check_sale,
    count_delta,
    deltas_for_receipt,
    included,
    on_hand,
    stock_text,
    stock_units,
)

AT = "2026-11-30T10:00:00.000Z"


def sale(seq, sku="P1", qty=-1, register="R1"):
    return StockDelta(register, seq, sku, "sale", qty, AT)


def test_units_are_pieces_or_grams():
    assert stock_units(3, weighed=False) == 3
    assert stock_units(Decimal("0.730"), weighed=True) == 730
    assert stock_units("1.5", weighed=True) == 1500
    assert stock_text(730, weighed=True) == "0.730 kg"
    assert stock_text(-5, weighed=False) == "-5"
    with pytest.raises(PayloadInvalid):
        stock_units("0.0005", weighed=True)
    with pytest.raises(PayloadInvalid):
        stock_units("1.5", weighed=False)
    with pytest.raises(PayloadInvalid):
        stock_units("abc", weighed=True)


def test_a_delta_must_point_the_right_way():
    with pytest.raises(PayloadInvalid):
        StockDelta("R1", 1, "P1", "sale", 2, AT)
    with pytest.raises(PayloadInvalid):
        StockDelta("R1", 1, "P1", "refund", -1, AT)
    with pytest.raises(PayloadInvalid):
        StockDelta("R1", 1, "P1", "count", -1, AT)
    with pytest.raises(PayloadInvalid):
        StockDelta("R1", 0, "P1", "sale", -1, AT)


def test_on_hand_is_snapshot_plus_deltas_not_in_it():
    snap = StockSnapshot(version=3, levels={"P1": 10}, upto={"R1": 2})
    deltas = [sale(1), sale(2), sale(3), sale(4, qty=-2)]
    assert [included(snap, d) for d in deltas] == [True, True, False, False]
    assert on_hand(snap, deltas, "P1") == 7
    assert on_hand(snap, deltas, "P9") is None  # untracked: not in the snapshot


def test_a_local_count_replaces_the_level_and_later_deltas_add_to_it():
    snap = StockSnapshot(version=1, levels={"P1": 10}, upto={"R1": 0})
    count = count_delta("R1", 2, "P1", 4, AT, snap)
    assert count.basis == (("R1", 0),)
    assert on_hand(snap, [sale(1), count, sale(3)], "P1") == 3
    # a count also starts tracking an sku the snapshot does not list
    assert on_hand(StockSnapshot(), [count_delta("R1", 1, "P2", 5, AT, StockSnapshot()), sale(2, "P2")], "P2") == 4
    with pytest.raises(PayloadInvalid):
        count_delta("R1", 5, "P1", -1, AT, snap)


deltas_strategy = st.lists(
    st.tuples(st.sampled_from(["sale", "refund", "adjust", "count"]), st.integers(1, 20), st.sampled_from("AB")),
    max_size=25)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(deltas_strategy, st.integers(0, 30), st.integers(0, 50), st.randoms(use_true_random=False))
def test_on_hand_is_snapshot_plus_the_deltas_not_included_whatever_the_arrival_order(raw, upto, level, rnd):
    deltas = []
    for seq, (kind, qty, sku) in enumerate(raw, start=1):
        signed = {"sale": -qty, "refund": qty, "adjust": qty - 10, "count": qty}[kind]
        deltas.append(StockDelta("R1", seq, sku, kind, signed, AT))
    snap = StockSnapshot(version=1, levels={"A": level, "B": level}, upto={"R1": upto})
    # the model: walk the deltas the snapshot does not hold, in seq order
    expected = {}
    for sku in "AB":
        value = level
        for d in deltas:
            if d.sku == sku and d.seq > upto:
                value = d.qty if d.kind == "count" else value + d.qty
        expected[sku] = value
    shuffled = deltas + deltas[: len(deltas) // 2]  # repeats too
    rnd.shuffle(shuffled)
    assert {sku: on_hand(snap, shuffled, sku) for sku in "AB"} == expected


def test_check_sale_ok_low_last_and_past_zero():
    warn = StockPolicy(low=3)
    assert check_sale(10, 1, warn, name="Pencil") == StockOk()
    assert check_sale(5, 2, warn, name="Pencil") == StockWarn("Low stock: 3 of Pencil left after this sale")
    assert check_sale(1, 1, warn, name="Pencil") == StockWarn("Last of Pencil in stock: stock is now 0")
    assert check_sale(1, 2, warn, name="Pencil") == StockWarn(
        "Only 1 of Pencil in stock for 2: check the shelf")
    assert check_sale(0, 1, warn, name="Pencil") == StockWarn("Pencil is out of stock: check the shelf")
    manager = StockPolicy(past_zero="manager")
    assert check_sale(0, 1, manager, name="Pencil") == NeedsManager(
        "Pencil is out of stock: a manager must approve")
    assert check_sale(1, 1, manager, name="Pencil") == StockWarn("Last of Pencil in stock: stock is now 0")


def test_check_sale_never_bothers_about_untracked_items_or_refunds():
    assert check_sale(None, 5, StockPolicy(past_zero="manager")) == StockOk()
    assert check_sale(0, 5, StockPolicy(past_zero="manager", track=False)) == StockOk()
    assert check_sale(0, 0, StockPolicy(past_zero="manager")) == StockOk()


def test_check_sale_of_weighed_goods_speaks_kilograms():
    result = check_sale(500, 730, StockPolicy(past_zero="manager"), name="Apples", weighed=True)
    assert result == NeedsManager("Only 0.500 kg of Apples in stock for 0.730 kg: a manager must approve")


def test_policy_book_item_overrides_the_shop():
    book = PolicyBook.from_doc({"low": 2}, {"P1": {"past_zero": "manager"}})
    assert book.for_sku("P1") == StockPolicy(low=0, past_zero="manager")
    assert book.for_sku("P2") == StockPolicy(low=2)
    with pytest.raises(PayloadInvalid):
        StockPolicy(low=-1)


def test_deltas_of_a_receipt_one_per_sku_signed_by_kind():
    receipt = {"kind": "sale", "receipt_id": "S1:R1:e1:7", "created_at": AT,
               "lines": [{"sku": "P1", "qty": 2}, {"sku": "APPLE", "qty": "0.730"}, {"sku": "P1", "qty": 1}]}
    weighed = {"APPLE"}.__contains__
    deltas = deltas_for_receipt(receipt, "R1", 11, weighed)
    assert [(d.seq, d.sku, d.kind, d.qty, d.ref) for d in deltas] == [
        (11, "P1", "sale", -3, "S1:R1:e1:7"), (12, "APPLE", "sale", -730, "S1:R1:e1:7")]
    refund = {**receipt, "kind": "refund", "lines": [{"sku": "P1", "qty": 1}]}
    assert [(d.kind, d.qty) for d in deltas_for_receipt(refund, "R1", 13, weighed)] == [("refund", 1)]
    assert deltas_for_receipt({"kind": "no_sale", "lines": []}, "R1", 13, weighed) == ()
