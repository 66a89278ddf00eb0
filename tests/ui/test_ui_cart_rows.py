"""The cart's rows as a cashier reads them: the "Lines 4-9 of 15" note has its own strip under the rows, never on
a line, and a voided line is struck through the middle of its letters (not underlined) with a VOID tag."""

from __future__ import annotations

from dataclasses import replace

import pygame
import pytest

from tests.ui.conftest import tap
from tests.ui.fake_register import FakeRegister, Line, Totals
from ui import theme
from ui.app import App
from ui.screens.cart import strike
from ui.text import TEXT, font


def lines(n: int, voided: tuple[int, ...] = ()) -> tuple[Line, ...]:
    return tuple(Line(i, str(1000 + i), f"Item {i}", 1, 100 + i, 0, 100 + i, voided=i in voided)
                 for i in range(1, n + 1))


def selling(n_lines: int, size=(800, 480), voided: tuple[int, ...] = ()) -> App:
    from firmware.clock import ManualClock

    fake = FakeRegister()
    app = App(fake, size=size, headless=True, clock=ManualClock(), sound=False)
    app.step([])
    tap(app, "pin:1")
    tap(app, "login")
    fake.set(lines=lines(n_lines, voided), totals=Totals(1, 0, 1, 0, 1))
    app.step([])
    return app


def pixels_of(surf: pygame.Surface, rect: pygame.Rect, color: tuple[int, int, int]) -> int:
    sub = surf.subsurface(rect)
    return sum(1 for x in range(rect.w) for y in range(rect.h) if tuple(sub.get_at((x, y)))[:3] == color)


@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800)])
def test_the_pager_note_sits_below_every_row_even_the_selected_one(size):
    app = selling(15, size)
    screen = app.current
    cart = screen.cart
    assert cart.note() == f"Lines {16 - cart.per_page}-15 of 15"
    tap(app, "cart:up")
    last = cart.offset + cart.per_page  # the bottom row of the window, selected
    tap(app, f"line:{last}")
    assert screen.selected == last
    note = cart.note_rect()
    assert note.h >= font(app.metrics.font("small")).get_linesize()  # the note's text fits its strip
    rows = [r for key, r in app.buttons().items() if key.startswith("line:")]
    assert len(rows) == cart.per_page
    assert all(not r.colliderect(note) and r.bottom <= note.y for r in rows)
    # nothing of the selection's fill reaches into the strip; the note's words are drawn there
    assert pixels_of(app.display, note, theme.SELECT) == 0
    assert pixels_of(app.display, note.inflate(0, -2), theme.BG) < note.w * note.h  # something (the note) is there
    assert cart.note().startswith(f"Lines {cart.offset + 1}-{last} ")


def test_a_cart_that_fits_has_no_note_and_keeps_every_row():
    app = selling(3)
    cart = app.current.cart
    assert cart.note() == "" and cart.per_page == cart.rows_all


def test_growing_past_the_list_makes_room_for_the_note_and_matches_a_full_redraw():
    app = selling(3)
    cart = app.current.cart
    fake = app.register
    for n in range(4, 12):
        fake.set(lines=lines(n), flash_line=n)
        app.step([])
        incremental = pygame.image.tobytes(app.display.subsurface(cart.rect), "RGB")
        app.redraw()
        app.step([])
        assert pygame.image.tobytes(app.display.subsurface(cart.rect), "RGB") == incremental, n
    assert cart.note() == f"Lines {12 - cart.per_page}-11 of 11"


def test_a_voided_line_is_struck_through_the_middle_and_tagged_void():
    app = selling(3, voided=(2,))
    row = app.buttons()["line:2"]
    surf = app.display
    # the VOID tag in the error colour, at the right of the row
    right = pygame.Rect(row.centerx, row.y, row.w // 2, row.h // 2)
    assert pixels_of(surf, right, theme.ERROR) > 20
    # a live line has no tag
    assert pixels_of(surf, pygame.Rect(right.x, app.buttons()["line:1"].y, right.w, right.h), theme.ERROR) == 0


def test_the_strike_crosses_the_middle_of_the_letters_not_their_foot():
    pygame.font.init()
    size = 18
    surf = pygame.Surface((200, 40))
    surf.fill(theme.BG)
    text = TEXT.render("xxxx", size, theme.TEXT)
    rect = surf.blit(text, (10, 5))
    glyphs = text.get_bounding_rect().move(rect.topleft)  # the x's ink: from the x-height down to the baseline
    strike(surf, rect, size, theme.ERROR)
    ys = sorted({y for y in range(rect.y, rect.bottom) for x in range(rect.x, rect.right)
                 if tuple(surf.get_at((x, y)))[:3] == theme.ERROR})
    assert ys, "no strike drawn"
    bar = (ys[0] + ys[-1] + 1) / 2
    assert abs(bar - glyphs.centery) <= 1.5  # through the middle, far above the baseline where an underline goes
    assert ys[-1] < glyphs.bottom - 2


def test_voided_line_detail_keeps_its_words():
    from ui.screens.cart import line_detail

    ln = replace(lines(1)[0], voided=True)
    assert line_detail(ln, lambda a: f"€{a / 100:.2f}") == ("1 x €1.01", "")


def test_a_price_label_line_shows_the_labels_price_without_1_x_and_a_weight_label_its_weight():
    from decimal import Decimal

    from ui.screens.cart import line_detail

    money = lambda a: f"€{a / 100:.2f}"  # noqa: E731
    label = Line(1, "BAN", "Bananas (label)", 1, 456, 0, 456, source="label")
    assert line_detail(label, money) == ("label price", "")
    assert line_detail(replace(label, qty=2, amount=912), money) == ("2 labels x €4.56", "")
    weight = Line(2, "APL", "Apples per kg", Decimal("0.730"), 249, 0, 182, source="label")
    assert line_detail(weight, money) == ("0.730 kg x €2.49/kg", "")


def test_a_refund_line_says_what_one_gives_back_after_its_discounts():
    from decimal import Decimal

    from firmware.register.view import RefundLineView
    from ui.screens.refund import price_text

    money = lambda a: f"€{a / 100:.2f}"  # noqa: E731
    pencils = RefundLineView(1, "P", "Pencil HB", 129, 2, 0, 2, 232)  # 2 x 1.29 less 0.26 cart discount
    assert price_text(pencils, money) == ("€1.29", "€1.16 each")
    assert price_text(replace(pencils, amount=258), money) == ("", "€1.29 each")
    assert price_text(replace(pencils, amount=233), money) == ("€1.29", "about €1.17 each")
    apples = RefundLineView(2, "A", "Apples per kg", 249, Decimal("0.730"), 0, Decimal("0.730"), 164, True)
    assert price_text(apples, money) == ("€1.82", "€1.64 for 0.730 kg")
