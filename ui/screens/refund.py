"""Refund from local history: find the receipt (scan, type, or pick), choose quantities per line, pay back."""

from __future__ import annotations

from typing import Any

import pygame
from pygame import Rect

from firmware.register.commands import Refund
from ui import theme
from ui.layout import columns
from ui.screens.base import Hot
from ui.widgets import draw_button, label


def find_receipt(receipts: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    """The receipt a scanned or typed code names: its full id, its `seq`, or an id ending in `:code`."""
    code = code.strip()
    for rc in receipts:
        rid = str(rc.get("receipt_id", ""))
        if code and (rid == code or rid.endswith(":" + code) or str(rc.get("seq")) == code):
            return rc
    return None


class RefundPanel:
    """Inside the manager screen: step one picks a receipt, step two sets refund quantities and the tender."""

    def __init__(self, screen: Any, rect: Rect) -> None:
        self.screen = screen
        self.rect = rect
        self.reset()

    def reset(self) -> None:
        self.receipt: dict[str, Any] | None = None
        self.qty: dict[int, int] = {}
        self.typed = ""

    def key(self) -> object:
        return (self.receipt and self.receipt.get("receipt_id"), tuple(sorted(self.qty.items())), self.typed)

    def pick_code(self, code: str) -> None:
        rc = find_receipt(self.screen.reg.recent_receipts(limit=200), code)
        if rc is None and ":" in code:  # an older receipt, or its id in the other form (1.0 <-> 1.1)
            rc = self.screen.reg.find_receipt(code)
        if rc is None:
            self.screen.app.tone.error()
            self.screen.app.alert(f"No receipt {code} on this register.")
            return
        self.pick(rc)

    def pick(self, rc: dict[str, Any]) -> None:
        if rc.get("kind") != "sale":
            self.screen.app.alert("Only sales can be refunded.")
            return
        self.receipt = rc
        self.qty = {}

    @staticmethod
    def line_no(i: int, line: dict[str, Any]) -> int:
        return int(line.get("line_no", i + 1))

    def draw(self, surf: pygame.Surface, r: Rect) -> None:
        if self.receipt is None:
            typed = f"   typed: {self.typed}" if self.typed else ""
            self.screen._draw_receipts(surf, r, f"Refund: scan the receipt, type its number, or tap it{typed}", self.pick_id)
            return
        m, money = self.screen.m, self.screen.app.money
        rc = self.receipt
        label(surf, f"Refund from #{rc.get('seq')} ({rc.get('receipt_id')})", r.topleft, m.font("label"), theme.ACCENT,
              width=r.w)
        h = max(48, m.px(50))
        y = r.y + m.px(34)
        hots: list[Hot] = []
        bottom = r.bottom - h - m.gap
        for i, line in enumerate(rc.get("lines") or []):
            if y + h > bottom:
                break
            n = self.line_no(i, line)
            row = Rect(r.x, y, r.w, h)
            text_r, minus, count, plus = columns(row, [1, -h, -h, -h], m.gap)
            label(surf, f"{line.get('name')}  (sold {line.get('qty')} x {money(int(line.get('unit_price', 0)))})",
                  (text_r.x, text_r.centery), m.font("body"), theme.TEXT, "midleft", text_r.w)
            draw_button(surf, minus, "-", "key", m.font("big"))
            label(surf, str(self.qty.get(n, 0)), count.center, m.font("big"), theme.ACCENT, "center")
            draw_button(surf, plus, "+", "key", m.font("big"))
            hots += [Hot(minus, lambda n=n: self.change(n, -1), f"refund:minus:{n}"),
                     Hot(plus, lambda n=n, q=line.get("qty"): self.change(n, 1, q), f"refund:plus:{n}")]
            y += h + m.gap
        cash, card, cancel = columns(Rect(r.x, r.bottom - h, r.w, h), [1, 1, 0.8], m.gap)
        for rect, text, style, action, hid in ((cash, "Refund cash", "danger", lambda: self.go("cash"), "refund:cash"),
                                               (card, "Refund card", "danger", lambda: self.go("card"), "refund:card"),
                                               (cancel, "Cancel", "quiet", self.reset, "refund:cancel")):
            draw_button(surf, rect, text, style, m.font("label"))
            hots.append(Hot(rect, action, hid))
        self.screen.set_hot("panel", hots)

    def pick_id(self, receipt_id: str) -> None:
        self.pick_code(receipt_id)

    def change(self, line_no: int, step: int, sold: Any = None) -> None:
        value = self.qty.get(line_no, 0) + step
        limit = int(sold) if isinstance(sold, int) or (isinstance(sold, str) and sold.isdigit()) else 1
        self.qty[line_no] = max(0, min(limit, value))

    def go(self, kind: str) -> None:
        chosen = {n: q for n, q in self.qty.items() if q > 0}
        if not chosen or self.receipt is None:
            self.screen.app.alert("Tap + on the lines to refund first.")
            return
        outcome = self.screen.app.run(Refund(self.receipt["receipt_id"], chosen, kind, self.screen.pin))
        if outcome.ok:  # the register commits it and the done screen shows the money to give back
            self.reset()
            self.screen.app.override = None

    def on_key(self, key: int, char: str) -> bool:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            if self.typed:
                code, self.typed = self.typed, ""
                self.pick_code(code)
        elif key == pygame.K_BACKSPACE:
            self.typed = self.typed[:-1]
        elif key == pygame.K_ESCAPE:
            self.reset()
        elif char and char.isprintable():
            self.typed = (self.typed + char)[:64]
        else:
            return False
        return True
