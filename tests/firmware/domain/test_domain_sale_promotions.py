"""Promotions in a sale: catalog rules, the till's clock, codes, savings in line discounts, receipt fields."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from fractions import Fraction

import pytest

from firmware.contract.errors import PayloadRejected
from firmware.contract.payloads import CatalogMessage, decode
from firmware.domain import sale_promotions as sp
from firmware.domain.catalog import Catalog
from firmware.domain.errors import PayloadInvalid, Refused
from firmware.domain.promotion_rules import Tier
from firmware.domain.sale import Sale

RATES = {"A": "19.00", "B": "7.00"}
SHOP = timezone(timedelta(hours=1))
HAPPY = datetime(2026, 12, 2, 17, 30, tzinfo=SHOP)  # a Wednesday, inside 17:00-19:00
LATER = datetime(2026, 12, 2, 20, 0, tzinfo=SHOP)

PAYLOAD = {
    "version": 3, "currency": "EUR", "tax_rates": RATES,
    "items": [{"sku": "PEN", "name": "Pencil", "price": 100, "tax_code": "A"},
              {"sku": "COLA", "name": "Cola", "price": 200, "tax_code": "B"},
              {"sku": "SOAP", "name": "Soap", "price": 350, "tax_code": "A"}],
    "sku_groups": {"COLA": ["drinks"]},
    "promotions": [
        {"promotion_id": "PENS-3FOR2", "name": "Pencils 3 for 2", "kind": "multi_buy", "skus": ["PEN"], "buy": 3,
         "pay": 2},
        {"promotion_id": "HAPPY-HOUR", "name": "Happy hour -20%", "kind": "discount", "groups": ["drinks"],
         "percent": "20", "stackable": True, "window": {"start": "17:00", "end": "19:00"}},
        {"promotion_id": "SUMMER", "name": "Summer 1.00 off", "kind": "spend_save", "spend": 500, "amount": 100,
         "codes": ["SUMMER-1"], "stackable": True},
        {"promotion_id": "COUPON", "name": "Coupon 2.00", "kind": "spend_save", "spend": 300, "amount": 200,
         "codes": ["C-0001", "C-0002"], "single_use": True},
    ],
}
CATALOG = Catalog.from_payload(PAYLOAD)


def cart(now=HAPPY, trusted=True):
    sale = sp.attach(Sale.open("s1", "c1", rates=RATES), CATALOG.promotions)
    return sp.at(sale, now, trusted)


def paid(sale):
    return sale.begin_tender().add_tender("cash")


def body(sale):
    return paid(sale).receipt_body("S1", "R1", "EUR", "2026-12-02T16:30:00Z", True, False)


def test_catalog_carries_its_promotions_and_round_trips_them():
    assert len(CATALOG.promotions) == 4
    assert CATALOG.promotions.groups_of("COLA") == {"drinks"}
    again = Catalog.from_trusted(CATALOG.to_payload())
    assert len(again.promotions) == 4 and again.to_payload() == CATALOG.to_payload()
    assert len(Catalog([]).promotions) == 0
    assert "promotions" not in Catalog.from_payload({**PAYLOAD, "promotions": [], "sku_groups": {}}).to_payload()


def test_a_bad_promotion_refuses_the_catalog_with_a_clear_message():
    bad = {**PAYLOAD, "promotions": [{**PAYLOAD["promotions"][0], "pay": 3}]}
    with pytest.raises(PayloadRejected, match=r"promotions\.0\.multi_buy.*pay 3 must be less than buy 3"):
        decode(CatalogMessage, json.dumps(bad))
    with pytest.raises(PayloadInvalid, match="promotion #0"):
        Catalog.from_payload(bad)
    assert decode(CatalogMessage, json.dumps(PAYLOAD)).promotions == PAYLOAD["promotions"]
    old = {k: v for k, v in PAYLOAD.items() if k not in ("promotions", "sku_groups")}
    assert decode(CatalogMessage, json.dumps(old)).promotions is None


def test_savings_are_in_the_line_discounts_and_totals_and_taxes_follow():
    sale = cart().add(CATALOG.by_sku("PEN"), 4).add(CATALOG.by_sku("COLA"), 2)
    lines = sale.receipt_lines()
    assert [ln.discount for ln in lines] == [100, 80]
    totals = sale.totals()
    assert totals.total == 400 + 400 - 180 and totals.discount == 180
    assert {t["tax_code"]: t["net"] + t["tax"] for t in totals.taxes} == {"A": 300, "B": 320}


def test_windowed_promotion_waits_for_its_time_and_a_trusted_clock():
    base = Sale.open("s1", "c1", rates=RATES)
    for now, trusted, saving in ((HAPPY, True, 80), (LATER, True, 0), (HAPPY, False, 0)):
        sale = sp.at(sp.attach(base, CATALOG.promotions), now, trusted).add(CATALOG.by_sku("COLA"), 2)
        assert sale.totals().discount == saving
    held = sp.at(sp.attach(base, CATALOG.promotions), HAPPY, False).add(CATALOG.by_sku("COLA"), 2)
    assert held.promotion_result is not None and held.promotion_result.held_back == ("HAPPY-HOUR",)


def test_promotions_freeze_at_pay():
    sale = cart().add(CATALOG.by_sku("COLA"), 2).begin_tender()
    assert sp.at(sale, LATER, True) is sale  # the clock moving on changes nothing in payment
    assert sale.totals().total == 320


def test_codes_unlock_promotions_and_single_use_coupons_are_consumed():
    sale = cart(LATER).add(CATALOG.by_sku("SOAP"), 2)
    with pytest.raises(Refused, match="No promotion has this code"):
        sp.enter_code(sale, "nope-1")
    with pytest.raises(Refused, match="already been used"):
        sp.enter_code(sale, "c-0001", frozenset({"C-0001"}))
    sale = sp.enter_code(sp.enter_code(sale, " summer-1 "), "c-0002")
    assert sale.totals().total == 700 - 300
    doc = body(sale)
    assert doc["coupons"] == ["C-0002"]
    assert {p["promotion_id"]: (p["saving"], p.get("code")) for p in doc["promotions"]} == {
        "SUMMER": (100, "SUMMER-1"), "COUPON": (200, "C-0002")}
    assert sp.remove_code(sale, "summer-1").totals().total == 700 - 200
    with pytest.raises(Refused):
        sp.remove_code(sale, "OTHER-1")


def test_receipt_fields_and_receipts_without_promotions_keep_their_form():
    sale = cart().add(CATALOG.by_sku("PEN"), 1).void_line(1).add(CATALOG.by_sku("PEN"), 4)
    sale = sale.add(CATALOG.by_sku("COLA"), 2).discount_cart(percent="10")
    doc = body(sale)
    pen, cola = doc["lines"]
    assert pen["promotion"] == 100 and sum(u["paid"] for u in pen["units"]) == pen["amount"]
    assert cola["units"] == [{"qty": 2, "paid": cola["amount"]}]
    assert doc["promotions"][1] == {"promotion_id": "PENS-3FOR2", "name": "Pencils 3 for 2", "saving": 100,
                                    "lines": [[1, 100]]}  # receipt line 1: the voided line is not on it
    assert "coupons" not in doc
    plain = Sale.open("s1", "c1", rates=RATES).add(CATALOG.by_sku("PEN"), 4).add(CATALOG.by_sku("COLA"), 2)
    late = cart(LATER).add(CATALOG.by_sku("SOAP"), 1)
    for sale in (plain, late):
        doc = body(sale)
        assert "promotions" not in doc and "coupons" not in doc
        assert all(set(ln) == {"sku", "name", "qty", "unit_price", "discount", "tax_code", "amount"}
                   for ln in doc["lines"])


def test_a_manually_discounted_line_gets_no_promotion():
    sale = cart().add(CATALOG.by_sku("PEN"), 3).discount_line(1, amount=10)
    assert sale.receipt_lines()[0].discount == 10


def test_spread_over_tiers_keeps_units_whole_and_dearest_first():
    tiers = (Tier(1, 100), Tier(3, 201))
    assert sp.spread_over_tiers(tiers, 0) == tiers
    spread = sp.spread_over_tiers((Tier(1, 100), Tier(3, 198)), 31)
    assert sum(t.paid for t in spread) == 298 - 31 and sum(t.qty for t in spread) == 4
    each = [Fraction(t.paid, t.qty) for t in spread]
    assert each == sorted(each, reverse=True)
