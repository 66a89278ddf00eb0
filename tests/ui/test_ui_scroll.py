"""Drag-to-scroll (touch and mouse) on the cart and the manager's receipt list, and the incremental cart redraw."""

from __future__ import annotations

import pygame
import pytest

from firmware.register.commands import Reprint
from tests.ui.conftest import tap
from tests.ui.fake_register import FakeRegister, Line, Totals
from ui.app import App
from ui.input import InputMapper, PointerMove
from ui.scroll import RowScroll


def lines(n: int) -> tuple[Line, ...]:
    return tuple(Line(i, str(1000 + i), f"Item {i}", 1, 100 + i, 0, 100 + i) for i in range(1, n + 1))


@pytest.fixture
def fake():
    return FakeRegister(n_quick=6)


def selling(fake, clock, n_lines: int) -> App:
    app = App(fake, size=(800, 480), headless=True, clock=clock, sound=False)
    app.step([])
    tap(app, "pin:1")
    tap(app, "login")
    fake.set(lines=lines(n_lines), totals=Totals(1, 0, 1, 0, 1), flash_line=n_lines)
    app.step([])
    return app


def finger(kind: int, app: App, pos: tuple[int, int]) -> pygame.event.Event:
    w, h = app.size
    return pygame.event.Event(kind, x=pos[0] / w, y=pos[1] / h, dx=0.0, dy=0.0, touch_id=1, finger_id=0, pressure=1.0)


def finger_drag(app: App, start: tuple[int, int], dy: int, steps: int = 4) -> None:
    """FINGERDOWN, a few FINGERMOTIONs `dy` px in all, FINGERUP: posted to pygame's queue, one frame."""
    x, y = start
    pygame.event.post(finger(pygame.FINGERDOWN, app, start))
    for i in range(1, steps + 1):
        pygame.event.post(finger(pygame.FINGERMOTION, app, (x, y + dy * i // steps)))
    pygame.event.post(finger(pygame.FINGERUP, app, (x, y + dy)))
    app.step()


def test_dragging_the_cart_down_by_a_finger_shows_earlier_lines_and_taps_nothing(fake, clock):
    app = selling(fake, clock, 20)
    cart = app.current.cart
    assert cart.offset == 20 - cart.per_page  # follows the newest line
    first = app.buttons()[f"line:{cart.offset + 1}"]
    finger_drag(app, first.center, 3 * cart.row_h + 5)
    assert cart.offset == 20 - cart.per_page - 3  # three rows dragged, three earlier lines in view
    assert app.current.selected is None  # the line under the finger was not tapped
    assert f"line:{cart.offset + 1}" in app.buttons()
    finger_drag(app, app.buttons()[f"line:{cart.offset + 1}"].center, -cart.row_h - 2)  # and back up by one
    assert cart.offset == 20 - cart.per_page - 2


def test_a_tiny_finger_wobble_is_still_a_tap(fake, clock):
    app = selling(fake, clock, 8)
    rect = app.buttons()["line:8"]
    finger_drag(app, rect.center, 4)
    assert app.current.selected == 8


def test_dragging_with_the_mouse_button_held_scrolls_and_plain_mouse_moves_do_not(fake, clock):
    app = selling(fake, clock, 20)
    cart = app.current.cart
    start = cart.offset
    x, y = app.buttons()[f"line:{start + 2}"].center
    pygame.event.post(
        pygame.event.Event(pygame.MOUSEMOTION, pos=(x, y + 200), rel=(0, 200), buttons=(0, 0, 0), touch=False)
    )
    app.step()
    assert cart.offset == start
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False))
    for step in range(1, 5):
        pygame.event.post(
            pygame.event.Event(
                pygame.MOUSEMOTION, pos=(x, y + step * cart.row_h // 2), rel=(0, 1), buttons=(1, 0, 0), touch=False
            )
        )
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y + 2 * cart.row_h), button=1, touch=False))
    app.step()
    assert cart.offset == start - 2 and app.current.selected is None


def test_scrolling_stays_inside_the_cart_and_a_new_item_brings_the_newest_line_back(fake, clock):
    app = selling(fake, clock, 12)
    cart = app.current.cart
    for _ in range(2):  # a finger stops at the screen's edge: two long drags reach the top
        finger_drag(app, app.buttons()[f"line:{cart.offset + 1}"].center, 40 * cart.row_h, steps=10)
    assert cart.offset == 0
    tap(app, "cart:down")
    assert cart.offset == cart.per_page - 1  # the buttons still page
    fake.set(lines=lines(13), flash_line=13)
    app.current.cart.follow()  # what the sell screen does after a scan or an added item
    app.step([])
    assert cart.offset == 13 - cart.per_page and "line:13" in app.buttons()


def cart_pixels(app: App) -> bytes:
    rect = app.current.cart.rect
    return pygame.image.tobytes(app.display.subsurface(rect), "RGB")


def test_a_scan_into_a_full_cart_paints_two_rows_and_the_screen_matches_a_full_redraw(fake, clock):
    app = selling(fake, clock, 10)
    for n in range(11, 15):  # four scans, the window moving down each time
        cart = app.current.cart
        before = cart.painted
        fake.set(lines=lines(n), flash_line=n)
        dirty = app.step([])
        assert f"line:{n}" in app.buttons() and any(r.colliderect(cart.rect) for r in dirty)
        assert cart.painted - before <= 2  # the new line, and the one that stopped flashing; the rest moved
        incremental = cart_pixels(app)
        app.redraw()  # everything from scratch
        app.step([])
        assert cart_pixels(app) == incremental
    cart = app.current.cart
    before = cart.painted
    app.current.select(12)  # what a tap on the row does (the tap itself also takes its highlight off)
    app.step([])
    assert cart.painted - before == 1
    finger_drag(app, app.buttons()["line:12"].center, 2 * cart.row_h + 4)  # a drag moves pixels, paints the rest
    incremental = cart_pixels(app)
    app.redraw()
    app.step([])
    assert cart_pixels(app) == incremental


def test_a_shorter_cart_and_an_empty_one_clear_their_old_rows(fake, clock):
    app = selling(fake, clock, 4)
    fake.set(lines=lines(2), flash_line=None)
    app.step([])
    shorter = cart_pixels(app)
    app.redraw()
    app.step([])
    assert cart_pixels(app) == shorter
    fake.set(lines=(), flash_line=None)
    app.step([])
    empty = cart_pixels(app)
    app.redraw()
    app.step([])
    assert cart_pixels(app) == empty and "line:1" not in app.buttons()


def test_the_manager_receipt_list_scrolls_by_buttons_and_by_drag(clock):
    class WithReceipts(FakeRegister):
        def recent_receipts(self, limit: int = 20):
            return [
                {
                    "receipt_id": f"R1:e:{s}",
                    "seq": s,
                    "kind": "sale",
                    "created_at": "2026-11-25T12:00:00Z",
                    "totals": {"total": 100 * s},
                    "lines": [{}],
                }
                for s in range(40, 0, -1)
            ][:limit]

    reg = WithReceipts()
    app = App(reg, size=(800, 480), headless=True, clock=clock, sound=False)
    app.step([])
    tap(app, "pin:1")
    tap(app, "login")
    app.open_manager()
    app.step([])
    tap(app, "reprint")
    mgr = app.current
    assert "receipt:40" in app.buttons() and "receipt:1" not in app.buttons()
    per = mgr.lists.per_page
    tap(app, "list:down")
    assert mgr.lists.offset == per - 1
    top = app.buttons()[next(k for k in app.buttons() if k.startswith("receipt:"))]
    finger_drag(app, top.center, -2 * mgr.lists.row_h - 4)  # a drag up shows later (older) receipts
    assert mgr.lists.offset == per + 1
    assert Reprint("R1:e:1") not in reg.calls  # dragging tapped nothing


def test_finger_and_held_mouse_motion_map_to_pointer_moves():
    m = InputMapper((800, 480), lambda: 0.0)
    evs = [
        pygame.event.Event(pygame.FINGERMOTION, x=0.5, y=0.5, dx=0.0, dy=0.1, touch_id=1, finger_id=0),
        pygame.event.Event(pygame.MOUSEMOTION, pos=(400, 240), rel=(0, 1), buttons=(1, 0, 0), touch=True),  # echo
        pygame.event.Event(pygame.MOUSEMOTION, pos=(10, 20), rel=(0, 1), buttons=(1, 0, 0), touch=False),
        pygame.event.Event(pygame.MOUSEMOTION, pos=(10, 30), rel=(0, 1), buttons=(0, 0, 0), touch=False),  # hover
    ]
    assert m.map(evs) == [PointerMove((400, 240)), PointerMove((10, 20))]


def test_row_scroll_moves_a_row_per_row_height_dragged_and_clamps():
    s = RowScroll(50, per_page=4)
    s.fit(10)
    s.to(6)
    assert not s.drag(30) and s.offset == 6  # not yet a whole row
    assert s.drag(30) and s.offset == 5
    s.drag(-500)
    assert s.offset == s.last == 6
    s.end_drag()
    s.page(-1)
    assert s.offset == 3 and s.more() == "4-7 of 10"
