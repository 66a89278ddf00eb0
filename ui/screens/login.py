"""Login: pick the clerk, type the PIN; wrong PINs, tries left and the lockout countdown are said plainly; demo PINs
in demo mode. Time clock (beside Log in) punches in and out without logging in to sell (ui/screens/timeclock.py)."""

from __future__ import annotations

from functools import partial

import pygame
from pygame import Rect

from firmware.domain.lockout import wait_words
from firmware.register.commands import Login
from firmware.register.view import Outcome
from ui import theme
from ui.input import keypad_key
from ui.layout import columns, inset, rows
from ui.screens.base import Entry, Hot, Region, Screen
from ui.widgets import Button, draw_button, draw_panel, keypad, label, pin_dots


class LoginScreen(Screen):
    name = "login"
    who_title = "Who is selling?"
    pin_title = "Enter your PIN"

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.entry = Entry(limit=8, secret=True)
        self.error = ""
        self.clerks = list(self.reg.clerks())
        self.pins = dict(self.reg.demo_pins())
        self.selected = self.clerks[0].clerk_id if self.clerks else None
        left, right = columns(inset(area, g), [1, 1.1], g * 2)
        self.r_title, self.r_list = rows(left, [-m.px(34), 1], g)
        r_ptitle, self.r_pin, self.r_msg, r_pad, r_go = rows(right, [-m.px(34), -m.px(50), -m.px(30), 1, -m.row], g)
        self.r_ptitle = r_ptitle
        pad = Rect(0, r_pad.y, min(r_pad.w, m.px(330)), r_pad.h)
        pad.centerx = r_pad.centerx
        go = Rect(pad.x, r_go.y, pad.w, r_go.h)
        self.buttons = keypad(pad, g, self._key, m.font("big"), prefix="pin")
        self.buttons += self.go_buttons(go)
        row_h = max(m.row, m.px(60) if self.pins else m.row)
        n = max(1, (self.r_list.h + g) // (row_h + g))
        self.rows = [Rect(self.r_list.x, self.r_list.y + i * (row_h + g), self.r_list.w, row_h) for i in range(n)]

    def go_buttons(self, r: Rect) -> list[Button]:
        """Under the keypad: Time clock (punch without logging in) and Log in."""
        clock, go = columns(r, [1, 1.3], self.m.gap)
        return [Button("timeclock", clock, "Time clock", self._time_clock, "quiet", self.m.font("label")),
                Button("login", go, "Log in", self._login, "primary", self.m.font("label"))]

    def on_enter(self) -> None:
        self.entry.text = ""

    def draw_static(self, surf: pygame.Surface) -> None:
        m = self.m
        label(surf, self.who_title, self.r_title.midleft, m.font("title"), theme.ACCENT, "midleft", self.r_title.w)
        label(surf, self.pin_title, self.r_ptitle.center, m.font("title"), theme.ACCENT, "center", self.r_ptitle.w)
        if not self.clerks:
            label(surf, "No clerks yet: a technician loads them (kassa-provision).", self.r_list.topleft,
                  m.font("body"), theme.WARN, width=self.r_list.w)

    def regions(self) -> list[Region]:
        return [
            Region("login.list", self.r_list, lambda: self.selected, self._draw_list),
            Region("login.pin", self.r_pin, lambda: len(self.entry.text), self._draw_pin),
            Region("login.msg", self.r_msg, self.message, self._draw_msg),
        ]

    def _draw_list(self, surf: pygame.Surface, r: Rect) -> None:
        hots = []
        for rect, clerk in zip(self.rows, self.clerks, strict=False):  # as many clerks as rows fit
            text = f"{clerk.name}  ({clerk.role})"
            if clerk.clerk_id in self.pins:
                text += f"\ndemo PIN {self.pins[clerk.clerk_id]}"
            style = "selected" if clerk.clerk_id == self.selected else "quiet"
            draw_button(surf, rect, text, style, self.m.font("label"))
            hots.append(Hot(rect, partial(self._choose, clerk.clerk_id), f"clerk:{clerk.clerk_id}"))
        self.set_hot("list", hots)

    def _draw_pin(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        text = pin_dots(len(self.entry.text))
        label(surf, text or "PIN", r.center, self.m.font("big"), theme.TEXT if text else theme.MUTED, "center")

    def message(self) -> str:
        """What the message line says now: the lockout counting down, else the last error, else the tries left.

        It is the region's key too, so a running lockout is redrawn each second.
        """
        lock = self.reg.lockout("login", self.selected) if self.selected is not None else None
        if lock is not None and lock.seconds:
            return f"Too many wrong PINs. Try again in {wait_words(lock.seconds)}."
        if self.error:
            return self.error
        if lock is not None and lock.tries_left is not None:
            return f"{lock.tries_left} {'try' if lock.tries_left == 1 else 'tries'} left before a lockout."
        return ""

    def _draw_msg(self, surf: pygame.Surface, r: Rect) -> None:
        text = self.message()
        if text:
            label(surf, text, r.center, self.m.font("label"), theme.ERROR, "center", r.w)

    def _choose(self, clerk_id: str) -> None:
        self.selected = clerk_id
        self.entry.text = ""
        self.error = ""

    def _key(self, k: str) -> None:
        self.error = ""
        self.entry.key(k)

    def _login(self) -> None:
        if self.selected is None:
            self.error = "No clerk to log in."
            return
        if not self.entry.text:
            self.error = "Type your PIN first."
            return
        outcome = self.app.run(Login(self.selected, self.entry.text), quiet=True)
        self.said(outcome)

    def said(self, outcome: Outcome) -> None:
        """After a PIN was tried: the PIN is cleared; a refusal stays on the message line (a lockout is said by
        its countdown there)."""
        self.entry.text = ""
        locked = not outcome.ok and self.selected is not None and self.reg.lockout("login", self.selected).seconds > 0
        self.error = "" if outcome.ok or locked else outcome.message

    def _time_clock(self) -> None:
        """The time clock's own PIN pad, on the clerk picked here (and the PIN, if one was typed already)."""
        from ui.screens.timeclock import TimeClockPin

        typed, self.entry.text, self.error = self.entry.text, "", ""
        self.app.toasts.dismiss()  # the last clerk's "clocked in at" must not sit over the next one's screen
        self.app.push(TimeClockPin(self.app, self.selected, typed, on_done=self.on_enter))

    def on_key(self, key: int, char: str) -> bool:
        return keypad_key(key, char, self._key, self._login)

    def on_scan(self, code: str) -> None:
        self.error = "Log in before scanning."
        self.app.tone.error()
