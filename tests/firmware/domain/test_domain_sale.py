"""The sale state machine: each command, each refusal with its reason, and the receipt it produces."""

from __future__ import annotations

from decimal import Decimal

import pytest

from firmware.chain import GENESIS, verify_chain
from firmware.domain.catalog import Item
from firmware.domain.errors import DomainError, Refused
from firmware.domain.receipt import finalize, no_sale_body
from firmware.domain.sale import Sale, on_account_needs_approval

RATES = {"A": "19.00", "B": "7.00"}
PENCIL = Item("P1", "Pencil HB", 129, "A", ("4006381333931",))
SODA = Item("S1", "Soda", 99, "B")
BANANA = Item("4011", "Bananas", 199, "B", weighed=True)
STAMP = Item("Z1", "Stamp", 100, "Z")
FREE = Item("F1", "Bag", 0, "A")


def cart(*items, rounding=0, tax_included=True):
    sale = Sale.open("sale-1", "c7", rates=RATES, tax_included=tax_included, cash_rounding=rounding)
    for item in items:
        sale = sale.add(item)
    return sale


def body(sale, **kw):
    return sale.receipt_body("S001", "R1", "EUR", "2026-11-25T14:03:11.250Z", True, False, **kw)


def refused(reason):
    return pytest.raises(Refused, match=reason)


# -- adding and editing ---------------------------------------------------------


def test_same_sku_again_merges_into_the_last_line():
    sale = cart(PENCIL, PENCIL)
    assert [(ln.sku, ln.qty) for ln in sale.lines] == [("P1", 2)]
    sale = sale.add(SODA).add(PENCIL)
    assert [(ln.sku, ln.qty) for ln in sale.lines] == [("P1", 2), ("S1", 1), ("P1", 1)]


def test_weighed_items_take_a_decimal_weight_and_never_merge():
    sale = cart().add(BANANA, "0.750").add(BANANA, Decimal("1.2"))
    assert [ln.qty for ln in sale.lines] == [Decimal("0.750"), Decimal("1.200")]
    assert [ln.amount for ln in sale.lines] == [149, 239]  # 149.25 -> 149, 238.8 -> 239
    assert body(sale.begin_tender().add_tender("card"))["lines"][0]["qty"] == "0.750"


@pytest.mark.parametrize("item, qty, reason", [
    (PENCIL, 0, "at least 1"), (PENCIL, -2, "at least 1"), (PENCIL, "1.5", "whole number"),
    (PENCIL, 1.0, "float"), (PENCIL, 10_000, "more than 9999"), (BANANA, "0", "more than zero"),
    (BANANA, "0.0005", "3 decimals"), (BANANA, "lots", "not a number"), (STAMP, 1, "no rate"),
])
def test_add_refusals(item, qty, reason):
    with refused(reason):
        cart().add(item, qty)


def test_set_qty_and_percent_discount_follows():
    sale = cart(PENCIL).discount_line(1, percent=10).set_qty(1, 3)
    assert sale.lines[0].discount == 39 and sale.lines[0].amount == 348


def test_set_qty_refusals():
    with refused("no line 5"):
        cart(PENCIL).set_qty(5, 1)
    with refused("at least 1"):
        cart(PENCIL).set_qty(1, 0)
    with refused("larger than its new price"):
        cart(PENCIL, PENCIL).discount_line(1, amount=200, approved_by="m1").set_qty(1, 1)
    with refused("already voided"):
        cart(PENCIL).void_line(1).set_qty(1, 2)


def test_void_line_keeps_the_line_marked():
    sale = cart(PENCIL, SODA).void_line(1)
    assert sale.lines[0].voided and [ln.sku for ln in sale.active_lines] == ["S1"]
    assert [ln["sku"] for ln in body(sale.begin_tender().add_tender("card"))["lines"]] == ["S1"]


def test_discounts_over_the_limit_need_a_manager():
    with refused("over 20% needs a manager"):
        cart(PENCIL).discount_line(1, percent=25)
    with refused("over 20% needs a manager"):
        cart(PENCIL).discount_line(1, amount=30)  # 23%
    with refused("over 10% needs a manager"):
        cart(PENCIL).discount_cart(percent=15, limit_percent=10)
    sale = cart(PENCIL).discount_line(1, percent=25, approved_by="m1")
    assert sale.lines[0].discount == 32 and sale.lines[0].approved_by == "m1"
    assert cart(PENCIL).discount_line(1, amount=25).lines[0].amount == 104


@pytest.mark.parametrize("kwargs, reason", [
    ({}, "not both"), ({"percent": 5, "amount": 5}, "not both"), ({"percent": 101}, "between 0 and 100"),
    ({"amount": 130}, "more than"), ({"amount": -1}, "zero or more"), ({"percent": "x"}, "not a percentage"),
])
def test_discount_refusals(kwargs, reason):
    with refused(reason):
        cart(PENCIL).discount_line(1, **kwargs)


def test_discount_on_a_free_item_is_refused():
    with refused("worth nothing"):
        cart(FREE).discount_line(1, percent=10)


def test_cart_discount_is_spread_over_lines_and_sums_exactly():
    sale = cart(PENCIL, SODA, SODA).discount_cart(amount=50)
    lines = sale.receipt_lines()
    assert sum(ln.discount for ln in lines) == 50
    totals = sale.totals()
    assert totals.subtotal == 129 + 198 - 50 and totals.discount == 50
    assert sum(t["net"] + t["tax"] for t in totals.taxes) == totals.total


def test_cart_discount_on_empty_cart_refused():
    with refused("empty"):
        cart().discount_cart(percent=5)


def test_amount_cart_discount_is_capped_when_the_cart_shrinks():
    sale = cart(PENCIL, SODA).discount_cart(amount=150, approved_by="m1").void_line(1)
    assert sale.totals().total == 0


# -- tendering ------------------------------------------------------------------


def test_tender_with_an_empty_cart_is_refused():
    with refused("cart is empty"):
        cart().begin_tender()
    with refused("cart is empty"):
        cart(PENCIL).void_line(1).begin_tender()


def test_tender_before_pay_is_refused():
    with refused("Press Pay"):
        cart(PENCIL).add_tender("cash", 500)


def test_add_item_while_tendering_is_refused():
    sale = cart(PENCIL).begin_tender()
    for command in (lambda: sale.add(SODA), lambda: sale.set_qty(1, 2), lambda: sale.discount_line(1, percent=5),
                    lambda: sale.discount_cart(percent=5)):
        with refused("while taking payment"):
            command()
    with refused("already started"):
        sale.begin_tender()


def test_cash_change_and_paid():
    sale = cart(PENCIL, PENCIL).begin_tender().add_tender("cash", 500)
    assert sale.phase == "paid"
    assert sale.tenders[0].change == 242
    assert body(sale)["tenders"] == [{"type": "cash", "amount": 500, "change": 242}]


def test_cash_rounding_only_on_cash():
    sale = cart(PENCIL, SODA, rounding=5).begin_tender()  # 228
    assert sale.totals().cash_due == 230
    paid = sale.add_tender("cash", 500)
    assert paid.tenders[0].change == 270 and paid.totals().rounding == 2
    assert body(paid)["totals"] == {"subtotal": 228, "tax": 27, "total": 228, "rounding": 2}
    by_card = sale.add_tender("card")
    assert by_card.phase == "paid" and by_card.totals().rounding == 0


def test_cash_below_the_rounded_due_is_refused():
    sale = cart(PENCIL, SODA, rounding=5).begin_tender()
    with refused("Cash due is €2.30 after rounding to €0.05; €2.29 is not enough"):
        sale.add_tender("cash", 229)


def test_split_tender_card_then_cash():
    sale = cart(PENCIL, PENCIL).begin_tender().add_tender("card", 100)
    assert sale.phase == "tendering" and sale.totals().due == 158
    sale = sale.add_tender("cash", 50)
    assert sale.phase == "tendering" and sale.totals().due == 108
    sale = sale.add_tender("cash", 200)
    assert sale.phase == "paid" and sale.tenders[-1].change == 92
    assert sum(t["amount"] - t["change"] for t in body(sale)["tenders"]) == 258


@pytest.mark.parametrize("kind, amount, reason", [
    ("card", 259, "cannot exceed the amount due"), ("on_account", 300, "cannot exceed"),
    ("cash", 0, "more than zero"), ("card", -5, "more than zero"), ("cheque", 10, "Unknown tender"),
    ("cash", 2.58, "as money, such as 10.50"),
])
def test_tender_refusals(kind, amount, reason):
    sale = cart(PENCIL, PENCIL).set_customer("K1").begin_tender()
    with refused(reason):
        sale.add_tender(kind, amount)


def test_on_account_needs_a_customer_code():
    sale = cart(PENCIL).begin_tender()
    with refused("customer code"):
        sale.add_tender("on_account")
    paid = sale.add_tender("on_account", reference="K42")
    assert paid.phase == "paid" and paid.customer_code == "K42" and body(paid)["customer_code"] == "K42"


def test_on_account_offline_limit_needs_a_manager():
    sale = cart(PENCIL, PENCIL).set_customer("K1").begin_tender()
    with refused("Offline, on-account over €2.00"):
        sale.add_tender("on_account", offline=True, on_account_limit=200)
    assert sale.add_tender("on_account", offline=False, on_account_limit=200).phase == "paid"
    assert sale.add_tender("on_account", offline=True, on_account_limit=200, approved_by="m1").phase == "paid"
    assert on_account_needs_approval(201, offline=True, limit=200)
    assert not on_account_needs_approval(200, offline=True, limit=200)
    assert not on_account_needs_approval(10**6, offline=False, limit=200)


def test_back_to_cart_only_before_any_payment():
    sale = cart(PENCIL, PENCIL).begin_tender()
    assert sale.back_to_cart().phase == "open"
    with refused("Payments have been taken"):
        sale.add_tender("card", 100).back_to_cart()
    with refused("Not taking payment"):
        cart(PENCIL).back_to_cart()


def test_void_after_tender_needs_a_manager():
    sale = cart(PENCIL, SODA).begin_tender()
    with refused("needs a manager"):
        sale.void_line(2)
    voided = sale.void_line(2, approved_by="m1")
    assert voided.totals().total == 129 and voided.phase == "tendering"
    with refused("already cover"):
        sale.add_tender("card", 200).void_line(2, approved_by="m1")
    with refused("last line"):
        cart(PENCIL).begin_tender().void_line(1, approved_by="m1")


def test_everything_is_refused_once_paid():
    sale = cart(PENCIL).begin_tender().add_tender("card")
    for command in (lambda: sale.add(SODA), lambda: sale.void_line(1, approved_by="m1"),
                    lambda: sale.add_tender("cash", 10), lambda: sale.begin_tender(), lambda: sale.set_customer("x")):
        with refused("already paid"):
            command()


def test_receipt_body_needs_a_paid_sale():
    with refused("not paid"):
        body(cart(PENCIL))


def test_a_free_cart_is_paid_at_once():
    sale = cart(FREE).begin_tender()
    assert sale.phase == "paid" and body(sale)["tenders"] == []


def test_tax_excluded_prices_add_tax_to_the_total():
    sale = cart(PENCIL, SODA, tax_included=False).begin_tender()
    totals = sale.totals()
    assert (totals.subtotal, totals.tax, totals.total) == (228, 25 + 7, 260)
    assert sale.add_tender("card").phase == "paid"


def test_sale_id_is_fixed_and_required():
    sale = cart(PENCIL).begin_tender().add_tender("card")
    assert sale.sale_id == "sale-1" and body(sale)["sale_id"] == "sale-1"
    with refused("sale id"):
        Sale.open("", "c7")


def test_sale_round_trips_through_a_dict():
    sale = cart(PENCIL, SODA).add(BANANA, "0.5").discount_line(1, percent=10).discount_cart(amount=20)
    sale = sale.set_customer("K1").begin_tender().add_tender("cash", 100)
    again = Sale.from_dict(sale.to_dict())
    assert again == sale
    with pytest.raises(DomainError, match="unreadable"):
        Sale.from_dict({"lines": []})


def test_finalize_seals_a_chain():
    r1 = finalize(body(cart(PENCIL).begin_tender().add_tender("card")), register="R1", epoch="e1", seq=1,
                  prev_hash=GENESIS)
    nosale = no_sale_body(
        store="S001",
        register="R1",
        currency="EUR",
        created_at="2026-11-25T14:04:00.000Z",
        clock_trusted=True,
        offline=False,
        clerk_id="c7",
        sale_id="ns-1",
        approved_by="m1",
    )
    r2 = finalize(nosale, register="R1", epoch="e1", seq=2, prev_hash=r1["hash"])
    assert r1["receipt_id"] == "R1:e1:1" and r2["receipt_id"] == "R1:e1:2" and r2["kind"] == "no_sale"
    assert verify_chain([r1, r2]) == r2["hash"]
    with pytest.raises(DomainError, match="register"):
        finalize(r1, register="R2", epoch="e1", seq=3, prev_hash=r2["hash"])
    with refused("needs a manager"):
        no_sale_body(
            store="S",
            register="R1",
            currency="EUR",
            created_at="x",
            clock_trusted=True,
            offline=False,
            clerk_id="c7",
            sale_id="ns-2",
            approved_by=None,
        )


def test_a_payment_can_be_removed_until_the_sale_is_paid_and_then_the_cart_reopens():
    sale = cart(PENCIL, PENCIL).begin_tender().add_tender("card", 100).add_tender("cash", 10)
    assert sale.totals().due == 148
    with refused("remove them first"):
        sale.back_to_cart()
    sale = sale.remove_tender(1)
    assert [t.kind for t in sale.tenders] == ["card"] and sale.totals().due == 158 and sale.remaining() == 158
    sale = sale.remove_tender(0)
    assert sale.tenders == () and sale.back_to_cart().phase == "open"
    with refused("no such payment"):
        sale.remove_tender(0)
    paid = cart(PENCIL).begin_tender().add_tender("cash", 500)
    with refused("already paid"):
        paid.remove_tender(0)


def test_the_sales_money_keeps_its_currency_and_display_when_parked():
    sale = Sale.open("s", "c1", rates=RATES, currency="GBP", currency_display="code").add(PENCIL)
    assert sale.money(129) == "GBP 1.29"
    again = Sale.from_dict(sale.to_dict())
    assert again.pricing == sale.pricing and again.money(5) == "GBP 0.05"
    old = sale.to_dict()
    del old["pricing"]["currency"], old["pricing"]["currency_display"]  # a cart parked before currencies were kept
    assert Sale.from_dict(old).money(129) == "€1.29"
