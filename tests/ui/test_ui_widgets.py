"""Layout at every size, the text cache, dirty-rect redraws and recovery, on a stand-in with the RegisterView shape."""

from __future__ import annotations

import itertools

import pygame
import pytest
from pygame import Rect

from firmware.domain.receipt_model import Receipt
from firmware.register.commands import AddQuickKey, AddSku
from tests.ui.conftest import tap, type_keys
from tests.ui.fake_register import FakeRegister, Line, Sync, Totals
from ui import theme
from ui.app import SAFE_TEXT, App
from ui.layout import columns, grid, rows
from ui.text import TextCache

SIZES = [(800, 480), (1024, 600), (1280, 800)]


@pytest.fixture
def fake():
    return FakeRegister(n_quick=14)


def make_app(reg, clock, size=(800, 480)):
    return App(reg, size=size, headless=True, clock=clock, sound=False)


def logged_in(reg, clock, size=(800, 480)):
    app = make_app(reg, clock, size)
    app.step([])
    tap(app, "pin:1")
    tap(app, "login")
    return app


def test_layout_helpers_cover_the_rect():
    r = Rect(0, 0, 800, 480)
    cols = columns(r, [1, 2, -100], 6)
    assert cols[0].x == 0 and cols[-1].right == 800 and cols[-1].w == 100
    assert rows(r, [1, 1], 10)[1].bottom == 480
    assert len(grid(r, 4, 3, 6)) == 12


def test_text_cache_hits_and_evicts_least_recently_used():
    pygame.font.init()
    cache = TextCache(capacity=2)
    a = cache.render("a", 20, (255, 255, 255))
    assert cache.render("a", 20, (255, 255, 255)) is a
    cache.render("b", 20, (255, 255, 255))
    cache.render("a", 20, (255, 255, 255))
    cache.render("c", 20, (255, 255, 255))  # evicts "b", the least recently used
    assert len(cache) == 2 and cache.hits == 2
    assert cache.fit("a very long text indeed " * 5, 24, (255, 255, 255), 100).get_width() <= 100


def screens_to_visit(app, reg):
    yield "login"
    tap(app, "pin:1")
    tap(app, "login")
    reg.set(lines=(Line(1, "1", "Pencil", 2, 129, 0, 258),), totals=Totals(258, 41, 258, 0, 258))
    app.step([])
    yield "sell"
    reg.set(phase="tender")
    app.step([])
    yield "tender"
    reg.set(
        phase="done", last_receipt=Receipt.from_doc(
            {"receipt_id": "R1:e:1", "tenders": [{"type": "cash", "amount": 500, "change": 242}]})
    )
    app.step([])
    yield "done"
    app.open_status()
    app.step([])
    yield "status"
    tap(app, "export_range")
    tap(app, "range:yesterday")
    yield "export_range"
    tap(app, "range:cancel")
    app.close_status()
    reg.set(phase="sell")
    app.open_manager()
    app.step([])
    yield "manager"


@pytest.mark.parametrize("size", SIZES)
def test_every_button_is_at_least_48px_inside_the_window_and_none_overlap(fake, clock, size, tmp_path):
    app = make_app(fake, clock, size)
    for name in screens_to_visit(app, fake):
        assert (app.dialogs[-1].name if app.dialogs else app.wanted()) == name
        rects = app.buttons()
        assert rects, name
        window = Rect((0, 0), size)
        for bid, r in rects.items():
            assert r.w >= 48 and r.h >= 48, f"{name}:{bid} is {r.size} at {size}"
            assert window.contains(r), f"{name}:{bid} leaves the window at {size}"
        for (a, ra), (b, rb) in itertools.combinations(rects.items(), 2):
            assert not ra.colliderect(rb), f"{name}: {a} overlaps {b} at {size}"
        app.save(tmp_path / f"{name}-{size[0]}.png")


def test_an_idle_frame_redraws_nothing_and_a_change_redraws_only_its_region(fake, clock):
    app = logged_in(fake, clock)
    app.step([])
    assert app.step([]) == []
    fake.set(totals=Totals(100, 16, 100, 0, 100))
    dirty = app.step([])
    assert dirty and all(r.w < 800 or r.h < 480 for r in dirty)
    assert app.step([]) == []


def test_the_clock_region_redraws_when_the_minute_changes(fake, clock):
    app = logged_in(fake, clock)
    app.step([])
    clock.advance(60)
    dirty = app.step([])
    assert any(r == app.topbar.r_clock for r in dirty)


def test_offline_banner_appears_the_moment_the_link_drops(fake, clock, tmp_path):
    app = logged_in(fake, clock)
    fake.set(sync=Sync(online=False, pending=3))
    dirty = app.step([])
    assert app.topbar.r_banner in dirty
    banner = app.display.subsurface(app.topbar.r_banner)
    assert banner.get_at((1, banner.get_height() // 2))[:3] == theme.BANNER
    app.save(tmp_path / "offline.png")


def test_a_refused_command_is_a_toast_in_plain_words_that_fades(fake, clock):
    app = logged_in(fake, clock)
    fake.fail[AddSku] = "No item with number 42."
    type_keys(app, "42", clock, gap=0.2)
    type_keys(app, "\r")
    assert not app.dialogs  # nothing to decide: nothing to tap away
    assert app.toasts.current.text == "No item with number 42." and app.toasts.current.level == "error"
    assert app.tone.kinds[-1] == "error"
    clock.advance(10)
    app.step([])
    assert app.toasts.current is None and app.toasts.rect is None


def test_a_screen_that_raises_is_logged_and_the_app_returns_to_a_safe_screen(fake, clock, caplog):
    app = logged_in(fake, clock)
    sell = app.current

    def broken(*_):
        raise RuntimeError("boom")

    sell._draw_totals = broken
    fake.set(totals=Totals(1, 0, 1, 0, 1))
    app.step([])
    assert "screen sell failed" in caplog.text
    assert app.toasts.current.text == SAFE_TEXT
    assert app.current is not sell and app.wanted() == "sell"
    assert "boom" not in "".join(t.text for t in app.toasts.history)


def test_keyboard_digits_fill_the_entry_and_enter_adds_the_item(fake, clock):
    app = logged_in(fake, clock)
    type_keys(app, "1003", clock, gap=0.2)
    type_keys(app, "\r")
    assert AddSku("1003") in fake.calls


def test_quick_keys_page_when_there_are_more_than_fit(fake, clock):
    app = logged_in(fake, clock)
    assert "quick:11" not in app.buttons()
    tap(app, "quick:more")
    assert "quick:11" in app.buttons()
    tap(app, "quick:12")
    assert AddQuickKey(12) in fake.calls


@pytest.mark.slow
def test_long_device_details_wrap_onto_three_lines_at_full_size_and_only_then_are_cut(fake, clock):
    from firmware.register.view import DeviceHealth
    from ui import theme
    from ui.text import TEXT, clamp_lines, font

    scanner = "Simulated scanner: echo 4006381333931 > /dev/pts/0"
    broker = "cannot reach the broker at 127.0.0.1:9 ([Errno 111] Connection refused)"
    fake.set(
        health={
            "scanner": DeviceHealth(True, "connected", scanner),
            "broker": DeviceHealth(False, "offline", broker),
            "printer": DeviceHealth(False, "error", "out of paper " * 20),
        }
    )
    app = logged_in(fake, clock)
    app.open_status()
    app.step([])
    small = app.metrics.font("small")
    width = app.current.r_health.w - 2 * app.metrics.px(10) - app.metrics.font("body") - 4
    for text in (f"connected: {scanner}", f"offline: {broker}"):
        lines = clamp_lines(text, small, width, 3)
        assert len(lines) <= 3 and " ".join(lines) == text  # every word shown, none shrunk
        assert all((line, small, theme.MUTED) in TEXT._items for line in lines)
    cut = clamp_lines("error: " + "out of paper " * 20, small, width, 3)
    assert len(cut) == 3 and cut[2].endswith("…") and all(font(small).size(line)[0] <= width for line in cut)
    assert clamp_lines("x" * 300, small, 100)[0] and font(small).size(clamp_lines("x" * 300, small, 100)[1])[0] <= 100
