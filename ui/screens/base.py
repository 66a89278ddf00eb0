"""What every screen and dialog is: static buttons drawn once, dynamic regions redrawn when their key changes."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import pygame
from pygame import Rect

from ui import theme
from ui.layout import columns, rows
from ui.scroll import RowScroll
from ui.theme import Metrics
from ui.widgets import Button, draw_button, label

if TYPE_CHECKING:
    from firmware.register import RegisterApi
    from ui.app import App


@dataclass
class Region:
    """A part of the screen that changes: redrawn (over the cached background) only when `key()` changes."""

    name: str
    rect: Rect
    key: Callable[[], Hashable]
    draw: Callable[[pygame.Surface, Rect], None]
    # Set for a region that repaints only what changed over its own last drawing: the app then does not clear
    # it before `draw`, except after the background was redrawn, when it clears it and calls `forget()`.
    forget: Callable[[], None] | None = None


@dataclass
class Hot:
    """A tappable area drawn by a region (list rows, stateful buttons)."""

    rect: Rect
    action: Callable[[], None]
    id: str = ""


def page_column(surf: pygame.Surface, r: Rect, scroll: RowScroll, m: Metrics, prefix: str, button_h: int, *,
                position: bool = True) -> tuple[Rect, list[Hot]]:
    """A list longer than `r` holds: a column at its right with Up and Down (ids `{prefix}:up`, `{prefix}:down`)
    and, between them, where the list is ("4-9" over "of 15"). Returns the rect left for the rows and the
    buttons' hot spots; when the list fits, `r` whole and none."""
    if scroll.count <= scroll.per_page:
        return r, []
    g = m.gap
    body, side = columns(r, [1, -max(theme.MIN_BUTTON + 8, m.px(64))], g)
    up, pos, down = rows(side, [-button_h, 1, -button_h], g)
    hots = []
    for rect, text, step, hid in ((up, "Up", -1, f"{prefix}:up"), (down, "Down", 1, f"{prefix}:down")):
        draw_button(surf, rect, text, "quiet", m.font("body"))
        hots.append(Hot(rect, partial(scroll.page, step), hid))
    if position:
        span, _, total = scroll.more().partition(" of ")
        label(surf, span, pos.center, m.font("small"), theme.MUTED, "midbottom", pos.w)
        label(surf, f"of {total}", pos.center, m.font("small"), theme.MUTED, "midtop", pos.w)
    return body, hots


@dataclass
class Drag:
    """A list that scrolls when dragged: `move(dy)` gets the pixels moved since the last call, `end()` the release."""

    rect: Rect
    move: Callable[[int], object]  # what it returns (RowScroll.drag: moved or not) is not used
    end: Callable[[], None] = lambda: None


@dataclass
class Entry:
    """Digits typed on the keypad or the keyboard; `secret` shows dots, `limit` caps the length."""

    text: str = ""
    limit: int = 12
    secret: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def key(self, k: str) -> None:
        if k == "C":
            self.text = ""
        elif k == "<":
            self.text = self.text[:-1]
        elif len(self.text) < self.limit:
            self.text += k

    def value(self) -> int | None:
        return int(self.text) if self.text.isdigit() else None


class Screen:
    """Base of screens and dialogs. Subclasses build buttons in `layout`, and may draw static art and regions."""

    name = "screen"
    modal = False

    def __init__(self, app: App) -> None:
        self.app = app
        self.m: Metrics = app.metrics
        self.area: Rect = Rect(0, 0, 0, 0)
        self.buttons: list[Button] = []
        self.hot: dict[str, list[Hot]] = {}

    @property
    def reg(self) -> RegisterApi:
        return self.app.register

    @property
    def view(self) -> Any:
        return self.app.view

    def layout(self, area: Rect) -> None:
        """Compute rects and static buttons for `area` (the part of the window below the top bar)."""
        self.area = area
        self.buttons = []

    def draw_static(self, surf: pygame.Surface) -> None:
        """Paint what never changes while the screen is up (panels, captions); buttons are drawn after."""

    def regions(self) -> list[Region]:
        return []

    def drags(self) -> list[Drag]:
        """Areas that scroll when a finger or the mouse drags in them (lists); none by default."""
        return []

    def on_enter(self) -> None:
        """Called when the screen becomes the visible one."""

    def on_key(self, key: int, char: str) -> bool:
        """A key from the physical keyboard; True when handled."""
        return False

    def on_view(self) -> None:
        """The register's view changed without a command from this screen (a journal writer's or sync's event
        came in: `App.refresh`); called on the top layer only. Nothing by default."""

    def on_scan(self, code: str) -> None:
        """A keyboard-wedge scan while this screen is up; the default sells it."""
        self.app.scan(code)

    def hit(self, pos: tuple[int, int]) -> tuple[str, Callable[[], None], Rect] | None:
        for hots in self.hot.values():
            for h in hots:
                if h.rect.collidepoint(pos):
                    return h.id, h.action, h.rect
        for b in self.buttons:
            if b.enabled and b.action and b.rect.collidepoint(pos):
                return b.id, b.action, b.rect
        return None

    def set_hot(self, region: str, hots: list[Hot]) -> None:
        self.hot[region] = hots
