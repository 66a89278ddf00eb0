"""Fonts and an LRU cache of rendered text surfaces (rendering text is the costly part of a frame).

Every string is drawn in the font shipped in `ui/fonts` (DejaVu Sans Condensed
Bold), loaded by path: pygame's bundled freesansbold lacks ● and friends and
drew PIN dots as empty boxes. Sizes are the font's pixel size (em), never
below `theme.MIN_TEXT` (16 px), also when a long text is shrunk to fit.
"""

from __future__ import annotations

from collections import OrderedDict

import pygame

from ui.fonts import FONT_PATH
from ui.theme import MIN_TEXT, Color

_fonts: dict[int, pygame.font.Font] = {}
# Every (text, size) drawn since start-up or the last `seen.clear()`: the glyph and size tests read it.
seen: set[tuple[str, int]] = set()


def font(size: int) -> pygame.font.Font:
    """The shipped UI font at `size` px (at least MIN_TEXT)."""
    size = max(MIN_TEXT, size)
    f = _fonts.get(size)
    if f is None:
        if not pygame.font.get_init():
            pygame.font.init()
        f = _fonts[size] = pygame.font.Font(str(FONT_PATH), size)
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
        seen.add((text, size))
        surf = font(size).render(text, True, color)
        self._items[key] = surf
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return surf

    def fit(self, text: str, size: int, color: Color, width: int) -> pygame.Surface:
        """Render `text`, shrinking step by step (never below MIN_TEXT) then ellipsising until it fits in `width` px."""
        surf = self.render(text, size, color)
        if surf.get_width() <= width:
            return surf
        smaller = size
        while smaller > MIN_TEXT:
            smaller = max(MIN_TEXT, int(smaller * 0.9))
            if font(smaller).size(text)[0] <= width:
                return self.render(text, smaller, color)
        return self.render(ellipsize(text, smaller, width), smaller, color)


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


def ellipsize(text: str, size: int, width: int) -> str:
    """`text`, or its longest prefix that fits in `width` px at `size` with an ellipsis after it."""
    f = font(size)
    if f.size(text)[0] <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if f.size(text[:mid].rstrip() + "…")[0] <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def clamp_lines(text: str, size: int, width: int, max_lines: int = 2) -> list[str]:
    """`text` wrapped to `width` px at `size` (never shrunk), at most `max_lines` lines, the last ellipsised
    when the text goes on. A word wider than a line (a long device path) is broken where it must be."""
    f = font(size)
    out: list[str] = []
    words = text.split()
    line = ""
    i = 0
    while i < len(words) and len(out) < max_lines:
        word = words[i]
        trial = f"{line} {word}" if line else word
        if f.size(trial)[0] <= width:
            line, i = trial, i + 1
            continue
        if line:  # the word starts the next line
            out.append(line)
            line = ""
            continue
        cut = len(word)  # alone and still too wide: as much of it as fits, the rest on the next line
        while cut > 1 and f.size(word[:cut])[0] > width:
            cut -= 1
        out.append(word[:cut])
        words[i] = word[cut:]
    if line and len(out) < max_lines:
        out.append(line)
        line = ""
    if i < len(words) or line:  # more text than lines: the last line says so
        rest = " ".join([out[-1]] + ([line] if line else []) + words[i:])
        out[-1] = ellipsize(rest, size, width)
    return out
