"""The time clock from the login screen: a clerk punches in and out and takes breaks without logging in to sell.

Time clock (beside Log in) opens `TimeClockPin`: the login screen's own clerk list and PIN pad, with the same
lockout (the register checks the PIN at its login gate: `Punch.check`). A right PIN opens `PunchDialog`: where
the clerk stands, from the register's view ("Clocked in since 08:00", "On a break since 12:00", "Not clocked
in"), and only the punches the time clock allows now. A punch is saved by the journal writer; once it is, the
register's words ("Anna clocked in at 12:00") come as a toast and the login screen is back. A punch that could
not be saved is said as an error and the dialog stays, so the clerk can punch again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import partial
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.register.commands import Punch
from firmware.register.view import ClerkInfo, TimeClockView
from ui import theme
from ui.days import shop_zone
from ui.layout import columns, rows
from ui.screens.base import Region
from ui.screens.dialogs import Dialog
from ui.screens.login import LoginScreen
from ui.widgets import Button, draw_panel, label

if TYPE_CHECKING:
    from ui.app import App

# the punch buttons: words and style, in the domain's punch order (firmware.domain.timeclock.PUNCH_KINDS)
PUNCHES: dict[str, tuple[str, str]] = {
    "clock_in": ("Clock in", "primary"),
    "break_start": ("Start break", "normal"),
    "break_end": ("End break", "primary"),
    "clock_out": ("Clock out", "normal"),
}


def hhmm(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment is not None else "?"


def standing(clock: TimeClockView, zone: tzinfo) -> tuple[str, str]:
    """Where a clerk stands, in two lines: "Clocked in since 08:00" and what else matters ("Back from a break
    at 12:30"), "On a break since 12:00" / "Clocked in since 08:00", or "Not clocked in"."""
    if clock.state == "working":
        back = clock.since is not None and clock.shift_start is not None and clock.since != clock.shift_start
        return (f"Clocked in since {hhmm(clock.shift_start or clock.since, zone)}",
                f"Back from a break at {hhmm(clock.since, zone)}" if back else "Working")
    if clock.state == "on_break":
        return f"On a break since {hhmm(clock.since, zone)}", f"Clocked in since {hhmm(clock.shift_start, zone)}"
    return "Not clocked in", "Clock in to start your shift"


class TimeClockPin(LoginScreen):
    """The login screen's clerk list and PIN pad, for the time clock: pick yourself, type your PIN, Continue.

    Modal over the login screen (it paints the whole body); Back or Escape returns to it. Wrong PINs, tries left
    and the lockout countdown read as on the login screen: it is the same gate.
    """

    name = "timeclock"
    modal = True
    who_title = "Time clock: who are you?"

    def __init__(self, app: App, selected: str | None = None, typed: str = "",
                 on_done: Callable[[], None] | None = None) -> None:
        super().__init__(app)
        self._picked, self._typed = selected, typed
        self.on_done = on_done

    def layout(self, area: Rect) -> None:
        super().layout(area)
        if self._picked is not None and any(c.clerk_id == self._picked for c in self.clerks):
            self.selected = self._picked
        self.entry.text = self._typed

    def go_buttons(self, r: Rect) -> list[Button]:
        back, go = columns(r, [1, 1.3], self.m.gap)
        return [Button("timeclock:back", back, "Back", self.close, "quiet", self.m.font("label")),
                Button("timeclock:go", go, "Continue", self._login, "primary", self.m.font("label"))]

    def draw_static(self, surf: pygame.Surface) -> None:
        surf.fill(theme.BG, self.area)  # a screen of its own over the login screen, not a box over it
        super().draw_static(surf)

    def _choose(self, clerk_id: str) -> None:
        super()._choose(clerk_id)
        self._picked, self._typed = clerk_id, ""

    def _key(self, k: str) -> None:
        super()._key(k)
        self._typed = self.entry.text

    def _login(self) -> None:
        """Continue: the register checks the PIN (`Punch.check`, the login gate); a right one shows the punches."""
        if self.selected is None:
            self.error = "No clerk to clock in."
            return
        pin = self.entry.text
        if not pin:
            self.error = "Type your PIN first."
            return
        outcome = self.app.run(Punch.check(self.selected, pin), quiet=True)
        self.said(outcome)
        self._typed = ""
        if outcome.ok and isinstance(outcome.data, ClerkInfo):
            self.app.push(PunchDialog(self.app, outcome.data, pin, self.finish))

    def finish(self) -> None:
        """A punch was saved: back to the login screen."""
        self.close()
        if self.on_done is not None:
            self.on_done()

    def close(self) -> None:
        self.app.pop(self)

    def on_key(self, key: int, char: str) -> bool:
        if key == pygame.K_ESCAPE:
            self.close()
            return True
        return super().on_key(key, char)

    def on_scan(self, code: str) -> None:
        self.error = "Pick your name and type your PIN first."
        self.app.tone.error()


class PunchDialog(Dialog):
    """One clerk's time clock: where they stand (the register's view) and the punches allowed now, and Cancel.

    A punch goes to the register with the clerk and the PIN just checked; the dialog then waits for the journal
    writer (`on_view`): saved, the register's sentence is a toast and `on_punched` runs (back to login); not
    saved, the register's error toast says why and the dialog stays.
    """

    escape_closes = True

    name = "punch"
    box_w, box_h = 0.72, 0.8

    def __init__(self, app: App, clerk: ClerkInfo, pin: str, on_punched: Callable[[], None]) -> None:
        super().__init__(app)
        self.clerk, self.pin, self.on_punched = clerk, pin, on_punched
        self.waiting = False

    @property
    def zone(self) -> tzinfo:
        return shop_zone(getattr(self.view, "timezone", "") or "")

    def clock(self) -> TimeClockView:
        return self.view.time_clock_of(self.clerk.clerk_id)

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, self.r_state, r_btns = rows(self.inner, [-m.px(40), 1, -max(m.row, m.px(64))], g * 2)
        allowed = [k for k in self.clock().allowed if k in PUNCHES]
        cells = columns(r_btns, [0.8] + [1.0] * len(allowed), g * 2)
        self.buttons = [Button("punch:cancel", cells[0], "Cancel", self.close, "quiet", m.font("label"))]
        for kind, cell in zip(allowed, cells[1:], strict=True):
            words, style = PUNCHES[kind]
            self.buttons.append(Button(f"punch:{kind}", cell, words, partial(self._punch, kind), style,
                                       m.font("label")))

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, f"{self.clerk.name} · Time clock", self.r_title.midtop, self.m.font("title"), theme.ACCENT,
              "midtop", self.r_title.w)

    def regions(self) -> list[Region]:
        return [Region("punch.state", self.r_state, self._key, self._draw)]

    def _key(self) -> object:
        return self.clock(), self.waiting, self.app.clock.now().astimezone(self.zone).strftime("%H:%M")

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        m = self.m
        draw_panel(surf, r, theme.PANEL_LIGHT)
        zone = self.zone
        state, detail = standing(self.clock(), zone)
        if self.waiting:
            detail = "Saving…"
        y = r.y + m.px(14)
        label(surf, state, (r.centerx, y), m.font("big"), theme.TEXT, "midtop", r.w - m.px(16))
        y += m.font("big") + m.px(14)
        label(surf, detail, (r.centerx, y), m.font("label"), theme.MUTED, "midtop", r.w - m.px(16))
        now = self.app.clock.now().astimezone(zone).strftime("%H:%M")
        label(surf, f"The time now: {now}", (r.centerx, r.bottom - m.px(10)), m.font("body"), theme.MUTED,
              "midbottom", r.w - m.px(16))

    def _punch(self, kind: str) -> None:
        if self.waiting:
            return  # one punch at a time: the last one is still being saved
        outcome = self.app.run(Punch(kind, self.clerk.clerk_id, self.pin))  # a refusal is an error toast
        self.waiting = outcome.ok

    def on_view(self) -> None:
        """The journal writer answered: saved, the register's words as a toast and back; not saved, stay."""
        if not self.waiting or self.view.punching == self.clerk.clerk_id:
            return
        self.waiting = False
        msg = self.view.message
        if msg is not None and msg.level == "error":
            return  # the punch was not saved: App.refresh said why; the clerk may punch again
        self.app.toast(msg.text if msg is not None else "Punch saved.", "Time clock")
        self.close()
        self.on_punched()

    def on_scan(self, code: str) -> None:
        self.app.tone.error()


__all__ = ["PUNCHES", "PunchDialog", "TimeClockPin", "standing"]
