"""Non-blocking notices: a toast at the top of the screen that fades by itself; taps go through it.

Errors and news that need no decision are said here instead of in a dialog
that has to be tapped away: the cashier keeps scanning while it shows. One
toast at a time; a new one replaces it (a toast with the same title takes the
new words, so "Exporting ..." turns into "120 receipts exported to ...").
A refused scan is its own level with its own sound (`ui.sound.Tone.scan_error`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame
from pygame import Rect

from ui import theme
from ui.text import TEXT, clamp_lines

LEVELS = ("info", "error", "scan")
FADE = 0.6  # seconds of fading at the end
MAX_LINES = 3


@dataclass
class Toast:
    text: str
    title: str
    level: str
    shown_at: float
    seconds: float
    serial: int


def duration(text: str, level: str) -> float:
    """Long enough to read at arm's length: 3 s plus a little per word, errors a bit longer, at most 9 s."""
    base = 3.5 if level == "info" else 4.5
    return min(9.0, base + 0.25 * len(text.split()))


class Toasts:
    """The toast now showing (if any) and how opaque it is; `App` draws it over every layer."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._now = monotonic
        self._toast: Toast | None = None
        self._serial = 0
        self.rect: Rect | None = None  # where it was last drawn (tap target, and what to repaint when it goes)
        self.history: list[Toast] = []  # every toast shown (tests read what was said)

    def show(self, text: str, title: str = "", level: str = "info") -> Toast:
        if level not in LEVELS:
            level = "info"
        now = self._now()
        old = self._toast
        if old is not None and self.current is not None and title and old.title == title:
            old.text, old.level, old.shown_at, old.seconds = text, level, now, duration(text, level)
            self._serial += 1
            old.serial = self._serial
            self.history.append(old)
            return old
        self._serial += 1
        self._toast = Toast(text, title, level, now, duration(text, level), self._serial)
        self.history.append(self._toast)
        return self._toast

    @property
    def current(self) -> Toast | None:
        t = self._toast
        if t is not None and self._now() - t.shown_at >= t.seconds:
            self._toast = t = None
        return t

    def dismiss(self) -> None:
        self._toast = None

    def alpha(self) -> int:
        """255 while it shows, falling to 0 over the last FADE seconds (in 5 steps: a few repaints, not 36)."""
        t = self.current
        if t is None:
            return 0
        left = t.seconds - (self._now() - t.shown_at)
        if left >= FADE:
            return 255
        return max(0, int(255 * (int(left / FADE * 5) + 1) / 6))

    def key(self) -> object:
        t = self.current
        return None if t is None else (t.serial, self.alpha())

    def layout(self, text: str, title: str, area: Rect, size: int) -> tuple[Rect, list[str]]:
        """The toast's rect (centred at the top of `area`) and its lines."""
        width = area.w
        pad = max(10, size // 2)
        lines = clamp_lines(text, size, width - 2 * pad, MAX_LINES)
        if title:
            lines = [title] + lines
        w = max(TEXT.render(line, size, theme.TEXT).get_width() for line in lines) + 2 * pad
        h = len(lines) * (size + size // 4) + 2 * pad - size // 4
        rect = Rect(0, area.y, min(width, max(w, area.w // 2)), max(theme.MIN_BUTTON, h))
        rect.centerx = area.centerx
        return rect, lines

    def draw(self, surf: pygame.Surface, area: Rect, size: int) -> Rect | None:
        """Paint the toast (at its current opacity) at the top of `area`; returns its rect, None when none shows.

        Taps go through it to what is under it: it only says something, and it goes by itself.
        """
        t = self.current
        if t is None:
            self.rect = None
            return None
        rect, lines = self.layout(t.text, t.title, area, size)
        fill = theme.NOTICE_FILL if t.level == "info" else theme.ERROR_FILL
        layer = pygame.Surface(rect.size, pygame.SRCALPHA)
        local = layer.get_rect()
        pygame.draw.rect(layer, (*fill, 255), local, border_radius=10)
        pygame.draw.rect(layer, (*theme.TEXT, 255), local, width=2, border_radius=10)
        pad = max(10, size // 2)
        y = pad
        for line in lines:
            s = TEXT.render(line, size, theme.TEXT)
            layer.blit(s, s.get_rect(centerx=local.centerx, y=y))
            y += size + size // 4
        layer.set_alpha(self.alpha())
        surf.blit(layer, rect)
        self.rect = rect
        return rect
