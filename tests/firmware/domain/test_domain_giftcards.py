"""Gift cards: Luhn check digits, keyed hashes, sell/top-up/redeem within the shop's limits, balance and its age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, strategies as st

from firmware.domain.credit import Movement, Position, Through
from firmware.domain.errors import DomainError, Refused
from firmware.domain.giftcards import (
    REDEEM,
    SELL,
    TOP_UP,
    CardRef,
    GiftCardRules,
    age_text,
    balance_text,
    card_hash,
    card_ref,
    check_card_number,
    check_redeem,
    check_sell,
    check_top_up,
    entry,
    luhn_check_digit,
    luhn_valid,
)
from firmware.domain.money import money_formatter

EUR = money_formatter("EUR")
KEY = bytes(range(32))
CARD = "6035710000000000"  # a valid Luhn number
RULES = GiftCardRules(min_load=500, max_balance=50_000, offline_limit=10_000)

numbers = st.integers(11, 18).flatmap(
    lambda n: st.text("0123456789", min_size=n, max_size=n)).map(lambda body: body + str(luhn_check_digit(body)))


# ---- check digit ------------------------------------------------------------------------------

def test_luhn_examples():
    assert luhn_check_digit("7992739871") == 3  # the textbook example: 79927398713
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert luhn_valid("4111111111111111") and luhn_valid(CARD)
    assert not luhn_valid("") and not luhn_valid("12a4")


def test_a_typed_number_may_have_spaces_and_dashes():
    assert check_card_number(" 6035 7100-0000 0000 ").number == CARD


@pytest.mark.parametrize("text, reason", [
    ("", "No gift card number: scan the card or type its number"),
    ("6035 71OO 0000 0000", "A gift card number has digits only; scan the card again or retype it"),
    ("60357100000", "A gift card number has 12 to 19 digits, this one 11; check it and retype it"),
    ("6035710000000001", "Gift card number ending 0001 is wrong (check digit): a digit is mistyped or two are "
                         "swapped; scan or retype it"),
    ("٦٠٣٥٧١٠٠٠٠٠٠٠٠٠٠", "A gift card number has digits only; scan the card again or retype it"),
])
def test_wrong_numbers_are_refused_with_a_clear_reason(text, reason):
    check = check_card_number(text)
    assert not check.ok and check.reason == reason
    with pytest.raises(Refused) as err:
        card_ref(text, KEY)
    assert err.value.reason == reason


@given(number=numbers, position=st.integers(0, 18), digit=st.integers(0, 9))
def test_every_single_digit_error_is_caught(number, position, digit):
    assume(position < len(number) and int(number[position]) != digit)
    wrong = number[:position] + str(digit) + number[position + 1:]
    assert not check_card_number(wrong).ok


@given(number=numbers, position=st.integers(0, 17))
def test_every_adjacent_transposition_is_caught_but_09_and_90(number, position):
    assume(position + 1 < len(number) and number[position] != number[position + 1])
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2:]
    pair = {number[position], number[position + 1]}
    if pair == {"0", "9"}:
        return  # Luhn's known gap: doubling maps 0 -> 0 and 9 -> 9 (18 -> 1+8), so 09 and 90 weigh the same
    assert not check_card_number(swapped).ok


def test_the_09_90_gap_exists_as_documented():
    body = "60357100000000" + "09"
    number = body + str(luhn_check_digit(body))
    assert luhn_valid(number) and luhn_valid(number[:-3] + "90" + number[-1])


# ---- the hash -----------------------------------------------------------------------------------

def test_the_card_is_known_only_by_its_keyed_hash_and_last_four():
    ref = card_ref("6035 7100 0000 0000", KEY)
    assert ref == CardRef(card_hash(CARD, KEY), "0000")
    assert len(ref.hash) == 64 and all(c in "0123456789abcdef" for c in ref.hash)
    assert CARD not in ref.hash and ref.masked == "**** 0000"
    assert card_hash(CARD, bytes(32)) != ref.hash  # another key, another hash: no table without the key
    # RFC 2104 HMAC-SHA256 of the ASCII digits, as any tool computes it:
    # printf 4111111111111111 | openssl dgst -sha256 -hmac kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
    assert card_hash("4111111111111111", b"k" * 32) == \
        "68461c4333f0d6ffc13ab17a895ccb61b6a8864e96602c4e91c869cfb9ccc6f1"


def test_a_short_key_is_refused():
    with pytest.raises(DomainError, match="at least 32 bytes"):
        card_hash(CARD, b"short")


def test_receipt_entries_carry_only_hash_and_last_four():
    ref = card_ref(CARD, KEY)
    doc = entry(REDEEM, ref, 700)
    assert doc == {"type": "giftcard_redeem", "card_hash": ref.hash, "last4": "0000", "amount": 700}
    assert CARD not in repr(doc)
    assert entry(SELL, ref, 5_000)["type"] == "giftcard_sell" and entry(TOP_UP, ref, 500)["type"] == "giftcard_top_up"
    with pytest.raises(DomainError):
        entry("refund", ref, 1)
    with pytest.raises(Refused):
        entry(SELL, ref, 0)


# ---- sell, top up, redeem -----------------------------------------------------------------------

def test_sell_a_new_card_and_top_up_an_active_one():
    assert check_sell(Position(), 2_500, RULES, known=False, money=EUR) == 2_500
    with pytest.raises(Refused, match="already active: top it up"):
        check_sell(Position(), 2_500, RULES, known=True, money=EUR)
    with pytest.raises(Refused, match="at least €5.00"):
        check_sell(Position(), 499, RULES, known=False, money=EUR)
    sold_here = Position(movements=(Movement("S1:R1", 3, 2_500, SELL),))
    with pytest.raises(Refused, match="already active"):
        check_sell(sold_here, 1_000, RULES, known=False, money=EUR)
    assert check_top_up(sold_here, 1_000, RULES, known=False, money=EUR) == 3_500
    with pytest.raises(Refused, match="holds at most €500.00; €475.00 can still be loaded"):
        check_top_up(sold_here, 48_000, RULES, known=False, money=EUR)
    with pytest.raises(Refused, match="not active on this register: sell it first"):
        check_top_up(Position(), 1_000, RULES, known=False, money=EUR)
    with pytest.raises(Refused, match="blocked"):
        check_top_up(sold_here, 1_000, RULES, known=True, blocked=True, money=EUR)


def test_redeem_within_the_balance_and_the_per_card_offline_limit():
    position = Position(20_000, Through.of({"S1:R1": 4}), (Movement("S1:R1", 5, -6_000, REDEEM),))
    assert check_redeem(position, 4_000, RULES, money=EUR) == 10_000
    with pytest.raises(Refused) as err:
        check_redeem(position, 4_001, RULES, money=EUR)
    assert err.value.reason == ("Until the fleet confirms, at most €100.00 of one card can be spent on this register; "
                                "€40.00 left")
    assert check_redeem(position, 9_000, RULES, card_limit=15_000, money=EUR) == 5_000  # the card's own limit
    with pytest.raises(Refused, match=r"The card holds €140.00; €150.00 is too much"):
        check_redeem(position, 15_000, RULES, card_limit=50_000, money=EUR)
    with pytest.raises(Refused, match="cannot pay more than the €10.00 due"):
        check_redeem(position, 2_000, RULES, due=1_000, money=EUR)
    with pytest.raises(Refused, match="blocked"):
        check_redeem(position, 100, RULES, blocked=True, money=EUR)


def test_two_tenders_of_one_card_in_one_sale_count_together():
    position = Position(20_000).pending(REDEEM, -8_000)
    assert position.balance == 12_000
    with pytest.raises(Refused, match="€20.00 left"):
        check_redeem(position, 2_500, RULES, money=EUR)


@given(snapshot=st.integers(0, 60_000), limit=st.integers(0, 30_000), top_ups=st.lists(st.integers(0, 3), max_size=12),
       attempts=st.lists(st.integers(1, 12_000), max_size=12))
def test_redemptions_on_one_register_never_exceed_the_offline_limit_or_the_balance(snapshot, limit, top_ups,
                                                                                    attempts):
    rules = GiftCardRules(min_load=1, max_balance=10**9, offline_limit=limit)
    position = Position(snapshot, Through.of({"S1:R1": 0}))
    redeemed = loaded = 0
    for seq, amount in enumerate(attempts, start=1):
        if seq <= len(top_ups) and top_ups[seq - 1]:  # top-ups in between add to the balance, not to the limit
            top = top_ups[seq - 1] * 1_000
            check_top_up(position, top, rules, known=True, money=EUR)
            position = position.with_movements([Movement("S1:R1", seq * 2, top, TOP_UP)])
            loaded += top
        try:
            check_redeem(position, amount, rules, money=EUR)
        except Refused:
            continue
        redeemed += amount
        position = position.with_movements([Movement("S1:R1", seq * 2 + 1, -amount, REDEEM)])
        assert position.balance >= 0
    assert redeemed <= limit and redeemed <= snapshot + loaded
    assert position.balance == snapshot + loaded - redeemed


def test_rules_refuse_negative_settings():
    with pytest.raises(DomainError):
        GiftCardRules(offline_limit=-1)


# ---- balance check ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("age, text", [
    (timedelta(seconds=30), "just now"), (timedelta(minutes=5), "5 min ago"), (timedelta(hours=2), "2 h ago"),
    (timedelta(hours=2, minutes=5), "2 h 5 min ago"), (timedelta(days=1, hours=3), "1 day ago"),
    (timedelta(days=3), "3 days ago"), (timedelta(minutes=-2), "clock is behind the fleet update"),
])
def test_the_snapshots_age_in_words(age, text):
    assert age_text(NOW - age, NOW) == text


def test_balance_check_shows_the_balance_and_how_old_the_fleets_figure_is():
    ref = card_ref(CARD, KEY)
    position = Position(2_500, Through.of({"S1:R1": 9}), (Movement("S1:R1", 10, -1_000, REDEEM),))
    assert balance_text(ref, position, issued_at=NOW - timedelta(hours=2, minutes=5), now=NOW, money=EUR) == \
        "Gift card **** 0000: €15.00 (fleet update 2 h 5 min ago, plus 1 change on this register since)"
    assert balance_text(ref, Position(), issued_at=None, now=NOW, money=EUR) == \
        "Gift card **** 0000: €0.00 (no fleet update yet)"
