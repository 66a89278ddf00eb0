"""Buttons, labels and lists drawn with pygame primitives and the text cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pygame
from pygame import Rect

from ui import theme
from ui.text import TEXT, clamp_lines, wrap

Action = Callable[[], None]


@dataclass
class Button:
    """A tappable rectangle; `action` runs when a press is released inside it."""

    id: str
    rect: Rect
    label: str
    action: Action | None = None
    style: str = "normal"
    size: int = 24
    enabled: bool = True

    def draw(self, surf: pygame.Surface) -> None:
        draw_button(surf, self.rect, self.label, self.style if self.enabled else "disabled", self.size)


def draw_button(surf: pygame.Surface, rect: Rect, label: str, style: str, size: int) -> None:
    """A filled rounded button with its label centred; a label too wide for one line is wrapped onto as many
    lines as fit the button's height before anything is shrunk or cut."""
    fill, fg = theme.STYLES.get(style, theme.STYLES["normal"])
    radius = max(4, rect.h // 8)
    pygame.draw.rect(surf, fill, rect, border_radius=radius)
    lines = button_lines(label, size, rect.w - 6, rect.h - 4)
    rendered = [TEXT.fit(line, size, fg, rect.w - 6) for line in lines]
    total = sum(r.get_height() for r in rendered)
    y = rect.centery - total // 2
    for r in rendered:
        surf.blit(r, r.get_rect(centerx=rect.centerx, y=y))
        y += r.get_height()


def button_lines(label: str, size: int, width: int, height: int) -> list[str]:
    """The label's lines ("\n" splits): each too wide one wrapped at spaces while the lines still fit `height`."""
    from ui.text import font

    lines = label.split("\n")
    line_h = font(size).get_linesize()
    out: list[str] = []
    for i, line in enumerate(lines):
        left = max(1, height // line_h - len(out) - (len(lines) - i - 1))
        parts = wrap(line, size, width) if font(size).size(line)[0] > width else [line]
        if len(parts) > left:
            parts = parts[: left - 1] + [" ".join(parts[left - 1:])]
        out += parts
    return out


def draw_panel(surf: pygame.Surface, rect: Rect, color: theme.Color = theme.PANEL) -> None:
    pygame.draw.rect(surf, color, rect, border_radius=6)


def label(surf: pygame.Surface, text: str, pos: tuple[int, int], size: int,
          color: theme.Color = theme.TEXT, anchor: str = "topleft", width: int | None = None) -> Rect:
    """Draw one line of text anchored at `pos` (any pygame Rect anchor); returns its rect."""
    s = TEXT.fit(text, size, color, width) if width else TEXT.render(text, size, color)
    r = s.get_rect(**{anchor: pos})
    surf.blit(s, r)
    return r


def paragraph(surf: pygame.Surface, text: str, rect: Rect, size: int,
              color: theme.Color = theme.TEXT, center: bool = False) -> int:
    """Draw wrapped text inside `rect`; returns the y below the last line."""
    y = rect.y
    for line in wrap(text, size, rect.w):
        if y + size > rect.bottom:
            break
        s = TEXT.render(line, size, color)
        surf.blit(s, s.get_rect(centerx=rect.centerx, y=y) if center else (rect.x, y))
        y += s.get_height() + 2
    return y


def keypad(rect: Rect, gap: int, on_key: Callable[[str], None], size: int,
           keys: str = "789456123C0<", prefix: str = "key") -> list[Button]:
    """A 4x3 numeric keypad; 'C' clears, '<' deletes one digit, others are typed."""
    from ui.layout import grid

    labels = {"C": "Clear", "<": "Del", "00": "00"}
    out = []
    for cell, k in zip(grid(rect, 4, 3, gap), keys, strict=False):  # `keys` is the caller's, not the grid's
        out.append(Button(f"{prefix}:{k}", cell, labels.get(k, k), partial(on_key, k), "key", size))
    return out


def pin_dots(n: int) -> str:
    """One dot per PIN digit typed ("● ● ●"): the shipped font has the glyph (ui/fonts)."""
    return " ".join("●" * n)


def label_lines(surf: pygame.Surface, text: str, pos: tuple[int, int], size: int, color: theme.Color, width: int,
                max_lines: int = 2, leading: int = 2) -> int:
    """Draw `text` at `pos` (top left) wrapped onto up to `max_lines` lines at `size`; returns the y below it."""
    x, y = pos
    for i, line in enumerate(clamp_lines(text, size, width, max_lines)):
        s = TEXT.render(line, size, color)
        surf.blit(s, (x, y + leading * (i > 0)))
        y += s.get_height() + leading * (i > 0)
    return y
