"""Modal dialogs: an alert in the cashier's words, a PIN or number entry, a manager's PIN (with its lockout), a yes/no question."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.domain.lockout import wait_words
from ui import theme
from ui.input import keypad_key
from ui.layout import columns, inset, rows
from ui.screens.base import Entry, Region, Screen
from ui.widgets import Button, draw_panel, keypad, label, label_lines, paragraph, pin_dots

if TYPE_CHECKING:
    from ui.app import App


class Dialog(Screen):
    """A centred box over the dimmed screen; only its own buttons answer."""

    modal = True
    name = "dialog"
    box_w, box_h = 0.62, 0.8

    def layout(self, area: Rect) -> None:
        super().layout(area)
        w, h = int(area.w * self.box_w), int(area.h * self.box_h)
        self.box = Rect(0, 0, w, h)
        self.box.center = area.center
        self.inner = inset(self.box, self.m.px(12))

    def draw_static(self, surf: pygame.Surface) -> None:
        pygame.draw.rect(surf, theme.PANEL, self.box, border_radius=10)
        pygame.draw.rect(surf, theme.ACCENT, self.box, width=2, border_radius=10)

    def close(self) -> None:
        self.app.pop(self)


class Alert(Dialog):
    """An error or notice; OK closes it, and so does the next scan (which then goes through)."""

    name = "alert"
    box_h = 0.6

    def __init__(self, app: "App", text: str, title: str = "") -> None:
        super().__init__(app)
        self.text, self.title = text, title or "Please note"

    def set_text(self, text: str, title: str = "") -> None:
        self.text, self.title = text, title or self.title

    def layout(self, area: Rect) -> None:
        super().layout(area)
        self.r_text, r_btn = rows(self.inner, [1, -self.m.row], self.m.gap)
        ok = Rect(0, 0, max(self.m.px(160), 96), r_btn.h)
        ok.center = r_btn.center
        self.buttons = [Button("alert:ok", ok, "OK", self.close, "primary", self.m.font("label"))]

    def regions(self) -> list[Region]:
        return [Region("alert.text", self.r_text, lambda: (self.title, self.text), self._draw)]

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        lab = label(surf, self.title, (r.centerx, r.y), self.m.font("title"), theme.ACCENT, "midtop")
        paragraph(surf, self.text, Rect(r.x, lab.bottom + self.m.gap * 2, r.w, r.bottom - lab.bottom), self.m.font("label"),
                  theme.TEXT, center=True)

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_ESCAPE):
            self.close()
            return True
        return False

    def on_scan(self, code: str) -> None:
        self.close()
        self.app.current.on_scan(code) if self.app.current else None


class EntryDialog(Dialog):
    """Digits on a keypad (PIN shown as dots), then `on_done(text)`; Cancel calls `on_cancel`."""

    name = "entry"
    status_row = False  # a line under the entry for what subclasses have to say (a lockout)
    box_w, box_h = 0.8, 0.97

    def __init__(self, app: "App", title: str, on_done: Callable[[str], None], *, secret: bool = False,
                 hint: str = "", limit: int = 12, money: bool = False,
                 on_cancel: Callable[[], None] | None = None) -> None:
        super().__init__(app)
        self.title, self.hint, self.money = title, hint, money
        self.entry = Entry(limit=limit, secret=secret)
        self.on_done, self.on_cancel = on_done, on_cancel
        self.error = ""

    def layout(self, area: Rect) -> None:
        """Title across the top, Cancel and OK across the bottom; between them the entry (and what it means) on
        the left and the keypad on the right, so its keys stay well above 48 px even at 800x480."""
        super().layout(area)
        g, m = self.m.gap, self.m
        self.r_title, body, r_btns = rows(self.inner, [-m.px(34), 1, -m.row], g)
        left, r_pad = columns(body, [1, 1.1], g * 2)
        status = [-m.px(56)] if self.status_row else []
        r_show, *r_status, _ = rows(left, [-m.px(56), *status, 1], g)
        self.r_show = r_show
        self.r_status = r_status[0] if r_status else Rect(r_show.x, r_show.bottom, r_show.w, 0)
        self.buttons = keypad(r_pad, g, self._key, m.font("big"), prefix="dlg")
        cancel, ok = columns(r_btns, [1, 1], g)
        self.buttons += [Button("dlg:cancel", cancel, "Cancel", self._cancel, "quiet", m.font("label")),
                         Button("dlg:ok", ok, "OK", self._ok, "primary", m.font("label"))]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, self.title, self.r_title.midtop, self.m.font("title"), theme.ACCENT, "midtop", self.r_title.w)

    def regions(self) -> list[Region]:
        return [Region("entry.show", self.r_show, lambda: (self.entry.text, self.error), self._draw)]

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        if self.error:
            label(surf, self.error, r.center, self.m.font("body"), theme.ERROR, "center", r.w - 8)
            return
        if self.entry.secret:
            text = pin_dots(len(self.entry.text))
        elif self.money:
            text = self.app.money(self.entry.value() or 0)
        else:
            text = self.entry.text
        label(surf, text or self.hint, r.center, self.m.font("big"), theme.TEXT if text else theme.MUTED, "center", r.w - 8)

    def _key(self, k: str) -> None:
        self.error = ""
        self.entry.key(k)

    def _ok(self) -> None:
        text = self.entry.text
        if not text:
            self.error = "Type a number first"
            return
        self.close()
        self.on_done(text)

    def _cancel(self) -> None:
        self.close()
        if self.on_cancel:
            self.on_cancel()

    def on_key(self, key: int, char: str) -> bool:
        return keypad_key(key, char, self._key, self._ok, self._cancel)

    def on_scan(self, code: str) -> None:
        self.entry.text = code[: self.entry.limit]
        self._ok()


class Confirm(Dialog):
    """A yes/no question; Yes runs `on_yes`."""

    name = "confirm"
    box_h = 0.55

    def __init__(self, app: "App", text: str, on_yes: Callable[[], None], yes: str = "Yes") -> None:
        super().__init__(app)
        self.text, self.on_yes, self.yes = text, on_yes, yes

    def layout(self, area: Rect) -> None:
        super().layout(area)
        self.r_text, r_btn = rows(self.inner, [1, -self.m.row], self.m.gap)
        no, yes = columns(r_btn, [1, 1], self.m.gap)
        self.buttons = [Button("confirm:no", no, "No", self.close, "quiet", self.m.font("label")),
                        Button("confirm:yes", yes, self.yes, self._yes, "primary", self.m.font("label"))]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        paragraph(surf, self.text, self.r_text, self.m.font("label"), theme.TEXT, center=True)

    def _yes(self) -> None:
        self.close()
        self.on_yes()


class ManagerPinDialog(EntryDialog):
    """A manager's PIN for an approval: warns of the tries left and, while locked out, counts down and takes none."""

    status_row = True

    def __init__(self, app: "App", title: str, on_done: Callable[[str], None]) -> None:
        super().__init__(app, title, on_done, secret=True, limit=8, hint="Manager PIN")

    def regions(self) -> list[Region]:
        return super().regions() + [Region("entry.status", self.r_status, self.status, self._draw_status)]

    def status(self) -> str:
        """The lockout counting down (the region's key, so it is redrawn each second), or the tries left."""
        lock = self.reg.lockout("approval")
        if lock.seconds:
            return f"Too many wrong PINs. Try again in {wait_words(lock.seconds)}."
        if lock.tries_left is not None:
            return f"{lock.tries_left} {'try' if lock.tries_left == 1 else 'tries'} left before a lockout."
        return ""

    def _draw_status(self, surf: pygame.Surface, r: Rect) -> None:
        text = self.status()
        if text:
            label_lines(surf, text, (r.x, r.y), self.m.font("body"), theme.ERROR, r.w)

    def _ok(self) -> None:
        if self.reg.lockout("approval").seconds:
            self.app.tone.error()  # locked: the countdown says how long; the PIN is not even tried
            return
        super()._ok()


def ask_manager_pin(app: "App", then: Callable[[str], None], why: str = "Manager PIN") -> None:
    """Ask for a manager's PIN and pass it on; the register checks it (and counts wrong ones)."""
    app.push(ManagerPinDialog(app, why, then))
