"""Status: online/offline, last sync (red when stale), pending and quarantined receipts, unsent punches and e-mail
receipts, the e-mails the fleet refused (address masked), device health, Sync now, Retry, Export."""

from __future__ import annotations

import glob
import os
from datetime import datetime
from typing import Any

import pygame
from pygame import Rect

from firmware.register.commands import ExportPending, RetryQuarantined, SyncNow
from ui import theme
from ui.layout import columns, inset, rows
from ui.screens.base import Region, Screen
from ui.widgets import Button, draw_panel, label, label_lines

DEVICES = ("printer", "scanner", "drawer", "broker")


def usb_mount(root: str = "/media") -> str | None:
    """A writable mounted USB stick under /media (e.g. /media/pi/STICK), if one is plugged in."""
    for path in sorted(glob.glob(os.path.join(root, "*", "*")) + glob.glob(os.path.join(root, "*"))):
        if os.path.ismount(path) and os.access(path, os.W_OK):
            return path
    return None


NO_STICK = ("No USB stick found. Plug one in and press Export again; the receipts are safe in the register "
            "(exports never go into the register's own data dir).")


def export_target(register: Any) -> str | None:
    """Where exports go: the USB stick when one is plugged in, else None (never the data dir: see firmware.exports)."""
    return usb_mount()


def age(then: datetime | None, now: datetime) -> str:
    """'just now', '4 min ago', '3 h ago', '2 days ago' (never negative with a clock set back)."""
    if then is None:
        return "never"
    s = max(0, int((now - then).total_seconds()))
    if s < 60:
        return "just now"
    if s < 3600:
        return f"{s // 60} min ago"
    if s < 86400 * 2:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"


class StatusScreen(Screen):
    name = "status"

    def layout(self, area: Rect) -> None:
        super().layout(area)
        m, g = self.m, self.m.gap
        left, right = columns(inset(area, g), [0.6, 0.4], g)
        self.r_sync = left
        self.r_health, r_b1, r_b2 = rows(right, [1, -m.row, -m.row], g)
        r_sync, r_retry = columns(r_b1, [1, 1], g)
        r_export, r_range = columns(r_b2, [1, 1], g)
        size, small = m.font("label"), m.font("body")
        self.buttons = [
            Button("sync_now", r_sync, "Sync now", self._sync, "primary", size),
            Button("retry", r_retry, "Retry failed", self._retry, "warn", size),
            Button("export", r_export, "Export unsent\nreceipts", self._export, "normal", small),
            Button("export_range", r_range, "Export\nby date", self._export_range, "normal", small),
        ]

    def draw_static(self, surf: pygame.Surface) -> None:
        draw_panel(surf, self.r_sync)
        draw_panel(surf, self.r_health)

    def _minute(self) -> str:
        return self.app.local_now().strftime("%H:%M")

    def regions(self) -> list[Region]:
        return [
            Region("status.sync", self.r_sync, lambda: (self.view.sync, self.view.warnings, self._minute()),
                   self._draw_sync),
            Region("status.health", self.r_health,
                   lambda: (tuple(sorted(self.view.health.items())), self.view.print_backlog), self._draw_health),
        ]

    def _draw_sync(self, surf: pygame.Surface, r: Rect) -> None:
        m, s = self.m, self.view.sync
        now = self.app.clock.now()
        r = inset(r, m.px(10))
        body, big, small = m.font("body"), m.font("title"), m.font("small")
        col = m.px(130)
        y = r.y
        label(surf, "ONLINE" if s.online else "OFFLINE", (r.x, y), big, theme.OK if s.online else theme.ERROR)
        y += big + m.px(8)
        last = (s.last_sync_at.astimezone().strftime("%d %b %H:%M") + f" ({age(s.last_sync_at, now)})"
                if s.last_sync_at else "never")
        pend = f"{s.pending}" + (f", oldest {age(s.oldest_pending_at, now)}"
                                 if s.pending and s.oldest_pending_at else "")
        for name, text, color in (("Last sync", last, theme.ERROR if s.stale else theme.TEXT),
                                  ("Unsent", pend, theme.WARN if s.pending else theme.TEXT),
                                  ("Failed", str(s.quarantined), theme.ERROR if s.quarantined else theme.TEXT)):
            label(surf, name, (r.x, y), body, theme.MUTED)
            label(surf, text, (r.x + col, y), body, color, width=r.w - col)
            y += body + m.px(6)
        alarms = [(text, theme.ERROR) for text in self.integrity_alarms(s)] + [(s.fault, theme.ERROR)] * bool(s.fault)
        records = [(text, theme.WARN) for text in [self.unsent_records(s)] if text]
        for text, color in alarms + records + [(w, theme.WARN) for w in self.view.warnings]:
            if y + body > r.bottom:
                return
            y = label_lines(surf, text, (r.x, y), body, color, r.w) + m.px(8)
        y = self._draw_refused_mails(surf, r, y, s)
        items = list(s.quarantined_items)
        if not items:
            return
        y += m.px(6)
        pygame.draw.line(surf, theme.PANEL_LIGHT, (r.x, y), (r.right, y), 1)
        y += m.px(6)
        row = body + small + m.px(10)
        for i, item in enumerate(items):
            left = len(items) - i
            if y + row > r.bottom and left > 0:
                label(surf, f"+ {left} more failed receipt{'s' * (left > 1)}: Retry sends them again", (r.x, y), small,
                      theme.MUTED, width=r.w)
                return
            title, when, error = self.quarantined(item, now)
            when_r = label(surf, when, (r.right, y + body - small), small, theme.MUTED, "topright")
            label(surf, title, (r.x, y), body, theme.TEXT, width=when_r.x - r.x - m.px(8))
            label(surf, error, (r.x + m.px(12), y + body + m.px(2)), small, theme.ERROR, width=r.w - m.px(12))
            y += row

    def _draw_refused_mails(self, surf: pygame.Surface, r: Rect, y: int, s: Any) -> int:
        """The e-mails the fleet refused, newest first, as many as fit (the rest counted)."""
        mails = list(getattr(s, "mails_refused", ()))
        if not mails or y + self.m.font("body") > r.bottom:
            return y
        m, body, small = self.m, self.m.font("body"), self.m.font("small")
        y = label_lines(surf, f"E-mails the fleet refused ({len(mails)}): ask for the address again and e-mail "
                        "the receipt from Find receipt.", (r.x, y), small, theme.MUTED, r.w) + m.px(4)
        for i, mail in enumerate(mails):
            left = len(mails) - i
            if y + body + small * 2 > r.bottom:
                label(surf, f"+ {left} more refused e-mail{'s' * (left > 1)}", (r.x, y), small, theme.MUTED,
                      width=r.w)
                return y + small + m.px(4)
            title, why = self.refused_mail(mail)
            label(surf, title, (r.x, y), body, theme.TEXT, width=r.w)
            y = label_lines(surf, why, (r.x + m.px(12), y + body + m.px(2)), small, theme.ERROR,
                            r.w - m.px(12)) + m.px(8)
        return y

    @staticmethod
    def unsent_records(sync: Any) -> str:
        """Punches, e-mail requests and stock updates still to send, in the cashier's words ('' when none): like
        receipts, they are safe in the register and go once it is online."""
        parts = []
        punches, mails = getattr(sync, "punches_unsent", 0), getattr(sync, "mails_unsent", 0)
        stock = getattr(sync, "stock_unsent", 0)
        if punches:
            parts.append(f"{punches} time clock punch{'es' * (punches > 1)}")
        if mails:
            parts.append(f"{mails} e-mail receipt{'s' * (mails > 1)}")
        if stock:
            parts.append(f"{stock} stock update{'s' * (stock > 1)}")
        if not parts:
            return ""
        listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        return f"Also unsent: {listed} (safe here; they go once online)."

    @staticmethod
    def refused_mail(mail: Any) -> tuple[str, str]:
        """A refused e-mail (`RefusedMail`) as (which receipt to whom, why), in the cashier's words."""
        to = mail.to or "an address no longer kept"
        seq = mail.receipt_id.rsplit(":", 1)[-1] if mail.receipt_id else ""
        receipt = f"receipt #{seq}" if seq.isdigit() else f"receipt {mail.receipt_id}"
        reason = str(mail.reason)
        low = reason.lower()
        if "address" in low or "@" in low or "domain" in low:
            why = "The fleet did not accept the address"
        elif "receipt" in low:
            why = "The fleet does not know this receipt as one of this shop's"
        else:
            why = "The fleet refused it"
        return f"E-mail of {receipt} to {to} not sent", f"{why} ({reason[:80]})"

    @staticmethod
    def integrity_alarms(sync: Any) -> list[str]:
        """The conflict and rollback alarm lines (contract 1.1), in the cashier's words; none when all is well."""
        out = []
        conflicts = getattr(sync, "conflicts", 0)
        if conflicts:
            out.append(f"{conflicts} receipt{'s' * (conflicts > 1)} in conflict: the fleet holds a different receipt "
                       "under the same number. Set aside, never sent again: call the technician.")
        rollbacks = getattr(sync, "rollbacks", 0)
        if rollbacks:
            out.append(f"Journal restored from an older copy{f' {rollbacks} times' if rollbacks > 1 else ''}: "
                       "new sales continue in a new series of numbers.")
        return out

    @staticmethod
    def quarantined(item: Any, now: datetime) -> tuple[str, str, str]:
        """A failed receipt from the journal's summary (receipt_id, seq, error, attempts, failed_at) as
        (which receipt, when and how often it failed, why), in the cashier's words."""
        if not isinstance(item, dict):
            return str(item), "", ""
        seq = item.get("seq")
        rid = str(item.get("receipt_id") or "")
        title = f"#{seq}  {rid}" if seq is not None else rid or "receipt"
        at = item.get("failed_at") or item.get("at")
        when: datetime | None = at if isinstance(at, datetime) else None
        if isinstance(at, str):
            from firmware.clock import parse_iso_utc

            try:
                when = parse_iso_utc(at)
            except ValueError:
                when = None
        attempts = item.get("attempts")
        tries = f", {attempts} tries" if isinstance(attempts, int) and attempts > 1 else ""
        failed = f"failed {age(when, now)}{tries}" if when else f"failed{tries}"
        return title, failed, str(item.get("error") or "refused by the fleet")

    def _draw_health(self, surf: pygame.Surface, r: Rect) -> None:
        m = self.m
        r = inset(r, m.px(10))
        body, small = m.font("body"), m.font("small")
        y = r.y
        names = list(DEVICES) + sorted(k for k in self.view.health if k not in DEVICES)
        for name in names:
            h = self.view.health.get(name)
            ok = h is not None and h.ok
            state = "not reported" if h is None else (h.state + (f": {h.detail}" if h.detail else ""))
            pygame.draw.circle(surf, theme.OK if ok else (theme.MUTED if h is None else theme.ERROR),
                               (r.x + body // 2, y + body // 2), body // 3)
            label(surf, name.capitalize(), (r.x + body + 4, y), body, theme.TEXT)
            y += body + 2
            y = label_lines(surf, state, (r.x + body + 4, y), small, theme.MUTED, r.w - body - 4, 3) + m.px(6)
            if y > r.bottom - body:
                break
        if self.view.print_backlog:
            label(surf, f"{self.view.print_backlog} receipts waiting to print", (r.x, r.bottom), body, theme.WARN,
                  "bottomleft", r.w)

    def _sync(self) -> None:
        self.app.run(SyncNow())
        self._say()

    def _retry(self) -> None:
        self.app.run(RetryQuarantined())
        self._say()

    def _export(self) -> None:
        """Every unsent receipt to `export_target` (the USB stick; without one the screen says so)."""
        target = export_target(self.reg)
        if target is None:
            self.app.alert(NO_STICK, "Export")
            return
        outcome = self.app.run(ExportPending(target))
        if outcome.ok:
            self.app.alert(outcome.message or "Exported.", "Export")

    def _export_range(self) -> None:
        """Receipts of chosen days: the dialog asks which, then exports to the same place."""
        from ui.screens.export_range import ExportRangeDialog

        self.app.push(ExportRangeDialog(self.app))

    def _say(self) -> None:
        msg = self.view.message
        if msg is not None and msg.level != "error" and msg.text:
            self.app.alert(msg.text, "Sync")
