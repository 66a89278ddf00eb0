"""Item search by name with an on-screen keyboard; tapping a result adds it to the cart.

A result that is a variant parent ("T-shirt · 5 kinds") opens its grid (ui/screens/variants.py) instead; a
result whose item has a picture shows it at the left (docs/item-images.md)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pygame
from pygame import Rect

from firmware.register.commands import AddSku
from ui import theme
from ui.item_image import draw_item_image
from ui.layout import columns, grid, rows
from ui.screens.base import Hot, Region
from ui.screens.dialogs import Dialog
from ui.widgets import Button, draw_button, draw_panel, label

KEY_ROWS = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")


class SearchDialog(Dialog):
    name = "search"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: Any, text: str = "") -> None:
        super().__init__(app)
        self.text = text.upper()
        self._cache: tuple[str, list[Any]] = ("\0", [])

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        key_h = max(48, m.px(48))
        self.r_field, self.r_results, r_keys = rows(self.inner, [-m.px(44), 1, -(4 * key_h + 3 * g)], g)
        size = m.font("label")
        self.buttons = []
        krows = rows(r_keys, [1, 1, 1, 1], g)
        for r, letters in zip(krows, KEY_ROWS, strict=False):  # 4 rows, 3 of letters: the last is laid out below
            w = (r_keys.w - 9 * g) // 10
            x = r.x + (r.w - (len(letters) * (w + g) - g)) // 2
            for ch in letters:
                self.buttons.append(Button(f"kb:{ch}", Rect(x, r.y, w, r.h), ch, partial(self.type, ch), "key",
                                           size))
                x += w + g
        space, delete, clear, close = columns(krows[3], [3, 1, 1, 1.2], g)
        self.buttons += [
            Button("kb:space", space, "Space", lambda: self.type(" "), "key", size),
            Button("kb:del", delete, "Del", self.delete, "key", size),
            Button("kb:clear", clear, "Clear", self.clear, "key", size),
            Button("kb:close", close, "Close", self.close, "quiet", size),
        ]

    def results(self) -> list[Any]:
        if self._cache[0] != self.text:
            found = list(self.reg.search(self.text.strip(), limit=6)) if len(self.text.strip()) >= 1 else []
            self._cache = (self.text, found)
        return self._cache[1]

    def regions(self) -> list[Region]:
        return [
            Region("search.field", self.r_field, lambda: self.text, self._draw_field),
            Region("search.results", self.r_results, lambda: self.text, self._draw_results),
        ]

    def _draw_field(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        if self.text:
            label(surf, self.text + "_", (r.x + 8, r.centery), self.m.font("big"), theme.TEXT, "midleft", r.w - 16)
        else:
            label(surf, "Type part of the item's name", (r.x + 8, r.centery), self.m.font("label"), theme.MUTED,
                  "midleft")

    def _draw_results(self, surf: pygame.Surface, r: Rect) -> None:
        found = self.results()
        n_rows = max(1, (r.h + self.m.gap) // (48 + self.m.gap))
        cells = grid(r, n_rows, 2, self.m.gap)
        hots = []
        for cell, item in zip(cells, found, strict=False):  # as many results as cells fit, or fewer
            variants = item.variants
            price = self.app.money(item.price)
            text = f"{item.name} · {variants} kinds  from {price}" if variants else f"{item.name}  {price}"
            if item.stock:  # as this till sees it: "12 in stock", "Out of stock" (docs/stock.md)
                text += f" · {item.stock}"
            image = item.image
            if image:  # the picture in a square at the left, the words beside it
                pic = Rect(cell.x, cell.y, cell.h * 4 // 3, cell.h)
                draw_button(surf, cell, "", "normal", self.m.font("body"))
                draw_item_image(self.app, surf, pic, image)
                draw_button(surf, Rect(pic.right + 2, cell.y, cell.w - pic.w - 2, cell.h), text, "normal",
                            self.m.font("body"))
            else:
                draw_button(surf, cell, text, "normal", self.m.font("body"))
            action = partial(self.open_variants, item.sku) if variants else partial(self.pick, item.sku)
            hots.append(Hot(cell, action, f"result:{item.sku}"))
        if self.text.strip() and not found:
            label(surf, f"Nothing called “{self.text.strip()}”", r.center, self.m.font("label"), theme.WARN, "center")
        self.set_hot("results", hots)

    def type(self, ch: str) -> None:
        if len(self.text) < 30:
            self.text += ch

    def delete(self) -> None:
        self.text = self.text[:-1]

    def clear(self) -> None:
        self.text = ""

    def pick(self, sku: str) -> None:
        if self.app.run(AddSku(sku)).ok:
            self.close()

    def open_variants(self, parent: str) -> None:
        """A parent picked: its grid replaces the search (the cashier taps a size and colour there)."""
        from ui.screens.variants import VariantGridDialog  # it draws pictures too; loaded when first wanted

        self.close()
        self.app.push(VariantGridDialog(self.app, parent))

    def on_key(self, key: int, char: str) -> bool:
        if key == pygame.K_ESCAPE:
            self.close()
        elif key == pygame.K_BACKSPACE:
            self.delete()
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            found = self.results()
            if len(found) == 1:
                if found[0].variants:
                    self.open_variants(found[0].sku)
                else:
                    self.pick(found[0].sku)
        elif char and char.isprintable():
            self.type(char.upper())
        else:
            return False
        return True

    def on_scan(self, code: str) -> None:
        self.close()
        self.app.current.on_scan(code) if self.app.current else None
