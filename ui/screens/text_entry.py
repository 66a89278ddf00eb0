"""A short text typed on the on-screen keyboard (ui/keyboard.py), checked as it is typed: an e-mail address, a code.

Above the keyboard: the title, the text typed so far, and one line that answers at once what `check` says of
it (its sentence in the error colour, or `ok_words` with a tick once it would be taken). OK runs `on_done`;
a sentence it returns (the register's refusal) is shown in that line and the dialog stays up; Cancel closes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from ui import theme
from ui.keyboard import EMAIL, PREFIX, KeyLayout, keyboard, keyboard_height
from ui.layout import rows
from ui.screens.base import Region
from ui.screens.dialogs import Dialog
from ui.widgets import Button, draw_panel, label

if TYPE_CHECKING:
    from ui.app import App

Check = Callable[[str], str | None]


class TextEntryDialog(Dialog):
    """Type a text on the keyboard of `layout`; `check(text)` is said live; OK hands it to `on_done`."""

    name = "text_entry"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: App, title: str, on_done: Callable[[str], str | None], *,
                 layout: KeyLayout = EMAIL, check: Check | None = None, hint: str = "", ok_words: str = "",
                 ok_label: str = "OK", limit: int = 254, text: str = "", scan_fills: bool = False) -> None:
        super().__init__(app)
        self.title, self.on_done, self.keys = title, on_done, layout
        self.check, self.hint, self.ok_words, self.ok_label = check, hint, ok_words, ok_label
        self.limit, self.text, self.scan_fills = limit, text, scan_fills
        self.refusal = ""  # what `on_done` answered (the register's words), until the text changes

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        key_h = max(theme.MIN_BUTTON, m.px(48))
        n_rows = len(self.keys.rows) + 1
        self.r_title, self.r_field, self.r_note, r_keys = rows(
            self.inner, [-m.px(30), -max(theme.MIN_BUTTON, m.px(50)), 1, -keyboard_height(n_rows, key_h, g)], g)
        size = m.font("label")
        tail = [Button(f"{PREFIX}:cancel", Rect(0, 0, 0, 0), "Cancel", self.close, "quiet", size),
                Button(f"{PREFIX}:ok", Rect(0, 0, 0, 0), self.ok_label, self.ok, "primary", size)]
        self.buttons = keyboard(r_keys, g, self.keys, self.type, self.edit, size, tail, (1.6, 2.2))

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, self.title, self.r_title.midleft, self.m.font("title"), theme.ACCENT, "midleft", self.r_title.w)

    def regions(self) -> list[Region]:
        return [Region("text.field", self.r_field, lambda: self.text, self._draw_field),
                Region("text.note", self.r_note, self.said, self._draw_note)]

    # ---- what is shown -----------------------------------------------------------------------
    def problem(self) -> str | None:
        """What `check` says of the text now (None: it would be taken)."""
        return self.check(self.text) if self.check is not None else None

    def said(self) -> tuple[str, str]:
        """The line under the field: (level, words); level "hint", "error" or "ok". Also the region's key."""
        if self.refusal:
            return "error", self.refusal
        if not self.text:
            return "hint", self.hint
        problem = self.problem()
        if problem is not None:
            return "error", problem
        return "ok", f"✓ {self.ok_words}" if self.ok_words else "✓"

    def _draw_field(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        pygame.draw.rect(surf, theme.ACCENT, r, width=max(2, self.m.px(2)), border_radius=6)
        pad = self.m.px(10)
        if self.text:
            from ui.text import TEXT

            s = TEXT.render(self.text + "_", self.m.font("big"), theme.TEXT)
            if s.get_width() > r.w - 2 * pad:  # a long text: its end shows (where the typing is)
                s = TEXT.render(self.text + "_", self.m.font("label"), theme.TEXT)
            clip = surf.get_clip()
            surf.set_clip(r.inflate(-pad, 0))
            x = r.x + pad if s.get_width() <= r.w - 2 * pad else r.right - pad - s.get_width()
            surf.blit(s, s.get_rect(x=x, centery=r.centery))
            surf.set_clip(clip)
        else:
            label(surf, self.hint, (r.x + pad, r.centery), self.m.font("label"), theme.MUTED, "midleft", r.w - 2 * pad)

    def _draw_note(self, surf: pygame.Surface, r: Rect) -> None:
        level, words = self.said()
        if not words or level == "hint":
            return
        color = {"error": theme.ERROR, "ok": theme.OK}[level]
        label(surf, words, (r.x + self.m.px(4), r.centery), self.m.font("body"), color, "midleft", r.w - 8)

    # ---- typing ------------------------------------------------------------------------------
    def type(self, key: str) -> None:
        if len(self.text) + len(key) <= self.limit:
            self.text += key
            self.refusal = ""

    def edit(self, k: str) -> None:
        """'<' deletes the last character, 'C' clears."""
        self.text = "" if k == "C" else self.text[:-1]
        self.refusal = ""

    def ok(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.refusal = problem if not self.text else ""
            self.app.tone.error()
            return
        refused = self.on_done(self.text.strip())
        if refused:
            self.refusal = refused
            return
        self.close()

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.ok()
        elif key == pygame.K_ESCAPE:
            self.close()
        elif key == pygame.K_BACKSPACE:
            self.edit("<")
        elif char and char.isprintable() and char != " ":
            ch = char if self.keys.allows(char) else char.upper() if self.keys.allows(char.upper()) else char.lower()
            if self.keys.allows(ch) or not ch.isalnum():
                self.type(ch)
        else:
            return False
        return True

    def on_scan(self, code: str) -> None:
        """A customer card scanned into a code field fills it; anything else is no text for this field."""
        if self.scan_fills:
            self.text, self.refusal = code.strip()[: self.limit], ""
        else:
            self.app.tone.error()


__all__ = ["TextEntryDialog"]
