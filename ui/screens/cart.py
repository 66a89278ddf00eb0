"""The cart as a list of tappable rows: name, quantity x price, discount, amount; the scanned line flashes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import pygame
from pygame import Rect

from ui import theme
from ui.screens.base import Drag, Hot
from ui.scroll import RowScroll
from ui.widgets import label


class CartList:
    """Shows a window of the cart's lines; follows the newest line unless the cashier scrolled.

    Each row is rendered once into its own surface, keyed by what it shows
    (the line, selected, flashing), so a scan renders only the new or changed
    row and blits the others: the cost of a cart update does not grow with
    the text on screen.
    """

    def __init__(self, screen: Any, rect: Rect) -> None:
        self.screen = screen
        self.rect = rect
        self.row_h = max(48, screen.m.px(50))
        self.scroller = RowScroll(self.row_h, max(1, rect.h // self.row_h))
        self.per_page = self.scroller.per_page
        self.pinned = False
        self.rendered = 0  # rows rendered (cache misses), for tests and the benchmark
        self._rows: OrderedDict[Hashable, pygame.Surface] = OrderedDict()
        self._hots_key: object = None

    @property
    def offset(self) -> int:
        return self.scroller.offset

    def follow(self) -> None:
        """Show the newest line again (after an item was added)."""
        self.pinned = False

    def scroll(self, step: int) -> None:
        """The Up/Down buttons: a page at a time."""
        self.scroller.fit(len(self.screen.view.lines))
        self.scroller.page(step)
        self.pinned = True

    def drag(self, dy: int) -> None:
        self.scroller.fit(len(self.screen.view.lines))
        if self.scroller.drag(dy):
            self.pinned = True

    def drags(self) -> list[Drag]:
        return [Drag(self.rect, self.drag, self.scroller.end_drag)]

    def _window(self, lines: tuple[Any, ...]) -> tuple[Any, ...]:
        s = self.scroller
        s.fit(len(lines))
        if not self.pinned:
            s.to(s.last)
            flash = self.screen.view.flash_line
            idx = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].line_no == flash), None)
            if idx is not None and idx not in s.window():
                s.to(idx)
        return lines[s.offset:s.offset + s.per_page]

    def draw(self, surf: pygame.Surface, r: Rect) -> None:
        screen, m = self.screen, self.screen.m
        view = screen.view
        lines = view.lines
        if not lines:
            label(surf, "Cart is empty", r.center, m.font("label"), theme.MUTED, "center")
            screen.set_hot("cart", [])
            self._hots_key = None
            return
        flash = view.flash_line if screen.flashing() else None
        shown = self._window(lines)
        y = r.y
        for ln in shown:
            surf.blit(self._row(ln, ln.line_no == screen.selected, ln.line_no == flash, r.w), (r.x, y))
            y += self.row_h
        more = self.scroller.more()
        if more:
            label(surf, more, (r.right - 4, r.bottom - 2), m.font("small"), theme.MUTED, "bottomright")
        hots_key = (r.topleft, tuple(ln.line_no for ln in shown))
        if hots_key != self._hots_key:  # taps only move when the window does
            self._hots_key = hots_key
            screen.set_hot("cart", [Hot(Rect(r.x, r.y + i * self.row_h, r.w, self.row_h - 2),
                                        (lambda n=ln.line_no: screen.select(n)), f"line:{ln.line_no}")
                                    for i, ln in enumerate(shown)])

    def _row(self, ln: Any, selected: bool, flashing: bool, width: int) -> pygame.Surface:
        key = (ln, selected, flashing, width)
        surf = self._rows.get(key)
        if surf is not None:
            self._rows.move_to_end(key)
            return surf
        self.rendered += 1
        surf = pygame.Surface((width, self.row_h - 2)).convert()
        surf.fill(theme.PANEL)
        row = surf.get_rect()
        if selected:
            pygame.draw.rect(surf, theme.SELECT, row, border_radius=4)
        elif flashing:
            pygame.draw.rect(surf, theme.FLASH, row, border_radius=4)
        self._draw_row(surf, row, ln)
        self._rows[key] = surf
        while len(self._rows) > 4 * self.per_page + 8:
            self._rows.popitem(last=False)
        return surf

    def _draw_row(self, surf: pygame.Surface, row: Rect, ln: Any) -> None:
        m, money = self.screen.m, self.screen.app.money
        color = theme.MUTED if ln.voided else theme.TEXT
        body, small = m.font("body"), m.font("small")
        amount = label(surf, "VOID" if ln.voided else money(ln.amount), (row.right - 6, row.y + 4), body,
                       theme.ERROR if ln.voided else color, "topright")
        label(surf, ln.name, (row.x + 6, row.y + 4), body, color, width=amount.x - row.x - 14)
        detail = f"{ln.qty} x {money(ln.unit_price)}"
        if ln.discount:
            detail += f"   discount -{money(ln.discount)}"
        label(surf, detail, (row.x + 6, row.bottom - 3), small, theme.ACCENT if ln.discount else theme.MUTED,
              "bottomleft", row.w - 12)
        if ln.voided:
            mid = row.y + 4 + body // 2
            pygame.draw.line(surf, theme.MUTED, (row.x + 6, mid), (amount.x - 8, mid), 2)
