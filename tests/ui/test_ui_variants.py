"""The variant grid and item pictures on screen, on the real demo register (docs/stock.md#variants,
docs/item-images.md): search a parent, its grid opens; greyed cells do nothing; pages for a third axis; a tap adds
the variant; the pictures on lookup come from the device's image cache, and a damaged one is a placeholder."""

from __future__ import annotations

import pygame
import pytest

from firmware.domain.stock import StockSnapshot
from firmware.register.view import Phase, VariantCellView, VariantGridView
from tests.support.pictures import picture
from tests.ui.conftest import log_in, settle, start, tap, type_keys
from tests.ui.fake_register import FakeRegister
from ui.item_image import ImageShelf, draw_item_image
from ui.screens.variants import VariantGridDialog, cell_text

pytestmark = pytest.mark.slow  # a real register and window per test

TEE_M_BLACK = "4006380009042"


@pytest.fixture
def app(make_register, app_clock):
    app = start(make_register(with_sync=False), app_clock)
    log_in(app)
    settle(app, lambda: app.wanted() == "sell")
    return app


def open_grid(app, text="SHIRT", parent="TSHIRT"):
    tap(app, "search")
    for ch in text:
        tap(app, f"kb:{ch}")
    app.step([])
    tap(app, f"result:{parent}")
    grid = app.dialogs[-1]
    assert isinstance(grid, VariantGridDialog)
    return grid


def test_searching_a_parent_opens_its_grid_and_a_tap_adds_that_variant(app):
    grid = open_grid(app)
    buttons = app.buttons()
    assert f"variant:{TEE_M_BLACK}" in buttons and "variants:close" in buttons
    labels = {b.id: b.label for b in grid.buttons}
    assert labels[f"variant:{TEE_M_BLACK}"] == "€12.90" and labels["variant:4006380009059"] == "€14.90"
    tap(app, f"variant:{TEE_M_BLACK}")
    settle(app, lambda: app.view.lines)
    assert [(line.name, line.unit_price) for line in app.view.lines] == [("T-shirt, M / Black", 1290)]
    assert not app.dialogs


def test_a_missing_combination_is_greyed_and_a_tap_on_it_does_nothing(app):
    grid = open_grid(app)
    missing = next(b for b in grid.buttons if b.id == "variant:missing:L:Black")
    assert not missing.enabled and missing.label == "Not sold" and missing.id not in app.buttons()
    x, y = missing.rect.center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y), button=1, touch=False))
    app.step()
    assert app.dialogs[-1] is grid and app.view.lines == ()


def test_a_third_axis_is_paged_and_escape_closes_the_grid(app):
    grid = open_grid(app, "HOOD", "HOODIE")
    assert grid.grid.page == "Regular" and "variants:page:Slim" in app.buttons()
    tap(app, "variants:page:Slim")
    assert grid.grid.page == "Slim"
    assert "variant:4006380009158" in app.buttons()  # M / Navy / Slim
    assert not next(b for b in grid.buttons if b.id == "variant:missing:S:Navy").enabled
    type_keys(app, "\x1b")
    assert not app.dialogs and app.view.lines == ()


def test_the_grid_shows_stock_on_hand_when_the_till_knows_it(app):
    app.register.stock.apply_snapshot(StockSnapshot(1, {TEE_M_BLACK: 3}, {}, "2026-11-25T12:00:00Z"), None)
    grid = open_grid(app)
    labels = {b.id: b.label for b in grid.buttons}
    assert labels[f"variant:{TEE_M_BLACK}"] == "€12.90\n3 in stock"
    assert cell_text(app, VariantCellView("M", "Blue", "X", 100, 0)) == "€1.00\nnone in stock"


def test_the_pictures_on_lookup_come_from_the_image_cache(app):
    found = app.register.search("pencil", limit=6)
    assert found[0].image and app.register.item_image(found[0].image)  # the demo picture, seeded
    tap(app, "search")
    for ch in "PENCIL":
        tap(app, f"kb:{ch}")
    app.step([])
    shelf = app.image_shelf  # the search results drew the picture
    assert any(key[0] == found[0].image for key in shelf._surfaces) and shelf.get(app, found[0].image, (40, 30))
    grid_parent = app.register.search("hood", limit=6)[0]
    assert grid_parent.variants and grid_parent.image  # the grid's header picture


def test_no_picture_or_a_damaged_one_draws_the_plain_placeholder(app_clock):
    fake = FakeRegister()
    app = start(fake, app_clock)
    good = picture(60, 40, seed=1, noise=False)
    fake.images = {"a" * 64: b"\x89PNG\r\n\x1a\n damaged", "c" * 64: good}
    surf = pygame.Surface((200, 150))
    box = pygame.Rect(0, 0, 120, 90)
    assert draw_item_image(app, surf, box, "") is False  # no picture
    assert draw_item_image(app, surf, box, "a" * 64) is False  # does not decode
    assert draw_item_image(app, surf, box, "b" * 64) is False  # not held
    assert draw_item_image(app, surf, box, "c" * 64) is True
    scaled = app.image_shelf.get(app, "c" * 64, (box.w - 8, box.h - 8))
    assert scaled.get_size() == (112, 74)  # 60x40 scaled to fit 112x82, its shape kept
    shelf = ImageShelf(keep=2)
    for size in ((10, 10), (20, 20), (30, 30)):
        shelf.get(app, "c" * 64, size)
    assert len(shelf._surfaces) == 2  # bounded


def test_the_grid_on_a_fake_register_pages_rows_that_do_not_fit(app_clock):
    fake = FakeRegister()
    rows = tuple(f"Size {i}" for i in range(20))
    cells = tuple((VariantCellView(r, "One", f"S{i}", 100 + i),) for i, r in enumerate(rows))
    fake.grids["BIG"] = VariantGridView("BIG", "Big shirt", "Size", "Colour", rows, ("One",), cells)
    fake.items = []
    fake.set(phase=Phase.SELL)
    app = start(fake, app_clock)
    app.push(VariantGridDialog(app, "BIG"))
    app.step([])
    assert "variant:S0" in app.buttons() and "variant:S19" not in app.buttons()
    tap(app, "variants:down")
    assert "variant:S0" not in app.buttons()
    while "variants:down" in app.buttons():
        tap(app, "variants:down")
    assert "variant:S19" in app.buttons()
    tap(app, "variant:S19")
    assert fake.calls[-1].sku == "S19" and not app.dialogs
