"""Loyalty points: the earn rule, reversal by refunds, redemption within the balance and the offline cap."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from firmware.domain.catalog import Item
from firmware.domain.credit import Movement, Position, Through
from firmware.domain.errors import DomainError, Refused
from firmware.domain.loyalty import (
    EARN,
    REDEEM,
    EarnLine,
    EarnRule,
    RedeemRule,
    check_redeem,
    earn_entry,
    eligible_amount,
    group_lines,
    points_earned,
    points_for_amount,
    points_to_reverse,
    points_value,
    redeem_entry,
    reverse_entry,
)
from firmware.domain.money import money_formatter
from firmware.domain.sale import Sale

EUR = money_formatter("EUR")


def test_one_point_per_whole_euro_paid_rounded_down():
    rule = EarnRule(points_per_unit=1, unit=100)
    assert points_earned(rule, [EarnLine("P1", 1_299)], [("cash", 1_299)]) == 12
    assert points_earned(EarnRule(points_per_unit=5), [EarnLine("P1", 1_299)], [("card", 1_299)]) == 60
    assert points_earned(rule, [EarnLine("P1", 99)], [("cash", 99)]) == 0


def test_yen_earns_per_whole_yen_when_the_unit_is_one():
    assert points_earned(EarnRule(points_per_unit=1, unit=100), [EarnLine("P1", 1_250)], [("cash", 1_250)]) == 12
    assert points_earned(EarnRule(points_per_unit=1, unit=1), [EarnLine("P1", 1_250)], [("cash", 1_250)]) == 1_250


def test_what_gift_cards_and_points_paid_earns_nothing():
    rule = EarnRule()
    lines = [EarnLine("P1", 10_000)]
    assert eligible_amount(rule, lines, [("gift_card", 4_000), ("cash", 6_000)]) == 6_000
    assert points_earned(rule, lines, [("gift_card", 4_000), ("loyalty", 1_000), ("card", 5_000)]) == 50
    assert points_earned(rule, lines, [("gift_card", 10_000)]) == 0


def test_excluded_skus_and_groups_earn_nothing_and_share_the_payment_in_proportion():
    rule = EarnRule(excluded_skus=frozenset({"GIFTCARD"}), excluded_groups=frozenset({"tobacco"}))
    lines = group_lines([("P1", 3_000), ("CIG", 2_000), ("GIFTCARD", 5_000)], {"CIG": "tobacco", "P1": "food"})
    assert lines[1] == EarnLine("CIG", 2_000, "tobacco")
    assert eligible_amount(rule, lines, [("cash", 10_000)]) == 3_000
    # half paid by a gift card: the eligible line's share of the counting money is half of it
    assert eligible_amount(rule, lines, [("gift_card", 5_000), ("card", 5_000)]) == 1_500
    assert points_earned(rule, lines, [("gift_card", 5_000), ("card", 5_000)]) == 15


def test_points_of_a_real_sale():
    sale = Sale.open("s1", "c1").add(Item("P1", "Pencil", 1_999, "A"), 2).begin_tender()
    sale = sale.add_tender("card", 2_000).add_tender("cash", 5_000)
    lines = [EarnLine(line.sku, line.amount) for line in sale.receipt_lines()]
    tenders = [(t.kind, t.amount - t.change) for t in sale.tenders]
    assert points_earned(EarnRule(), lines, tenders) == 39


@given(lines=st.lists(st.integers(0, 100_000), min_size=1, max_size=6),
       split=st.lists(st.tuples(st.sampled_from(["cash", "card", "gift_card", "loyalty", "on_account"]),
                                st.integers(0, 50_000)), min_size=1, max_size=4),
       per_unit=st.integers(0, 10))
def test_points_never_exceed_n_per_unit_of_what_counting_tenders_paid(lines, split, per_unit):
    rule = EarnRule(points_per_unit=per_unit)
    earn = [EarnLine(f"P{i}", amount) for i, amount in enumerate(lines)]
    counting = sum(a for kind, a in split if kind not in rule.no_points_tenders)
    points = points_earned(rule, earn, split)
    assert 0 <= points <= counting // 100 * per_unit
    assert points <= sum(lines) // 100 * per_unit


def test_a_full_refund_reverses_exactly_what_the_sale_earned():
    assert points_to_reverse(37, 3_750, 0, 3_750) == 37
    assert points_to_reverse(37, 3_750, 0, 10_000) == 37  # never more than the sale earned
    assert points_to_reverse(37, 3_750, 3_750, 100) == 0
    assert points_to_reverse(0, 3_750, 0, 3_750) == 0


@given(earned=st.integers(0, 10_000), parts=st.lists(st.integers(1, 5_000), min_size=1, max_size=8))
def test_refunds_in_parts_reverse_the_points_in_proportion_and_never_more_than_earned(earned, parts):
    original = sum(parts)
    reversed_total, before = 0, 0
    for part in parts:
        got = points_to_reverse(earned, original, before, part)
        assert got >= 0
        reversed_total += got
        before += part
        assert reversed_total >= earned * before // original  # the shop never takes back less than the share
        assert reversed_total <= earned
    assert reversed_total == earned


def test_points_pay_by_the_shops_rate_rounded_down():
    rule = RedeemRule(points=100, value=100)
    assert points_value(rule, 250) == 250
    rule = RedeemRule(points=10, value=1)  # ten points a cent
    assert points_value(rule, 259) == 25 and points_for_amount(rule, 25) == 250


def test_redeem_is_refused_over_the_balance_and_over_the_offline_cap():
    rule = RedeemRule(points=1, value=1, offline_cap=500)
    position = Position(800, Through.of({"S1:R1": 10}),
                        (Movement("S1:R1", 11, -300, REDEEM), Movement("S1:R1", 12, 40, EARN)))
    assert position.balance == 540
    assert check_redeem(position, 200, rule, money=EUR) == 200
    with pytest.raises(Refused) as err:
        check_redeem(position, 201, rule, money=EUR)
    assert err.value.reason == ("Until the fleet confirms, at most 500 points per customer can be redeemed on this "
                                "register; 200 left")
    with pytest.raises(Refused, match="has 540 points .* 541 is too many"):
        check_redeem(position, 541, RedeemRule(points=1, value=1), money=EUR)
    with pytest.raises(Refused, match="more than the €1.00 due; redeem 100 points at most"):
        check_redeem(position, 150, rule, due=100, money=EUR)
    with pytest.raises(Refused, match="50 points are worth nothing; 100 points pay €0.01"):
        check_redeem(position, 50, RedeemRule(points=100, value=1), money=EUR)
    with pytest.raises(Refused, match="At least 100 points"):
        check_redeem(position, 50, RedeemRule(min_points=100), money=EUR)
    for bad in (0, -5, True):
        with pytest.raises(Refused, match="whole number above zero"):
            check_redeem(position, bad, rule, money=EUR)


@given(snapshot=st.integers(0, 5_000), cap=st.integers(0, 3_000), attempts=st.lists(st.integers(1, 1_500), max_size=12))
def test_redemptions_on_one_register_never_exceed_the_balance_or_the_offline_cap(snapshot, cap, attempts):
    rule = RedeemRule(points=1, value=1, offline_cap=cap)
    position = Position(snapshot, Through.of({"S1:R1": 0}))
    accepted = 0
    for seq, points in enumerate(attempts, start=1):
        try:
            check_redeem(position, points, rule, money=EUR)
        except Refused:
            continue
        accepted += points
        position = position.with_movements([Movement("S1:R1", seq, -points, REDEEM)])
    assert accepted <= cap and accepted <= snapshot
    assert position.balance == snapshot - accepted >= 0


def test_rules_refuse_nonsense_settings():
    with pytest.raises(DomainError):
        EarnRule(unit=0)
    with pytest.raises(DomainError):
        RedeemRule(points=0)
    with pytest.raises(DomainError):
        RedeemRule(offline_cap=-1)


def test_receipt_entries():
    assert earn_entry("C7", 12) == {"type": "loyalty_earn", "customer": "C7", "points": 12}
    assert redeem_entry("C7", 500, 500) == {"type": "loyalty_redeem", "customer": "C7", "points": 500, "value": 500}
    assert reverse_entry("C7", 3, "S1:R1:7f3a9c2e:42")["refund_of"] == "S1:R1:7f3a9c2e:42"
    with pytest.raises(DomainError):
        earn_entry("C7", 0)
