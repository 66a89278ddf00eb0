"""The cart as a list of tappable rows: name, quantity x price, discount, amount; the scanned line flashes.

A voided line stays in the list, muted: its name and amount struck through the middle of the letters and a
"VOID" tag beside them. When the cart is longer than the list, the rows leave a strip at the foot for the
"Lines 4-9 of 15" note, so the note never sits on a line.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pygame
from pygame import Rect

from ui import theme
from ui.screens.base import Drag, Hot
from ui.scroll import RowScroll
from ui.text import font
from ui.widgets import label

EMPTY = "empty"


def line_detail(ln: Any, money: Callable[[int], str]) -> tuple[str, str]:
    """The sub-line under a cart line's name, left and right: quantity x price, and the discounts under the net
    amount: ("2 x €1.29", "-€0.26 · cart -€0.12"). The original amount (€2.58) is shown struck through beside
    the net one (`_draw_row`), so a discounted line reads original, discount, net. A shop scale's price label
    ("Bananas (label)") says where its price comes from, never "1 x" (it is not a price per kg)."""
    qty = getattr(ln, "qty_text", str(ln.qty))  # weighed: "0.730 kg x €2.49/kg"
    left = f"{qty} x {money(ln.unit_price)}" + ("/kg" if qty.endswith(" kg") else "")
    if getattr(ln, "source", "") == "label" and not qty.endswith(" kg"):
        left = "label price" if qty == "1" else f"{qty} labels x {money(ln.unit_price)}"
    cart = getattr(ln, "cart_discount", 0)
    if ln.voided or not (ln.discount or cart):
        return left, ""
    parts = [f"-{money(ln.discount)}"] if ln.discount else []
    if cart:
        parts.append(f"cart -{money(cart)}")
    return left, " · ".join(parts)


class CartList:
    """Shows a window of the cart's lines; follows the newest line unless the cashier scrolled.

    Drawn incrementally: it remembers what each row slot shows, moves the
    pixels with `Surface.scroll` when the window moves (a scan into a full
    cart shifts every row up by one) and repaints only the slots whose line,
    selection or flash changed. A scan so paints one or two rows, however
    long the cart. The rows sit on a plain panel, so moved pixels are exactly
    what a full redraw would paint.

    A cart that does not fit shows its rows above a strip for the position
    note (one row fewer when the leftover at the foot is too short for it).
    """

    def __init__(self, screen: Any, rect: Rect) -> None:
        self.screen = screen
        self.rect = rect
        self.row_h = max(48, screen.m.px(50))
        self.rows_all = max(1, rect.h // self.row_h)  # rows shown while the whole cart fits
        note_h = font(screen.m.font("small")).get_linesize() + 2
        self.rows_paged = max(1, (rect.h - note_h) // self.row_h)  # rows above the note when it does not
        self.scroller = RowScroll(self.row_h, self.rows_all)
        self.pinned = False
        self.painted = 0  # rows painted (not moved), for tests and the benchmark
        self._slots: list[object] = []  # what each slot on screen shows now
        self._top = 0  # the offset the slots were painted at
        self._note: str | None = None  # the position note on screen now (None: its strip is not painted)
        self._hots_key: object = None

    @property
    def offset(self) -> int:
        return self.scroller.offset

    @property
    def per_page(self) -> int:
        return self.scroller.per_page

    def _fit(self, count: int) -> None:
        """`count` lines: every row while they fit, else the rows above the note's strip."""
        self.scroller.per_page = self.rows_all if count <= self.rows_all else self.rows_paged
        self.scroller.fit(count)

    def note(self) -> str:
        """"Lines 4-9 of 15" while the cart does not fit, else ""."""
        more = self.scroller.more()
        return f"Lines {more}" if more else ""

    def note_rect(self, r: Rect | None = None) -> Rect:
        """The strip under the last row, where the note goes: no row reaches into it."""
        r = r or self.rect
        top = r.y + self.per_page * self.row_h
        return Rect(r.x, top, r.w, max(0, r.bottom - top))

    def follow(self) -> None:
        """Show the newest line again (after an item was added)."""
        self.pinned = False

    def scroll(self, step: int) -> None:
        """The Up/Down buttons: a page at a time."""
        self._fit(len(self.screen.view.lines))
        self.scroller.page(step)
        self.pinned = True

    def drag(self, dy: int) -> None:
        self._fit(len(self.screen.view.lines))
        if self.scroller.drag(dy):
            self.pinned = True

    def drags(self) -> list[Drag]:
        return [Drag(self.rect, self.drag, self.scroller.end_drag)]

    def forget(self) -> None:
        """The region was cleared to the background: nothing of ours is on screen."""
        self._slots = []
        self._note = None

    def _window(self, lines: tuple[Any, ...]) -> tuple[Any, ...]:
        s = self.scroller
        self._fit(len(lines))
        if not self.pinned:
            s.to(s.last)
            flash = self.screen.view.flash_line
            idx = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].line_no == flash), None)
            if idx is not None and idx not in s.window():
                s.to(idx)
        return lines[s.offset:s.offset + s.per_page]

    def _slot(self, r: Rect, i: int) -> Rect:
        """Slot `i`'s area: one row (what lies below the last row is the note's strip)."""
        return Rect(r.x, r.y + i * self.row_h, r.w, self.row_h)

    def _clear(self, surf: pygame.Surface, area: Rect) -> None:
        surf.blit(self.screen.app.background, area, area)

    def draw(self, surf: pygame.Surface, r: Rect) -> None:
        screen = self.screen
        lines = screen.view.lines
        if not lines:
            if self._slots != [EMPTY]:
                self._clear(surf, r)
                label(surf, "Cart is empty", r.center, screen.m.font("label"), theme.MUTED, "center")
                self._slots, self._note = [EMPTY], None
                screen.set_hot("cart", [])
                self._hots_key = None
            return
        if self._slots == [EMPTY]:
            self._clear(surf, r)
            self._slots, self._note = [], None
        flash = screen.view.flash_line if screen.flashing() else None
        rows_before = self.per_page
        shown = self._window(lines)
        if self.per_page != rows_before and self._slots:  # the note's strip came or went: paint afresh
            self._clear(surf, r)
            self._slots, self._note = [], None
        wanted = [(ln, ln.line_no == screen.selected, ln.line_no == flash) for ln in shown]
        self._move(surf, r, self.offset - self._top)
        self._top = self.offset
        for i, want in enumerate(wanted):
            if i < len(self._slots) and self._slots[i] == want:
                continue
            self._paint(surf, self._slot(r, i), *want)
            if i < len(self._slots):
                self._slots[i] = want
            else:
                self._slots.append(want)
        for i in range(len(wanted), len(self._slots)):  # the cart got shorter
            self._clear(surf, self._slot(r, i))
        del self._slots[len(wanted):]
        self._draw_note(surf, r)
        hots_key = (r.topleft, tuple(ln.line_no for ln in shown))
        if hots_key != self._hots_key:  # taps only move when the window does
            self._hots_key = hots_key
            screen.set_hot("cart", [Hot(Rect(r.x, r.y + i * self.row_h, r.w, self.row_h - 2),
                                        partial(screen.select, ln.line_no), f"line:{ln.line_no}")
                                    for i, ln in enumerate(shown)])

    def _draw_note(self, surf: pygame.Surface, r: Rect) -> None:
        """"Lines 4-9 of 15" in its own strip under the rows (repainted only when it changes)."""
        note = self.note()
        if note == self._note:
            return
        strip = self.note_rect(r)
        self._clear(surf, strip)
        if note and strip.h:
            label(surf, note, (strip.right - 6, strip.centery), self.screen.m.font("small"), theme.MUTED, "midright",
                  strip.w - 12)
        self._note = note

    def _move(self, surf: pygame.Surface, r: Rect, rows: int) -> None:
        """The window moved down by `rows` (up when negative): shift the pixels, keep what still shows."""
        if not rows or not self._slots:
            return
        n = len(self._slots)
        if abs(rows) >= n:
            self._slots = [None] * n
            return
        clip = surf.get_clip()
        surf.set_clip(Rect(r.x, r.y, r.w, n * self.row_h).clip(clip))
        surf.scroll(0, -rows * self.row_h)
        surf.set_clip(clip)
        self._slots = self._slots[rows:] + [None] * rows if rows > 0 else [None] * -rows + self._slots[:rows]

    def _paint(self, surf: pygame.Surface, slot: Rect, ln: Any, selected: bool, flashing: bool) -> None:
        self.painted += 1
        self._clear(surf, slot)
        row = Rect(slot.x, slot.y, slot.w, self.row_h - 2)
        if selected:
            pygame.draw.rect(surf, theme.SELECT, row, border_radius=4)
        elif flashing:
            pygame.draw.rect(surf, theme.FLASH, row, border_radius=4)
        if ln.voided:
            self._draw_void(surf, row, ln)
        else:
            self._draw_row(surf, row, ln)

    def _draw_row(self, surf: pygame.Surface, row: Rect, ln: Any) -> None:
        m, money = self.screen.m, self.screen.app.money
        body, small = m.font("body"), m.font("small")
        net = getattr(ln, "net", ln.amount)
        amount = label(surf, money(net), (row.right - 6, row.y + 4), body, theme.TEXT, "topright")
        detail, discount = line_detail(ln, money)
        name_end = amount.x
        if discount:  # the original amount, struck through, before the net one
            was = label(surf, money(ln.amount + ln.discount), (amount.x - 10, amount.bottom - 1), small, theme.MUTED,
                        "bottomright")
            strike(surf, was, small)
            name_end = was.x
        label(surf, ln.name, (row.x + 6, row.y + 4), body, theme.TEXT, width=name_end - row.x - 14)
        right = row.right - 6
        if discount:
            room = max(row.w // 2, row.w - 20 - font(small).size(detail)[0])  # the quantity keeps what it needs
            right = label(surf, discount, (row.right - 6, row.bottom - 3), small, theme.ACCENT, "bottomright",
                          room).x - 8
        label(surf, detail, (row.x + 6, row.bottom - 3), small, theme.MUTED, "bottomleft", right - row.x - 6)

    def _draw_void(self, surf: pygame.Surface, row: Rect, ln: Any) -> None:
        """A voided line: muted, name and amount struck through the middle of the letters, a "VOID" tag."""
        m, money = self.screen.m, self.screen.app.money
        body, small = m.font("body"), m.font("small")
        tag = void_tag(surf, (row.right - 6, row.y + 3), small)
        amount = label(surf, money(getattr(ln, "net", ln.amount)), (tag.x - 8, row.y + 4), body, theme.MUTED,
                       "topright")
        strike(surf, amount, body)
        name = label(surf, ln.name, (row.x + 6, row.y + 4), body, theme.MUTED, width=amount.x - row.x - 16)
        strike(surf, name, body)
        detail, _ = line_detail(ln, money)
        label(surf, detail, (row.x + 6, row.bottom - 3), small, theme.MUTED, "bottomleft", row.w - 12)


def strike(surf: pygame.Surface, text: Rect, size: int, color: theme.Color = theme.MUTED) -> None:
    """A line through the middle of the lower-case letters of a text drawn in `text` at `size` px (not its foot,
    where it would read as an underline)."""
    f = font(size)
    scale = text.h / max(1, f.get_height())  # the text may have been shrunk to fit its width
    x_top = (f.metrics("x")[0] or (0, 0, 0, size // 2))[3]  # the x-height above the baseline
    top = text.y + round((f.get_ascent() - x_top / 2 - 1) * scale)  # a 2 px bar centred on the x-height's middle
    surf.fill(color, Rect(text.x - 2, top, text.w + 4, 2))


def void_tag(surf: pygame.Surface, topright: tuple[int, int], size: int) -> Rect:
    """The "VOID" tag: the word in the error colour in an outlined box; returns the box."""
    w, h = font(size).size("VOID")
    box = Rect(0, 0, w + 10, h + 2)
    box.topright = topright
    pygame.draw.rect(surf, theme.ERROR, box, width=2, border_radius=4)
    label(surf, "VOID", box.center, size, theme.ERROR, "center")
    return box
