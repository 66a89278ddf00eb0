"""Manager functions behind a manager's PIN: refund, no-sale, reprint, park/recall, X and Z reports."""

from __future__ import annotations

from typing import Any

import pygame
from pygame import Rect

from firmware.register.commands import NoSale, Park, Recall, Reprint, XReport, ZReport
from ui import theme
from ui.layout import columns, inset, rows
from ui.screens.base import Drag, Hot, Region, Screen
from ui.screens.dialogs import Confirm, EntryDialog
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
        self.typed = ""

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        left, self.r_panel = columns(inset(area, g), [0.27, 0.73], g)
        names = [("refund", "Refund", self._refund), ("no_sale", "No sale", self._no_sale),
                 ("reprint", "Reprint", self._reprint), ("park", "Park / recall", self._recall),
                 ("x_report", "X report", self._x), ("z_report", "Z report", self._z),
                 ("mgr_back", "Back to sale", self._back)]
        cells = rows(left, [1] * len(names), g)
        self.buttons = [Button(i, c, t, a, "quiet" if i == "mgr_back" else "normal", m.font("label"))
                        for (i, t, a), c in zip(names, cells)]
        self.refund = RefundPanel(self, self.r_panel)
        self.lists = RowScroll(max(48, m.px(50)) + g)
        self._list_rect: Rect | None = None

    def on_enter(self) -> None:
        self.mode, self.report, self.typed = "home", None, ""
        self.refund.reset()
        self.lists.to(0)

    def drags(self) -> list[Drag]:
        if self._list_rect is None or self.mode not in ("reprint", "recall", "refund"):
            return []
        return [Drag(self._list_rect, self.lists.drag, self.lists.end_drag)]

    def draw_static(self, surf: pygame.Surface) -> None:
        draw_panel(surf, self.r_panel)

    def regions(self) -> list[Region]:
        return [Region("mgr.panel", self.r_panel, self._key, self._draw)]

    def _key(self) -> object:
        return (self.mode, self.typed, id(self.report), self.refund.key(), self.view.revision, self.lists.offset)

    def _draw(self, surf: pygame.Surface, r: Rect) -> None:
        self.set_hot("panel", [])
        self._list_rect = None
        inner = inset(r, self.m.px(10))
        if self.mode == "refund":
            self.refund.draw(surf, inner)
        elif self.mode == "reprint":
            self._draw_receipts(surf, inner, "Tap a receipt to print a copy", self._reprint_one,
                                first=("Reprint last receipt", lambda: self._reprint_one(None)))
        elif self.mode == "recall":
            self._draw_parked(surf, inner)
        elif self.mode == "report" and self.report is not None:
            self._draw_report(surf, inner)
        else:
            clerk = self.view.clerk
            label(surf, "Manager functions", inner.topleft, self.m.font("title"), theme.ACCENT)
            label(surf, f"Sale by {clerk.name if clerk else '-'}; approvals use the manager PIN given.",
                  (inner.x, inner.y + self.m.px(44)), self.m.font("body"), theme.MUTED, width=inner.w)

    def receipt_text(self, rc: dict[str, Any]) -> str:
        when = str(rc.get("created_at", ""))[11:16]
        total = int((rc.get("totals") or {}).get("total", 0))
        kind = "" if rc.get("kind") == "sale" else f" {rc.get('kind')}"
        return f"#{rc.get('seq')}  {when}{kind}   {self.app.money(total)}   {len(rc.get('lines') or [])} lines"

    def _draw_receipts(self, surf: pygame.Surface, r: Rect, title: str, pick: Any,
                       first: tuple[str, Any] | None = None) -> None:
        receipts = self.reg.recent_receipts(limit=RECENT)
        entries: list[tuple[str, Any, str, str]] = []
        if first:
            entries.append((first[0], first[1], "reprint:last", "normal"))
        entries += [(self.receipt_text(rc), (lambda rc=rc: pick(rc["receipt_id"])), f"receipt:{rc.get('seq')}", "key")
                    for rc in receipts]
        self.draw_list(surf, r, title, entries, "" if receipts else "No receipts yet.")

    def _draw_parked(self, surf: pygame.Surface, r: Rect) -> None:
        entries = []
        for p in self.reg.parked():
            when = p.parked_at.astimezone().strftime("%H:%M")
            text = f"{when}  {p.lines} lines  {self.app.money(p.total)}" + ("  (old)" if p.stale else "")
            entries.append((text, (lambda pid=p.park_id: self._recall_one(pid)), f"parked:{p.park_id}",
                            "warn" if p.stale else "key"))
        self.draw_list(surf, r, "Parked sales: tap one to bring it back", entries, "" if entries else "No parked sales.")

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
        hots = []
        if s.count > s.per_page:  # too many to show: a column of Up/Down and the position
            w = max(56, m.px(64))
            body, side = columns(body, [1, -w], g)
            up, pos, down = rows(side, [-h, 1, -h], g)
            for rect, text, step, hid in ((up, "Up", -1, "list:up"), (down, "Down", 1, "list:down")):
                draw_button(surf, rect, text, "quiet", m.font("body"))
                hots.append(Hot(rect, (lambda step=step: s.page(step)), hid))
            span, _, total = s.more().partition(" of ")
            label(surf, span, pos.center, m.font("small"), theme.MUTED, "midbottom", pos.w)
            label(surf, f"of {total}", pos.center, m.font("small"), theme.MUTED, "midtop", pos.w)
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
        m = self.m
        label(surf, self.report_title, r.topleft, m.font("title"), theme.ACCENT)
        y = r.y + m.px(40)
        size = m.font("body")
        half = r.w // 2
        for i, (key, value) in enumerate(self._report_items(self.report or {})):
            x = r.x + (half if i % 2 else 0)
            label(surf, key, (x, y), size, theme.MUTED, width=half // 2)
            label(surf, value, (x + half - m.px(12), y), size, theme.TEXT, "topright", half // 2)
            if i % 2:
                y += size + m.px(6)
            if y > r.bottom - size:
                break

    def _report_items(self, report: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        for key, value in report.items():
            if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
                continue
            name = key.replace("_", " ")
            if isinstance(value, str) and key.endswith("_at"):
                value = self._when(value)
            if isinstance(value, int) and any(w in key for w in ("total", "cash", "amount", "sales", "refund", "tax",
                                                                    "card", "account", "float", "paid", "diff", "over")):
                out.append((name, self.app.money(value)))
            else:
                out.append((name, str(value)))
        for key, value in report.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, int) and not isinstance(v, bool):
                        out.append((f"{key.replace('_', ' ')}: {k.replace('_', ' ')}", self.app.money(v) if "count" not in k else str(v)))
        return out

    @staticmethod
    def _when(stamp: str) -> str:
        """A journal timestamp as the shop's local day and time."""
        from firmware.clock import parse_iso_utc

        try:
            return parse_iso_utc(stamp).astimezone().strftime("%d %b %H:%M")
        except ValueError:
            return stamp

    # ---- actions -----------------------------------------------------------------------------
    def _refund(self) -> None:
        self.mode = "refund"
        self.lists.to(0)
        self.refund.reset()

    def _no_sale(self) -> None:
        self.app.push(Confirm(self.app, "Open the drawer without a sale?", lambda: self.app.run(NoSale(self.pin)),
                              "Open drawer"))

    def _reprint(self) -> None:
        self.mode = "reprint"
        self.lists.to(0)

    def _reprint_one(self, receipt_id: str | None) -> None:
        if self.app.run(Reprint(receipt_id)).ok:
            self.app.alert("The copy is printing.", "Reprint")

    def _recall(self) -> None:
        if any(not ln.voided for ln in self.view.lines):
            if self.app.run(Park()).ok:
                self.app.alert("The sale is parked. Recall it here when the customer is back.", "Parked")
        self.mode = "recall"
        self.lists.to(0)

    def _recall_one(self, park_id: str) -> None:
        if self.app.run(Recall(park_id)).ok:
            self._back()

    def _x(self) -> None:
        outcome = self.app.run(XReport())
        if outcome.ok:
            self._show(outcome.data, "X report (shift so far)")

    def _z(self) -> None:
        def counted(text: str) -> None:
            outcome = self.app.run(ZReport(int(text), self.pin))
            if outcome.ok:
                self._show(outcome.data, "Z report (day closed)")

        self.app.push(EntryDialog(self.app, "Cash counted in the drawer", counted, money=True, hint="counted cash"))

    def _show(self, report: Any, title: str) -> None:
        self.report = report if isinstance(report, dict) else {"report": str(report)}
        self.report_title = title
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
