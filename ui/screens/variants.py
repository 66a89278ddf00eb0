"""The variant grid: a parent's sizes x colours (docs/stock.md#variants); tapping a cell adds that variant.

Opened from the item search when the cashier picks a parent ("T-shirt, 5 variants"). Rows are the first axis,
columns the second; a third axis gives pages (one button per value). Each cell shows the variant's price and,
when the register knows it, its stock on hand; a combination the shop does not sell is greyed and does nothing.
More rows or columns than fit are shown a screenful at a time (Up/Down, Left/Right). The header carries the
item's picture (docs/item-images.md) or a plain placeholder.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pygame
from pygame import Rect

from firmware.register.commands import AddSku
from firmware.register.view import VariantCellView, VariantGridView
from ui import theme
from ui.item_image import draw_item_image
from ui.layout import columns, rows
from ui.screens.base import Region
from ui.screens.dialogs import Dialog
from ui.widgets import Button, label

MIN_CELL_W = 96  # at the design size: room for "€1,234.90" and "12 in stock"


def cell_text(app: Any, cell: VariantCellView) -> str:
    """What a cell says: its price, and the stock on hand when known; "Not sold" for a missing combination."""
    if cell.sku is None:
        return "Not sold"
    price = app.money(cell.price)
    if cell.on_hand is None:
        return price
    stock = "none in stock" if cell.on_hand <= 0 else f"{cell.on_hand} in stock"
    return f"{price}\n{stock}"


class VariantGridDialog(Dialog):
    name = "variants"
    box_w, box_h = 0.98, 0.98
    escape_closes = True

    def __init__(self, app: Any, parent: str) -> None:
        super().__init__(app)
        self.parent = parent
        self.page: str | None = None
        self.row0 = 0
        self.col0 = 0
        self.grid: VariantGridView | None = app.register.variant_grid(parent)

    # ---- layout ------------------------------------------------------------------------------
    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        small = m.font("body")
        self.r_head, r_body, r_foot = rows(self.inner, [-max(m.px(76), 60), 1, -max(48, m.row)], g)
        self.r_image, self.r_title = columns(self.r_head, [-self.r_head.h * 4 // 3, 1], g)
        grid = self.grid
        if grid is None:
            self.buttons = [Button("variants:close", r_foot, "Close", self.close, "quiet", small)]
            self.r_body = r_body
            return
        # the grid: a header row (column values) and a header column (row values)
        head_h = max(m.px(30), 28)
        head_w = max(m.px(90), 72)
        cell_h = max(48, m.px(56))
        cell_w = max(m.px(MIN_CELL_W), 72)
        fit_rows = max(1, (r_body.h - head_h) // (cell_h + g))
        fit_cols = max(1, (r_body.w - head_w) // (cell_w + g))
        self.row0 = min(self.row0, max(0, len(grid.rows) - fit_rows))
        self.col0 = min(self.col0, max(0, len(grid.cols) - fit_cols))
        shown_rows = grid.rows[self.row0:self.row0 + fit_rows]
        shown_cols = grid.cols[self.col0:self.col0 + fit_cols]
        col_w = min((r_body.w - head_w) // max(1, len(shown_cols)) - g, m.px(180))
        row_h = min((r_body.h - head_h) // max(1, len(shown_rows)) - g, m.px(80))
        self.r_body = r_body
        self.headers: list[tuple[str, Rect, str]] = []  # (text, rect, anchor)
        x0, y0 = r_body.x + head_w + g, r_body.y + head_h + g
        for j, col in enumerate(shown_cols):
            self.headers.append((col or grid.row_axis, Rect(x0 + j * (col_w + g), r_body.y, col_w, head_h), "center"))
        for i, row in enumerate(shown_rows):
            self.headers.append((row, Rect(r_body.x, y0 + i * (row_h + g), head_w, row_h), "midleft"))
        for i in range(len(shown_rows)):
            for j in range(len(shown_cols)):
                cell = grid.cells[self.row0 + i][self.col0 + j]
                rect = Rect(x0 + j * (col_w + g), y0 + i * (row_h + g), col_w, row_h)
                if cell.sku is None:
                    self.buttons.append(Button(f"variant:missing:{cell.row}:{cell.col}", rect,
                                               cell_text(self.app, cell), None, "disabled", small, enabled=False))
                else:
                    self.buttons.append(Button(f"variant:{cell.sku}", rect, cell_text(self.app, cell),
                                               partial(self.pick, cell.sku), "key", small))
        # the footer: pages of the third axis, scrolling when the grid is bigger than the screen, Close
        scroll = []
        if len(grid.rows) > fit_rows:
            scroll += [("variants:up", "Up", partial(self.scroll, -fit_rows, 0), self.row0 > 0),
                       ("variants:down", "Down", partial(self.scroll, fit_rows, 0),
                        self.row0 + fit_rows < len(grid.rows))]
        if len(grid.cols) > fit_cols:
            scroll += [("variants:left", "Left", partial(self.scroll, 0, -fit_cols), self.col0 > 0),
                       ("variants:right", "Right", partial(self.scroll, 0, fit_cols),
                        self.col0 + fit_cols < len(grid.cols))]
        weights = [1.0] * len(grid.pages) + [0.8] * len(scroll) + [1.0]
        parts = columns(r_foot, weights, g)
        for rect, value in zip(parts, grid.pages, strict=False):
            style = "selected" if value == grid.page else "quiet"
            self.buttons.append(Button(f"variants:page:{value}", rect, value, partial(self.show_page, value), style,
                                       small))
        for rect, (bid, text, action, enabled) in zip(parts[len(grid.pages):], scroll, strict=False):
            self.buttons.append(Button(bid, rect, text, action, "quiet", small, enabled=enabled))
        self.buttons.append(Button("variants:close", parts[-1], "Close", self.close, "quiet", small))

    # ---- drawing -----------------------------------------------------------------------------
    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        grid = self.grid
        if grid is None:
            label(surf, "This item has no sizes or colours to pick from any more.", self.r_body.center,
                  self.m.font("label"), theme.WARN, "center", self.r_body.w)
            return
        head = self.m.font("label")
        for text, rect, anchor in self.headers:
            pos = rect.center if anchor == "center" else (rect.x + 4, rect.centery)
            label(surf, text, pos, head, theme.ACCENT, anchor, rect.w - 8)
        if grid.col_axis:  # the corner says which way is which: "Size \u2193  Colour \u2192" in words
            corner = Rect(self.r_body.x, self.r_body.y, max(self.m.px(90), 72), max(self.m.px(30), 28))
            label(surf, grid.row_axis, (corner.x + 4, corner.centery), self.m.font("small"), theme.MUTED, "midleft",
                  corner.w - 8)

    def regions(self) -> list[Region]:
        return [Region("variants.head", self.r_head, lambda: (self.parent, self.page), self._draw_head)]

    def _draw_head(self, surf: pygame.Surface, r: Rect) -> None:
        grid = self.grid
        draw_item_image(self.app, surf, self.r_image, grid.image if grid is not None else "")
        t = self.r_title
        name = grid.name if grid is not None else self.parent
        lab = label(surf, name, (t.x + 4, t.y), self.m.font("title"), theme.TEXT, "topleft", t.w - 8)
        if grid is None:
            return
        how = f"{grid.row_axis} down, {grid.col_axis} across" if grid.col_axis else f"Pick a {grid.row_axis}"
        if grid.page is not None:
            how += f" \u00b7 {grid.page_axis}: {grid.page}"
        label(surf, how + " \u00b7 tap one to add it", (t.x + 4, lab.bottom + self.m.gap), self.m.font("label"),
              theme.MUTED, "topleft", t.w - 8)

    # ---- actions -----------------------------------------------------------------------------
    def pick(self, sku: str) -> None:
        if self.app.run(AddSku(sku)).ok:
            self.close()

    def show_page(self, value: str) -> None:
        self.page = value
        self.grid = self.app.register.variant_grid(self.parent, value)
        self._relayout()

    def scroll(self, rows_by: int, cols_by: int) -> None:
        self.row0 = max(0, self.row0 + rows_by)
        self.col0 = max(0, self.col0 + cols_by)
        self._relayout()

    def _relayout(self) -> None:
        self.layout(self.area)
        self.app.redraw()

    def on_scan(self, code: str) -> None:
        self.close()
        self.app.current.on_scan(code) if self.app.current else None
