"""The cart as a list of tappable rows: name, quantity x price, discount, amount; the scanned line flashes."""

from __future__ import annotations

from typing import Any

import pygame
from pygame import Rect

from ui import theme
from ui.screens.base import Hot
from ui.widgets import label


class CartList:
    """Shows a window of the cart's lines; follows the newest line unless the cashier scrolled."""

    def __init__(self, screen: Any, rect: Rect) -> None:
        self.screen = screen
        self.rect = rect
        m = screen.m
        self.row_h = max(48, m.px(50))
        self.per_page = max(1, rect.h // self.row_h)
        self.offset = 0
        self.pinned = False

    def follow(self) -> None:
        self.pinned = False

    def scroll(self, step: int) -> None:
        n = len(self.screen.view.lines)
        self.offset = max(0, min(max(0, n - self.per_page), self.offset + step * max(1, self.per_page - 1)))
        self.pinned = True

    def _window(self, lines: tuple[Any, ...]) -> tuple[Any, ...]:
        n = len(lines)
        if not self.pinned:
            self.offset = max(0, n - self.per_page)
            flash = self.screen.view.flash_line
            idx = next((i for i, ln in enumerate(lines) if ln.line_no == flash), None)
            if idx is not None and not (self.offset <= idx < self.offset + self.per_page):
                self.offset = max(0, min(idx, n - self.per_page))
        self.offset = min(self.offset, max(0, n - self.per_page))
        return lines[self.offset:self.offset + self.per_page]

    def draw(self, surf: pygame.Surface, r: Rect) -> None:
        screen, m = self.screen, self.screen.m
        view = screen.view
        lines = view.lines
        if not lines:
            label(surf, "Cart is empty", r.center, m.font("label"), theme.MUTED, "center")
            screen.set_hot("cart", [])
            return
        flashing = screen.flashing()
        hots = []
        y = r.y
        for ln in self._window(lines):
            row = Rect(r.x, y, r.w, self.row_h - 2)
            if ln.line_no == screen.selected:
                pygame.draw.rect(surf, theme.SELECT, row, border_radius=4)
            elif flashing and ln.line_no == view.flash_line:
                pygame.draw.rect(surf, theme.FLASH, row, border_radius=4)
            self._draw_row(surf, row, ln)
            hots.append(Hot(row, lambda n=ln.line_no: screen.select(n), f"line:{ln.line_no}"))
            y += self.row_h
        if self.offset > 0 or self.offset + self.per_page < len(lines):
            more = f"{self.offset + 1}-{min(len(lines), self.offset + self.per_page)} of {len(lines)}"
            label(surf, more, (r.right - 4, r.bottom - 2), m.font("small"), theme.MUTED, "bottomright")
        screen.set_hot("cart", hots)

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
            pygame.draw.line(surf, theme.MUTED, (row.x + 6, row.y + 4 + body // 2), (amount.x - 8, row.y + 4 + body // 2), 2)
