"""Account reconciliation on the fleet: balances across registers, flags, and the snapshot registers read back."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st

from firmware.chain import canonical_json
from firmware.contract import PayloadRejected, Receipt, decode
from firmware.contract.accounts import (
    AccountsSnapshot,
    GiftCardRedeem,
    GiftCardSell,
    GiftCardTopUp,
    LoyaltyEarn,
    LoyaltyRedeem,
    LoyaltyReverse,
    OnAccountCharge,
    OnAccountCredit,
)
from firmware.contract.schemas import DIALECT, portable
from firmware.domain.credit import Position, Through, movements_of_receipt, register_key
from firmware.domain.errors import Refused
from firmware.domain.giftcards import GiftCardRules, check_redeem
from firmware.domain.money import money_formatter
from fleet.accounts import (
    AccountFlag,
    Book,
    ReceivedReceipt,
    contiguous_through,
    reconcile,
    snapshot,
    snapshot_document,
)
from tests.contract.kassa_samples import make_receipt

EUR = money_formatter("EUR")
CARDS = ["a1" * 32, "b2" * 32, "c3" * 32]
LAST4 = {CARDS[0]: "1111", CARDS[1]: "2222", CARDS[2]: "3333"}
CUSTOMERS = ["C1", "C2"]
REGISTERS = [("S1", "R1"), ("S1", "R2"), ("S2", "R1")]
SNAPSHOT_VALIDATOR = jsonschema.Draft202012Validator(
    {"$schema": DIALECT, **portable(AccountsSnapshot.model_json_schema())})


def redeem(card: str, amount: int) -> GiftCardRedeem:
    return GiftCardRedeem(type="giftcard_redeem", card_hash=card, last4=LAST4[card], amount=amount)


def top_up(card: str, amount: int) -> GiftCardTopUp:
    return GiftCardTopUp(type="giftcard_top_up", card_hash=card, last4=LAST4[card], amount=amount)


amounts = st.integers(1, 20_000)
movement = st.one_of(
    st.builds(redeem, st.sampled_from(CARDS), amounts),
    st.builds(top_up, st.sampled_from(CARDS), amounts),
    st.builds(LoyaltyEarn, type=st.just("loyalty_earn"), customer=st.sampled_from(CUSTOMERS), points=amounts),
    st.builds(LoyaltyRedeem, type=st.just("loyalty_redeem"), customer=st.sampled_from(CUSTOMERS), points=amounts,
              value=amounts),
    st.builds(OnAccountCharge, type=st.just("on_account_charge"), customer=st.sampled_from(CUSTOMERS),
              amount=amounts, approved_by=st.none() | st.just("m1")),
    st.builds(OnAccountCredit, type=st.just("on_account_credit"), customer=st.sampled_from(CUSTOMERS),
              amount=amounts),
)
books = st.builds(
    Book,
    loyalty=st.dictionaries(st.sampled_from(CUSTOMERS), st.integers(0, 50_000)),
    gift_cards=st.dictionaries(st.sampled_from(CARDS), st.integers(0, 50_000)),
    on_account=st.dictionaries(st.sampled_from(CUSTOMERS), st.integers(0, 50_000)),
    last4=st.just(LAST4),
    credit_limits=st.dictionaries(st.sampled_from(CUSTOMERS), st.integers(0, 100_000)),
)


@st.composite
def streams(draw, gaps: bool = False):
    """Receipts of every register: seqs 1..n (some dropped when `gaps`), each with 0-3 account movements."""
    out = []
    for store, register in REGISTERS:
        for seq in range(1, draw(st.integers(0, 8)) + 1):
            if gaps and draw(st.integers(0, 4)) == 0:
                continue
            out.append(ReceivedReceipt(store, register, seq, tuple(draw(st.lists(movement, max_size=3)))))
    return out


def deltas(receipts, book):
    """A plain reference: the final balance of every account, summed by hand."""
    cards = dict(book.gift_cards)
    for receipt in receipts:
        for m in receipt.movements:
            if isinstance(m, (GiftCardSell, GiftCardTopUp)):
                cards[m.card_hash] = cards.get(m.card_hash, 0) + m.amount
            elif isinstance(m, GiftCardRedeem):
                cards[m.card_hash] = cards.get(m.card_hash, 0) - m.amount
    return cards


# ---- properties ---------------------------------------------------------------------------------

@pytest.mark.slow
@given(book=books, receipts=streams())
def test_flags_exactly_the_cards_whose_combined_spending_exceeds_the_balance(book, receipts):
    result = reconcile(book, receipts)
    expected = deltas(receipts, book)
    assert result.balances.gift_cards == {card: expected[card] for card in sorted(expected)}
    flagged = {f.account for f in result.flags if f.kind == "giftcard_overspent"}
    assert flagged == {card for card, balance in expected.items() if balance < 0}
    for flag in result.flags:
        if flag.kind == "giftcard_overspent":
            assert flag.last4 == LAST4[flag.account]
            assert set(flag.registers) == {f"{r.store}:{r.register}" for r in receipts
                                           for m in r.movements if isinstance(m, GiftCardRedeem)
                                           and m.card_hash == flag.account}


@pytest.mark.slow
@given(book=books, receipts=streams(gaps=True), data=st.data())
def test_order_of_arrival_and_resends_change_neither_balances_nor_flags(book, receipts, data):
    resent = data.draw(st.lists(st.sampled_from(receipts), max_size=5)) if receipts else []
    arrival = data.draw(st.permutations(receipts + resent))
    first, again = reconcile(book, receipts), reconcile(book, arrival)
    assert again == first
    assert snapshot_document(again, book, version=2, issued_at="2026-11-30T12:00:00Z", currency="EUR") == \
        snapshot_document(first, book, version=2, issued_at="2026-11-30T12:00:00Z", currency="EUR")


@pytest.mark.slow
@given(book=books, receipts=streams(gaps=True), data=st.data())
def test_a_register_reading_the_snapshot_counts_each_of_its_movements_exactly_once(book, receipts, data):
    """The fleet holds some receipts (with gaps); each register holds all of its own. Snapshot + the register's
    own movements after `through` == book + all of that register's movements + the others' in the snapshot."""
    held = [r for r in receipts if data.draw(st.booleans())]
    result = reconcile(book, held)
    doc = snapshot_document(result, book, version=1, issued_at="2026-11-30T12:00:00Z", currency="EUR")
    SNAPSHOT_VALIDATOR.validate(doc)
    snap = decode(AccountsSnapshot, json.dumps(doc).encode())
    through = Through.of({register_key(t.store, t.register): t.seq for t in snap.through})
    cards = {c.card_hash: c.balance for c in snap.gift_cards}
    for store, register in REGISTERS:
        mine = [r for r in receipts if (r.store, r.register) == (store, register)]
        local = [m for r in mine for key, m in movements_of_receipt(
            {"seq": r.seq, "accounts": [x.model_dump() for x in r.movements]}, register_key(store, register))
            if key.ledger == "gift_card"]
        for card in CARDS:
            shown = Position(cards.get(card, 0), through, tuple(m for m in local if _card_of(mine, m) == card))
            others = [r for r in held if (r.store, r.register) != (store, register)
                      and r.seq <= result.through[(r.store, r.register)]]
            expected = book.gift_cards.get(card, 0) + _net(mine, card) + _net(others, card)
            assert shown.balance == expected


def _card_of(receipts, movement):
    receipt = next(r for r in receipts if r.seq == movement.seq)
    return receipt.movements[movement.index].card_hash


def _net(receipts, card):
    total = 0
    for receipt in receipts:
        for m in receipt.movements:
            if isinstance(m, (GiftCardSell, GiftCardTopUp)) and m.card_hash == card:
                total += m.amount
            elif isinstance(m, GiftCardRedeem) and m.card_hash == card:
                total -= m.amount
    return total


@settings(max_examples=200)
@given(balance=st.integers(0, 30_000), limit=st.integers(0, 20_000),
       tries=st.lists(st.tuples(st.sampled_from(REGISTERS[:2]), st.integers(1, 8_000)), max_size=16))
def test_an_outage_two_registers_each_within_the_offline_limit_and_the_fleet_flags_the_overspend(
        balance, limit, tries):
    """Both registers start from the same snapshot and apply the domain rule; the fleet sees both afterwards."""
    card = CARDS[0]
    rules = GiftCardRules(offline_limit=limit)
    positions = {reg: Position(balance, Through.of({})) for reg in REGISTERS[:2]}
    receipts, spent = [], dict.fromkeys(REGISTERS[:2], 0)
    for reg, amount in tries:
        try:
            check_redeem(positions[reg], amount, rules, money=EUR)
        except Refused:
            continue
        seq = 1 + sum(1 for r in receipts if (r.store, r.register) == reg)
        receipts.append(ReceivedReceipt(*reg, seq, (redeem(card, amount),)))
        positions[reg] = positions[reg].pending("redeem", -amount)
        spent[reg] += amount
    assert all(total <= min(limit, balance) for total in spent.values())
    result = reconcile(Book(gift_cards={card: balance}, last4=LAST4), receipts)
    overspent = [f for f in result.flags if f.kind == "giftcard_overspent"]
    assert bool(overspent) == (sum(spent.values()) > balance)
    if overspent:
        assert overspent[0].registers == ("S1:R1", "S1:R2") and overspent[0].balance == balance - sum(spent.values())


# ---- examples -----------------------------------------------------------------------------------

def test_contiguous_through_stops_at_the_first_gap_and_starts_at_a_floor():
    assert contiguous_through([]) == 0
    assert contiguous_through([1, 2, 3, 5]) == 3
    assert contiguous_through([2, 3]) == 0
    assert contiguous_through([5, 6, 8], floor=4) == 6  # 1-4 declared lost or reconciled before


def test_the_snapshot_leaves_out_movements_beyond_a_gap_and_the_balances_do_not():
    card = CARDS[0]
    receipts = [ReceivedReceipt("S1", "R1", 1, (redeem(card, 1_000),)),
                ReceivedReceipt("S1", "R1", 3, (redeem(card, 500),)),
                ReceivedReceipt("S1", "R2", 1, ())]
    result = reconcile(Book(gift_cards={card: 5_000}), receipts)
    assert result.through == {("S1", "R1"): 1, ("S1", "R2"): 1}
    assert result.balances.gift_cards[card] == 3_500 and result.snapshot_balances.gift_cards[card] == 4_000
    floors = reconcile(Book(gift_cards={card: 5_000}), receipts, floors={("S1", "R1"): 2, ("S9", "R1"): 7})
    assert floors.through == {("S1", "R1"): 3, ("S1", "R2"): 1, ("S9", "R1"): 7}
    assert floors.snapshot_balances.gift_cards[card] == 3_500


def test_loyalty_overdraft_and_on_account_over_limit_are_flagged_with_who_and_approvals():
    book = Book(loyalty={"C1": 100}, on_account={"ACME": 40_000}, credit_limits={"ACME": 50_000})
    receipts = [
        ReceivedReceipt("S1", "R1", 1, (LoyaltyRedeem(type="loyalty_redeem", customer="C1", points=80, value=80),
                                        OnAccountCharge(type="on_account_charge", customer="ACME", amount=8_000))),
        ReceivedReceipt("S1", "R2", 1, (LoyaltyRedeem(type="loyalty_redeem", customer="C1", points=60, value=60),
                                        OnAccountCharge(type="on_account_charge", customer="ACME", amount=5_000,
                                                        approved_by="m1"))),
        ReceivedReceipt("S1", "R2", 2, (LoyaltyEarn(type="loyalty_earn", customer="C2", points=5),
                                        LoyaltyReverse(type="loyalty_reverse", customer="C2", points=5,
                                                       refund_of="S1:R2:7f3a9c2e:1"),
                                        OnAccountCharge(type="on_account_charge", customer="Bistro", amount=1))),
    ]
    result = reconcile(book, receipts)
    assert result.flags == (
        AccountFlag("loyalty_overdraft", "C1", -40, registers=("S1:R1", "S1:R2")),
        AccountFlag("on_account_over_limit", "ACME", 53_000, limit=50_000, registers=("S1:R1", "S1:R2"),
                    approved_by=("m1",)),
        AccountFlag("on_account_over_limit", "Bistro", 1, limit=0, registers=("S1:R2",)),
    )
    assert result.balances.loyalty == {"C1": -40, "C2": 0}
    assert [f.describe(EUR) for f in result.flags] == [
        "loyalty C1: -40 points (by S1:R1, S1:R2)",
        "on-account ACME: owes €530.00, limit €500.00 (by S1:R1, S1:R2); approved by m1",
        "on-account Bistro: owes €0.01, limit €0.00 (by S1:R2)",
    ]
    card = AccountFlag("giftcard_overspent", CARDS[0], -250, last4="1111", registers=("S1:R1", "S2:R1"))
    assert card.describe(EUR) == "gift card **** 1111 overspent: balance -€2.50 (by S1:R1, S2:R1)"


def test_the_snapshot_document_lists_balances_limits_and_blocked_cards():
    book = Book(gift_cards={CARDS[0]: 5_000}, last4={CARDS[0]: "1111", CARDS[2]: "3333"},
                card_limits={CARDS[0]: 2_000}, blocked=frozenset({CARDS[2]}), credit_limits={"ACME": 50_000},
                loyalty={"C1": 10})
    receipts = [ReceivedReceipt("S1", "R1", 1, (
        GiftCardSell(type="giftcard_sell", card_hash=CARDS[1], last4="2222", amount=2_500),
        redeem(CARDS[0], 700)))]
    doc = snapshot_document(reconcile(book, receipts), book, version=3, issued_at="2026-11-30T12:00:00Z",
                            currency="EUR")
    SNAPSHOT_VALIDATOR.validate(doc)
    assert doc == {
        "version": 3, "issued_at": "2026-11-30T12:00:00Z", "currency": "EUR",
        "through": [{"store": "S1", "register": "R1", "seq": 1}],
        "loyalty": [{"customer": "C1", "points": 10}],
        "gift_cards": [
            {"card_hash": CARDS[0], "last4": "1111", "balance": 4_300, "offline_limit": 2_000, "blocked": False},
            {"card_hash": CARDS[1], "last4": "2222", "balance": 2_500, "blocked": False},
            {"card_hash": CARDS[2], "last4": "3333", "balance": 0, "blocked": True},
        ],
        "on_account": [{"customer": "ACME", "owed": 0, "limit": 50_000}],
    }
    assert snapshot(reconcile(book, receipts), book, version=3, issued_at="2026-11-30T12:00:00Z",
                    currency="EUR") == decode(AccountsSnapshot, json.dumps(doc).encode())


def test_received_receipts_come_from_decoded_receipts():
    entries = [{"type": "giftcard_redeem", "card_hash": CARDS[0], "last4": "1111", "amount": 700}]
    receipt = decode(Receipt, canonical_json(make_receipt(store="S1", register="R2", seq=4, id_store="S1",
                                                          accounts=entries)))
    got = ReceivedReceipt.of(receipt)
    assert got == ReceivedReceipt("S1", "R2", 4, (redeem(CARDS[0], 700),)) and got.key == ("S1", "R2", 4)
    plain = decode(Receipt, canonical_json(make_receipt(store="S1", register="R2", seq=5, id_store="S1")))
    assert ReceivedReceipt.of(plain).movements == ()
    broken = decode(Receipt, canonical_json(make_receipt(store="S1", register="R2", seq=6, id_store="S1",
                                                         accounts=[{"type": "giftcard_redeem"}])))
    with pytest.raises(PayloadRejected, match="accounts"):
        ReceivedReceipt.of(broken)
