"""The manager's stock-take (docs/stock.md#counts): scan an item (or type its number), type how many are on the
shelf, and save the counts. Each count replaces the item's stock on this till at once and goes to the fleet.

Left: the item in hand (its name and what the till thinks is on the shelf) and the counts taken so far, newest
first; right: the keypad, with "." for weighed goods (kg). Under the keypad, two buttons say what the number
typed is: **Item no.** (the item's number, as a scan would give it) or **Count** (how many of the item in hand).
A scan always picks the item. Nothing is sent until **Save counts**; **Close** with unsaved counts asks first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.register.commands import MAX_STOCK_COUNTS as MAX_COUNTS, CountStock
from firmware.register.view import StockInfo
from ui import theme
from ui.input import keypad_key
from ui.layout import columns, rows
from ui.screens.base import Entry, Region
from ui.screens.dialogs import Confirm, Dialog
from ui.widgets import Button, draw_panel, keypad, label, label_lines

if TYPE_CHECKING:
    from ui.app import App



class StockTakeDialog(Dialog):
    name = "stock_take"
    box_w, box_h = 0.98, 0.98
    takes_scans = True  # the hal scanner's codes come here (App._hold_scans), never into the cart

    def __init__(self, app: App, manager_pin: str | None = None) -> None:
        super().__init__(app)
        self.manager_pin = manager_pin  # the PIN that opened the manager menu: the counts are that manager's
        self.entry = Entry(limit=14)
        self.item: StockInfo | None = None
        self.counts: list[tuple[StockInfo, str]] = []  # (item, counted as typed), in the order taken
        self.note = "Scan an item, or type its number and tap Item no."
        self.error = False

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, body, r_btns = rows(self.inner, [-m.px(34), 1, -m.row], g)
        left, right = columns(body, [1.25, 1], g * 2)
        self.r_item, self.r_note, self.r_list = rows(left, [-m.px(86), -2 * m.font("body") - m.px(8), 1], g)
        self.r_show, r_pad = rows(right, [-max(theme.MIN_BUTTON, m.px(50)), 1], g)
        self.buttons = keypad(r_pad, g, self._key, m.font("big"), keys="789456123.0<", prefix="stk")
        close, clear, save, item_no, count = columns(r_btns, [1, 1, 1.3, 1, 1], g)
        size = m.font("label")
        self.buttons += [Button("stk:item", item_no, "Item no.", self._pick_typed, "normal", size),
                         Button("stk:count", count, "Count", self._count, "primary", size),
                         Button("stk:close", close, "Close", self._close, "quiet", size),
                         Button("stk:clear", clear, "Clear list", self._clear, "quiet", size),
                         Button("stk:save", save, "Save counts", self._save, "primary", size)]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, "Stock take", self.r_title.midtop, self.m.font("title"), theme.ACCENT, "midtop", self.r_title.w)

    def regions(self) -> list[Region]:
        return [Region("stock.item", self.r_item, lambda: (self.item,), self._draw_item),
                Region("stock.note", self.r_note, lambda: (self.note, self.error), self._draw_note),
                Region("stock.list", self.r_list, lambda: tuple(self.counts), self._draw_list),
                Region("stock.show", self.r_show, lambda: self.entry.text, self._draw_show)]

    # ---- drawing

    def _draw_item(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        pad = self.m.px(10)
        if self.item is None:
            label(surf, "No item yet", (r.x + pad, r.centery), self.m.font("body"), theme.MUTED, "midleft", r.w - pad)
            return
        top, bottom = rows(r, [1, 1], 0)
        label(surf, self.item.name, (r.x + pad, top.centery), self.m.font("label"), theme.TEXT, "midleft",
              r.w - 2 * pad)
        label(surf, f"On this till: {self.item.text}", (r.x + pad, bottom.centery), self.m.font("body"), theme.MUTED,
              "midleft", r.w - 2 * pad)

    def _draw_note(self, surf: pygame.Surface, r: Rect) -> None:
        label_lines(surf, self.note, r.topleft, self.m.font("body"), theme.ERROR if self.error else theme.MUTED, r.w)

    def _draw_list(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r)
        pad = self.m.px(10)
        row_h = self.m.font("body") + self.m.px(14)
        if not self.counts:
            label(surf, "Counts taken appear here", r.center, self.m.font("body"), theme.MUTED, "center", r.w - pad)
            return
        y = r.y + pad
        shown = list(reversed(self.counts))
        fit = max(1, (r.h - 2 * pad) // row_h)
        for info, counted in shown[:fit]:
            name_r, count_r = columns(Rect(r.x + pad, y, r.w - 2 * pad, row_h), [1, -self.m.px(150)], pad)
            label(surf, info.name, name_r.midleft, self.m.font("body"), theme.TEXT, "midleft", name_r.w)
            label(surf, f"{counted}{' kg' if info.weighed else ''}", count_r.midright, self.m.font("label"),
                  theme.TEXT, "midright", count_r.w)
            y += row_h
        if len(shown) > fit:
            label(surf, f"and {len(shown) - fit} more", (r.right - pad, r.bottom - pad), self.m.font("small"),
                  theme.MUTED, "bottomright")

    def _draw_show(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        text = self.entry.text
        label(surf, text or "0", (r.right - self.m.px(12), r.centery), self.m.font("big"),
              theme.TEXT if text else theme.MUTED, "midright", r.w - self.m.px(20))

    # ---- actions

    def _say(self, text: str, error: bool = False) -> None:
        self.note, self.error = text, error
        if error:
            self.app.tone.error()

    def _key(self, k: str) -> None:
        self.entry.key(k)

    def pick(self, code: str) -> None:
        """The item a scan or a typed number names becomes the item in hand."""
        found = self.app.register.stock_of(code)
        if found is None:
            self._say(f"No item has the number {code.strip()}", error=True)
            return
        self.item = found
        self.entry.text = ""
        self._say(f"Type how many {found.name} are on the shelf{' (kg)' if found.weighed else ''}, then Count")

    def _pick_typed(self) -> None:
        if not self.entry.text:
            self._say("Type the item's number first, or scan it", error=True)
            return
        self.pick(self.entry.text)

    def _count(self) -> None:
        if self.item is None:
            self._say("Scan the item first, then type how many there are", error=True)
            return
        counted = self.entry.text
        if not counted or counted.count(".") > 1 or (not self.item.weighed and "." in counted):
            self._say("Type a whole number" if not self.item.weighed else "Type the weight in kg, e.g. 2.5",
                      error=True)
            return
        if len(self.counts) >= MAX_COUNTS:
            self._say(f"Save these {MAX_COUNTS} counts first", error=True)
            return
        self.counts = [c for c in self.counts if c[0].sku != self.item.sku] + [(self.item, counted)]
        self._say(f"{self.item.name}: {counted}{' kg' if self.item.weighed else ''} counted; scan the next item")
        self.item, self.entry.text = None, ""

    def _save(self) -> None:
        if not self.counts:
            self._say("Nothing counted yet", error=True)
            return
        counts = tuple((info.sku, counted) for info, counted in self.counts)
        outcome = self.app.run(CountStock(counts, self.manager_pin), quiet=True)
        if not outcome.ok:
            self._say(outcome.message or "The counts were not saved", error=True)
            return
        self.counts = []
        self._say(outcome.message or "Counts saved")

    def _clear(self) -> None:
        self.counts, self.item, self.entry.text = [], None, ""
        self._say("List cleared; nothing was saved")

    def _close(self) -> None:
        if self.counts:
            n = len(self.counts)
            self.app.push(Confirm(self.app, f"{n} count{'s' * (n != 1)} not saved. Close and lose them?", self.close,
                                  yes="Close"))
            return
        self.close()

    def on_key(self, key: int, char: str) -> bool:
        if char == ".":
            self._key(".")
            return True
        return keypad_key(key, char, self._key, self._count, self._close)

    def on_scan(self, code: str) -> None:
        self.pick(code)
