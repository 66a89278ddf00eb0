"""Items with variants (firmware/domain/variants.py): the grid, missing combinations, lookup by barcode."""

from __future__ import annotations

import pytest

from firmware.domain.catalog import Catalog, Item, NotSellable
from firmware.domain.errors import PayloadInvalid
from firmware.domain.variants import Axis, Variant, VariantGroup, VariantHit, Variants

SIZES = ("S", "M", "L")
COLOURS = ("Red", "Blue")
BARCODES = {("S", "Red"): "4006381333931", ("M", "Red"): "5901234123457", ("L", "Red"): "4012345678901",
            ("S", "Blue"): "9780201379624", ("M", "Blue"): "0012345678905"}  # L/Blue is not sold


def sku(size, colour):
    return f"TS-{size}-{colour}"


CATALOG = Catalog([Item(sku(s, c), f"T-shirt {s} {c}", 1500 + 100 * SIZES.index(s), "A", (code,))
                   for (s, c), code in BARCODES.items()] + [Item("MUG", "Mug", 700, "A", ("4000000000006",))])
DOC = {"parent": "TSHIRT", "name": "T-shirt",
       "axes": [{"name": "Size", "values": list(SIZES)}, {"name": "Colour", "values": list(COLOURS)}],
       "variants": [{"sku": sku(s, c), "values": [s, c]} for (s, c) in BARCODES]}


def test_grid_rows_by_columns_marks_the_missing_combination():
    group = VariantGroup.from_doc(DOC)
    grid = group.grid(CATALOG)
    assert (grid.row_axis, grid.col_axis, grid.rows, grid.cols) == ("Size", "Colour", SIZES, COLOURS)
    assert [[c.sku for c in row] for row in grid.cells] == [
        ["TS-S-Red", "TS-S-Blue"], ["TS-M-Red", "TS-M-Blue"], ["TS-L-Red", None]]
    assert grid.cell("L", "Blue").missing
    assert grid.cell("M", "Red").item is not None and grid.cell("M", "Red").item.price == 1600
    flipped = group.grid(rows=1, cols=0)
    assert flipped.rows == COLOURS and flipped.cell("Blue", "L").missing


def test_one_axis_is_one_column_and_three_axes_page_by_the_third():
    single = VariantGroup("CAP", "Cap", (Axis("Size", ("S", "L")),), (Variant("CAP-S", ("S",)),))
    grid = single.grid()
    assert grid.cols == ("",) and [[c.sku for c in r] for r in grid.cells] == [["CAP-S"], [None]]
    triple = VariantGroup("SHOE", "Shoe", (Axis("Size", ("40", "41")), Axis("Colour", ("Black",)),
                                           Axis("Width", ("N", "W"))),
                          (Variant("SH-40-B-N", ("40", "Black", "N")), Variant("SH-41-B-W", ("41", "Black", "W"))))
    assert [[c.sku for c in r] for r in triple.grid().cells] == [["SH-40-B-N"], [None]]
    page = triple.grid(page="W")
    assert page.page == "W" and [[c.sku for c in r] for r in page.cells] == [[None], ["SH-41-B-W"]]
    with pytest.raises(PayloadInvalid):
        triple.grid(page="XL")
    with pytest.raises(PayloadInvalid):
        triple.grid(rows=0, cols=0)


def test_lookup_by_a_variants_barcode_resolves_to_the_variant():
    variants = Variants.from_payload(CATALOG, [DOC])
    hit = variants.lookup_scan(BARCODES[("M", "Blue")])
    assert isinstance(hit, VariantHit)
    assert (hit.item.sku, hit.group.parent, hit.variant.values, hit.label) == (
        "TS-M-Blue", "TSHIRT", ("M", "Blue"), "T-shirt, M / Blue")
    assert variants.lookup_scan("4000000000006") == CATALOG.by_sku("MUG")  # a plain item stays an item
    assert isinstance(variants.lookup_scan("4006381333932"), NotSellable)  # bad check digit
    assert variants.group("TSHIRT").variant_of(["S", "Red"]).sku == "TS-S-Red"
    assert variants.group("TSHIRT").variant_of(["L", "Blue"]) is None


@pytest.mark.parametrize("change, message", [
    (lambda d: d["variants"].append({"sku": "TS-S-Red", "values": ["S", "Red"]}), "repeats"),
    (lambda d: d["variants"].append({"sku": "MUG", "values": ["L", "Green"]}), "known value"),
    (lambda d: d["axes"].extend([{"name": f"X{i}", "values": ["a"]} for i in range(3)]), "axes"),
    (lambda d: d["axes"][0].update(values=[str(i) for i in range(31)]), "different values"),
])
def test_bad_groups_are_refused_with_a_reason(change, message):
    doc = {**DOC, "axes": [dict(a) for a in DOC["axes"]], "variants": list(DOC["variants"])}
    change(doc)
    with pytest.raises(PayloadInvalid, match=message):
        VariantGroup.from_doc(doc)


def test_groups_must_fit_the_catalog():
    with pytest.raises(PayloadInvalid, match="not in the catalog"):
        Variants.from_payload(CATALOG, [{**DOC, "variants": [{"sku": "NOPE", "values": ["S", "Red"]}]}])
    with pytest.raises(PayloadInvalid, match="item's sku"):
        Variants.from_payload(CATALOG, [{**DOC, "parent": "MUG"}])
    with pytest.raises(PayloadInvalid, match="two groups"):
        Variants.from_payload(CATALOG, [DOC, {**DOC, "parent": "TSHIRT2"}])
