"""Refund from local history: find the receipt (scan it with any scanner, type its number, or tap it), choose
quantities per line, see what to give back, pay back.

What each line shows, and the money, come from the register (`RegisterApi.refund_preview`): sold, refunded
already and left per line, and the "give back" total computed exactly as the refund will be. "+" stops at
what is left, so an over-refund cannot be chosen; a line refunded in full says so.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pygame
from pygame import Rect

from firmware.domain.money import scale
from firmware.register.commands import Refund
from firmware.register.view import RefundLineView, RefundView
from ui import theme
from ui.layout import columns, rows
from ui.screens.base import Hot
from ui.screens.cart import strike
from ui.text import font
from ui.widgets import draw_button, label


def find_receipt(receipts: list[dict[str, Any]], code: str) -> dict[str, Any] | None:
    """The receipt a scanned or typed code names: its full id, its `seq`, or an id ending in `:code`."""
    code = code.strip()
    for rc in receipts:
        rid = str(rc.get("receipt_id", ""))
        if code and (rid == code or rid.endswith(":" + code) or str(rc.get("seq")) == code):
            return rc
    return None


def qty_text(qty: Any) -> str:
    """3 -> "3"; Decimal("0.750") -> "0.750 kg"."""
    return f"{qty} kg" if isinstance(qty, Decimal) else str(qty)


def price_text(line: RefundLineView, money: Callable[[int], str]) -> tuple[str, str]:
    """What the line gives back, after its discounts (its own and its share of a cart discount), and the price
    before them ("" when nothing was taken off): ("€1.29", "€1.16 each"); a weighed line, all or nothing:
    ("€1.82", "€1.64 for 0.730 kg"). When the line's amount does not divide evenly, the units differ by a cent:
    "about €1.17 each" (the exact amount shows under the count once chosen)."""
    if line.weighed or isinstance(line.sold, Decimal):
        gross = scale(line.unit_price, line.sold)
        return (money(gross) if gross != line.amount else ""), f"{money(line.amount)} for {qty_text(line.sold)}"
    sold = max(1, int(line.sold))
    each = (2 * line.amount + sold) // (2 * sold)  # half up
    about = "about " if line.amount % sold else ""
    was = money(line.unit_price) if line.unit_price * sold != line.amount else ""
    return was, f"{about}{money(each)} each"


class RefundPanel:
    """Inside the manager screen: step one picks a receipt, step two sets refund quantities and the tender."""

    def __init__(self, screen: Any, rect: Rect) -> None:
        self.screen = screen
        self.rect = rect
        self.reset()

    def reset(self) -> None:
        self.receipt_id: str | None = None
        self.qty: dict[int, Any] = {}
        self.typed = ""
        self.offset = 0
        self._preview: tuple[object, RefundView | None] | None = None

    @property
    def receipt(self) -> RefundView | None:
        """The receipt being refunded, with what the chosen quantities give back (asked of the register)."""
        if self.receipt_id is None:
            return None
        key = (self.receipt_id, tuple(sorted(self.qty.items())), self.screen.view.revision)
        if self._preview is None or self._preview[0] != key:
            chosen = {n: q for n, q in self.qty.items() if q}
            self._preview = (key, self.screen.reg.refund_preview(self.receipt_id, chosen))
        return self._preview[1]

    def key(self) -> object:
        return (self.receipt_id, tuple(sorted(self.qty.items())), self.typed, self.offset)

    # ---- step one: which receipt -----------------------------------------------------------------
    def pick_code(self, code: str) -> None:
        """A receipt barcode (from any scanner) or a typed id or number: both id forms resolve."""
        code = code.strip()
        found = self.screen.reg.refund_preview(code) if code else None
        if found is None:
            self.screen.app.complain(f"No receipt {code} on this register." if code else "Type the receipt number.")
            return
        self.pick(found)

    def pick(self, found: RefundView) -> None:
        if found.problem:  # not a sale (a refund, a no-sale)
            self.screen.app.complain(found.problem)
            return
        self.receipt_id, self.qty, self.offset, self._preview = found.receipt_id, {}, 0, None
        if found.fully_refunded:
            self.screen.app.alert(f"Everything on receipt #{found.seq} has been refunded already.", "Refund")

    def pick_id(self, receipt_id: str) -> None:
        self.pick_code(receipt_id)

    def type_number(self) -> None:
        from ui.screens.dialogs import EntryDialog

        self.screen.app.push(EntryDialog(self.screen.app, "Receipt number", self.pick_code, limit=16,
                                         hint="number on the receipt"))

    # ---- drawing ---------------------------------------------------------------------------------
    def draw(self, surf: pygame.Surface, r: Rect) -> None:
        m = self.screen.m
        rc = self.receipt
        if rc is None:
            h = max(48, m.px(50))
            r_list, r_type = rows(r, [1, -h], m.gap)
            typed = f"   typed: {self.typed}" if self.typed else ""
            self.screen._draw_receipts(surf, r_list, f"Refund: scan the receipt, type its number, or tap it{typed}",
                                       self.pick_id)
            button = Rect(r_type.x, r_type.y, min(r_type.w, max(220, m.px(260))), r_type.h)
            draw_button(surf, button, "Type receipt number", "normal", m.font("label"))
            hots = self.screen.hot.get("panel", [])
            self.screen.set_hot("panel", hots + [Hot(button, self.type_number, "refund:type")])
            return
        self._draw_receipt(surf, r, rc)

    def _draw_receipt(self, surf: pygame.Surface, r: Rect, rc: RefundView) -> None:
        m, money = self.screen.m, self.screen.app.money
        when = self.screen._when(rc.created_at) if rc.created_at else ""
        label(surf, f"Refund from receipt #{rc.seq}  {when}   paid {money(rc.total)}", r.topleft, m.font("label"),
              theme.ACCENT, width=r.w)
        h = max(48, m.px(54))
        top = r.y + m.px(34)
        body = Rect(r.x, top, r.w, r.bottom - top)
        r_lines, r_total, r_buttons = rows(body, [1, -max(40, m.px(44)), -max(48, m.px(50))], m.gap)
        hots: list[Hot] = []
        per_page = max(1, (r_lines.h + m.gap) // (h + m.gap))
        lines = rc.lines
        if len(lines) > per_page:  # a long receipt: pages of lines, Up and Down at the foot
            per_page = max(1, (r_lines.h - h) // (h + m.gap))
            self.offset = max(0, min(self.offset, len(lines) - per_page))
            up, where, down = columns(Rect(r_lines.x, r_lines.bottom - h, r_lines.w, h), [1, 1.4, 1], m.gap)
            for rect, text, step, hid in ((up, "Up", -per_page, "refund:up"), (down, "Down", per_page, "refund:down")):
                draw_button(surf, rect, text, "quiet", m.font("body"))
                hots.append(Hot(rect, partial(self._page, step, len(lines), per_page), hid))
            last = min(len(lines), self.offset + per_page)
            label(surf, f"lines {self.offset + 1}-{last} of {len(lines)}", where.center, m.font("small"), theme.MUTED,
                  "center", where.w)
        else:
            self.offset = 0
        y = r_lines.y
        for line in lines[self.offset:self.offset + per_page]:
            hots += self._draw_line(surf, Rect(r_lines.x, y, r_lines.w, h), line)
            y += h + m.gap
        self._draw_total(surf, r_total, rc)
        cash, card, cancel = columns(r_buttons, [1, 1, 0.8], m.gap)
        can = bool(rc.give_back or any(self.qty.values())) and rc.problem is None
        card_ok = "card" in rc.tenders
        for rect, text, style, action, hid in (
                (cash, "Refund cash", "danger" if can else "disabled", lambda: self.go("cash"), "refund:cash"),
                (card, "Refund card", "danger" if can and card_ok else "disabled",
                 lambda: self.go("card"), "refund:card"),
                (cancel, "Cancel", "quiet", self.reset, "refund:cancel")):
            draw_button(surf, rect, text, style, m.font("label"))
            hots.append(Hot(rect, action, hid))
        self.screen.set_hot("panel", hots)

    def _draw_line(self, surf: pygame.Surface, row: Rect, line: RefundLineView) -> list[Hot]:
        m, money = self.screen.m, self.screen.app.money
        text_r, minus, count, plus = columns(row, [1, -row.h, -max(row.h, m.px(70)), -row.h], m.gap)
        done = not line.left
        body, small = m.font("body"), m.font("small")
        top = text_r.y + m.px(2)
        name_h = font(body).get_linesize()
        was, paid = price_text(line, money)  # what one gives back after discounts, the price before them
        price = label(surf, paid, (text_r.right, top + name_h // 2), small, theme.MUTED if done else theme.TEXT,
                      "midright", text_r.w // 2)
        name_end = price.x
        if was:  # struck through, as on the cart: the shelf price, less the discounts, is what goes back
            before = label(surf, was, (price.x - 8, price.centery), small, theme.MUTED, "midright")
            strike(surf, before, small)
            name_end = before.x
        label(surf, line.name, (text_r.x, top), body, theme.MUTED if done else theme.TEXT,
              width=max(text_r.w // 3, name_end - text_r.x - 10))
        state = "all refunded" if done else f"left {qty_text(line.left)}"
        detail = f"sold {qty_text(line.sold)} · refunded {qty_text(line.refunded)} · {state}"
        label(surf, detail, (text_r.x, text_r.bottom - m.px(2)), m.font("small"), theme.WARN if done else theme.MUTED,
              "bottomleft", text_r.w)
        n = line.line_no
        chosen = self.qty.get(n, 0)
        draw_button(surf, minus, "-", "key" if chosen else "disabled", m.font("big"))
        label(surf, qty_text(chosen), count.midtop, m.font("big"), theme.ACCENT if chosen else theme.MUTED, "midtop",
              count.w)
        if chosen:
            label(surf, money(line.give_back), count.midbottom, m.font("small"), theme.ACCENT, "midbottom", count.w)
        draw_button(surf, plus, "+", "disabled" if done or chosen == line.left else "key", m.font("big"))
        return [Hot(minus, lambda: self.change(n, -1), f"refund:minus:{n}"),
                Hot(plus, lambda: self.change(n, 1), f"refund:plus:{n}")]

    def _draw_total(self, surf: pygame.Surface, r: Rect, rc: RefundView) -> None:
        m, money = self.screen.m, self.screen.app.money
        if rc.problem:
            label(surf, rc.problem, (r.x, r.centery), m.font("body"), theme.ERROR, "midleft", r.w)
            return
        if not any(self.qty.values()):
            text = ("Everything on this receipt has been refunded." if rc.fully_refunded
                    else "Tap + on the lines to refund")
            label(surf, text, (r.x, r.centery), m.font("body"), theme.MUTED, "midleft", r.w)
            return
        label(surf, "Give back", (r.x, r.centery), m.font("label"), theme.MUTED, "midleft")
        cash = f"   (cash {money(rc.give_back_cash)})" if rc.give_back_cash != rc.give_back else ""
        label(surf, f"{money(rc.give_back)}{cash}", (r.right, r.centery), m.font("big"), theme.ACCENT, "midright",
              r.w * 3 // 4)

    def give_back_text(self) -> str:
        """The running total as the screen shows it ("" before any line is chosen)."""
        rc = self.receipt
        if rc is None or rc.problem or not any(self.qty.values()):
            return ""
        return self.screen.app.money(rc.give_back)

    # ---- actions ---------------------------------------------------------------------------------
    def _page(self, step: int, count: int, per_page: int) -> None:
        self.offset = max(0, min(self.offset + step, count - per_page))

    def change(self, line_no: int, step: int) -> None:
        """+1 or -1 of a line, between 0 and what is left to refund (a weighed line: all that is left, or none)."""
        rc = self.receipt
        line = next((ln for ln in rc.lines if ln.line_no == line_no), None) if rc is not None else None
        if line is None:
            return
        current = self.qty.get(line_no, 0)
        if line.weighed or isinstance(line.left, Decimal):
            value = line.left if step > 0 else 0
        else:
            value = max(0, min(int(line.left), int(current) + step))
        if step > 0 and value == current:
            self.screen.app.complain(f"{line.name}: nothing more to refund ({qty_text(line.sold)} sold, "
                                     f"{qty_text(line.refunded)} refunded already).")
        if value:
            self.qty[line_no] = value
        else:
            self.qty.pop(line_no, None)

    def go(self, kind: str) -> None:
        rc = self.receipt
        chosen = {n: q for n, q in self.qty.items() if q}
        if not chosen or rc is None:
            self.screen.app.complain("Tap + on the lines to refund first.")
            return
        if rc.problem:
            self.screen.app.complain(rc.problem)
            return
        if kind not in rc.tenders:
            self.screen.app.complain(f"Receipt #{rc.seq} was not paid by {kind}: refund it in cash.")
            return
        outcome = self.screen.app.run(Refund(rc.receipt_id, chosen, kind, self.screen.pin))
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
