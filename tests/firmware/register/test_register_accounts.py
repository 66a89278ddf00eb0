"""Accounts at the till on a real register and journal (docs/accounts.md): gift cards sold and redeemed up to the
offline limit, a balance check with the snapshot's age, points earned, redeemed and reversed by a refund, on-account
over the credit limit only with a manager, and every movement still counted after a restart."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from firmware.clock import iso_utc
from firmware.config import parse_config
from firmware.contract.accounts import decode_accounts
from firmware.domain.giftcards import luhn_check_digit
from firmware.errors import ConfigError
from firmware.register.api import RegisterApi
from firmware.register.commands import (
    BackToCart,
    DiscountCart,
    Logout,
    NewSale,
    RedeemGiftCard,
    RedeemPoints,
    Refund,
    SellGiftCard,
    SetCustomer,
    SetQty,
    Tender,
    TopUpGiftCard,
)
from firmware.register.core.events import AccountsReceived
from firmware.register.view import AccountKind
from tests.firmware.register.conftest import RegisterRig, login_cashier

COFFEE = "4006380135079"  # 7.99
ERASER = "4006380133532"  # 0.89
KEY_HEX = "5a" * 32


def card_number(body: str = "60362800000001") -> str:
    return body + str(luhn_check_digit(body))


CARD = card_number()
OTHER = card_number("60362800000002")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "giftcard.key"
    path.write_text(KEY_HEX + "\n")
    os.chmod(path, 0o600)
    return path


@pytest.fixture
def rig(tmp_path, key_file):
    r = RegisterRig(tmp_path / "data", accounts={
        "giftcard_key_file": str(key_file), "giftcard_offline_limit": 1000, "points_offline_cap": 500,
    })
    r.start()
    yield r
    r.stop()


@pytest.fixture
def reg(rig):
    return rig.register


def card_hash(number: str) -> str:
    import hashlib
    import hmac

    return hmac.new(bytes.fromhex(KEY_HEX), number.encode(), hashlib.sha256).hexdigest()


def done(reg) -> dict:
    reg.wait_idle()
    view = reg.view()
    assert view.phase == "done", view.message
    doc = view.last_receipt.to_doc()
    reg.handle(NewSale())
    return doc


def snapshot(reg, version: int, *, seq: int = 0, issued_at=None, **lists) -> None:
    """Hand the register a fleet snapshot, as sync will once it receives one."""
    doc = {"version": version, "issued_at": iso_utc(issued_at or reg.clock.now()), "currency": "EUR",
           "through": [{"store": "DEMO", "register": "R1", "seq": seq}], **lists}
    reg.events.put(AccountsReceived(doc))
    reg.pump()


def sell_card(reg, number: str, amount: int) -> dict:
    out = reg.handle(SellGiftCard(number, amount))
    assert out.ok, out.message
    assert reg.tender("cash").ok
    return done(reg)


def test_a_gift_card_is_sold_then_redeemed_across_sales_until_the_offline_limit_refuses(reg, rig):
    login_cashier(reg)
    sold = sell_card(reg, CARD, 3000)
    assert sold["accounts"] == [{"type": "giftcard_sell", "card_hash": card_hash(CARD), "last4": CARD[-4:],
                                 "amount": 3000}]
    decode_accounts(sold["accounts"])  # what the contract accepts
    assert sold["lines"][0]["name"] == f"Gift card **** {CARD[-4:]}" and sold["lines"][0]["tax_code"] == "GC"
    assert sold["totals"]["tax"] == 0 and sold["taxes"] == [{"tax_code": "GC", "rate": "0.00", "net": 3000, "tax": 0}]
    assert CARD not in json.dumps(sold)

    assert reg.scan(COFFEE).ok
    out = reg.handle(RedeemGiftCard(CARD))  # as much as the card can pay: all 7.99
    assert out.ok, out.message
    first = done(reg)
    assert first["tenders"] == [{"type": "gift_card", "amount": 799, "change": 0, "reference": f"**** {CARD[-4:]}"}]
    assert first["accounts"] == [{"type": "giftcard_redeem", "card_hash": card_hash(CARD), "last4": CARD[-4:],
                                  "amount": 799}]

    assert reg.scan(COFFEE).ok
    out = reg.handle(RedeemGiftCard(CARD))  # the offline limit (10.00) leaves 2.01 of this card on this register
    assert out.ok and "€2.01 taken" in out.message, out.message
    assert reg.tender("cash").ok
    second = done(reg)
    assert [(t["type"], t["amount"]) for t in second["tenders"]] == [("gift_card", 201), ("cash", 598)]

    assert reg.scan(COFFEE).ok
    refused = reg.handle(RedeemGiftCard(CARD, 100))
    assert not refused.ok and "Until the fleet confirms, at most €10.00" in refused.message
    assert reg.account_balance(AccountKind.GIFT_CARD, CARD).balance == 3000 - 799 - 201

    # the fleet reconciles all of it: the limit starts again from its snapshot
    snapshot(reg, 1, seq=reg.journal.next_seq - 1,
             gift_cards=[{"card_hash": card_hash(CARD), "last4": CARD[-4:], "balance": 2000}])
    assert reg.handle(RedeemGiftCard(CARD)).ok
    assert done(reg)["tenders"][0]["amount"] == 799
    assert reg.account_balance(AccountKind.GIFT_CARD, CARD).balance == 2000 - 799
    reg.wait_idle()
    stored = b"".join(f.read_bytes() for f in rig.data_dir.rglob("*") if f.is_file())
    assert CARD.encode() not in stored and card_hash(CARD).encode() in stored  # the number is never kept


def test_wrong_numbers_unknown_cards_and_selling_a_card_twice_are_refused(reg):
    login_cashier(reg)
    wrong = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    out = reg.handle(SellGiftCard(wrong, 1000))
    assert not out.ok and f"ending {wrong[-4:]} is wrong (check digit)" in out.message
    sell_card(reg, CARD, 1000)
    assert not reg.handle(SellGiftCard(CARD, 1000)).ok  # already active: top it up
    assert reg.scan(COFFEE).ok
    unknown = reg.handle(RedeemGiftCard(OTHER))
    assert not unknown.ok and "holds €0.00" in unknown.message
    assert not reg.handle(TopUpGiftCard(OTHER, 1000)).ok  # not sold yet


def test_a_top_up_adds_to_the_balance_and_the_check_says_how_old_the_fleet_update_is(reg):
    login_cashier(reg)
    issued = reg.clock.now() - timedelta(hours=2, minutes=5)
    snapshot(reg, 3, issued_at=issued,
             gift_cards=[{"card_hash": card_hash(CARD), "last4": CARD[-4:], "balance": 1500}])
    shown = reg.account_balance(AccountKind.GIFT_CARD, CARD)
    assert shown.ok and shown.balance == 1500 and shown.local_changes == 0
    assert shown.text == f"Gift card **** {CARD[-4:]}: €15.00 (fleet update 2 h 5 min ago)"
    assert reg.handle(TopUpGiftCard(CARD, 2500)).ok
    assert reg.tender("card").ok
    topped = done(reg)
    assert topped["accounts"][0]["type"] == "giftcard_top_up"
    shown = reg.account_balance(AccountKind.GIFT_CARD, CARD)
    assert shown.balance == 4000
    assert shown.text.endswith("(fleet update 2 h 5 min ago, plus 1 change on this register since)")
    assert not reg.account_balance(AccountKind.GIFT_CARD, "1234").ok


def test_a_gift_card_line_takes_no_discount_and_no_points(reg):
    login_cashier(reg)
    assert reg.handle(SetCustomer("C-1001")).ok
    assert reg.handle(SellGiftCard(CARD, 5000)).ok
    assert not reg.handle(SetQty(1, 2)).ok
    assert not reg.handle(DiscountCart(percent="10")).ok
    assert reg.tender("cash").ok
    doc = done(reg)
    assert [e["type"] for e in doc["accounts"]] == ["giftcard_sell"]  # a liability earns no points


def test_points_are_earned_redeemed_within_the_cap_and_reversed_by_a_refund(reg):
    login_cashier(reg)
    snapshot(reg, 1, loyalty=[{"customer": "C-1001", "points": 1250}])
    assert reg.handle(SetCustomer("C-1001")).ok
    assert reg.scan(COFFEE).ok
    assert reg.tender("cash").ok
    sale = done(reg)
    assert sale["accounts"] == [{"type": "loyalty_earn", "customer": "C-1001", "points": 7}]  # 7.99: 7 points

    assert reg.handle(SetCustomer("C-1001")).ok
    assert reg.scan(COFFEE).ok
    out = reg.handle(RedeemPoints(300))
    assert out.ok and "300 points pay €3.00" in out.message, out.message
    assert reg.tender("cash").ok
    paid = done(reg)
    assert paid["accounts"] == [{"type": "loyalty_redeem", "customer": "C-1001", "points": 300, "value": 300},
                                {"type": "loyalty_earn", "customer": "C-1001", "points": 4}]  # only 4.99 cash counts
    assert reg.account_balance(AccountKind.POINTS, "C-1001").balance == 1250 + 7 - 300 + 4

    assert reg.handle(SetCustomer("C-1001")).ok
    assert reg.scan(COFFEE).ok
    capped = reg.handle(RedeemPoints(201))  # the cap is 500 per customer until the fleet confirms
    assert not capped.ok and "at most 500 points" in capped.message and "200 left" in capped.message
    assert reg.handle(NewSale()).ok

    out = reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert out.ok, out.message
    refund = done(reg)
    assert refund["accounts"] == [{"type": "loyalty_reverse", "customer": "C-1001", "points": 7,
                                   "refund_of": sale["receipt_id"]}]
    decode_accounts(refund["accounts"])
    assert reg.account_balance(AccountKind.POINTS, "C-1001").balance == 1250 + 7 - 300 + 4 - 7


def test_on_account_over_the_credit_limit_needs_a_manager(reg):
    login_cashier(reg)
    snapshot(reg, 1, on_account=[{"customer": "ACME", "owed": 45_000, "limit": 50_000}])
    assert reg.handle(SetCustomer("ACME")).ok
    assert reg.scan(COFFEE).ok
    assert reg.tender("on_account").ok  # 45,000 + 799: within the limit
    charged = done(reg)
    assert charged["accounts"] == [{"type": "on_account_charge", "customer": "ACME", "amount": 799},
                                   {"type": "loyalty_earn", "customer": "ACME", "points": 7}]  # a paid sale earns

    assert reg.handle(SetCustomer("ACME")).ok
    for _ in range(6):
        assert reg.scan(COFFEE).ok  # 47.94: over the 42.01 left
    refused = reg.tender("on_account")
    assert not refused.ok and "manager" in refused.message and "€42.01 is left" in refused.message
    out = reg.handle(Tender("on_account", manager_pin="9999"))
    assert out.ok, out.message
    approved = done(reg)
    assert approved["accounts"][0] == {"type": "on_account_charge", "customer": "ACME", "amount": 4794,
                                       "approved_by": "m1"}

    assert reg.handle(SetCustomer("NEWCO")).ok  # not in the snapshot: no known credit
    assert reg.scan(ERASER).ok
    unknown = reg.tender("on_account")
    assert not unknown.ok and "no credit limit on this register yet" in unknown.message
    assert reg.handle(BackToCart()).ok and reg.handle(NewSale()).ok

    assert reg.handle(Logout()).ok and reg.login("m1", "9999").ok  # a manager at the till approves it herself
    assert reg.handle(SetCustomer("ACME")).ok and reg.scan(ERASER).ok
    assert reg.handle(Tender("on_account")).ok  # over the limit already
    assert done(reg)["accounts"][0]["approved_by"] == "m1"
    snapshot(reg, 2, seq=reg.journal.next_seq - 1, on_account=[{"customer": "ACME", "owed": 0, "limit": 50_000}])
    assert reg.handle(SetCustomer("ACME")).ok and reg.scan(ERASER).ok
    assert reg.handle(Tender("on_account")).ok
    assert "approved_by" not in done(reg)["accounts"][0]  # within the limit: nobody had to approve it


def test_a_sale_paid_by_gift_card_is_refunded_onto_the_card(reg):
    login_cashier(reg)
    sell_card(reg, CARD, 2000)
    assert reg.scan(COFFEE).ok
    assert reg.handle(RedeemGiftCard(CARD)).ok
    sale = done(reg)
    cash = reg.handle(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999"))
    assert not cash.ok and "goes back onto the card" in cash.message
    out = reg.handle(Refund(sale["receipt_id"], {1: 1}, "gift_card", manager_pin="9999"))
    assert out.ok, out.message
    refund = done(reg)
    assert refund["tenders"][0]["type"] == "gift_card"
    assert refund["accounts"] == [{"type": "giftcard_top_up", "card_hash": card_hash(CARD), "last4": CARD[-4:],
                                   "amount": 799}]
    assert reg.account_balance(AccountKind.GIFT_CARD, CARD).balance == 2000


def test_every_account_movement_survives_a_restart(rig, reg):
    login_cashier(reg)
    snapshot(reg, 2, loyalty=[{"customer": "C-1001", "points": 100}],
             on_account=[{"customer": "ACME", "owed": 0, "limit": 10_000}])
    sell_card(reg, CARD, 3000)
    assert reg.handle(SetCustomer("C-1001")).ok
    assert reg.scan(COFFEE).ok
    assert reg.handle(RedeemGiftCard(CARD, 500)).ok
    assert reg.handle(RedeemPoints(100)).ok
    assert reg.tender("cash").ok
    done(reg)
    assert reg.handle(SetCustomer("ACME")).ok
    assert reg.scan(COFFEE).ok
    assert reg.tender("on_account").ok
    done(reg)
    def balances(reg: RegisterApi) -> tuple[int, int]:
        return (reg.account_balance(AccountKind.GIFT_CARD, CARD).balance,
                reg.account_balance(AccountKind.POINTS, "C-1001").balance)

    before = balances(reg)
    assert before == (2500, 100 - 100 + 1)  # 1.99 cash earns 1 point

    reg = rig.restart()
    assert balances(reg) == before
    assert reg.account_balance(AccountKind.GIFT_CARD, CARD).local_changes == 2
    login_cashier(reg)
    assert reg.handle(SetCustomer("ACME")).ok
    for _ in range(12):
        assert reg.scan(COFFEE).ok  # 799 owed + 95.88: over the 100.00 limit, known from the stored snapshot
    refused = reg.tender("on_account")
    assert not refused.ok and "€92.01 is left" in refused.message


def test_an_older_snapshot_is_ignored_and_one_in_another_currency_too(reg):
    snapshot(reg, 5, loyalty=[{"customer": "C-1", "points": 50}])
    snapshot(reg, 4, loyalty=[{"customer": "C-1", "points": 999}])
    assert reg.account_balance(AccountKind.POINTS, "C-1").balance == 50
    doc = {"version": 6, "issued_at": iso_utc(reg.clock.now()), "currency": "USD", "through": [],
           "loyalty": [{"customer": "C-1", "points": 7}]}
    reg.events.put(AccountsReceived(doc))
    reg.pump()
    assert reg.account_balance(AccountKind.POINTS, "C-1").balance == 50


def test_without_a_key_gift_cards_are_refused_in_words(tmp_path):
    rig = RegisterRig(tmp_path / "data")
    reg = rig.start()
    try:
        login_cashier(reg)
        out = reg.handle(SellGiftCard(CARD, 1000))
        assert not out.ok and "giftcard_key_file" in out.message
    finally:
        rig.stop()


def test_the_gift_card_key_file_must_be_private_and_hold_64_hex_digits(tmp_path):
    path = tmp_path / "key"
    path.write_text(KEY_HEX)
    os.chmod(path, 0o644)
    doc = {"device": {"store": "S1", "register": "R1"}, "accounts": {"giftcard_key_file": str(path)}}
    with pytest.raises(ConfigError, match=r"accounts.giftcard_key_file: .*chmod 600"):
        parse_config(doc)
    os.chmod(path, 0o600)
    assert parse_config(doc).accounts.giftcard_key == bytes.fromhex(KEY_HEX)
    path.write_text("not hex")
    with pytest.raises(ConfigError, match="64 hex digits"):
        parse_config(doc)
    with pytest.raises(ConfigError, match="accounts.giftcard_tax_code"):
        parse_config({"device": {"store": "S1", "register": "R1"}, "accounts": {"giftcard_tax_code": "A"}})
    with pytest.raises(ConfigError, match="accounts.giftcard_offline_limit"):
        parse_config({"device": {"store": "S1", "register": "R1"}, "accounts": {"giftcard_offline_limit": -1}})


@pytest.mark.slow  # SIGKILLs the register process mid-sale
def test_every_gift_card_redemption_committed_counts_after_sigkills_at_random_moments(tmp_path, key_file):
    from tests.firmware.register.accounts_child import LOAD, STEP, accounts_section
    from tests.support.kill_loop import kill_at_random

    data = tmp_path / "data"
    reported = [int(line) for line in kill_at_random("tests.firmware.register.accounts_child", str(data),
                                                     str(key_file), CARD, runs=6, seed=11, wait=(0.05, 0.3))]
    assert len(reported) >= 6, "the child sold almost nothing before being killed"
    rig = RegisterRig(data, accounts=accounts_section(str(key_file)))
    reg = rig.start()
    try:
        redeemed = [r.seq for r in reg.journal.receipts(from_seq=1)
                    if any(e.get("type") == "giftcard_redeem" for e in r.extra.get("accounts") or [])]
        assert set(reported) <= set(redeemed)  # every sale the child saw saved is there, with its redemption
        assert len(redeemed) - len(reported) <= 6  # at most the one in flight at each kill
        shown = reg.account_balance(AccountKind.GIFT_CARD, CARD)
        assert shown.balance == LOAD - STEP * len(redeemed)  # each committed redemption counted exactly once
        login_cashier(reg)
        assert reg.scan(ERASER).ok
        assert reg.handle(RedeemGiftCard(CARD, STEP)).ok  # and the register goes on from there
    finally:
        rig.stop()
