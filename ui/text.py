"""Fonts and an LRU cache of rendered text surfaces (rendering text is the costly part of a frame)."""

from __future__ import annotations

from collections import OrderedDict

import pygame

from ui.theme import Color

_fonts: dict[int, pygame.font.Font] = {}


def font(size: int) -> pygame.font.Font:
    """pygame's bundled default font (freesansbold) at `size` px; no files from the network."""
    f = _fonts.get(size)
    if f is None:
        if not pygame.font.get_init():
            pygame.font.init()
        f = _fonts[size] = pygame.font.Font(None, size)
    return f


class TextCache:
    """Rendered text surfaces keyed by (text, size, colour), least recently used evicted."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int, Color], pygame.Surface] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def render(self, text: str, size: int, color: Color) -> pygame.Surface:
        key = (text, size, color)
        surf = self._items.get(key)
        if surf is not None:
            self.hits += 1
            self._items.move_to_end(key)
            return surf
        self.misses += 1
        surf = font(size).render(text, True, color)
        self._items[key] = surf
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return surf

    def fit(self, text: str, size: int, color: Color, width: int) -> pygame.Surface:
        """Render `text`, shrinking then ellipsising until it fits in `width` px."""
        surf = self.render(text, size, color)
        if surf.get_width() <= width:
            return surf
        smaller = max(12, int(size * 0.8))
        surf = self.render(text, smaller, color)
        if surf.get_width() <= width:
            return surf
        lo, hi = 0, len(text)
        while lo < hi:  # longest prefix that fits with an ellipsis
            mid = (lo + hi + 1) // 2
            if font(smaller).size(text[:mid] + "…")[0] <= width:
                lo = mid
            else:
                hi = mid - 1
        return self.render(text[:lo] + "…", smaller, color)


TEXT = TextCache()


def wrap(text: str, size: int, width: int) -> list[str]:
    """Split `text` into lines no wider than `width` px at `size`."""
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}".strip()
            if line and font(size).size(trial)[0] > width:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return out
