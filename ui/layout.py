"""Rectangle arithmetic: screens split their area by fractions and grids, so every size lays out."""

from __future__ import annotations

from collections.abc import Sequence

from pygame import Rect


def inset(rect: Rect, gap: int) -> Rect:
    return Rect(rect.x + gap, rect.y + gap, max(0, rect.w - 2 * gap), max(0, rect.h - 2 * gap))


def columns(rect: Rect, weights: Sequence[float], gap: int) -> list[Rect]:
    """Split `rect` left to right in proportion to `weights`, `gap` px between parts."""
    return _split(rect, weights, gap, horizontal=True)


def rows(rect: Rect, weights: Sequence[float], gap: int) -> list[Rect]:
    """Split `rect` top to bottom in proportion to `weights`; a negative weight is a fixed height in px."""
    return _split(rect, weights, gap, horizontal=False)


def _split(rect: Rect, weights: Sequence[float], gap: int, horizontal: bool) -> list[Rect]:
    total = rect.w if horizontal else rect.h
    fixed = sum(-w for w in weights if w < 0)
    free = max(0, total - gap * (len(weights) - 1) - fixed)
    share = sum(w for w in weights if w > 0) or 1
    sizes = [int(-w) if w < 0 else int(free * w / share) for w in weights]
    flex = [i for i, w in enumerate(weights) if w > 0]
    sizes[flex[-1] if flex else -1] += total - gap * (len(weights) - 1) - sum(sizes)  # rounding remainder
    out: list[Rect] = []
    pos = rect.x if horizontal else rect.y
    for size in sizes:
        out.append(Rect(pos, rect.y, size, rect.h) if horizontal else Rect(rect.x, pos, rect.w, size))
        pos += size + gap
    return out

def grid(rect: Rect, n_rows: int, n_cols: int, gap: int) -> list[Rect]:
    """Cells of an n_rows x n_cols grid, row by row."""
    cells: list[Rect] = []
    for r in rows(rect, [1] * n_rows, gap):
        cells.extend(columns(r, [1] * n_cols, gap))
    return cells
