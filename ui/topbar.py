"""The bar on every screen: store and register, clerk, offline banner, clock, Status and Log out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from ui import theme
from ui.layout import columns, inset
from ui.screens.base import Region
from ui.widgets import Button, label

if TYPE_CHECKING:
    from ui.app import App


class TopBar:
    """Static captions drawn into the background; clerk, banner and clock are regions."""

    def __init__(self, app: App) -> None:
        self.app = app
        m = app.metrics
        self.rect = Rect(0, 0, m.width, m.bar)
        g = m.gap
        parts = columns(inset(self.rect, 1), [1.5, 1.3, 3.2, 0.8, -m.px(96), -m.px(96)], g)
        self.r_store, self.r_clerk, self.r_banner, self.r_clock, self.r_status, self.r_logout = parts
        self.buttons: list[Button] = []

    def layout(self, screen_name: str, logged_in: bool) -> None:
        size = self.app.metrics.font("body")
        on_status = screen_name == "status"
        self.buttons = [Button("bar:status", self.r_status, "Back" if on_status else "Status",
                               self.app.close_status if on_status else self.app.open_status, "quiet", size)]
        if logged_in:
            self.buttons.append(Button("bar:logout", self.r_logout, "Log out", self.app.logout, "quiet", size))

    def draw_static(self, surf: pygame.Surface) -> None:
        m = self.app.metrics
        pygame.draw.rect(surf, theme.TOPBAR, self.rect)
        v = self.app.view
        label(surf, f"{v.store} · {v.register}", (self.r_store.x + m.gap, self.r_store.centery), m.font("body"),
              theme.MUTED, "midleft", self.r_store.w)
        for b in self.buttons:
            b.draw(surf)

    def regions(self) -> list[Region]:
        return [
            Region("bar.clerk", self.r_clerk, self._clerk_key, self._draw_clerk),
            Region("bar.banner", self.r_banner, self.banner, self._draw_banner),
            Region("bar.clock", self.r_clock, self._clock_key, self._draw_clock),
        ]

    @staticmethod
    def _clear(surf: pygame.Surface, r: Rect) -> None:
        """Each region paints its own ground: under a dialog the background is a snapshot of the screen, and
        the old words ("OFFLINE") would otherwise show through the new ("Online")."""
        pygame.draw.rect(surf, theme.TOPBAR, r)

    def _clerk_key(self) -> object:
        c = self.app.view.clerk
        return c.name if c else None

    def _draw_clerk(self, surf: pygame.Surface, r: Rect) -> None:
        self._clear(surf, r)
        c = self.app.view.clerk
        label(surf, c.name if c else "Not logged in", (r.x, r.centery), self.app.metrics.font("body"),
              theme.TEXT if c else theme.MUTED, "midleft", r.w)

    def banner(self) -> tuple[str, str, str]:
        """What the sync banner says now: (state, headline, second line); also the region's key.

        One state at a time: "offline" (red, with the unsent count), "sending" (online, receipts still to
        go: the count), "online" (all sent). A warning (refused receipts, disk space...) takes the second
        line; the unsent count is never replaced by it, so it shows whenever it is above 0.
        """
        v = self.app.view
        s = v.sync
        unsent = f"{s.pending} unsent" if s.pending else ""
        if not s.online:
            state, head = "offline", "OFFLINE · " + (unsent or "keep selling")
        elif s.pending:
            state, head = "sending", f"Online · {unsent}"
        else:
            state, head = "online", "Online · all sent"
        warning = v.warnings[0] if v.warnings else ""
        return state, head, warning

    def _draw_banner(self, surf: pygame.Surface, r: Rect) -> None:
        self._clear(surf, r)
        state, head, warning = self.banner()
        m = self.app.metrics
        body, small = m.font("body"), m.font("small")
        color = {"online": theme.OK, "sending": theme.WARN}.get(state, theme.TEXT)
        if state == "offline":
            pygame.draw.rect(surf, theme.BANNER, r, border_radius=4)
        if not warning:
            label(surf, head, r.center, body, color, "center", r.w - 8)
            return
        label(surf, head, (r.centerx, r.centery + 1), body, color, "midbottom", r.w - 8)
        label(surf, warning, (r.centerx, r.centery + 1), small, theme.TEXT if state == "offline" else theme.WARN,
              "midtop", r.w - 8)

    def _clock_key(self) -> int:
        return int(self.app.clock.now().timestamp() // 60)  # the minute, without formatting a time every frame

    def _draw_clock(self, surf: pygame.Surface, r: Rect) -> None:
        self._clear(surf, r)
        label(surf, self.app.local_now().strftime("%H:%M"), r.center, self.app.metrics.font("label"), theme.TEXT,
              "center")
