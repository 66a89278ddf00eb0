"""Read at arm's length at 800x480: every glyph there, no text under 16 px, WCAG AA contrast, 48 px touch targets.

The screens are driven through the screenshot tour (every screen, the dialogs,
the X and Z reports, the recall list), recording what was drawn and what could
be tapped on each.
"""

from __future__ import annotations

import ast
import pathlib
from typing import Any

import pygame
import pygame.freetype
import pytest

from ui import text, theme
from ui.fonts import FONT_PATH, LICENSE_PATH

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> dict[str, Any]:
    """Every screen of the tour at 800x480: the strings drawn and the tappable rects, per shot."""
    from firmware.bootstrap import bootstrap, demo_config, seed_demo
    from ui.app import App
    from ui.screenshots import _tour

    data = tmp_path_factory.mktemp("legibility")
    pins = seed_demo(data)
    reg = bootstrap(demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"}),
                    demo_pins=pins, with_sync=False)
    text.TEXT._items.clear()
    text.seen.clear()
    shots: dict[str, dict[str, pygame.Rect]] = {}
    try:
        app = App(reg, size=(800, 480), headless=True, sound=False)

        def shot(name: str) -> None:
            app.step([])
            shots[name] = dict(app.buttons())

        _tour(app, shot)
        app.open_manager_gate()  # a PIN half typed: the dots
        app.press("dlg:1")
        shot("pin-typed")
        app.toast("Scan not understood: too short. Scan again or type the number.", level="scan")
        app.step([])
    finally:
        reg.shutdown()
    return {"shots": shots, "seen": set(text.seen)}


@pytest.mark.slow
def test_the_tour_reached_every_screen(tour):
    assert {"login", "sell", "tender", "done", "status", "manager", "manager-x-report", "manager-z-count",
            "manager-z-report", "sell-recall", "search", "manager-pin", "manager-receipts", "find-receipt",
            "find-receipt-amount", "find-receipt-by-amount", "receipt-found", "receipt-email-invalid",
            "receipt-emailed", "find-receipt-day", "find-receipt-none", "find-receipt-card",
            "find-receipt-customer"} <= set(tour["shots"])
    assert {"timeclock-pin", "timeclock-not-clocked-in", "timeclock-clocked-in", "timeclock-working",
            "timeclock-on-break", "manager-hours"} <= set(tour["shots"])  # the time clock and the hours page
    assert {"customer-panel", "customer-name-entry", "customer-form", "customer-found", "customer-edit",
            "sell-customer"} <= set(tour["shots"])  # the customer panel (ui/screens/customers.py)
    assert {"sell-item-prompt", "sell-age-check", "sell-age-dob"} <= set(tour["shots"])  # docs/item-prompts.md
    assert {"layby-list-empty", "layby-deposit", "layby-new", "layby-deposit-tender", "layby-list",
            "layby-instalment"} <= set(tour["shots"])  # docs/layby.md
    # docs/stock.md#variants and docs/item-images.md: the grid, a third axis's page, the pictures on lookup
    assert {"search-variants", "variants", "variants-page", "search-picture"} <= set(tour["shots"])


def _missing(strings: set[str]) -> dict[str, str]:
    pygame.freetype.init()
    face = pygame.freetype.Font(str(FONT_PATH), 20)
    out = {}
    for s in strings:
        for ch in set(s):
            if ch.isspace():
                continue
            metrics = face.get_metrics(ch)
            if not metrics or metrics[0] is None:
                out[ch] = s
    return out


def test_every_string_the_screens_drew_has_every_glyph_in_the_shipped_font(tour):
    drawn = {s for s, _ in tour["seen"]}
    assert any("●" in s for s in drawn) and any("€" in s for s in drawn)  # PIN dots and money were drawn
    assert _missing(drawn) == {}


def _literals(paths: list[pathlib.Path]) -> set[str]:
    out = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and not node.value.isascii():
                out.add(node.value)
    return out


def test_every_non_ascii_text_in_the_ui_and_the_registers_messages_has_its_glyph():
    """Strings the tour may not reach (a lockout, a refusal) come from these files: their glyphs, and the
    currency symbols money is shown with, are all in the font."""
    from firmware.domain.money import CURRENCY_SYMBOLS

    files = sorted((ROOT / "ui").rglob("*.py")) + sorted((ROOT / "firmware" / "register").rglob("*.py"))
    strings = _literals(files) | set(CURRENCY_SYMBOLS.values()) | {"●✓✗←→↑↓▲▼−…“”·£¥€"}
    strings = {s for s in strings if not s.startswith(('"""', "\n"))}
    assert _missing(strings) == {}


def test_the_font_ships_with_its_licence():
    assert FONT_PATH.is_file() and FONT_PATH.stat().st_size > 100_000
    assert "Bitstream Vera" in LICENSE_PATH.read_text()
    assert 'pygame.font.Font(str(FONT_PATH)' in (ROOT / "ui" / "text.py").read_text()  # loaded by path


def test_no_text_is_drawn_under_16_px(tour):
    small = sorted({(size, s) for s, size in tour["seen"] if size < theme.MIN_TEXT})
    assert small == []
    assert min(size for _, size in tour["seen"]) >= 16


def test_every_text_colour_reaches_wcag_aa_on_every_surface_it_is_drawn_on():
    low = [(fg, bg, round(theme.contrast(c, s), 2)) for fg, c in theme.TEXT_COLORS.items()
           for bg, s in theme.SURFACES.items() if theme.contrast(c, s) < 4.5]
    low += [(name, "fill", round(theme.contrast(fg, fill), 2)) for name, (fill, fg) in theme.STYLES.items()
            if theme.contrast(fg, fill) < 4.5]
    low += [("TEXT", name, round(theme.contrast(theme.TEXT, fill), 2))
            for name, fill in theme.FILLS_UNDER_TEXT.items() if theme.contrast(theme.TEXT, fill) < 4.5]
    assert low == []


def test_the_contrast_formula_is_wcags():
    assert theme.contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert theme.contrast((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def test_every_button_on_every_screen_is_at_least_48_px(tour):
    small = [(screen, bid, (r.w, r.h)) for screen, buttons in tour["shots"].items()
             for bid, r in buttons.items() if min(r.w, r.h) < theme.MIN_BUTTON]
    assert small == []
    assert sum(len(b) for b in tour["shots"].values()) > 200  # the walk really saw the screens' buttons
