"""The sale's side of accounts (docs/accounts.md): gift card and points tenders keep their account, the receipt
carries the `accounts` entries it is given, and a parked cart keeps its gift card loads."""

from __future__ import annotations

import pytest

from firmware.domain.catalog import Item
from firmware.domain.errors import Refused
from firmware.domain.sale import TENDER_KINDS, Sale

PENCIL = Item("P1", "Pencil HB", 129, "A")
HASH = "ab" * 32


def tendering() -> Sale:
    return Sale.open("s1", "c7", rates={"A": "19.00"}).add(PENCIL, 2).begin_tender()


def test_gift_card_and_points_are_tenders_that_keep_their_account_and_never_give_change():
    assert {"gift_card", "loyalty"} <= set(TENDER_KINDS)
    sale = tendering().add_tender("gift_card", 100, reference="**** 0001", account=HASH)
    sale = sale.add_tender("loyalty", 158, reference="158 points", account="C-1", points=158)
    assert sale.phase == "paid"
    assert [(t.kind, t.amount, t.change, t.account, t.points) for t in sale.tenders] == [
        ("gift_card", 100, 0, HASH, 0), ("loyalty", 158, 0, "C-1", 158)]
    with pytest.raises(Refused, match="Gift card cannot exceed the amount due"):
        tendering().add_tender("gift_card", 1000, account=HASH)


def test_an_on_account_tender_names_its_customer_as_its_account():
    sale = tendering().add_tender("on_account", reference="ACME")
    assert sale.tenders[0].account == "ACME" and sale.customer_code == "ACME"


def test_the_receipt_carries_the_accounts_entries_it_is_given_and_none_without():
    sale = tendering().add_tender("card")
    args = ("S001", "R1", "EUR", "2026-11-25T14:03:11.250Z", True, False)
    assert "accounts" not in sale.receipt_body(*args)
    entries = [{"type": "loyalty_earn", "customer": "C-1", "points": 2}]
    assert sale.receipt_body(*args, accounts=entries)["accounts"] == entries


def test_a_parked_cart_keeps_its_gift_card_loads():
    sale = Sale.open("s1", "c7").add(PENCIL)
    from dataclasses import replace

    sale = replace(sale, gift_loads=((1, "sell", HASH, "0001"),))
    assert Sale.from_dict(sale.to_dict()).gift_loads == ((1, "sell", HASH, "0001"),)
    assert Sale.from_dict({k: v for k, v in sale.to_dict().items() if k != "gift_loads"}).gift_loads == ()
