"""Modal dialogs: an alert in the cashier's words, a PIN or number entry, a manager's PIN (with its lockout), a yes/no
question."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.domain.lockout import wait_words
from firmware.register.view import LockoutView
from ui import theme
from ui.input import keypad_key
from ui.layout import columns, inset, rows
from ui.money_entry import MoneyEntry
from ui.screens.base import Entry, Region, Screen
from ui.widgets import Button, draw_panel, keypad, label, label_lines, paragraph, pin_dots

if TYPE_CHECKING:
    from ui.app import App


class Dialog(Screen):
    """A centred box over the dimmed screen; only its own buttons answer."""

    modal = True
    name = "dialog"
    box_w, box_h = 0.62, 0.8
    escape_closes = False  # True: the Escape key closes it, as its Close/Cancel button would

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

    def on_key(self, key: int, char: str) -> bool:
        if self.escape_closes and key == pygame.K_ESCAPE:
            self.close()
            return True
        return False


class Alert(Dialog):
    """An error or notice; OK closes it, and so does the next scan (which then goes through)."""

    name = "alert"
    box_h = 0.6

    def __init__(self, app: App, text: str, title: str = "") -> None:
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
        paragraph(surf, self.text, Rect(r.x, lab.bottom + self.m.gap * 2, r.w, r.bottom - lab.bottom),
                  self.m.font("label"), theme.TEXT, center=True)

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_ESCAPE):
            self.close()
            return True
        return False

    def on_scan(self, code: str) -> None:
        self.close()
        self.app.current.on_scan(code) if self.app.current else None


class EntryDialog(Dialog):
    """Digits on a keypad (PIN shown as dots), then `on_done(text)`; Cancel calls `on_cancel`. Money has its own
    dialog (`MoneyDialog`: currency units, never cents)."""

    name = "entry"
    status_row = False  # a line under the entry for what subclasses have to say (a lockout)
    decimal = False  # the keypad has a decimal point ("." or "," typed is it) and a barcode is refused, not typed
    box_w, box_h = 0.8, 0.97

    def __init__(self, app: App, title: str, on_done: Callable[[str], object], *, secret: bool = False,
                 hint: str = "", limit: int = 12,
                 on_cancel: Callable[[], None] | None = None) -> None:
        super().__init__(app)
        self.title, self.hint = title, hint
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
        text = pin_dots(len(self.entry.text)) if self.entry.secret else self.entry.text
        label(surf, text or self.hint, r.center, self.m.font("big"), theme.TEXT if text else theme.MUTED, "center",
              r.w - 8)

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
        if self.decimal and char in (".", ","):
            self._key(".")
            return True
        return keypad_key(key, char, self._key, self._ok, self._cancel)

    def on_scan(self, code: str) -> None:
        if self.decimal:  # a barcode is no amount or day: ignored (it must not sell while the dialog is up)
            self.app.tone.error()
            return
        self.entry.text = code[: self.entry.limit]
        self._ok()


class MoneyDialog(EntryDialog):
    """An amount typed in the shop's currency as a cashier counts it ("100" is 100.00, "12.5" is 12.50, never
    cents; `ui.money_entry.MoneyEntry`), shown formatted with the currency beside what is typed; OK passes it on
    in minor units. The keypad has a decimal point; Clear sits beside the amount."""

    name = "money"
    decimal = True

    def __init__(self, app: App, title: str, on_done: Callable[[int], object], *, hint: str = "") -> None:
        super().__init__(app, title, lambda text: None, hint=hint)
        self.amount = MoneyEntry(lambda: self.view.currency)
        self.on_amount = on_done

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        ends = [b for b in self.buttons if b.id in ("dlg:cancel", "dlg:ok")]
        keys = [b.rect for b in self.buttons if b not in ends]  # the entry's keypad: the same place and size
        pad = keys[0].unionall(keys[1:])
        left = Rect(self.inner.x, pad.y, pad.x - 2 * g - self.inner.x, pad.h)
        top, self.r_note = rows(left, [-max(m.px(56), theme.MIN_BUTTON), 1], g)
        self.r_show, r_clear = columns(top, [1, -max(theme.MIN_BUTTON + 16, m.px(76))], g)
        self.buttons = keypad(pad, g, self._key, m.font("big"), keys="789456123.0<", prefix="dlg")
        self.buttons += [Button("dlg:C", r_clear, "Clear", lambda: self._key("C"), "key", m.font("body")), *ends]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        digits = self.amount.digits
        currency = self.view.currency
        how = f"type 100 for {self.app.money(100 * 10 ** digits)}"
        if digits:
            how += f", 12.5 for {self.app.money(125 * 10 ** (digits - 1))}"
        paragraph(surf, f"In {currency}: {how}.", self.r_note, self.m.font("body"), theme.MUTED)

    def regions(self) -> list[Region]:
        return [Region("money.show", self.r_show, lambda: (self.amount.text, self.error), self._draw)]

    def shown(self) -> str:
        """What the amount field reads: the amount in the shop's currency ("€100.00"), "" while nothing is typed."""
        value = self.amount.value()
        return self.app.money(value) if value is not None else ""

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        if self.error:
            label(surf, self.error, r.center, self.m.font("body"), theme.ERROR, "center", r.w - 8)
            return
        text = self.shown()
        size = self.m.font("big") if text else self.m.font("body")
        label(surf, text or self.hint, (r.right - self.m.px(12), r.centery), size, theme.TEXT if text else theme.MUTED,
              "midright", r.w - self.m.px(20))

    def _key(self, k: str) -> None:
        self.error = ""
        self.amount.key("." if k == "," else k)

    def _ok(self) -> None:
        value = self.amount.value()
        if value is None:
            self.error = "Type the amount first"
            return
        self.close()
        self.on_amount(value)


class Confirm(Dialog):
    """A yes/no question; Yes runs `on_yes`."""

    name = "confirm"
    box_h = 0.55

    def __init__(self, app: App, text: str, on_yes: Callable[[], object], yes: str = "Yes") -> None:
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
    """A manager's PIN for an approval: warns of the tries left and, while locked out, counts down and takes none.

    A wrong PIN keeps the dialog up: the register's lockout read (`lockout("approval", clerk_id)`) then says the
    tries left, or counts the lockout down second by second in the status row, as the login screen does; a toast
    with the same words could not count down, so none is left showing. A PIN the register took, or a refusal
    for another reason (the register's words then come as usual), closes it.
    """

    status_row = True
    WRONG = "Not a manager's PIN"

    def __init__(self, app: App, title: str, on_done: Callable[[str], object]) -> None:
        super().__init__(app, title, on_done, secret=True, limit=8, hint="Manager PIN")

    def regions(self) -> list[Region]:
        return [Region("entry.show", self.r_show, lambda: (self.entry.text, self.error, self.locked()), self._draw),
                Region("entry.status", self.r_status, self.status, self._draw_status)]

    def locked(self) -> bool:
        return bool(self.lock().seconds)

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        if self.locked() and not self.entry.text and not self.error:  # the countdown below says until when
            draw_panel(surf, r, theme.PANEL_LIGHT)
            label(surf, "Locked", r.center, self.m.font("big"), theme.MUTED, "center", r.w - 8)
            return
        super()._draw(surf, r)

    def lock(self) -> LockoutView:
        """The approval PIN gate of the clerk asking, as the register has it now (cheap: asked every frame)."""
        clerk = self.view.clerk
        return self.reg.lockout("approval", clerk.clerk_id if clerk is not None else None)

    def status(self) -> str:
        """The lockout counting down (the region's key, so it is redrawn each second), or the tries left."""
        lock = self.lock()
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
        if self.lock().seconds:
            self.app.tone.error()  # locked: the countdown says how long; the PIN is not even tried
            return
        pin = self.entry.text
        if not pin:
            self.error = "Type the PIN first"
            return
        before = self.lock()
        said = self.app.toasts.current
        self.close()  # first: whatever the approval opens next (a question, the manager screen) comes on top
        self.on_done(pin)
        after = self.lock()
        if after != before and (after.seconds or after.tries_left is not None):  # the register counted a wrong PIN
            toast = self.app.toasts.current
            if toast is not None and toast is not said and toast.level == "error":
                self.app.toasts.dismiss()  # this dialog says it, and counts the lockout down
            self.entry.text = ""
            self.error = "" if after.seconds else f"{self.WRONG}. Try again."
            self.app.push(self)


def ask_manager_pin(app: App, then: Callable[[str], object], why: str = "Manager PIN") -> None:
    """Ask for a manager's PIN and pass it on; the register checks it (and counts wrong ones: the dialog then
    stays up, with the tries left or the lockout counting down)."""
    app.push(ManagerPinDialog(app, why, then))
