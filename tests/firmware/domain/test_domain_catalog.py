"""Catalog: O(1) lookups, scans that never raise, ranked accent-insensitive search, payload round trip."""

from __future__ import annotations

import time

import pytest

from firmware.domain.barcode import gtin_check_digit
from firmware.domain.catalog import Catalog, Item, NotSellable, QuickKey
from firmware.domain.errors import PayloadInvalid

PAYLOAD = {
    "version": 3, "currency": "EUR", "tax_rates": {"A": "19.00", "B": "7.00"},
    "items": [
        {"sku": "P1", "name": "Pencil HB", "price": 129, "tax_code": "A", "barcodes": ["4006381333931"],
         "weighed": False},
        {"sku": "C1", "name": "Crème Brûlée", "price": 350, "tax_code": "B", "barcodes": ["96385074"],
         "weighed": False},
        {"sku": "S1", "name": "Soda", "price": 99, "tax_code": "B", "barcodes": ["036000291452"], "weighed": False},
        {"sku": "4011", "name": "Bananas", "price": 199, "tax_code": "B", "barcodes": [], "weighed": True},
        {"sku": "P2", "name": "Red pencil", "price": 149, "tax_code": "A", "barcodes": [], "weighed": False},
    ],
    "quick_keys": [{"label": "Bananas", "sku": "4011"}],
}


@pytest.fixture
def catalog():
    return Catalog.from_payload(PAYLOAD)


def test_lookup_by_sku_and_barcode(catalog):
    assert catalog.by_sku("P1").name == "Pencil HB"
    assert catalog.by_barcode("96385074").sku == "C1"
    assert catalog.by_sku("nope") is None


def test_upc_a_is_found_by_its_ean13_form_and_back(catalog):
    assert catalog.lookup_scan("036000291452").sku == "S1"
    assert catalog.lookup_scan("0036000291452").sku == "S1"


def test_plu_scan_finds_the_item_by_sku(catalog):
    assert catalog.lookup_scan("4011").sku == "4011"


def test_unknown_barcode_is_a_rejection_not_an_exception(catalog):
    result = catalog.lookup_scan("5901234123457")
    assert result == NotSellable("Unknown barcode 5901234123457", "5901234123457")


def test_invalid_barcode_is_a_rejection_with_reason(catalog):
    result = catalog.lookup_scan("4006381333932")
    assert isinstance(result, NotSellable)
    assert "check digit wrong" in result.reason


def test_search_is_case_and_accent_insensitive_and_ranked(catalog):
    assert [i.sku for i in catalog.search("creme")] == ["C1"]
    assert [i.sku for i in catalog.search("PENCIL")] == ["P1", "P2"]  # name starts with it ranks first
    assert [i.sku for i in catalog.search("pencil red")] == ["P2"]
    assert catalog.search("") == []
    assert [i.sku for i in catalog.search("P2")] == ["P2"]  # an exact SKU comes first


def test_search_limit(catalog):
    assert len(catalog.search("e", limit=2)) == 2


def test_quick_keys(catalog):
    assert catalog.quick_keys == [QuickKey("Bananas", "4011")]


def test_payload_round_trip(catalog):
    again = Catalog.from_payload(catalog.to_payload())
    assert again.to_payload() == catalog.to_payload()
    assert again.version == 3 and again.tax_rates == {"A": "19.00", "B": "7.00"}


@pytest.mark.parametrize("change, message", [
    (lambda p: p["items"].append(dict(p["items"][0])), "appears twice"),
    (lambda p: p["items"][0].update(price=1.29), "non-negative int"),
    (lambda p: p["items"][0].update(price=-1), "non-negative int"),
    (lambda p: p["items"][0].update(tax_code="Z"), "not in tax_rates"),
    (lambda p: p["items"][0].update(barcodes=["4006381333932"]), "check digit wrong"),
    (lambda p: p["items"][1].update(barcodes=["4006381333931"]), "is on both"),
    (lambda p: p["quick_keys"].append({"label": "x", "sku": "missing"}), "unknown SKU"),
    (lambda p: p.update(currency="XXX"), "unknown currency"),
    (lambda p: p.update(items="nope"), "must be a list"),
    (lambda p: p["items"][0].update(name=""), "name"),
])
def test_bad_payload_is_refused_whole_with_a_reason(change, message):
    import copy
    payload = copy.deepcopy(PAYLOAD)
    change(payload)
    with pytest.raises(PayloadInvalid, match=message):
        Catalog.from_payload(payload)


@pytest.mark.slow
def test_fifty_thousand_items_load_quickly():
    items = []
    for n in range(50_000):
        body = f"20{n:010d}"
        items.append({"sku": f"SKU{n}", "name": f"Item number {n}", "price": 100 + n % 900, "tax_code": "A",
                      "barcodes": [body + str(gtin_check_digit(body))], "weighed": False})
    payload = {"version": 1, "currency": "EUR", "tax_rates": {"A": "19.00"}, "items": items, "quick_keys": []}
    start = time.perf_counter()
    catalog = Catalog.from_payload(payload)
    elapsed = time.perf_counter() - start
    assert len(catalog) == 50_000
    assert catalog.by_sku("SKU49999").name == "Item number 49999"
    assert catalog.lookup_scan(items[12345]["barcodes"][0]).sku == "SKU12345"
    assert catalog.search("number 4999")[0].sku == "SKU4999"
    assert elapsed < 5.0  # generous: linear work, about 0.3 s here


def test_catalog_constructed_directly():
    catalog = Catalog([Item("X", "Thing", 100, "A", ("4006381333931",))], tax_rates={"A": "19.00"})
    assert catalog.lookup_scan("4006381333931").sku == "X"


def test_trusted_load_gives_the_same_catalog_as_the_validating_one():
    from firmware.bootstrap import demo_catalog_payload

    payload = demo_catalog_payload()
    checked, fast = Catalog.from_payload(payload), Catalog.from_trusted(payload)
    assert fast.to_payload() == checked.to_payload()
    assert fast.lookup_scan("4006381333931") == checked.lookup_scan("4006381333931")
    assert [i.sku for i in fast.search("pen")] == [i.sku for i in checked.search("pen")]
