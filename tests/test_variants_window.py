"""Variants and item pictures in a real window, by touch (issue 17, items 2 and 3: docs/stock.md#variants,
docs/item-images.md).

`kassa demo` runs as its own process on a real X server (Xvfb, 800x480) with no broker; xdotool taps where the
app says it drew its buttons (KASSA_UI_MAP). Anna scans a T-shirt's own barcode (M / Blue), searches "shirt", sees
the parent with its picture, opens the grid, finds L / Black greyed (not tappable), taps L / Blue; pages a hoodie's
grid to Slim; looks up the pencil and sees its picture; pays. The receipt names both variants by their group and
values. Screenshots go to screenshots-out/variants/ (the pictures are checked in them, pixel by pixel).
"""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest

from firmware.clock import ManualClock
from firmware.journal import Journal
from tests.test_cashier_shift import Scanner, log_in_anna, offline_demo

pytestmark = pytest.mark.slow  # a real X server and the demo in its own process

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "screenshots-out" / "variants"
TEE_M_BLUE = "4006380009035"
TEE_L_BLUE = "4006380009059"
PENCIL = "4006381333931"
TEE_BLUE = (40, 90, 200)  # firmware/demo/images/tshirt-blue.png's fill
PENCIL_YELLOW = (240, 190, 40)  # firmware/demo/images/pencil.png's body


def colour_in(shot: Path, rect: list[int], colour: tuple[int, int, int], tolerance: int = 6) -> int:
    """How many pixels of `rect` (x, y, w, h) in the screenshot are within `tolerance` of `colour`."""
    image = pygame.image.load(str(shot))
    x, y, w, h = rect
    count = 0
    for px in range(x, x + w):
        for py in range(y, y + h):
            r, g, b, *_ = image.get_at((px, py))
            count += all(abs(a - c) <= tolerance for a, c in zip((r, g, b), colour, strict=True))
    return count


def search(drv, ui, text: str, result: str) -> dict:
    drv.tap("search")
    ui.wait(lambda d: d["dialogs"] and d["dialogs"][-1] == "SearchDialog", "the search keyboard")
    for ch in text:
        drv.tap(f"kb:{ch}")
    return ui.wait(lambda d: f"result:{result}" in d["buttons"], f"the result {result}")


def test_a_variant_is_scanned_picked_from_its_grid_and_the_pictures_show_on_lookup(tmp_path):
    with offline_demo(tmp_path, SHOTS) as till:
        data, ui, drv, demo = till.data, till.ui, till.drv, till.demo
        scanner = Scanner(demo.scanner_path())
        log_in_anna(till)
        scanner.scan(TEE_M_BLUE)  # the variant's own barcode
        ui.wait(lambda d: d["due"] == 1290 and d["lines"] == 1, "T-shirt M / Blue in the cart")
        drv.shot("variant-scanned")

        doc = search(drv, ui, "SHIRT", "TSHIRT")
        shot = drv.shot("parent-found")
        rect = doc["buttons"]["result:TSHIRT"]
        thumb = [rect[0], rect[1], rect[3] * 4 // 3, rect[3]]  # the picture's square at the left of the result
        assert colour_in(shot, thumb, TEE_BLUE) > 200, "the T-shirt's picture beside its name"
        drv.tap("result:TSHIRT")
        doc = ui.wait(lambda d: d["dialogs"] == ["VariantGridDialog"], "the variant grid")
        shot = drv.shot("grid")
        assert f"variant:{TEE_L_BLUE}" in doc["buttons"]
        assert not any(b.startswith("variant:missing") for b in doc["buttons"])  # L / Black: greyed, no target
        assert colour_in(shot, [10, 60, 140, 100], TEE_BLUE) > 200, "the picture in the grid's header"
        drv.tap(f"variant:{TEE_L_BLUE}")
        ui.wait(lambda d: d["due"] == 1290 + 1490 and not d["dialogs"], "T-shirt L / Blue added, the grid closed")

        search(drv, ui, "HOOD", "HOODIE")
        drv.tap("result:HOODIE")
        ui.wait(lambda d: "variants:page:Slim" in d["buttons"], "the hoodie's grid with its pages")
        drv.tap("variants:page:Slim")
        ui.wait(lambda d: "variant:4006380009158" in d["buttons"], "the Slim page (M / Navy / Slim)")
        drv.shot("grid-page-slim")
        drv.tap("variants:close")
        ui.wait(lambda d: not d["dialogs"], "the grid closed")

        doc = search(drv, ui, "PENCIL", PENCIL)
        shot = drv.shot("pencil-picture")
        rect = doc["buttons"][f"result:{PENCIL}"]
        assert colour_in(shot, [rect[0], rect[1], rect[3] * 4 // 3, rect[3]], PENCIL_YELLOW) > 100, "the pencil"
        drv.tap("kb:close")
        ui.wait(lambda d: not d["dialogs"], "the search closed")
        drv.tap("pay")
        drv.tap("exact")
        ui.wait(lambda d: d["screen"] == "done", "the sale finished")
        drv.shot("paid")
        drv.tap("new_sale")

    journal = Journal.open(data, store="DEMO", register="R1", clock=ManualClock())
    try:
        sold = journal.get_seq(1)
    finally:
        journal.close()
    assert [(line["name"], line["unit_price"]) for line in sold["lines"]] == [
        ("T-shirt, M / Blue", 1290), ("T-shirt, L / Blue", 1490)]
