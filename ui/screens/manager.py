"""Manager functions behind a manager's PIN: refund, no-sale, reprint, park/recall, X and Z reports, the time
clock's hours today, and the stock-take."""

from __future__ import annotations

from functools import partial
from typing import Any

import pygame
from pygame import Rect

from firmware.register.commands import Hours, NoSale, Park, Reprint, XReport, ZReport
from firmware.register.hours_text import hours_rows, hours_title
from firmware.register.report_text import ReportRow, report_rows, report_title, signed
from ui import theme
from ui.layout import columns, inset, rows
from ui.screens.base import Drag, Hot, Region, Screen, page_column
from ui.screens.dialogs import Confirm, MoneyDialog
from ui.screens.refund import RefundPanel, find_receipt
from ui.scroll import RowScroll
from ui.widgets import Button, draw_button, draw_panel, label

RECENT = 60  # receipts offered for reprint and refund (the list scrolls)


class ManagerScreen(Screen):
    name = "manager"

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.pin: str | None = None
        self.mode = "home"
        self.report: dict[str, Any] | None = None
        self.report_title = ""
        self.rows: list[ReportRow] = []
        self.typed = ""
        self.print_report: Any = None  # a report page with a Print button (the hours): what it runs

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        left, self.r_panel = columns(inset(area, g), [0.27, 0.73], g)
        names = [("refund", "Refund", self._refund), ("no_sale", "No sale", self._no_sale),
                 ("reprint", "Receipts", self._reprint), ("park", "Park / recall", self._recall),
                 ("x_report", "X report", self._x), ("z_report", "Z report", self._z),
                 ("hours", "Hours", self._hours), ("stock_take", "Stock take", self._stock_take),
                 ("mgr_back", "Back to sale", self._back)]
        cells = self.menu_cells(left, len(names))
        self.buttons = [Button(i, c, t, a, "quiet" if i == "mgr_back" else "normal", m.font("label"))
                        for (i, t, a), c in zip(names, cells, strict=True)]
        self.refund = RefundPanel(self, self.r_panel)
        self.lists = RowScroll(max(48, m.px(50)) + g)
        self.report_scroll = RowScroll(self.report_row_h)
        self._list_rect: Rect | None = None

    def menu_cells(self, left: Rect, n: int) -> list[Rect]:
        """The menu's `n` buttons: one column while each is a full row high, else two columns with the last one
        (Back to sale) across both, so no button falls under a row's height however many functions there are."""
        m, g = self.m, self.m.gap
        if (left.h - (n - 1) * g) // n >= m.row:
            return rows(left, [1] * n, g)
        lines = rows(left, [1] * (n // 2 + 1), g)
        cells = [cell for line in lines[:-1] for cell in columns(line, [1, 1], g)]
        return [*cells[: n - 1], lines[-1]]

    @property
    def report_row_h(self) -> int:
        return self.m.font("body") + self.m.px(12)

    def on_enter(self) -> None:
        self.mode, self.report, self.typed, self.print_report = "home", None, "", None
        self.refund.reset()
        self.lists.to(0)

    def drags(self) -> list[Drag]:
        if self._list_rect is None or self.mode not in ("reprint", "refund", "report"):
            return []
        if self.mode == "report":
            return [Drag(self._list_rect, self.report_scroll.drag, self.report_scroll.end_drag)]
        return [Drag(self._list_rect, self.lists.drag, self.lists.end_drag)]

    def draw_static(self, surf: pygame.Surface) -> None:
        draw_panel(surf, self.r_panel)

    def regions(self) -> list[Region]:
        return [Region("mgr.panel", self.r_panel, self._key, self._draw)]

    def _key(self) -> object:
        return (self.mode, self.typed, id(self.report), self.refund.key(), self.view.revision, self.lists.offset,
                self.report_scroll.offset)

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        self.set_hot("panel", [])
        self._list_rect = None
        inner = inset(r, self.m.px(10))
        if self.mode == "refund":
            self.refund.draw(surf, inner)
        elif self.mode == "reprint":
            self._draw_receipts(surf, inner, "Tap a receipt to print a copy, or find an older one", self._reprint_one,
                                first=("Reprint last receipt", lambda: self._reprint_one(None)), find=self._find)
        elif self.mode == "report" and self.report is not None:
            self._draw_report(surf, inner)
        else:
            clerk = self.view.clerk
            label(surf, "Manager functions", inner.topleft, self.m.font("title"), theme.ACCENT)
            label(surf, f"Sale by {clerk.name if clerk else '-'}; approvals use the manager PIN given.",
                  (inner.x, inner.y + self.m.px(44)), self.m.font("body"), theme.MUTED, width=inner.w)

    KINDS = {"sale": "", "refund": "Refund", "no_sale": "Drawer opened (no sale)"}

    def receipt_text(self, rc: dict[str, Any]) -> str:
        """"#12  14:05  €7.16  3 items", "#13  14:06  Refund  €1.29  1 item": no field names, local time."""
        when = self._when(str(rc.get("created_at", "")), "%H:%M")
        kind = self.KINDS.get(str(rc.get("kind")), str(rc.get("kind", "")).replace("_", " ").capitalize())
        if rc.get("kind") == "no_sale":
            return f"#{rc.get('seq')}  {when}  {kind}"
        total = int((rc.get("totals") or {}).get("total", 0))
        n = len(rc.get("lines") or [])
        parts = [f"#{rc.get('seq')}", when, kind, self.app.money(total), f"{n} item{'s' * (n != 1)}"]
        return "  ".join(p for p in parts if p)

    def _draw_receipts(self, surf: pygame.Surface, r: Rect, title: str, pick: Any,
                       first: tuple[str, Any] | None = None, find: Any = None) -> None:
        receipts = self.reg.recent_receipts(limit=RECENT)
        entries: list[tuple[str, Any, str, str]] = []
        if find:  # the search by day, amount, card digits or customer (ui/screens/find_receipt.py)
            entries.append(("Find a receipt: day, amount, card, customer…", find, "find_receipt", "primary"))
        if first:
            entries.append((first[0], first[1], "reprint:last", "normal"))
        entries += [(self.receipt_text(rc), (lambda rc=rc: pick(rc["receipt_id"])), f"receipt:{rc.get('seq')}", "key")
                    for rc in receipts]
        self.draw_list(surf, r, title, entries, "" if receipts else "No receipts yet.")

    def draw_list(self, surf: pygame.Surface, r: Rect, title: str, entries: list[tuple[str, Any, str, str]],
                  empty: str) -> None:
        """A titled list of tappable rows that scrolls: Up/Down beside it, or drag it with a finger."""
        m, g = self.m, self.m.gap
        label(surf, title, r.topleft, m.font("label"), theme.ACCENT, width=r.w)
        body = Rect(r.x, r.y + m.px(34), r.w, r.h - m.px(34))
        h = max(48, m.px(50))
        s = self.lists
        s.per_page = max(1, (body.h + g) // (h + g))
        s.fit(len(entries))
        body, hots = page_column(surf, body, s, m, "list", h)  # too many to show: Up/Down and the position
        self._list_rect = body
        for i, idx in enumerate(s.window()):
            text, action, hid, style = entries[idx]
            rect = Rect(body.x, body.y + i * (h + g), body.w, h)
            draw_button(surf, rect, text, style, m.font("body"))
            hots.append(Hot(rect, action, hid))
        if empty:
            label(surf, empty, body.center, m.font("label"), theme.MUTED, "center")
        self.set_hot("panel", hots)

    def _draw_report(self, surf: pygame.Surface, r: Rect) -> None:
        """The report as a cashier reads it (`firmware.register.report_text`): sections, amounts right-aligned,
        the cash difference in a coloured band with its sign, at the top too; it scrolls (Up/Down or a drag)."""
        m, g = self.m, self.m.gap
        body = m.font("body")
        label(surf, self.report_title, r.topleft, m.font("title"), theme.ACCENT, width=r.w)
        y = r.y + m.font("title") + m.px(10)
        diff = (self.report or {}).get("difference")
        if diff is not None:
            words = "exact" if diff == 0 else ("over" if diff > 0 else "short")
            band = Rect(r.x, y, r.w, body + m.px(18))
            pygame.draw.rect(surf, theme.FLASH if diff >= 0 else theme.ERROR_FILL, band, border_radius=6)
            label(surf, f"Cash difference: {words}", (band.x + m.px(10), band.centery), m.font("label"), theme.TEXT,
                  "midleft")
            label(surf, signed(int(diff), self.app.money), (band.right - m.px(10), band.centery), m.font("title"),
                  theme.TEXT, "midright")
            y = band.bottom + g
        area = Rect(r.x, y, r.w, r.bottom - y)
        hots = []
        if self.print_report is not None:  # a Print button under the rows
            area, bar = rows(area, [1, -max(theme.MIN_BUTTON, m.row)], g)
            button = Rect(0, bar.y, min(bar.w, max(m.px(200), 120)), bar.h)
            button.right = bar.right
            draw_button(surf, button, "Print", "normal", m.font("label"))
            hots.append(Hot(button, self.print_report, "report:print"))
        s = self.report_scroll
        s.row_h = self.report_row_h
        s.per_page = max(1, area.h // s.row_h)
        s.fit(len(self.rows))
        if s.count > s.per_page:
            w = max(theme.MIN_BUTTON + 8, m.px(64))
            area, side = columns(area, [1, -w], g)
            h = max(theme.MIN_BUTTON, m.px(56))
            up, pos, down = rows(side, [-h, 1, -h], g)
            for rect, text, step, hid in ((up, "Up", -1, "report:up"), (down, "Down", 1, "report:down")):
                draw_button(surf, rect, text, "quiet", m.font("body"))
                hots.append(Hot(rect, partial(s.page, step), hid))
            span, _, total = s.more().partition(" of ")
            label(surf, span, pos.center, m.font("small"), theme.MUTED, "midbottom", pos.w)
            label(surf, f"of {total}", pos.center, m.font("small"), theme.MUTED, "midtop", pos.w)
        self._list_rect = area
        for i, idx in enumerate(s.window()):
            rect = Rect(area.x, area.y + i * s.row_h, area.w, s.row_h)
            self._draw_row(surf, rect, self.rows[idx])
        self.set_hot("panel", hots)

    def _draw_row(self, surf: pygame.Surface, rect: Rect, row: ReportRow) -> None:
        m = self.m
        body, pad = m.font("body"), m.px(8)
        if row.kind == "section":
            pygame.draw.line(surf, theme.PANEL_LIGHT, (rect.x, rect.y + 2), (rect.right, rect.y + 2), 2)
            label(surf, row.label, (rect.x, rect.bottom - 2), m.font("label"), theme.ACCENT, "bottomleft", rect.w)
            return
        if row.kind == "note":
            label(surf, row.label, (rect.x + pad, rect.centery), body, theme.MUTED, "midleft", rect.w - pad)
            return
        color = theme.TEXT
        if row.tone:
            pygame.draw.rect(surf, theme.FLASH if row.tone == "good" else theme.ERROR_FILL, rect, border_radius=4)
        elif row.strong:
            color = theme.ACCENT
        value = label(surf, row.value, (rect.right - pad, rect.centery), body, color, "midright")
        label(surf, row.label, (rect.x + pad, rect.centery), body, color if row.strong or row.tone else theme.MUTED,
              "midleft", max(10, value.x - rect.x - 2 * pad))

    @staticmethod
    def _when(stamp: str, fmt: str = "%d %b %H:%M") -> str:
        """A journal timestamp as the shop's local day and time."""
        from firmware.clock import parse_iso_utc

        try:
            return parse_iso_utc(stamp).astimezone().strftime(fmt)
        except ValueError:
            return stamp

    # ---- actions -----------------------------------------------------------------------------
    def _refund(self) -> None:
        self.mode = "refund"
        self.lists.to(0)
        self.refund.reset()

    def _no_sale(self) -> None:
        def open_drawer() -> None:
            if self.app.run(NoSale(self.pin)).ok:
                self.app.alert("The drawer is open. Close it when you are done.", "Drawer opened")

        self.app.push(Confirm(self.app, "Open the drawer without a sale?", open_drawer, "Open drawer"))

    def _reprint(self) -> None:
        self.mode = "reprint"
        self.lists.to(0)

    def _find(self) -> None:
        from ui.screens.find_receipt import FindReceiptDialog

        self.app.push(FindReceiptDialog(self.app))

    def _reprint_one(self, receipt_id: str | None) -> None:
        if self.app.run(Reprint(receipt_id)).ok:
            self.app.alert("The copy is printing.", "Reprint")

    def _recall(self) -> None:
        """Park the open cart (if any), then the list of parked carts (the same one cashiers get on Sell)."""
        from ui.screens.recall import RecallDialog

        if any(not ln.voided for ln in self.view.lines):
            outcome = self.app.run(Park())
            if not outcome.ok:
                return
            self.app.alert(f"Parked as {outcome.data}: bring it back from this list or by scanning its slip.",
                           f"Cart {outcome.data} parked")
        self.app.push(RecallDialog(self.app, on_recalled=self._back, manager_pin=self.pin))

    def _x(self) -> None:
        outcome = self.app.run(XReport())
        if outcome.ok:
            self._show(outcome.data, "X report (shift so far)")

    def _z(self) -> None:
        """Ask for the cash counted in the drawer, in the shop's currency ("100" is 100.00), then close the day."""
        def counted(amount: int) -> None:
            outcome = self.app.run(ZReport(amount, self.pin))
            if outcome.ok:
                self._show(outcome.data, "Z report (day closed)")

        self.app.push(MoneyDialog(self.app, "Cash counted in the drawer", counted, hint="counted cash"))

    def _stock_take(self) -> None:
        """The stock-take dialog (ui/screens/stock_take.py): scan, count, save."""
        from ui.screens.stock_take import StockTakeDialog

        self.app.push(StockTakeDialog(self.app, self.pin))

    def _hours(self) -> None:
        """Today's hours per clerk from this register's punches, so far; Print prints them."""
        outcome = self.app.run(Hours())
        if not outcome.ok:
            return
        from ui.days import shop_zone

        names = {c.clerk_id: c.name for c in self.reg.clerks()}
        self.report, self.report_title = {}, hours_title(outcome.data)
        self.rows = hours_rows(outcome.data, shop_zone(getattr(self.view, "timezone", "") or ""), names)
        self.print_report = self._print_hours
        self.report_scroll.to(0)
        self.mode = "report"

    def _print_hours(self) -> None:
        if self.app.run(Hours(print_out=True)).ok:
            self.app.alert("The hours are printing.", "Hours")

    def _show(self, report: Any, title: str) -> None:
        self.print_report = None
        self.report = report if isinstance(report, dict) else {}
        self.report_title = report_title(self.report) if self.report else title
        names = {c.clerk_id: c.name for c in self.reg.clerks()}
        self.rows = report_rows(self.report, self.app.money, clerk_names=names) if self.report else []
        self.report_scroll.to(0)
        self.mode = "report"

    def _back(self) -> None:
        self.app.override = None

    def on_scan(self, code: str) -> None:
        if self.mode != "refund":
            self.mode = "refund"
            self.refund.reset()
        self.refund.pick_code(code)

    def on_key(self, key: int, char: str) -> bool:
        if self.mode == "refund":
            return self.refund.on_key(key, char)
        if key == pygame.K_ESCAPE:
            self._back()
            return True
        return False


__all__ = ["ManagerScreen", "find_receipt"]
