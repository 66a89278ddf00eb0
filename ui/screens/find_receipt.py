"""Find a past receipt, offline, from the register's journal; see it as it printed; reprint a copy or e-mail it.

Where: the manager screen's "Receipts" page (behind the manager's PIN, as refunds are: the search lists every
customer's receipts, their card digits and customer codes). What a cashier gives: the day (Today, Yesterday,
another day typed as 24.11), the amount (on the money keypad, in currency units), the card's last digits (the
slip's reference) and the customer code (typed, or the customer card scanned); every criterion given must match.

The search runs on the register's finder thread (`FindReceipts` -> `view().found`,
firmware/register/core/handlers/finder.py): a search over the whole history takes a second or more on a Pi, and
the screen keeps drawing "Searching..." meanwhile. Results come newest first, 50 at a time: "Older receipts..."
asks for the next 50 from where the last page stopped (`next_before`). Tapping one shows it as it printed
(`firmware.printout.receipt_blocks`, the register's own header, time zone and clerk names) with Reprint (a copy,
`Reprint`) and E-mail (`MailReceipt`, the address checked live with the rule the register and the fleet apply).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import pygame
from pygame import Rect

from firmware.domain.receipt_model import Receipt
from firmware.receipt_finder import ReceiptQuery
from firmware.register.commands import FindReceipts, MailReceipt, Reprint
from ui import theme
from ui.days import DayError, local_today, parse_day, shop_zone
from ui.keyboard import CODE, EMAIL
from ui.layout import columns, rows
from ui.screens.base import Drag, Hot, Region, page_column
from ui.screens.dialogs import Dialog, EntryDialog, MoneyDialog
from ui.screens.text_entry import TextEntryDialog
from ui.scroll import RowScroll
from ui.widgets import Button, draw_button, draw_panel, keypad, label, paragraph

if TYPE_CHECKING:
    from ui.app import App

PAGE = 50  # receipts per search; "Older receipts..." asks for the next PAGE
KINDS = ("sale", "refund")  # what a customer comes back for (a no-sale has no receipt to give)
COLUMNS = 42  # the paper's width the receipt is laid out at on screen (an 80 mm printer's font B is 42-48)
HINT = "Every criterion given must match. Tap a receipt to see it, reprint it or e-mail it."
TENDERS = {"cash": "Cash", "card": "Card", "on_account": "On account", "gift_card": "Gift card"}
MAIL_SENT = "It is sent when the fleet has the receipt."
_DIGITS = re.compile(r"\D")
_SEGMENT = re.compile(r"\S+(?: \S+)*")  # a printed line's parts: text between runs of two or more spaces
_WORD = re.compile(r"\S+")


def card_tail(receipt: Receipt) -> str:
    """The last four digits of the receipt's first card reference ("" when no card paid)."""
    for tender in receipt.tenders:
        if tender.type == "card" and tender.reference:
            digits = _DIGITS.sub("", tender.reference)
            if digits:
                return digits[-4:]
    return ""


def tender_words(receipt: Receipt) -> str:
    """How it was paid, in words: "Card ··4242", "Cash + Card" ("" for none)."""
    kinds: list[str] = []
    for tender in receipt.tenders:
        word = TENDERS.get(tender.type, tender.type.replace("_", " ").capitalize())
        if word not in kinds:
            kinds.append(word)
    tail = card_tail(receipt)
    return " + ".join(kinds) + (f" ··{tail}" if tail else "")


class DayDialog(EntryDialog):
    """A day typed on a keypad with a decimal point: 24.11, 24.11.2026 (ui.days.parse_day); a wrong one is said
    in red and the dialog stays."""

    name = "day"
    decimal = True

    def __init__(self, app: App, today: date, on_day: Any) -> None:
        super().__init__(app, "Which day? (24.11 or 24.11.2026)", lambda text: None, hint="DD.MM", limit=10)
        self.today, self.on_day = today, on_day

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        ends = [b for b in self.buttons if b.id in ("dlg:cancel", "dlg:ok")]
        keys = [b.rect for b in self.buttons if b not in ends]
        pad = keys[0].unionall(keys[1:])
        left = Rect(self.inner.x, pad.y, pad.x - 2 * g - self.inner.x, pad.h)
        top, self.r_note = rows(left, [-max(m.px(56), theme.MIN_BUTTON), 1], g)
        self.r_show, r_clear = columns(top, [1, -max(theme.MIN_BUTTON + 16, m.px(76))], g)
        self.buttons = keypad(pad, g, self._key, m.font("big"), keys="789456123.0<", prefix="dlg")
        self.buttons += [Button("dlg:C", r_clear, "Clear", lambda: self._key("C"), "key", m.font("body")), *ends]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        paragraph(surf, f"Type the day, month and, for another year, the year: 24.11 is the latest 24 November "
                        f"up to today ({self.today:%d.%m.%Y}).", self.r_note, self.m.font("body"), theme.MUTED)

    def _ok(self) -> None:
        try:
            day = parse_day(self.entry.text, self.today)
        except DayError as exc:
            self.error = str(exc)
            self.app.tone.error()
            return
        if day > self.today:
            self.error = "That day is still to come."
            self.app.tone.error()
            return
        self.close()
        self.on_day(day)


class FindReceiptDialog(Dialog):
    """The criteria on the left, the receipts found on the right (newest first, "Older receipts..." below)."""

    escape_closes = True

    name = "find_receipt"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.day_choice: str | None = "today"  # "today" | "yesterday" | "other" | None (any day)
        self.day: date | None = self.today()
        self.amount: int | None = None
        self.card: str | None = None
        self.customer: str | None = None
        self.note = ""  # a refusal, in the register's words
        self.search_id = ""
        self._absorbed = ""
        self.results: list[Receipt] = []
        self.more = False
        self.next_before = 0
        self.paging = False
        self.scroll = RowScroll(max(theme.MIN_BUTTON, app.metrics.px(56)))
        self._list_rect: Rect | None = None
        self.search()

    # ---- layout and drawing ------------------------------------------------------------------
    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_title, body = rows(self.inner, [-m.px(34), 1], g)
        left, self.r_list = columns(body, [0.46, 0.54], g * 2)
        row = m.row
        r_day, r_amount, r_card, r_cust, self.r_note, r_btns = rows(left, [-row, -row, -row, -row, 1, -row], g)
        self.r_fields = {"day": r_day, "amount": r_amount, "card": r_card, "customer": r_cust}
        self.r_criteria = r_day.unionall([r_amount, r_card, r_cust])
        close, clear = columns(r_btns, [1, 1], g)
        size = m.font("label")
        self.buttons = [Button("find:close", close, "Close", self.close, "quiet", size),
                        Button("find:clear", clear, "Clear all", self.clear_all, "normal", size)]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        label(surf, "Find a receipt", self.r_title.midleft, self.m.font("title"), theme.ACCENT, "midleft")

    def regions(self) -> list[Region]:
        status = Rect(self.r_list.x, self.r_title.y, self.r_list.w, self.r_title.h)
        return [Region("find.criteria", self.r_criteria, self._criteria_key, self._draw_criteria),
                Region("find.note", self.r_note, lambda: (self.note, self.searching()), self._draw_note),
                Region("find.status", status, self._status, self._draw_status),
                Region("find.list", self.r_list, self._list_key, self._draw_list)]

    def drags(self) -> list[Drag]:
        return [Drag(self._list_rect, self.scroll.drag, self.scroll.end_drag)] if self._list_rect else []

    def _criteria_key(self) -> object:
        return self.day_choice, self.day, self.amount, self.card, self.customer

    def _draw_criteria(self, surf: pygame.Surface, _: Rect) -> None:
        m, g = self.m, self.m.gap
        body, size = m.font("body"), m.font("label")
        clear_w = max(theme.MIN_BUTTON, m.px(50))
        hots: list[Hot] = []

        def field(key: str, text: str, is_set: bool, action: Any, clear: Any) -> None:
            r = self.r_fields[key]
            if is_set:
                r, x = columns(r, [1, -clear_w], g)
                draw_button(surf, x, "✗", "quiet", size)
                hots.append(Hot(x, clear, f"find:{key}:clear"))
            draw_button(surf, r, text, "selected" if is_set else "key", size)
            hots.append(Hot(r, action, f"find:{key}"))

        r_day = self.r_fields["day"]
        if self.day is not None:
            r_day, x = columns(r_day, [1, -clear_w], g)
            draw_button(surf, x, "✗", "quiet", size)
            hots.append(Hot(x, partial(self.choose_day, None), "find:day:clear"))
        other = "Other day"
        if self.day_choice == "other" and self.day:  # "24.11." this year, "24.11.25" another
            other = f"{self.day:%d.%m.}" if self.day.year == self.today().year else f"{self.day:%d.%m.%y}"
        for (key, text), cell in zip((("today", "Today"), ("yesterday", "Yesterday"), ("other", other)),
                                     columns(r_day, [1, 1.3, 1.1], g), strict=True):
            draw_button(surf, cell, text, "selected" if self.day_choice == key else "key", body)
            hots.append(Hot(cell, partial(self.choose_day, key), f"find:day:{key}"))
        money = self.app.money
        field("amount", f"Amount {money(self.amount)}" if self.amount is not None else "Amount…",
              self.amount is not None, self.ask_amount, partial(self.set_amount, None))
        field("card", f"Card ··{self.card}" if self.card else "Card's last digits…", bool(self.card), self.ask_card,
              partial(self.set_card, None))
        field("customer", f"Customer {self.customer}" if self.customer else "Customer code…", bool(self.customer),
              self.ask_customer, partial(self.set_customer, None))
        self.set_hot("criteria", hots)

    def _draw_note(self, surf: pygame.Surface, r: Rect) -> None:
        text, color = (self.note, theme.ERROR) if self.note else (HINT, theme.MUTED)
        paragraph(surf, text, r, self.m.font("body"), color)

    def _status(self) -> str:
        """The line above the list: what the search is doing, or what it found."""
        self.absorb()
        if self.searching():
            return "Looking further back…" if self.paging else "Searching…"
        if not self.search_id:
            return ""
        n = len(self.results)
        if not n:
            return ""
        found = f"{n} receipt{'s' * (n != 1)}, newest first"
        return found + (" (older ones too)" if self.more else "")

    def _draw_status(self, surf: pygame.Surface, r: Rect) -> None:
        text = self._status()
        label(surf, text, (r.right, r.centery), self.m.font("body"), theme.WARN if self.searching() else theme.MUTED,
              "midright", r.w)

    def _list_key(self) -> object:
        self.absorb()
        return (self._absorbed, self.searching(), len(self.results), self.more, self.scroll.offset, self.note,
                self.view.currency)

    def _draw_list(self, surf: pygame.Surface, r: Rect) -> None:
        m, g = self.m, self.m.gap
        s = self.scroll
        h = s.row_h
        entries: list[tuple[str, Receipt | None]] = [("receipt", rc) for rc in self.results]
        if self.more:
            entries.append(("older", None))
        s.per_page = max(1, (r.h + g) // (h + g))
        s.fit(len(entries))
        body, hots = page_column(surf, r, s, m, "found", h)
        self._list_rect = body
        if not entries:
            words = "Searching…" if self.searching() else "No receipt matches." if self.search_id else ""
            label(surf, words, body.center, m.font("label"), theme.MUTED, "center", body.w)
        today = self.today()
        for i, idx in enumerate(s.window()):
            kind, receipt = entries[idx]
            rect = Rect(body.x, body.y + i * (h + g), body.w, h)
            if receipt is None:
                busy = self.searching() and self.paging
                draw_button(surf, rect, "Looking further back…" if busy else "Older receipts…",
                            "disabled" if busy else "normal", m.font("label"))
                if not busy:
                    hots.append(Hot(rect, self.older, "found:older"))
                continue
            self._draw_row(surf, rect, receipt, today)
            hots.append(Hot(rect, partial(self.open, receipt), f"found:{receipt.seq}"))
        self.set_hot("list", hots)

    def _draw_row(self, surf: pygame.Surface, rect: Rect, receipt: Receipt, today: date) -> None:
        """One receipt: its time (and day, when not today), how it was paid and the customer, the total."""
        m = self.m
        fill, fg = theme.STYLES["key"]
        pygame.draw.rect(surf, fill, rect, border_radius=max(4, rect.h // 8))
        pad = m.px(10)
        moment = self.local(receipt)
        when = "" if moment is None else (f"{moment:%H:%M}" if moment.date() == today else f"{moment:%d.%m. %H:%M}")
        refund = receipt.kind == "refund"
        total = receipt.totals.total
        amount = self.app.money(-total if refund and total > 0 else total)
        left = label(surf, when, (rect.x + pad, rect.centery), m.font("label"), fg, "midleft")
        right = label(surf, amount, (rect.right - pad, rect.centery), m.font("label"), fg, "midright")
        parts = (["Refund"] if refund else []) + [tender_words(receipt)]
        if receipt.customer_code:
            parts.append(receipt.customer_code)
        parts.append(f"#{receipt.seq}")
        label(surf, "  ·  ".join(p for p in parts if p), (left.right + pad * 2, rect.centery), m.font("body"), fg,
              "midleft", max(10, right.x - left.right - pad * 3))

    # ---- the search --------------------------------------------------------------------------
    def zone(self) -> Any:
        return shop_zone(getattr(self.view, "timezone", "") or "")

    def today(self) -> date:
        return local_today(self.reg.clock.now(), self.zone())

    def local(self, receipt: Receipt) -> Any:
        from firmware.clock import parse_iso_utc

        try:
            return parse_iso_utc(receipt.created_at).astimezone(self.zone())
        except (TypeError, ValueError):
            return None

    def query(self) -> ReceiptQuery:
        return ReceiptQuery(first_day=self.day, amount=self.amount, card_digits=self.card,
                            customer_code=self.customer, kinds=KINDS)

    def searching(self) -> bool:
        """A search was asked for and its answer is not in yet."""
        return bool(self.search_id) and self._absorbed != self.search_id

    def search(self, before: int | None = None) -> None:
        """Ask the register to search (the newest page, or the one below `before`); the answer arrives later."""
        query = self.query()
        problem = query.problem()
        if problem is not None:
            self.note, self.search_id, self.results, self.more = f"{problem}.", "", [], False
            return
        outcome = self.app.run(FindReceipts(query, before_seq=before, limit=PAGE), quiet=True)
        if not outcome.ok:
            self.note = outcome.message
            return
        self.note, self.search_id, self.paging = "", str(outcome.data or ""), before is not None
        if before is None:
            self.results, self.more = [], False
            self.scroll.to(0)

    def absorb(self) -> None:
        """Take the register's answer to this screen's search, once (called every frame by the regions' keys)."""
        found = getattr(self.view, "found", None)
        if found is None or found.search_id != self.search_id or found.searching or self._absorbed == found.search_id:
            return
        self._absorbed = found.search_id
        if found.error:
            self.note, self.more = found.error, False
            return
        first_new = len(self.results)
        self.results = (self.results if self.paging else []) + list(found.receipts)
        self.more, self.next_before = found.more, found.next_before
        if self.paging and first_new:
            self.scroll.fit(len(self.results) + self.more)
            self.scroll.to(first_new - 1)

    def older(self) -> None:
        if self.more and not self.searching():
            self.search(before=self.next_before)

    # ---- criteria ----------------------------------------------------------------------------
    def choose_day(self, choice: str | None) -> None:
        if choice == "other":
            self.app.push(DayDialog(self.app, self.today(), partial(self._set_day, "other")))
            return
        if choice is not None and choice == self.day_choice:
            choice = None  # tapping the chosen day again: any day
        today = self.today()
        self._set_day(choice, {"today": today, "yesterday": today - timedelta(days=1)}.get(choice or ""))

    def _set_day(self, choice: str | None, day: date | None) -> None:
        self.day_choice, self.day = (choice, day) if day is not None else (None, None)
        self.search()

    def ask_amount(self) -> None:
        self.app.push(MoneyDialog(self.app, "Amount on the receipt", self.set_amount, hint="amount"))

    def set_amount(self, amount: int | None) -> None:
        self.amount = amount
        self.search()

    def ask_card(self) -> None:
        self.app.push(EntryDialog(self.app, "Last digits of the card (2 to 8)", self.set_card, limit=8,
                                  hint="e.g. 4242"))

    def set_card(self, digits: str | None) -> None:
        self.card = digits or None
        self.search()

    def ask_customer(self) -> None:
        def check(text: str) -> str | None:
            problem = ReceiptQuery(customer_code=text).problem() if text.strip() else None
            return None if problem is None else f"{problem}."

        self.app.push(TextEntryDialog(self.app, "Customer code (or scan the customer's card)", self._customer_typed,
                                      layout=CODE, check=check, hint="customer code", ok_label="Find", limit=32,
                                      text=self.customer or "", scan_fills=True))

    def _customer_typed(self, code: str) -> str | None:
        self.set_customer(code)
        return None

    def set_customer(self, code: str | None) -> None:
        self.customer = code.strip().upper() if code and code.strip() else None
        self.search()

    def clear_all(self) -> None:
        self.amount = self.card = self.customer = None
        self._set_day("today", self.today())

    def open(self, receipt: Receipt) -> None:
        self.app.push(ReceiptDialog(self.app, receipt))

    # ---- keyboard and scanner ----------------------------------------------------------------
    def on_scan(self, code: str) -> None:
        """A scan here is a customer card (a receipt's own barcode opens that receipt)."""
        receipt = self.reg.find_receipt(code)
        if receipt is not None:
            self.open(receipt)
        else:
            self.set_customer(code)


class ReceiptDialog(Dialog):
    """One receipt as it printed (scrolls), with Reprint (a copy) and E-mail."""

    name = "receipt"
    box_w, box_h = 0.98, 0.98

    def __init__(self, app: App, receipt: Receipt) -> None:
        super().__init__(app)
        self.receipt = receipt
        self.lines = self._lines()
        self.scroll = RowScroll(self.line_h)
        self._paper: Rect | None = None

    @property
    def line_h(self) -> int:
        return self.m.font("small") + self.m.px(5)

    def _lines(self) -> list[Any]:
        from firmware.printout import receipt_blocks

        v = self.view
        names = {c.clerk_id: c.name for c in self.reg.clerks()}
        return receipt_blocks(self.receipt, tuple(getattr(v, "receipt_header", ()) or ()), COLUMNS,
                              currency=v.currency, display=getattr(v, "currency_display", "symbol") or "symbol",
                              tz=shop_zone(getattr(v, "timezone", "") or ""), names=names,
                              receipt_page=getattr(v, "receipt_page", "") or None)

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        self.r_paper, side = columns(self.inner, [0.6, 0.4], g * 2)
        row = m.row
        self.r_head, r_scroll, r_reprint, r_mail, r_back = rows(side, [1, -row, -row, -row, -row], g)
        up, down = columns(r_scroll, [1, 1], g)
        size = m.font("label")
        self.buttons = [
            Button("receipt:up", up, "Up", partial(self.scroll.page, -1), "quiet", m.font("body")),
            Button("receipt:down", down, "Down", partial(self.scroll.page, 1), "quiet", m.font("body")),
            Button("receipt:reprint", r_reprint, "Reprint (copy)", self.reprint, "normal", size),
            Button("receipt:email", r_mail, "E-mail…", self.email, "primary", size),
            Button("receipt:back", r_back, "Back to the list", self.close, "quiet", size),
        ]

    def draw_static(self, surf: pygame.Surface) -> None:
        super().draw_static(surf)
        m, r, rc = self.m, self.r_head, self.receipt
        y = label(surf, f"Receipt #{rc.seq}", r.topleft, m.font("title"), theme.ACCENT, width=r.w).bottom + m.px(6)
        from firmware.clock import parse_iso_utc

        try:
            when = parse_iso_utc(rc.created_at).astimezone(shop_zone(getattr(self.view, "timezone", "") or ""))
            said = f"{when:%a %d %b %Y, %H:%M}"
        except (TypeError, ValueError):
            said = rc.created_at
        total = rc.totals.total
        refund = rc.kind == "refund"
        facts = [said, f"{'Refund' if refund else 'Total'} {self.app.money(-total if refund else total)}",
                 tender_words(rc)]
        if rc.customer_code:
            facts.append(f"Customer {rc.customer_code}")
        for fact in facts:
            if fact and y + m.font("body") <= r.bottom:
                y = label(surf, fact, (r.x, y), m.font("body"), theme.TEXT, width=r.w).bottom + m.px(4)

    def regions(self) -> list[Region]:
        return [Region("receipt.paper", self.r_paper, lambda: self.scroll.offset, self._draw_paper)]

    def drags(self) -> list[Drag]:
        return [Drag(self._paper, self.scroll.drag, self.scroll.end_drag)] if self._paper else []

    def _draw_paper(self, surf: pygame.Surface, r: Rect) -> None:
        from firmware.printout import Code  # the printer's layout blocks, as the register lays them out

        m = self.m
        draw_panel(surf, r, theme.PANEL_LIGHT)
        pad = m.px(10)
        paper = Rect(r.x + pad, r.y + pad // 2, r.w - 2 * pad, r.h - pad)
        self._paper = paper
        s = self.scroll
        s.per_page = max(1, paper.h // self.line_h)
        s.fit(len(self.lines))
        if s.count > s.per_page:  # it scrolls: the last row says where in the receipt this is
            s.per_page = max(1, paper.h // self.line_h - 1)
            s.fit(len(self.lines))
        col = paper.w / COLUMNS
        size = m.font("small")
        for i, idx in enumerate(s.window()):
            block = self.lines[idx]
            y = paper.y + i * self.line_h
            mid = y + self.line_h // 2
            if isinstance(block, Code):
                what = "QR code" if block.kind == "qr" else "Barcode"
                label(surf, f"[{what}: {block.data}]", (paper.centerx, mid), size, theme.MUTED, "center", paper.w)
                continue
            text = block.text
            big = m.font("label") if block.tall else size
            if text and set(text) == {"-"}:
                pygame.draw.line(surf, theme.MUTED, (paper.x, mid), (paper.right, mid), 1)
            elif block.align == "center":
                label(surf, text.strip(), (paper.centerx, mid), big, theme.TEXT, "center", paper.w)
            elif block.align == "right":
                label(surf, text.strip(), (paper.right, mid), big, theme.TEXT, "midright", paper.w)
            else:
                self._draw_columns(surf, paper, text, mid, big, col)
        if s.count > s.per_page:
            label(surf, s.more(), (r.right - pad, r.bottom - 2), m.font("small"), theme.MUTED, "bottomright")

    @staticmethod
    def _draw_columns(surf: pygame.Surface, paper: Rect, text: str, mid: int, size: int, col: float) -> None:
        """A printed line in a proportional font: its first part (the words) where it starts on paper, every word
        after a wider gap (amounts, tax codes, the tax table's columns) ending where it ends on paper, so the
        columns line up as they do on the receipt."""
        parts = list(_SEGMENT.finditer(text))
        if not parts:
            return
        limit = paper.right
        words = [w for part in parts[1:] for w in _WORD.finditer(text, part.start(), part.end())]
        for word in reversed(words):  # the amounts and their tax codes, each ending where it ends on paper
            right = min(paper.x + round(word.end() * col) if word.end() < COLUMNS else paper.right, limit)
            drawn = label(surf, word.group(), (right, mid), size, theme.TEXT, "midright", max(10, right - paper.x))
            limit = drawn.x - max(3, size // 4)
        first = parts[0]
        x = paper.x + round(first.start() * col)
        label(surf, first.group(), (x, mid), size, theme.TEXT, "midleft", max(10, limit - x))

    # ---- actions -----------------------------------------------------------------------------
    def reprint(self) -> None:
        if self.app.run(Reprint(self.receipt.receipt_id)).ok:
            self.app.alert(f"A copy of receipt #{self.receipt.seq} is printing.", "Reprint")

    def email(self) -> None:
        from firmware.contract.mail import address_problem

        def check(text: str) -> str | None:
            problem = address_problem(text.strip())
            return None if problem is None else f"{problem}."

        self.app.push(TextEntryDialog(self.app, f"E-mail receipt #{self.receipt.seq} to", self.mail, layout=EMAIL,
                                      check=check, hint="name@example.com", ok_words="Tap Send to queue the e-mail.",
                                      ok_label="Send"))

    def mail(self, address: str) -> str | None:
        """Ask the register to e-mail the receipt; its refusal keeps the address dialog up with the words."""
        outcome = self.app.run(MailReceipt(self.receipt.receipt_id, address), quiet=True)
        if not outcome.ok:
            return outcome.message or "The e-mail could not be queued."
        self.app.alert(f"{MAIL_SENT} {outcome.message}", "E-mail queued")
        return None

    def on_key(self, key: int, char: str) -> bool:
        if key == pygame.K_ESCAPE:
            self.close()
        elif key in (pygame.K_UP, pygame.K_PAGEUP):
            self.scroll.page(-1)
        elif key in (pygame.K_DOWN, pygame.K_PAGEDOWN):
            self.scroll.page(1)
        else:
            return False
        return True

    def on_scan(self, code: str) -> None:
        self.app.tone.error()


__all__ = ["DayDialog", "FindReceiptDialog", "ReceiptDialog", "card_tail", "tender_words"]
