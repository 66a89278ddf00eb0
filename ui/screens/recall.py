"""Recall a parked cart: the list (number, time, clerk, total), a tap, a typed number or the slip's barcode.

Cashiers open it from Sell (Park / Recall on an empty cart) and bring back
their own carts without a manager; another clerk's cart asks for a manager's
PIN (the register decides, `firmware/register/core/handlers/park.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.register.commands import Recall
from ui import theme
from ui.input import keypad_key
from ui.layout import columns, rows
from ui.screens.base import Drag, Entry, Hot, Region, page_column
from ui.screens.dialogs import Dialog
from ui.scroll import RowScroll
from ui.widgets import Button, draw_panel, keypad, label

if TYPE_CHECKING:
    from ui.app import App


class RecallDialog(Dialog):
    name = "recall"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: App, on_recalled: Callable[[], None] | None = None,
                 manager_pin: str | None = None) -> None:
        super().__init__(app)
        self.on_recalled = on_recalled
        self.manager_pin = manager_pin
        self.entry = Entry(limit=4)
        self.scroll = RowScroll(max(theme.MIN_BUTTON, app.metrics.px(56)))
        self._list_rect: Rect | None = None

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        left, right = columns(self.inner, [0.64, 0.36], g * 2)
        self.r_title, self.r_list = rows(left, [-m.px(34), 1], g)
        self.r_show, r_pad, r_btns = rows(right, [-m.px(50), 1, -m.row], g)
        self.buttons = keypad(r_pad, g, self._key, m.font("big"), prefix="recall:key")
        close, go = columns(r_btns, [1, 1.2], g)
        self.buttons += [Button("recall:close", close, "Close", self.close, "quiet", m.font("label")),
                         Button("recall:go", go, "Recall", self._typed, "primary", m.font("label"))]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, "Parked carts: tap one, type its number or scan its slip", self.r_title.midleft,
              self.m.font("label"), theme.ACCENT, "midleft", self.r_title.w)

    def regions(self) -> list[Region]:
        return [Region("recall.list", self.r_list, self._list_key, self._draw_list),
                Region("recall.show", self.r_show, lambda: self.entry.text, self._draw_show)]

    def drags(self) -> list[Drag]:
        return [Drag(self._list_rect, self.scroll.drag, self.scroll.end_drag)] if self._list_rect else []

    def _list_key(self) -> object:
        return self.view.revision, self.scroll.offset

    def _draw_list(self, surf: pygame.Surface, r: Rect) -> None:
        m, g = self.m, self.m.gap
        parked = self.reg.parked()
        s = self.scroll
        h = s.row_h
        s.per_page = max(1, (r.h + g) // (h + g))
        s.fit(len(parked))
        body, hots = page_column(surf, r, s, m, "recall", h, position=False)
        self._list_rect = body
        if not parked:
            label(surf, "No parked carts.", body.center, m.font("label"), theme.MUTED, "center")
        for i, idx in enumerate(s.window()):
            p = parked[idx]
            rect = Rect(body.x, body.y + i * (h + g), body.w, h)
            number = p.number or p.park_id
            when = p.parked_at.astimezone().strftime("%H:%M")
            who = p.clerk_name or p.clerk_id
            style = "warn" if p.stale else "key"
            pygame.draw.rect(surf, theme.STYLES[style][0], rect, border_radius=max(4, h // 8))
            fg = theme.STYLES[style][1]
            pad = m.px(10)
            num = label(surf, number, (rect.x + pad, rect.centery), m.font("title"), fg, "midleft")
            total = label(surf, self.app.money(p.total), (rect.right - pad, rect.centery), m.font("label"), fg,
                          "midright")
            items = f"{p.lines} item{'s' * (p.lines != 1)}"
            old = "  (old)" if p.stale else ""
            label(surf, f"{when}  {who}  ·  {items}{old}", (num.right + pad * 2, rect.centery), m.font("body"), fg,
                  "midleft", max(10, total.x - num.right - pad * 3))
            hots.append(Hot(rect, partial(self.recall, p.park_id), f"parked:{number}"))
        self.set_hot("list", hots)

    def _draw_show(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        text = f"P{self.entry.text}" if self.entry.text else "number"
        label(surf, text, r.center, self.m.font("big"), theme.TEXT if self.entry.text else theme.MUTED, "center")

    def _key(self, k: str) -> None:
        self.entry.key(k)

    def _typed(self) -> None:
        if not self.entry.text:
            self.app.toast("Type the cart's number (the P number on its slip), or tap it in the list.", level="error")
            return
        self.recall(f"P{self.entry.text}")
        self.entry.text = ""

    def recall(self, park_id: str, pin: str | None = None) -> None:
        """Bring it back; another clerk's cart asks for a manager's PIN first (unless one was given already)."""
        outcome = self.app.run(Recall(park_id, pin or self.manager_pin), quiet=True)
        if outcome.ok:
            self.close()
            if self.on_recalled:
                self.on_recalled()
        elif "manager" in outcome.message.lower() and pin is None and self.manager_pin is None:
            from ui.screens.dialogs import ask_manager_pin

            ask_manager_pin(self.app, lambda given: self.recall(park_id, given), outcome.message)
        else:
            self.app.toast(outcome.message or "That cart could not be brought back.", level="error")

    def on_key(self, key: int, char: str) -> bool:
        return keypad_key(key, char, self._key, self._typed, self.close)

    def on_scan(self, code: str) -> None:
        self.recall(code)


__all__ = ["RecallDialog"]
