"""Promotions on the catalog: the strict, bounded model, its JSON Schema, and the domain it builds."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest

from firmware.chain import canonical_json
from firmware.contract import CatalogMessage, PayloadRejected, decode
from firmware.contract.promotions import MAX_PROMOTIONS, CatalogPromotions, decode_promotions
from firmware.contract.schemas import DIALECT, portable
from firmware.domain.promotions import PromoLine
from tests.contract.kassa_samples import CATALOG

PROMOTIONS: dict[str, Any] = {
    "sku_groups": {"4006381333931": ["stationery"], "COLA": ["drinks"], "BEER": ["drinks", "alcohol"]},
    "promotions": [
        {"promotion_id": "PENS-3FOR2", "name": "Pencils 3 for 2", "kind": "multi_buy",
         "skus": ["4006381333931"], "buy": 3, "pay": 2},
        {"promotion_id": "DRINKS-2FOR3", "name": "Any 2 drinks 3.00", "kind": "multi_buy",
         "groups": ["drinks"], "buy": 2, "price": 300},
        {"promotion_id": "HAPPY-HOUR", "name": "Happy hour -20%", "kind": "discount", "groups": ["drinks"],
         "percent": "20", "stackable": True,
         "window": {"weekdays": [1, 2, 3, 4, 5], "start": "17:00", "end": "19:00",
                    "first_day": "2026-12-01", "last_day": "2026-12-31"}},
        {"promotion_id": "COLA-50C", "name": "Cola -0.50", "kind": "discount", "skus": ["COLA"], "amount": 50},
        {"promotion_id": "SPEND-50", "name": "Spend 50 save 5", "kind": "spend_save", "spend": 5000,
         "amount": 500},
        {"promotion_id": "WELCOME", "name": "Welcome -10%", "kind": "discount", "percent": "10",
         "codes": ["WELCOME10"]},
        {"promotion_id": "COUPON-NOV", "name": "Coupon 5.00", "kind": "spend_save", "spend": 2000, "amount": 500,
         "codes": ["C-7Q2K-0001", "C-7Q2K-0002"], "single_use": True},
    ],
}
SCHEMA = {"$schema": DIALECT, "$id": "https://kassa.example/schemas/v1/catalog_promotions.json",
          **portable(CatalogPromotions.model_json_schema())}
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def with_rule(index: int, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(PROMOTIONS)
    rule = doc["promotions"][index]
    for key, value in changes.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    return doc


def test_the_sample_passes_model_and_schema_and_builds_the_domains_book():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    VALIDATOR.validate(PROMOTIONS)
    model = decode_promotions(json.loads(json.dumps(PROMOTIONS)))
    assert [p.promotion_id for p in model.promotions] == [p["promotion_id"] for p in PROMOTIONS["promotions"]]
    book = model.to_book()
    assert len(book) == 7 and book.groups_of("BEER") == frozenset({"drinks", "alcohol"})
    now = datetime(2026, 12, 2, 17, 30, tzinfo=timezone(timedelta(hours=1)))
    result = book.price([PromoLine(1, "4006381333931", 129, 3), PromoLine(2, "BEER", 249, 2)], now=now,
                        clock_trusted=True, codes=["c-7q2k-0001"])
    assert {a.promotion_id for a in result.applied} == {"PENS-3FOR2", "DRINKS-2FOR3", "HAPPY-HOUR"}
    assert result.code_problems == (("C-7Q2K-0001", "The promotion for this code does not apply to this cart now"),)


def test_the_catalog_carries_them_as_added_fields():
    doc = dict(CATALOG, **PROMOTIONS)
    catalog = decode(CatalogMessage, canonical_json(doc))  # an older register: unknown fields are tolerated
    assert catalog.version == CATALOG["version"]
    assert len(decode_promotions(doc).promotions) == 7
    assert decode_promotions(dict(CATALOG)) == CatalogPromotions()  # none: no promotions


@pytest.mark.parametrize("doc, where", [
    (with_rule(3, amount=-50), "amount"),
    (with_rule(3, amount=0), "amount"),
    (with_rule(2, percent="120"), "at most 100"),
    (with_rule(2, percent="0"), "more than 0"),
    (with_rule(2, percent="-5"), "percent"),
    (with_rule(2, percent=20), "percent"),  # strict: a percentage is a decimal string
    (with_rule(2, percent="10", amount=5), "not both"),
    (with_rule(0, kind="bogo"), "does not match any of the expected tags"),
    (with_rule(0, pay=3), "less than buy"),
    (with_rule(0, buy=1), "buy"),
    (with_rule(0, price=100), "not both"),
    (with_rule(0, skus=None), "needs skus or groups"),
    (with_rule(0, stackable=True), "cannot be stackable"),
    (with_rule(0, buy="3"), "buy"),
    (with_rule(2, window={"start": "19:00", "end": "17:00"}), "not after start"),
    (with_rule(2, window={"start": "17:00", "end": "17:00"}), "not after start"),
    (with_rule(2, window={"start": "17:00"}), "both start and end"),
    (with_rule(2, window={"start": "25:00", "end": "26:00"}), "start"),
    (with_rule(2, window={"first_day": "2026-12-31", "last_day": "2026-12-01"}), "before first_day"),
    (with_rule(2, window={"first_day": "2026-02-30"}), "calendar date"),
    (with_rule(2, window={"weekdays": [8]}), "weekdays"),
    (with_rule(2, window={"weekdays": [1, 1]}), "more than once"),
    (with_rule(5, codes=["X" * 33]), "codes"),
    (with_rule(5, codes=["AB"]), "codes"),
    (with_rule(5, codes=["HAS SPACE"]), "codes"),
    (with_rule(5, codes=["SAME", "same"]), "more than once"),
    (with_rule(6, codes=None), "needs its coupon codes"),
    (with_rule(4, spend=None), "spend"),
    (with_rule(1, name="N" * 41), "name"),
    (with_rule(1, name=""), "name"),
    (with_rule(1, promotion_id="PENS-3FOR2"), "appears more than once"),
])
def test_nonsense_is_refused_with_a_clear_reason(doc, where):
    with pytest.raises(PayloadRejected, match=where) as err:
        decode_promotions(doc)
    assert str(err.value).startswith("catalog: ")


@pytest.mark.slow
def test_a_single_use_code_belongs_to_one_promotion_and_sizes_are_bounded():
    doc = copy.deepcopy(PROMOTIONS)
    doc["promotions"].append(dict(doc["promotions"][6], promotion_id="COUPON-DEC"))
    with pytest.raises(PayloadRejected, match="single-use code C-7Q2K-0001 is on both"):
        decode_promotions(doc)
    many = {"promotions": [dict(PROMOTIONS["promotions"][3], promotion_id=f"P{i}") for i in range(MAX_PROMOTIONS + 1)]}
    with pytest.raises(PayloadRejected, match="at most 2000"):
        decode_promotions(many)
    assert not VALIDATOR.is_valid(many)
    groups = {"sku_groups": {"COLA": [f"g{i}" for i in range(21)]}}
    with pytest.raises(PayloadRejected, match="sku_groups"):
        decode_promotions(groups)
    assert not VALIDATOR.is_valid(groups)


@pytest.mark.parametrize("doc", [
    with_rule(3, amount=-50), with_rule(2, percent="120a"), with_rule(0, kind="bogo"), with_rule(0, buy=1),
    with_rule(5, codes=["X" * 33]), with_rule(2, window={"start": "25:00", "end": "26:00"}), with_rule(1, name=""),
])
def test_the_schema_refuses_what_it_can_express(doc):
    assert not VALIDATOR.is_valid(doc)


def test_what_the_model_accepts_the_domain_accepts():
    for rule in PROMOTIONS["promotions"]:
        doc = {"promotions": [rule]}
        assert len(decode_promotions(doc).to_book()) == 1
