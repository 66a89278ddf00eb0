"""Tender: amount due, quick cash (exact, next notes), typed cash, card, on account, split payments.

Money is typed in currency units with a decimal point ("10" is 10.00, "10.5" is 10.50). Cash below what
is due is taken only after "Part payment of €X?" (the register asks). Every payment taken shows with a
Remove button until the sale is finished; with none left, Back to cart works again.
"""

from __future__ import annotations

from functools import partial

import pygame
from pygame import Rect

from firmware.domain.money import minor_digits
from firmware.register.commands import BackToCart, RemoveTender, SetCustomer, Tender
from ui import theme
from ui.layout import columns, inset, rows
from ui.money_entry import MoneyEntry
from ui.screens.base import Hot, Region, Screen
from ui.screens.dialogs import EntryDialog
from ui.widgets import Button, draw_button, draw_panel, keypad, label

NOTES = (5, 10, 20, 50, 100, 200)  # in major units
TENDER_NAMES = {"cash": "Cash", "card": "Card", "on_account": "On account"}


def next_notes(due: int, currency: str, count: int = 3) -> list[int]:
    """Amounts a customer is likely to hand over for `due`: the next multiples of common notes."""
    unit = 10 ** minor_digits(currency)
    out: set[int] = set()
    for note in NOTES:
        step = note * unit
        amount = -(-due // step) * step
        if amount > due:
            out.add(amount)
    return sorted(out)[:count]


class TenderScreen(Screen):
    name = "tender"

    def __init__(self, app: object) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.entry = MoneyEntry(lambda: self.view.currency)

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        info, mid, right = columns(inset(area, g), [0.40, 0.30, 0.30], g)
        self.r_info = info
        r_top, r_pad, r_pay = rows(mid, [-max(50, m.px(50)), 1, -m.row], g)
        self.r_entry, r_clear = columns(r_top, [1, -max(64, m.px(76))], g)
        self.buttons = keypad(r_pad, g, self.entry.key, m.font("big"), keys="789456123.0<", prefix="tkey")
        self.buttons.append(Button("tkey:C", r_clear, "Clear", lambda: self.entry.key("C"), "key", m.font("body")))
        r_cash, r_card = columns(r_pay, [1.3, 1], g)
        self.r_quick, r_acct, r_back = rows(right, [4, 1, 1], g)
        size = m.font("label")
        self.buttons += [
            Button("cash", r_cash, "Cash", self._cash, "primary", size),
            Button("card", r_card, "Card", self._card, "normal", size),
            Button("on_account", r_acct, "On account", self._on_account, "normal", size),
            Button("back", r_back, "Back to cart", self._back, "quiet", size),
        ]

    def on_enter(self) -> None:
        self.entry.clear()

    def draw_static(self, surf: pygame.Surface) -> None:
        draw_panel(surf, self.r_info)

    def regions(self) -> list[Region]:
        v = self.app
        return [
            Region("tender.info", self.r_info,
                   lambda: (v.view.totals, v.view.tenders, v.view.phase, v.view.customer_code), self._draw_info),
            Region("tender.entry", self.r_entry, lambda: self.entry.text, self._draw_entry),
            Region("tender.quick", self.r_quick, lambda: (v.view.totals.due, v.view.phase), self._draw_quick),
        ]

    def _draw_info(self, surf: pygame.Surface, r: Rect) -> None:
        m, v, money = self.m, self.view, self.app.money
        r = inset(r, m.px(10))
        t = v.totals
        if v.phase == "committing":
            label(surf, "Saving the sale…", r.midtop, m.font("title"), theme.ACCENT, "midtop")
        else:
            label(surf, "Amount due", r.topleft, m.font("label"), theme.MUTED)
        label(surf, money(t.due), (r.centerx, r.y + m.px(34)), m.font("huge"), theme.ACCENT, "midtop", r.w)
        y = r.y + m.px(34) + m.font("huge") + m.px(8)
        body = m.font("body")
        for name, amount in (("Total", t.total), ("Paid", t.paid)):
            label(surf, name, (r.x, y), body, theme.TEXT)
            label(surf, money(amount), (r.right, y), body, theme.TEXT, "topright")
            y += body + m.px(6)
        hots: list[Hot] = []
        row_h = max(48, m.px(50))
        foot = (r.bottom - (m.font("big") * 3 // 2 + m.px(8) if t.change else 0)
                - (body + m.px(6) if v.customer_code else 0))
        room = max(0, (foot - y) // (row_h + m.px(4)))
        tenders = list(enumerate(v.tenders))
        hidden = max(0, len(tenders) - room)
        if hidden and room:  # the newest payments show; a note says how many more there are
            room -= 1
            hidden = len(tenders) - room
            label(surf, f"and {hidden} earlier payment{'s' if hidden > 1 else ''}", (r.x, y + m.px(4)), body,
                  theme.MUTED)
            y += body + m.px(8)
        finished = v.phase == "committing"
        for i, tender in tenders[len(tenders) - room:] if room else []:
            kind = TENDER_NAMES.get(str(tender.get("type") or ""), str(tender.get("type") or "").replace("_", " "))
            row = Rect(r.x, y, r.w, row_h)
            text_r, remove = columns(row, [1, -max(96, m.px(110))], m.gap)
            label(surf, kind, (text_r.x, text_r.centery), body, theme.TEXT, "midleft", text_r.w // 2)
            label(surf, money(int(tender.get("amount", 0))), (text_r.right - m.px(6), text_r.centery), body, theme.TEXT,
                  "midright", text_r.w // 2)
            if not finished:
                draw_button(surf, remove, "Remove", "quiet", m.font("body"))
                hots.append(Hot(remove, partial(self._remove, i), f"tender:remove:{i}"))
            y += row_h + m.px(4)
        self.set_hot("tenders", hots)
        if v.customer_code:
            from ui.screens.customers import customer_words

            label(surf, customer_words(self.app, v.customer_code), (r.x, foot), body, theme.MUTED)
        if t.change:
            label(surf, "Change", (r.x, r.bottom - m.font("big")), m.font("label"), theme.OK, "bottomleft")
            label(surf, money(t.change), r.bottomright, m.font("big") * 3 // 2, theme.OK, "bottomright")

    def _draw_entry(self, surf: pygame.Surface, r: Rect) -> None:
        draw_panel(surf, r, theme.PANEL_LIGHT)
        value = self.entry.value()
        text = self.app.money(value) if value is not None else "amount"
        label(surf, text, (r.right - 8, r.centery), self.m.font("big") if value is not None else self.m.font("body"),
              theme.TEXT if value is not None else theme.MUTED, "midright", r.w - 12)

    def entry_text(self) -> str:
        """What the amount field shows (for tests and the screen reader of a future)."""
        value = self.entry.value()
        return self.app.money(value) if value is not None else ""

    def _draw_quick(self, surf: pygame.Surface, r: Rect) -> None:
        due = self.view.totals.due
        amounts = [due] + next_notes(due, self.view.currency) if due > 0 else []
        cells = rows(r, [1] * 4, self.m.gap)
        hots = []
        for i, (cell, amount) in enumerate(zip(cells, amounts, strict=False)):  # up to 4 amounts, none when paid
            text = f"Exact {self.app.money(amount)}" if i == 0 else self.app.money(amount)
            draw_button(surf, cell, text, "primary" if i == 0 else "key", self.m.font("label"))
            hots.append(Hot(cell, partial(self._pay, "cash", amount), "exact" if i == 0 else f"note:{amount}"))
        self.set_hot("quick", hots)

    # ---- actions -----------------------------------------------------------------------------
    def _busy(self) -> bool:
        if self.view.phase == "committing":
            self.app.alert("Saving the sale; one moment.")
            return True
        return False

    def _pay(self, kind: str, amount: int | None, reference: str | None = None) -> None:
        if self._busy():
            return
        if self.app.run_approved(Tender(kind, amount, reference)) or self.app.dialogs:
            self.entry.clear()  # taken, or a question about it is up: the next amount is typed afresh

    def _remove(self, index: int) -> None:
        if not self._busy():
            self.app.run(RemoveTender(index))

    def _cash(self) -> None:
        amount = self.entry.value()
        if amount is None:
            self.app.alert("Type the cash the customer gave, or tap a quick amount.")
            return
        self._pay("cash", amount)

    def _card(self) -> None:
        self._pay("card", self.entry.value())

    def _on_account(self) -> None:
        amount = self.entry.value()
        if self.view.customer_code:
            self._pay("on_account", amount)
            return

        def with_code(code: str) -> None:
            if self.app.run(SetCustomer(code)).ok:
                self._pay("on_account", amount)

        self.app.push(EntryDialog(self.app, "Customer code", with_code, limit=16, hint="customer code"))

    def _back(self) -> None:
        if not self._busy():
            self.app.run(BackToCart())

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self._cash()
        elif key == pygame.K_BACKSPACE:
            self.entry.key("<")
        elif key == pygame.K_ESCAPE:
            self._back()
        elif char.isdigit() or char in (".", ","):
            self.entry.key(char)
        else:
            return False
        return True

    def on_scan(self, code: str) -> None:
        self.app.alert("Finish the payment first, or go back to the cart to add items.")
