"""Export by date: quick choices (Today ... Last month) or typed From/To days, then `register.export_range`."""

from __future__ import annotations

from datetime import date, tzinfo
from functools import partial
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.register.commands import ExportRange
from ui import theme
from ui.days import QUICK, DayError, day_range, describe, local_bounds, local_today, quick_days, shop_zone
from ui.layout import columns, grid, rows
from ui.screens.base import Entry, Hot, Region
from ui.screens.dialogs import Dialog
from ui.widgets import Button, draw_panel, label, paragraph

if TYPE_CHECKING:
    from ui.app import App

HINT = "Choose a range, or tap From or To and type a day: 24.11 or 2026-11-24. Days run 00:00-24:00 shop time."
FIELDS = ("from", "to")
KEYS = "789456123.0-"


class ExportRangeDialog(Dialog):
    """Pick the days to export; Export writes them where unsent receipts go (USB stick, else the data dir).

    Days are the shop's days (`[shop] timezone`, else the machine's zone), by
    the register's clock: "Today" is 00:00 shop time today up to now, and a To
    day is included up to 24:00 shop time, so a sale at 23:30 is on its day.
    """

    name = "export_range"
    box_w, box_h = 0.96, 0.96

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.fields = {f: Entry(limit=10) for f in FIELDS}
        self.active = "from"
        self.fresh = False  # the next typed key replaces the field (it was filled by a quick choice)
        self.note, self.error = HINT, False

    # ---- layout and drawing ------------------------------------------------------------------
    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, r_main, r_btns = rows(self.inner, [-m.px(30), 1, -m.row], g)
        r_quick, r_mid, r_pad = columns(r_main, [0.3, 0.37, 0.33], g)
        r_from, r_to, r_edit, self.r_note = rows(r_mid, [1, 1, 1, 1.6], g)
        self.r_fields = {"from": r_from, "to": r_to}
        size = m.font("label")
        self.buttons = [Button(f"range:{key}", cell, text, partial(self.choose, key), "normal", size)
                        for (key, text), cell in zip(QUICK, rows(r_quick, [1] * len(QUICK), g), strict=True)]
        self.buttons += [Button(f"range:key:{k}", cell, k, partial(self.type, k), "key", m.font("big"))
                         for k, cell in zip(KEYS, grid(r_pad, 4, 3, g), strict=True)]  # 12 keys, 4x3 cells
        r_del, r_clear = columns(r_edit, [1, 1], g)
        self.buttons += [Button("range:del", r_del, "Del", lambda: self.type("<"), "key", size),
                         Button("range:clear", r_clear, "Clear", lambda: self.type("C"), "key", size)]
        cancel, export = columns(r_btns, [1, 1], g)
        self.buttons += [Button("range:cancel", cancel, "Cancel", self.close, "quiet", size),
                         Button("range:export", export, "Export", self.export, "primary", size)]
        self.set_hot("range.fields", [Hot(r, partial(self.focus, f), f"range:{f}")
                                      for f, r in self.r_fields.items()])

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, "Export receipts by date", self.r_title.midtop, self.m.font("title"), theme.ACCENT, "midtop",
              self.r_title.w)

    def regions(self) -> list[Region]:
        return [
            Region("range.fields", self.r_fields["from"].union(self.r_fields["to"]),
                   lambda: (self.fields["from"].text, self.fields["to"].text, self.active), self._draw_fields),
            Region("range.note", self.r_note, lambda: (self.note, self.error), self._draw_note),
        ]

    def _draw_fields(self, surf: pygame.Surface, _: Rect) -> None:
        m = self.m
        for f, r in self.r_fields.items():
            draw_panel(surf, r, theme.PANEL_LIGHT)
            if f == self.active:
                pygame.draw.rect(surf, theme.ACCENT, r, width=max(2, m.px(3)), border_radius=6)
            cap = label(surf, "From" if f == "from" else "To", (r.x + m.px(10), r.centery), m.font("body"), theme.MUTED,
                        "midleft")
            text = self.fields[f].text
            shown = text or ("same day" if f == "to" else "YYYY-MM-DD or DD.MM")
            label(surf, shown, (r.right - m.px(10), r.centery), m.font("big") if text else m.font("body"),
                  theme.TEXT if text else theme.MUTED, "midright", r.right - cap.right - m.px(20))

    def _draw_note(self, surf: pygame.Surface, r: Rect) -> None:
        paragraph(surf, self.note, r, self.m.font("body"), theme.ERROR if self.error else theme.TEXT)

    # ---- actions -----------------------------------------------------------------------------
    def zone(self) -> tzinfo:
        """The shop's time zone, as the register's view names it (the machine's own zone when it names none)."""
        return shop_zone(getattr(self.view, "timezone", "") or "")

    def today(self) -> date:
        """Today in the shop, by the register's clock (the one that stamps receipts)."""
        return local_today(self.reg.clock.now(), self.zone())

    def choose(self, key: str) -> None:
        """A quick choice fills From and To with its days."""
        first, last = quick_days(key, self.today())
        self.fields["from"].text, self.fields["to"].text = first.isoformat(), last.isoformat()
        self.active, self.fresh = "from", True
        name = dict(QUICK)[key]
        self.note, self.error = f"{name}: {describe(first, last)}.", False

    def focus(self, field: str) -> None:
        self.active, self.fresh = field, True

    def type(self, k: str) -> None:
        """A keypad key into the active field: 'C' clears, '<' deletes one character."""
        entry = self.fields[self.active]
        if self.fresh and k != "<":
            entry.text = ""
        self.fresh = False
        entry.key(k)
        self.note, self.error = HINT, False

    def export(self) -> None:
        """Check the days, then export [From 00:00, day after To 00:00) shop time where unsent receipts go."""
        try:
            first, last = day_range(self.fields["from"].text, self.fields["to"].text, self.today())
        except DayError as exc:
            self.note, self.error = str(exc), True
            self.app.tone.error()
            return
        from ui.screens.status import NO_STICK, export_target

        start, end = local_bounds(first, last, self.zone())
        self.close()
        target = export_target(self.reg)
        if target is None:
            self.app.alert(NO_STICK, f"Export: {describe(first, last)}")
            return
        outcome = self.app.run(ExportRange(target, start, end))
        if outcome.ok:
            self.app.alert(outcome.message or "Exported.", f"Export: {describe(first, last)}")

    # ---- keyboard ----------------------------------------------------------------------------
    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.export()
        elif key == pygame.K_ESCAPE:
            self.close()
        elif key == pygame.K_TAB:
            self.focus("to" if self.active == "from" else "from")
        elif key == pygame.K_BACKSPACE:
            self.type("<")
        elif char and char in "0123456789.-":
            self.type(char)
        else:
            return False
        return True

    def on_scan(self, code: str) -> None:
        """A barcode means nothing here (and must not sell while the dialog is up)."""
