"""Variants on a real register (demo catalog): a variant's barcode sells it under its label, a search finds the
parent first, and the grid shows prices, stock on hand and the combinations not sold (docs/stock.md#variants)."""

from __future__ import annotations

import pytest

from firmware.domain.stock import StockSnapshot
from firmware.register.commands import AddSku
from tests.firmware.register.conftest import login_cashier

TEE_M_BLUE = "4006380009035"  # T-shirt M / Blue, 12.90
TEE_L_BLUE = "4006380009059"  # T-shirt L / Blue, 14.90
HOODIE_M_NAVY_SLIM = "4006380009158"

pytestmark = pytest.mark.slow  # a register on a real journal per test


def test_scanning_a_variants_barcode_adds_that_variant_named_by_its_group_and_values(reg):
    login_cashier(reg)
    outcome = reg.scan(TEE_M_BLUE)
    assert outcome.ok and outcome.message == "T-shirt, M / Blue added"
    line = reg.view().lines[-1]
    assert (line.sku, line.name, line.unit_price) == (TEE_M_BLUE, "T-shirt, M / Blue", 1290)
    assert reg.scan(HOODIE_M_NAVY_SLIM).ok
    assert reg.view().lines[-1].name == "Hoodie, M / Navy / Slim"


def test_a_search_lists_the_parent_first_and_hides_its_variants(reg):
    found = reg.search("t-shirt", limit=6)
    assert found[0].sku == "TSHIRT" and found[0].variants == 5 and found[0].price == 1290  # "from" the lowest
    assert all(not info.name.startswith("T-shirt ") for info in found)  # the five variants are in the grid
    assert [i.sku for i in reg.search("pencil", limit=6)][:1] == ["4006381333931"]  # plain items as before


def test_the_grid_shows_each_variants_price_and_greys_what_is_not_sold(reg):
    grid = reg.variant_grid("TSHIRT")
    assert grid is not None and (grid.name, grid.row_axis, grid.col_axis) == ("T-shirt", "Size", "Colour")
    assert grid.rows == ("S", "M", "L") and grid.cols == ("Blue", "Black") and grid.pages == ()
    cells = {(c.row, c.col): c for row in grid.cells for c in row}
    assert cells[("M", "Blue")].sku == TEE_M_BLUE and cells[("M", "Blue")].price == 1290
    assert cells[("L", "Blue")].price == 1490
    assert cells[("L", "Black")].sku is None  # not sold: greyed, not tappable
    assert reg.variant_grid("4006381333931") is None and reg.variant_grid("NOPE") is None


def test_three_axes_are_pages_of_the_third(reg):
    first = reg.variant_grid("HOODIE")
    assert first.page_axis == "Fit" and first.pages == ("Regular", "Slim") and first.page == "Regular"
    slim = reg.variant_grid("HOODIE", "Slim")
    cells = {(c.row, c.col): c for row in slim.cells for c in row}
    assert slim.page == "Slim" and cells[("S", "Navy")].sku is None and cells[("M", "Navy")].price == 3690
    assert reg.variant_grid("HOODIE", "Baggy").page == "Regular"  # an unknown page: the first


def test_the_grid_shows_stock_on_hand_from_the_tills_stock(reg):
    assert all(c.on_hand is None for row in reg.variant_grid("TSHIRT").cells for c in row)  # nothing tracked yet
    reg.stock.apply_snapshot(StockSnapshot(1, {TEE_M_BLUE: 4, TEE_L_BLUE: 0}, {}, "2026-11-25T12:00:00Z"), None)
    cells = {(c.row, c.col): c for row in reg.variant_grid("TSHIRT").cells for c in row}
    assert cells[("M", "Blue")].on_hand == 4 and cells[("L", "Blue")].on_hand == 0
    assert cells[("S", "Blue")].on_hand is None  # untracked


def test_tapping_a_cell_adds_the_variant_by_its_sku(reg):
    login_cashier(reg)
    assert reg.handle(AddSku(TEE_L_BLUE)).ok
    line = reg.view().lines[-1]
    assert (line.name, line.unit_price) == ("T-shirt, L / Blue", 1490)
