"""The snapshot-plus-local balance rule every account shares, and on-account credit limits offline."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from firmware.domain.credit import (
    CHARGE,
    PENDING_REGISTER,
    AccountKey,
    Movement,
    NeedsApproval,
    Position,
    Through,
    charge_entry,
    check_charge,
    check_credit,
    credit_entry,
    credit_left,
    movements_of_receipt,
    register_key,
)
from firmware.domain.errors import Refused
from firmware.domain.money import money_formatter
from firmware.domain.sale import on_account_needs_approval

EUR = money_formatter("EUR")
REGISTERS = ["S1:R1", "S1:R2", "S2:R1"]

movements = st.lists(
    st.builds(Movement, register=st.sampled_from(REGISTERS), seq=st.integers(1, 40),
              delta=st.integers(-5_000, 5_000), kind=st.sampled_from(["earn", "redeem", CHARGE])),
    max_size=30)
throughs = st.dictionaries(st.sampled_from(REGISTERS), st.integers(0, 40), max_size=3)


def test_register_key_names_store_and_register():
    assert register_key("S001", "R1") == "S001:R1"


def test_a_movement_is_in_the_snapshot_exactly_up_to_its_registers_seq():
    through = Through.of({"S1:R1": 10})
    assert through.includes(Movement("S1:R1", 10, 5, "earn"))
    assert not through.includes(Movement("S1:R1", 11, 5, "earn"))
    assert not through.includes(Movement("S1:R2", 1, 5, "earn"))  # a register not named: none included
    position = Position(100, through, (Movement("S1:R1", 9, 7, "earn"), Movement("S1:R1", 12, -30, "redeem")))
    assert position.balance == 70  # 100 from the snapshot (which has seq 9 already) - 30 since
    assert position.outflow("redeem") == 30 and position.inflow("earn") == 0


@given(snapshot=st.integers(-10_000, 10_000), through=throughs, moves=movements)
def test_balance_is_snapshot_plus_the_movements_it_does_not_include(snapshot, through, moves):
    position = Position(snapshot, Through.of(through), tuple(moves))
    expected = snapshot + sum(m.delta for m in moves if m.seq > through.get(m.register, 0))
    assert position.balance == expected


@given(snapshot=st.integers(-10_000, 10_000), old=throughs, raise_by=st.dictionaries(
    st.sampled_from(REGISTERS), st.integers(0, 40), max_size=3), moves=movements)
def test_a_newer_snapshot_that_includes_local_movements_shows_the_same_balance(snapshot, old, raise_by, moves):
    """The fleet folds movements into the snapshot and raises `through` over them: nothing counted twice."""
    new = {reg: old.get(reg, 0) + raise_by.get(reg, 0) for reg in set(old) | set(raise_by)}
    before = Position(snapshot, Through.of(old), tuple(moves))
    folded = sum(m.delta for m in moves if old.get(m.register, 0) < m.seq <= new.get(m.register, 0))
    after = Position(snapshot + folded, Through.of(new), tuple(moves))
    assert after.balance == before.balance


def test_pending_movements_of_the_sale_being_rung_up_count_and_are_never_in_a_snapshot():
    position = Position(50, Through.of({"S1:R1": 99})).pending("redeem", -20).pending("redeem", -10)
    assert position.balance == 20 and position.outflow("redeem") == 30
    assert {m.register for m in position.movements} == {PENDING_REGISTER}
    assert [m.index for m in position.movements] == [0, 1]


def test_charge_within_the_limit_passes_and_over_it_needs_a_manager():
    owed = Position(30_000, Through.of({"S1:R1": 5}), (Movement("S1:R1", 6, 5_000, CHARGE),))
    assert credit_left(owed, 50_000) == 15_000
    assert check_charge(owed, 15_000, limit=50_000, money=EUR) == 50_000
    with pytest.raises(NeedsApproval) as err:
        check_charge(owed, 15_001, limit=50_000, money=EUR)
    assert isinstance(err.value, Refused)
    assert err.value.reason == ("On-account over the credit limit of €500.00 needs a manager's approval: "
                                "the customer owes €350.00, €150.00 is left")
    assert err.value.limit == 50_000 and err.value.balance_after == 50_001
    assert check_charge(owed, 15_001, limit=50_000, money=EUR, approved_by="m1") == 50_001


def test_a_customer_not_in_the_snapshot_has_no_credit_without_a_manager():
    with pytest.raises(NeedsApproval, match="no credit limit on this register yet.*€10.00 needs a manager"):
        check_charge(Position(), 1_000, limit=None, money=EUR)
    assert check_charge(Position(), 1_000, limit=None, money=EUR, approved_by="m1") == 1_000


@given(owed=st.integers(-10_000, 100_000), limit=st.integers(0, 100_000), amount=st.integers(1, 100_000))
def test_charge_needs_approval_exactly_when_it_would_pass_the_limit(owed, limit, amount):
    position = Position(owed)
    try:
        after = check_charge(position, amount, limit=limit, money=EUR)
    except NeedsApproval:
        assert owed + amount > limit
        # the sale's own offline check agrees when given the credit that is left
        assert on_account_needs_approval(amount, offline=True, limit=credit_left(position, limit))
    else:
        assert after == owed + amount <= limit
        assert not on_account_needs_approval(amount, offline=True, limit=credit_left(position, limit))


def test_amounts_must_be_positive_whole_minor_units():
    for bad in (0, -1, True):
        with pytest.raises(Refused, match="more than zero"):
            check_charge(Position(), bad, limit=100, money=EUR)
        with pytest.raises(Refused, match="more than zero"):
            check_credit(Position(), bad)
    assert check_credit(Position(500), 700) == -200


def test_movements_are_read_from_a_committed_receipts_accounts_list():
    doc = {"seq": 42, "accounts": [
        {"type": "loyalty_earn", "customer": "C7", "points": 12},
        charge_entry("C7", 2_500, approved_by="m1"),
        {"type": "giftcard_redeem", "card_hash": "ab" * 32, "last4": "1234", "amount": 700},
        {"type": "from_a_newer_firmware", "customer": "C7", "amount": 1},
        credit_entry("C7", 300),
    ]}
    got = movements_of_receipt(doc, "S1:R1")
    assert got == [
        (AccountKey("loyalty", "C7"), Movement("S1:R1", 42, 12, "earn", 0)),
        (AccountKey("on_account", "C7"), Movement("S1:R1", 42, 2_500, "charge", 1)),
        (AccountKey("gift_card", "ab" * 32), Movement("S1:R1", 42, -700, "redeem", 2)),
        (AccountKey("on_account", "C7"), Movement("S1:R1", 42, -300, "credit", 4)),
    ]
    assert movements_of_receipt({"seq": 1}, "S1:R1") == []
    assert movements_of_receipt({"seq": 1, "accounts": None}, "S1:R1") == []
