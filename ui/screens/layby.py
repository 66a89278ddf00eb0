"""Laybys at the till (docs/layby.md), opened by "Layby" on the sell screen.

`LaybyDialog` lists the laybys this register knows (the open ones, soonest due first; "Find" narrows by layby
number or customer): each row says what was paid of what, what is left and when it is due, with "Pay" (an
instalment: the amount on a keypad, then the usual payment screen), "Collect" once it is paid in full (the goods
leave; the sale is saved at once) and "Cancel" (what was paid in, less the shop's fee, is given back; a manager's
PIN when the shop says so). "New layby" opens `NewLaybyDialog`: the cart's goods become a layby for the sale's
customer, with the deposit typed and a due date (the shop's usual term unless typed); then the deposit is paid on
the payment screen. The register decides everything and refuses in the cashier's words.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.domain.errors import DomainError
from firmware.domain.layby import OPEN, Layby
from firmware.domain.money import minor_digits, parse_money
from firmware.register.commands import CancelLayby, CollectLayby, FindLaybys, OpenLayby, PayLayby
from ui import theme
from ui.keyboard import KeyLayout
from ui.layout import columns, rows
from ui.screens.base import Hot, Region
from ui.screens.customers import customer_words
from ui.screens.dialogs import Confirm, Dialog
from ui.screens.text_entry import TextEntryDialog
from ui.widgets import Button, draw_button, draw_panel, label

if TYPE_CHECKING:
    from ui.app import App

FIND_KEYS = KeyLayout(("1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM"), (" ",))
MONEY_KEYS = KeyLayout(("1234567890",), (".",))
DATE_KEYS = KeyLayout(("1234567890",), ("-",))
SHOWN = 4  # laybys listed at once


def plain_amount(amount: int, currency: str) -> str:
    """Minor units as typed on the keypad, without the symbol: 498 EUR -> "4.98", 500 JPY -> "500"."""
    try:
        digits = minor_digits(currency)
    except DomainError:
        digits = 2
    if not digits:
        return str(amount)
    whole, frac = divmod(amount, 10**digits)
    return f"{whole}.{frac:0{digits}d}"


def money_check(currency: str) -> object:
    def check(text: str) -> str | None:
        try:
            value = parse_money(text, currency)
        except DomainError as exc:
            return str(exc)
        return None if value > 0 else "Type an amount more than zero"
    return check


def due_check(text: str) -> str | None:
    try:
        date.fromisoformat(text)
    except ValueError:
        return "Type the date as YYYY-MM-DD, such as 2026-12-24"
    return None


class LaybyDialog(Dialog):
    """The laybys this register knows, with Pay, Collect and Cancel; Find and New layby."""

    name = "layby"
    box_w, box_h = 0.98, 0.98
    escape_closes = True

    def __init__(self, app: App, text: str = "") -> None:
        super().__init__(app)
        self.text = text
        self._cache: tuple[tuple[str, int], tuple[Layby, ...], str] = (("\0", -1), (), "")

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, self.r_list, r_btns = rows(self.inner, [-m.px(34), 1, -m.row], g)
        close, find, new = columns(r_btns, [1, 1, 1.4], g)
        size = m.font("label")
        self.buttons = [Button("layby:close", close, "Close", self.close, "quiet", size),
                        Button("layby:find", find, "Find", self.find, "normal", size),
                        Button("layby:new", new, "New layby from cart", self.new, "primary", size)]

    # ---- what is shown -----------------------------------------------------------------------
    def laybys(self) -> tuple[Layby, ...]:
        key = (self.text, self.view.revision)
        if self._cache[0] != key:
            out = self.app.run(FindLaybys(self.text.strip(), limit=SHOWN), quiet=True)
            found = tuple(x for x in (out.data or ()) if isinstance(x, Layby)) if out.ok else ()
            self._cache = (key, found, out.message)
        return self._cache[1]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)

    def regions(self) -> list[Region]:
        return [Region("layby.title", self.r_title, lambda: self.text, self._draw_title),
                Region("layby.list", self.r_list, lambda: (self.text, self.laybys()), self._draw_list)]

    def _draw_title(self, surf: pygame.Surface, r: Rect) -> None:
        words = f"Laybys for “{self.text}”" if self.text else "Open laybys"
        label(surf, words, r.midleft, self.m.font("title"), theme.ACCENT, "midleft", r.w)

    def _draw_list(self, surf: pygame.Surface, r: Rect) -> None:
        found = self.laybys()
        g, m = self.m.gap, self.m
        cells = rows(r, [1] * SHOWN, g)
        hots: list[Hot] = []
        money = self.app.money
        today = self.app.local_now().date()
        for cell, layby in zip(cells, found, strict=False):
            info, act, cancel = columns(cell, [1, -max(theme.MIN_BUTTON + 40, m.px(110)),
                                               -max(theme.MIN_BUTTON + 40, m.px(110))], g)
            draw_panel(surf, info, theme.PANEL_LIGHT)
            pad = m.px(8)
            top = f"{layby.layby_id} · {customer_words(self.app, layby.customer).removeprefix('Customer ')}"
            label(surf, top, (info.x + pad, info.y + info.h // 4), m.font("body"), theme.TEXT, "midleft",
                  info.w - 2 * pad)
            if layby.state != OPEN:
                words, color = f"{layby.state.capitalize()} · {money(layby.paid)} paid", theme.MUTED
            else:
                late = layby.overdue(today)
                words = (f"Paid {money(layby.paid)} of {money(layby.total)} · {money(layby.balance)} left · "
                         f"{'overdue since' if late else 'due'} {layby.due.isoformat()}")
                color = theme.WARN if late else theme.MUTED
            label(surf, words, (info.x + pad, info.y + 3 * info.h // 4), m.font("small"), color, "midleft",
                  info.w - 2 * pad)
            if layby.state == OPEN:
                key = layby.layby_id
                if layby.balance > 0:
                    draw_button(surf, act, "Pay", "primary", m.font("label"))
                    hots.append(Hot(act, partial(self.pay, layby), f"layby-pay:{key}"))
                else:
                    draw_button(surf, act, "Collect", "primary", m.font("label"))
                    hots.append(Hot(act, partial(self.collect, layby), f"layby-collect:{key}"))
                draw_button(surf, cancel, "Cancel", "danger", m.font("label"))
                hots.append(Hot(cancel, partial(self.cancel, layby), f"layby-cancel:{key}"))
        if not found:
            said = self._cache[2] or "No layby on this register"
            label(surf, said, r.center, m.font("label"), theme.MUTED, "center", r.w - 8)
        self.set_hot("list", hots)

    # ---- actions -------------------------------------------------------------------------------
    def find(self) -> None:
        def done(text: str) -> str | None:
            self.text = text
            return None

        self.app.push(TextEntryDialog(self.app, "Find a layby", done, layout=FIND_KEYS,
                                      hint="Layby number or customer", limit=40, text=self.text))

    def new(self) -> None:
        if not any(not ln.voided for ln in self.view.lines):
            self.app.alert("Scan the goods to reserve first: the cart is empty.")
            return
        self.app.push(NewLaybyDialog(self.app, self))

    def pay(self, layby: Layby) -> None:
        currency = self.view.currency

        def done(text: str) -> str | None:
            out = self.app.run(PayLayby(layby.layby_id, parse_money(text, currency)), quiet=True)
            if not out.ok:
                return out.message
            self.close()  # the instalment is paid on the payment screen
            return None

        self.app.push(TextEntryDialog(self.app, f"Instalment for {layby.layby_id}", done, layout=MONEY_KEYS,
                                      check=money_check(currency),  # type: ignore[arg-type]
                                      hint=f"At most {self.app.money(layby.balance)}",
                                      ok_label="Take payment", limit=12,
                                      text=plain_amount(layby.balance, currency)))

    def collect(self, layby: Layby) -> None:
        if self.app.run(CollectLayby(layby.layby_id)).ok:
            self.close()

    def cancel(self, layby: Layby) -> None:
        def yes() -> None:
            self.app.run_approved(CancelLayby(layby.layby_id), on_done=self.close)  # after the PIN too

        self.app.push(Confirm(self.app, f"Cancel layby {layby.layby_id}? {self.app.money(layby.paid)} was paid in: "
                                        "it is given back in cash, less the shop's fee.", yes, "Cancel layby"))

    def on_key(self, key: int, char: str) -> bool:
        if key == pygame.K_ESCAPE:
            self.close()
            return True
        return False


class NewLaybyDialog(Dialog):
    """The cart's goods as a layby: deposit, due date, customer; "Open layby" then takes the deposit."""

    name = "layby_new"
    box_w, box_h = 0.98, 0.98
    escape_closes = True

    def __init__(self, app: App, parent: LaybyDialog | None = None) -> None:
        super().__init__(app)
        self.parent = parent
        self.deposit: int | None = None
        self.due = ""
        self.error = ""

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, self.r_info, r_fields, self.r_error, r_btns = rows(
            self.inner, [-m.px(34), -m.px(60), 1, -m.px(30), -m.row], g)
        size = m.font("label")
        deposit, due, self.r_customer = columns(r_fields, [1, 1, 1], g)
        money = self.app.money
        self.buttons = [
            Button("layby-open:deposit", deposit,
                   f"Deposit\n{money(self.deposit) if self.deposit else '—'}", self.ask_deposit, "key", size),
            Button("layby-open:due", due, f"Due date\n{self.due or 'usual term'}", self.ask_due, "key", size),
        ]
        cancel, ok = columns(r_btns, [1, 1.3], g)
        self.buttons += [Button("layby-open:cancel", cancel, "Cancel", self.close, "quiet", size),
                         Button("layby-open:ok", ok, "Open layby", self.open, "primary", size)]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, "New layby", self.r_title.midleft, self.m.font("title"), theme.ACCENT, "midleft",
              self.r_title.w)
        total = self.view.totals.total
        goods = sum(1 for ln in self.view.lines if not ln.voided)
        words = (f"{goods} line{'s' if goods != 1 else ''} reserved for {self.app.money(total)}; "
                 "the deposit is paid now, the rest by the due date")
        label(surf, words, self.r_info.midleft, self.m.font("body"), theme.TEXT, "midleft", self.r_info.w)

    def regions(self) -> list[Region]:
        return [Region("layby-open.error", self.r_error, lambda: self.error, self._draw_error),
                Region("layby-open.customer", self.r_customer, lambda: self.view.customer_code,
                       self._draw_customer)]

    def _draw_customer(self, surf: pygame.Surface, r: Rect) -> None:
        """The sale's customer (the customer panel may have just put one on it): tap to pick another."""
        code = self.view.customer_code
        shown = customer_words(self.app, code).removeprefix("Customer ") if code else "—"
        draw_button(surf, r, f"Customer\n{shown}", "key", self.m.font("label"))
        self.set_hot("customer", [Hot(r, self.ask_customer, "layby-open:customer")])

    def _draw_error(self, surf: pygame.Surface, r: Rect) -> None:
        if self.error:
            label(surf, self.error, (r.x + 4, r.centery), self.m.font("body"), theme.ERROR, "midleft", r.w - 8)

    def _relayout(self) -> None:
        self.layout(self.area)
        self.app.redraw()

    def ask_deposit(self) -> None:
        currency = self.view.currency

        def done(text: str) -> str | None:
            self.deposit = parse_money(text, currency)
            self.error = ""
            self._relayout()
            return None

        self.app.push(TextEntryDialog(self.app, "Deposit paid now", done, layout=MONEY_KEYS,
                                      check=money_check(currency),  # type: ignore[arg-type]
                                      hint="Such as 20.00", limit=12,
                                      text=plain_amount(self.deposit, currency) if self.deposit else ""))

    def ask_due(self) -> None:
        def done(text: str) -> str | None:
            self.due = text
            self.error = ""
            self._relayout()
            return None

        self.app.push(TextEntryDialog(self.app, "Due date", done, layout=DATE_KEYS, check=due_check,
                                      hint="YYYY-MM-DD, such as 2026-12-24", limit=10, text=self.due))

    def ask_customer(self) -> None:
        from ui.screens.customers import CustomerDialog

        self.app.push(CustomerDialog(self.app))

    def open(self) -> None:
        if not self.deposit:
            self.error = "Type the deposit first."
            self.app.tone.error()
            return
        out = self.app.run(OpenLayby(self.deposit, self.due), quiet=True)
        if not out.ok:
            self.error = out.message
            return
        self.close()  # the deposit is paid on the payment screen
        if self.parent is not None:
            self.parent.close()


__all__ = ["LaybyDialog", "NewLaybyDialog", "plain_amount"]
