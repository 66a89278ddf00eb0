"""The age check (docs/item-prompts.md): an item with a minimum age goes in the cart once the cashier says the
customer is old enough (with the date of birth, typed on the keypad, where [shop] age_check_dob asks for it),
or not at all ("Refuse": the register says so, the cart stays as it was)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pygame
from pygame import Rect

from firmware.register.core.commands import AgeAnswer
from firmware.register.view import AgeCheckWanted
from ui import theme
from ui.layout import columns, rows
from ui.screens.base import Region
from ui.screens.dialogs import Dialog, EntryDialog
from ui.widgets import Button, draw_panel, label, paragraph

if TYPE_CHECKING:
    from ui.app import App


def dob_shown(digits: str) -> str:
    """ "24121990" -> "24.12.1990" (the dots come as the digits are typed)."""
    return ".".join(p for p in (digits[:2], digits[2:4], digits[4:8]) if p)


def _answer(wanted: AgeCheckWanted, send: Callable[[Any], object], confirmed: bool, dob: str | None = None) -> None:
    send(dataclasses.replace(wanted.command, **{"age": AgeAnswer(confirmed, dob)}))


def ask_age(app: App, wanted: AgeCheckWanted, send: Callable[[Any], object], error: str = "") -> Dialog:
    """The dialog for `wanted`: with a date-of-birth keypad where the shop's policy asks for it."""
    return AgeDobDialog(app, wanted, send, error) if wanted.dob_wanted else AgeCheckDialog(app, wanted, send)


class AgeCheckDialog(Dialog):
    """Two big answers: "Customer is 18 or older" (the item goes in) and "Refuse" (it does not)."""

    name = "age_check"
    box_h = 0.7

    def __init__(self, app: App, wanted: AgeCheckWanted, send: Callable[[Any], object]) -> None:
        super().__init__(app)
        self.wanted, self.send = wanted, send

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m = self.m
        self.r_title, self.r_text, r_btn = rows(self.inner, [-m.px(40), 1, -int(m.row * 1.6)], m.gap)
        refuse, yes = columns(r_btn, [1, 1.6], m.gap * 2)
        self.buttons = [Button("age:refuse", refuse, "Refuse", self._refuse, "danger", m.font("label")),
                        Button("age:yes", yes, f"Customer is {self.wanted.min_age}\nor older", self._yes, "primary",
                               m.font("label"))]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, f"Age check {self.wanted.min_age}+", self.r_title.midtop, self.m.font("title"), theme.WARN,
              "midtop", self.r_title.w)
        paragraph(surf, f"{self.wanted.name}: check the customer's ID. Sell only if they are {self.wanted.min_age} "
                        "or older.", self.r_text, self.m.font("label"), theme.TEXT, center=True)

    def _yes(self) -> None:
        self.close()
        _answer(self.wanted, self.send, True)

    def _refuse(self) -> None:
        self.close()
        _answer(self.wanted, self.send, False)

    def on_key(self, key: int, char: str) -> bool:
        if key == pygame.K_ESCAPE:
            self._refuse()
            return True
        return False

    def on_scan(self, code: str) -> None:
        """The question is answered first: a scan meanwhile is not taken (the cashier scans it again)."""


class AgeDobDialog(EntryDialog):
    """The date of birth on the keypad (day, month, year: the dots come by themselves), then the same two answers."""

    name = "age_dob"
    status_row = True

    def __init__(self, app: App, wanted: AgeCheckWanted, send: Callable[[Any], object], error: str = "") -> None:
        super().__init__(app, f"Age check {wanted.min_age}+: {wanted.name}", lambda text: None,
                         hint="DD.MM.YYYY", limit=8)
        self.wanted, self.send, self.error = wanted, send, error

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m = self.m
        r_btns = Rect(self.inner.x, self.inner.bottom - m.row, self.inner.w, m.row)
        refuse, yes = columns(r_btns, [1, 1.6], m.gap)
        self.buttons = [b for b in self.buttons if b.id not in ("dlg:cancel", "dlg:ok")]
        keys = [b.rect for b in self.buttons]
        bottom = keys[0].unionall(keys[1:]).bottom
        top = self.r_show.bottom + m.gap
        self.r_status = Rect(self.r_show.x, top, self.r_show.w, max(bottom - top, 0))  # room for the register's words
        self.buttons += [Button("age:refuse", refuse, "Refuse", self._refuse, "danger", m.font("label")),
                         Button("age:yes", yes, f"Customer is {self.wanted.min_age} or older", self._ok, "primary",
                                m.font("label"))]

    def regions(self) -> list[Region]:
        return [Region("entry.show", self.r_show, lambda: self.entry.text, self._draw),
                Region("age.status", self.r_status, lambda: self.error, self._draw_status)]

    def _draw_status(self, surf: pygame.Surface, r: Rect) -> None:
        """What to type, or why the date was not taken (the register's words, wrapped)."""
        paragraph(surf, self.error or "Date of birth from the ID", r, self.m.font("body"),
                  theme.ERROR if self.error else theme.MUTED, center=True)

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        text = dob_shown(self.entry.text)
        label(surf, text or self.hint, r.center, self.m.font("big"), theme.TEXT if text else theme.MUTED, "center",
              r.w - 8)

    def _key(self, k: str) -> None:
        self.error = ""
        text = self.entry.text
        if k == "C":
            text = ""
        elif k == "<":
            text = text[:-1]
        elif k.isdigit() and len(text) < 8:
            text += k
        self.entry.text = text

    def _ok(self) -> None:
        if len(self.entry.text) != 8:
            self.error = "Type the date of birth: day, month, year"
            return
        self.close()
        _answer(self.wanted, self.send, True, dob_shown(self.entry.text))

    def _refuse(self) -> None:
        self.close()
        _answer(self.wanted, self.send, False)

    def _cancel(self) -> None:
        self._refuse()

    def on_scan(self, code: str) -> None:
        """The question is answered first: a scan meanwhile is not taken (the cashier scans it again)."""
