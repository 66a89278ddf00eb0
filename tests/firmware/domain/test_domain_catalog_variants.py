"""The catalog carries its variant groups and item pictures (docs/stock.md#variants, docs/item-images.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from firmware.domain.catalog import Catalog, ImageRef, Item
from firmware.domain.errors import PayloadInvalid
from firmware.domain.variants import Axis, Variant, VariantGroup, VariantHit

DEMO = json.loads((Path(__file__).parents[3] / "firmware" / "demo" / "catalog.json").read_text(encoding="utf-8"))
SHA = "ab" * 32


def tee_payload(**extra):
    items = [
        {"sku": "TS-M-B", "name": "T-shirt M Blue", "price": 1290, "tax_code": "A", "barcodes": ["4006380009011"]},
        {"sku": "TS-L-B", "name": "T-shirt L Blue", "price": 1490, "tax_code": "A", "barcodes": ["4006380009028"],
         "image": {"sha256": SHA, "bytes": 1200, "type": "image/png"}},
        {"sku": "MUG", "name": "Mug", "price": 590, "tax_code": "A"},
    ]
    group = {"parent": "TSHIRT", "name": "T-shirt", "axes": [{"name": "Size", "values": ["M", "L"]},
                                                          {"name": "Colour", "values": ["Blue", "Black"]}],
             "variants": [{"sku": "TS-M-B", "values": ["M", "Blue"]}, {"sku": "TS-L-B", "values": ["L", "Blue"]}]}
    return {"version": 3, "currency": "EUR", "tax_rates": {"A": "19.00"}, "items": items, "variants": [group],
            **extra}


def test_the_catalog_carries_its_groups_and_a_scan_of_a_variant_names_it():
    catalog = Catalog.from_payload(tee_payload())
    assert list(catalog.variants.groups) == ["TSHIRT"]
    hit = catalog.variants.lookup_scan("4006380009011")
    assert isinstance(hit, VariantHit) and hit.label == "T-shirt, M / Blue" and hit.item.price == 1290
    assert catalog.sold_as(hit.item).name == "T-shirt, M / Blue"  # what the cart line says
    plain = catalog.by_sku("MUG")
    assert plain is not None and catalog.sold_as(plain) is plain  # a plain item keeps its name


def test_the_grid_has_the_missing_combinations_as_empty_cells():
    catalog = Catalog.from_payload(tee_payload())
    grid = catalog.variants.group("TSHIRT").grid(catalog)
    assert grid.rows == ("M", "L") and grid.cols == ("Blue", "Black")
    assert grid.cell("M", "Blue").sku == "TS-M-B" and grid.cell("M", "Blue").item.price == 1290
    assert grid.cell("L", "Black").missing and grid.cell("M", "Black").missing


def test_the_payload_round_trips_with_variants_and_pictures_both_ways_of_loading():
    payload = tee_payload()
    catalog = Catalog.from_payload(payload)
    out = catalog.to_payload()
    assert out["variants"] == payload["variants"]
    assert out["items"][1]["image"] == {"sha256": SHA, "bytes": 1200, "type": "image/png"}
    for again in (Catalog.from_payload(out), Catalog.from_trusted(out)):
        assert again.to_payload() == out
        assert again.by_sku("TS-L-B").image == ImageRef(SHA, 1200, "image/png")
        assert again.images() == {SHA: ImageRef(SHA, 1200, "image/png")}


@pytest.mark.parametrize("variants, why", [
    ([{"parent": "TSHIRT", "name": "T", "axes": [{"name": "Size", "values": ["M"]}],
       "variants": [{"sku": "NOPE", "values": ["M"]}]}], "NOPE is not in the catalog"),
    ([{"parent": "MUG", "name": "T", "axes": [{"name": "Size", "values": ["M"]}],
       "variants": [{"sku": "TS-M-B", "values": ["M"]}]}], "is an item's sku"),
    ([{"parent": "A", "name": "T", "axes": [{"name": "Size", "values": ["M"]}],
       "variants": [{"sku": "TS-M-B", "values": ["M"]}]},
      {"parent": "B", "name": "U", "axes": [{"name": "Size", "values": ["M"]}],
       "variants": [{"sku": "TS-M-B", "values": ["M"]}]}], "in two groups"),
    ("nope", "must be a list of objects"),
])
def test_a_bad_variant_group_refuses_the_whole_catalog(variants, why):
    with pytest.raises(PayloadInvalid, match=why):
        Catalog.from_payload(tee_payload(variants=variants))


@pytest.mark.parametrize("image, why", [
    ({"sha256": "AB" * 32, "bytes": 10, "type": "image/png"}, "64 lowercase hex"),
    ({"sha256": SHA, "bytes": 0, "type": "image/png"}, "1 to 262144 bytes"),
    ({"sha256": SHA, "bytes": 300_000, "type": "image/png"}, "1 to 262144 bytes"),
    ({"sha256": SHA, "bytes": 10, "type": "image/gif"}, "image/png, image/jpeg"),
    ("picture.png", "must be an object"),
])
def test_a_bad_picture_reference_refuses_the_catalog_with_a_sentence(image, why):
    payload = tee_payload()
    payload["items"][2]["image"] = image
    with pytest.raises(PayloadInvalid, match=why):
        Catalog.from_payload(payload)


def test_the_demo_catalog_has_variant_groups_with_their_own_barcodes_and_prices():
    catalog = Catalog.from_payload(DEMO)
    assert {"TSHIRT", "SOCKS", "HOODIE"} <= set(catalog.variants.groups)
    tee = catalog.variants.group("TSHIRT")
    prices = {v.values: catalog.by_sku(v.sku).price for v in tee.variants}
    assert prices[("S", "Blue")] == 1290 and prices[("L", "Blue")] == 1490
    assert ("L", "Black") not in prices  # a missing combination: greyed in the grid
    codes = [catalog.by_sku(v.sku).barcodes[0] for v in tee.variants]
    assert len(set(codes)) == len(codes)
    hoodie = catalog.variants.group("HOODIE")
    assert hoodie.pages == ("Regular", "Slim")
    assert hoodie.grid(catalog, page="Slim").cell("S", "Navy").missing


def test_searching_finds_parents_by_name_first():
    catalog = Catalog.from_payload(DEMO)
    assert [g.parent for g in catalog.variants.search("t-sh")] == ["TSHIRT"]
    assert [g.parent for g in catalog.variants.search("HOODIE")] == ["HOODIE"]  # the parent id, exactly
    assert catalog.variants.search("") == [] and catalog.variants.search("zzz") == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("SML"), st.sampled_from(["Red", "Blue"])), unique=True, min_size=1,
                max_size=6))
def test_every_variant_is_sold_under_its_label_and_every_other_cell_is_missing(combos):
    items = [Item(f"V{i}", f"Variant {i}", 100 + i, "A") for i in range(len(combos))]
    group = VariantGroup("P", "Shirt", (Axis("Size", ("S", "M", "L")), Axis("Colour", ("Red", "Blue"))),
                         tuple(Variant(f"V{i}", c) for i, c in enumerate(combos)))
    catalog = Catalog(items, variant_groups=[group])
    grid = group.grid(catalog)
    for row in grid.cells:
        for cell in row:
            combo = (cell.row, cell.col)
            if combo in combos:
                i = combos.index(combo)
                assert cell.sku == f"V{i}" and catalog.sold_as(items[i]).name == f"Shirt, {combo[0]} / {combo[1]}"
            else:
                assert cell.missing
