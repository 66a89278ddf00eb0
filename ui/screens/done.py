"""Done: the sale is committed; change due in large type, the receipt id, Reprint, E-mail receipt (the cashier
types the customer's address on the on-screen keyboard; `MailReceipt` queues it in the journal, offline too) and
New sale."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pygame
from pygame import Rect

from firmware.domain.receipt_model import Receipt
from firmware.register.commands import MailReceipt, NewSale, Reprint
from ui import theme
from ui.layout import columns, inset, rows
from ui.screens.base import Region, Screen
from ui.widgets import Button, draw_panel, label

PAID_BACK = {"cash": "in cash", "card": "to the card", "on_account": "on account"}


def refund_summary(tenders: Sequence[Any], total: int, money: Callable[[int], str]) -> str:
    """What a refund paid back, and how: "Paid back €1.16 in cash" (never "Given": the money went out).
    The refund's total is said too when cash rounding made the two differ."""
    parts = [f"{money(abs(t.amount))} {PAID_BACK.get(t.type, t.type.replace('_', ' '))}" for t in tenders]
    paid = abs(sum(t.amount for t in tenders))
    said = "Paid back " + (" + ".join(parts) if parts else money(abs(total)))
    return said if not parts or paid == abs(total) else f"Refund {money(abs(total))}    {said}"


class DoneScreen(Screen):
    name = "done"

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        body = inset(area, g * 2)
        self.r_info, r_btns = rows(body, [1, -max(m.row, m.px(70))], g * 2)
        reprint, email, new = columns(r_btns, [1, 1, 2], g * 2)
        self.buttons = [
            Button("reprint", reprint, "Reprint receipt", self._reprint, "quiet", m.font("label")),
            Button("email_receipt", email, "E-mail receipt", self._email, "quiet", m.font("label")),
            Button("new_sale", new, "New sale", self._new, "primary", m.font("title")),
        ]

    def draw_static(self, surf: pygame.Surface) -> None:
        draw_panel(surf, self.r_info)

    def regions(self) -> list[Region]:
        return [Region("done.info", self.r_info, lambda: (self.view.last_receipt is not None and
                                                           self.view.last_receipt.receipt_id,
                                                           self.view.totals), self._draw)]

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        m, money = self.m, self.app.money
        receipt = self.view.last_receipt or Receipt()
        tenders = receipt.tenders
        change = sum(t.change for t in tenders)
        total = receipt.totals.total if receipt.totals.has("total") else self.view.totals.total
        paid = sum(t.amount for t in tenders)
        r = inset(r, m.px(12))
        refund = receipt.kind == "refund"
        if refund:  # money goes back to the customer: show what to hand over
            change = abs(paid) or abs(total)
        label(surf, "Refund saved" if refund else "Paid. Thank you!", r.midtop, m.font("title"), theme.OK, "midtop")
        label(surf, "Give back" if refund else "Change due", (r.centerx, r.y + m.px(44)), m.font("big"), theme.TEXT,
              "midtop")
        label(surf, money(change), (r.centerx, r.y + m.px(84)), m.font("huge") * 3 // 2,
              theme.ACCENT if change else theme.TEXT, "midtop", r.w)
        body = m.font("label")
        y = r.bottom - 2 * (body + m.px(8))
        label(surf, refund_summary(receipt.tenders, total, money) if refund else
              f"Total {money(total)}    Given {money(paid)}", (r.centerx, y), body, theme.TEXT, "midtop", r.w)
        note = "  (offline: sent when the network is back)" if receipt.offline else ""
        label(surf, f"Receipt #{receipt.seq}{note}", (r.centerx, y + body + m.px(8)), m.font("body"), theme.MUTED,
              "midtop", r.w)

    def _reprint(self) -> None:
        last = self.view.last_receipt
        self.app.run(Reprint(last.receipt_id if last is not None else None))

    def _new(self) -> None:
        self.app.run(NewSale())

    def _email(self) -> None:
        """The address on the e-mail keyboard, checked live with the rule the register and the fleet apply."""
        from firmware.contract.mail import address_problem
        from ui.keyboard import EMAIL
        from ui.screens.text_entry import TextEntryDialog

        last = self.view.last_receipt
        if last is None or not last.receipt_id:
            self.app.alert("There is no receipt to e-mail yet.", "E-mail receipt")
            return
        receipt_id = last.receipt_id
        seq = receipt_id.rsplit(":", 1)[-1]

        def check(text: str) -> str | None:
            problem = address_problem(text.strip())
            return None if problem is None else f"{problem}."

        def mail(address: str) -> str | None:
            """The register's refusal keeps the dialog up with its words; queued, the cashier is told so."""
            from ui.screens.find_receipt import MAIL_SENT

            outcome = self.app.run(MailReceipt(receipt_id, address), quiet=True)
            if not outcome.ok:
                return outcome.message or "The e-mail could not be queued."
            self.app.alert(f"{MAIL_SENT} {outcome.message}", "E-mail queued")
            return None

        self.app.push(TextEntryDialog(self.app, f"E-mail receipt #{seq} to", mail, layout=EMAIL, check=check,
                                      hint="name@example.com", ok_words="Tap Send to queue the e-mail.",
                                      ok_label="Send"))

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self._new()
            return True
        return False
