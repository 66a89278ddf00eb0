"""A compact on-screen keyboard for short texts (an e-mail address, a customer code): rows of keys, then a bottom row.

The item search has its own letters-only keyboard (ui/screens/search.py); this one types what an address needs
(digits, lower-case letters, "@", ".", "-", "_", "+", ".com") or a code (digits, capitals). Every key is a
`Button` whose id is `{prefix}:{text}` ("kbd:a", "kbd:@", "kbd:.com"), so tests and the real-window driver tap
keys by what they type; "kbd:del" and "kbd:clear" edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from pygame import Rect

from ui.layout import columns, rows
from ui.widgets import Button


@dataclass(frozen=True)
class KeyLayout:
    """Rows of single-character keys (each row a string) and the extra keys that start the bottom row."""

    rows: tuple[str, ...]
    extras: tuple[str, ...] = ()

    def allows(self, ch: str) -> bool:
        """`ch` can be typed on this keyboard (a physical keyboard types only what the screen's could)."""
        return any(ch in row for row in self.rows) or ch in self.extras


EMAIL = KeyLayout(("1234567890", "qwertyuiop", "asdfghjkl@", "zxcvbnm.-_"), ("+", ".com", ".de"))
CODE = KeyLayout(("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM"))

PREFIX = "kbd"


def keyboard_height(n_rows: int, key_h: int, gap: int) -> int:
    """The height of `n_rows` rows of keys `key_h` high, `gap` apart."""
    return n_rows * key_h + (n_rows - 1) * gap


def keyboard(rect: Rect, gap: int, layout: KeyLayout, type_key: Callable[[str], None], edit: Callable[[str], None],
             size: int, tail: Sequence[Button] = (), tail_weights: Sequence[float] = ()) -> list[Button]:
    """The keys of `layout` in `rect`: its rows, then a bottom row of its extras, Del, Clear and `tail` (the
    dialog's own Cancel and OK, re-placed here with `tail_weights`). Every row's keys are as wide as those of the
    longest row, centred."""
    key_rows = rows(rect, [1] * (len(layout.rows) + 1), gap)
    widest = max(len(r) for r in layout.rows)
    w = (rect.w - (widest - 1) * gap) // widest
    out: list[Button] = []
    for r, letters in zip(key_rows, layout.rows, strict=False):
        x = r.x + (r.w - (len(letters) * (w + gap) - gap)) // 2
        for ch in letters:
            out.append(Button(f"{PREFIX}:{ch}", Rect(x, r.y, w, r.h), ch, partial(type_key, ch), "key", size))
            x += w + gap
    weights = [1.0] * len(layout.extras) + [1.3, 1.3] + list(tail_weights)
    cells = columns(key_rows[-1], weights, gap)
    for ch, cell in zip(layout.extras, cells, strict=False):  # a space key reads "Space" ("kbd:space")
        out.append(Button(f"{PREFIX}:{'space' if ch == ' ' else ch}", cell, "Space" if ch == " " else ch,
                          partial(type_key, ch), "key", size))
    n = len(layout.extras)
    out.append(Button(f"{PREFIX}:del", cells[n], "Del", partial(edit, "<"), "key", size))
    out.append(Button(f"{PREFIX}:clear", cells[n + 1], "Clear", partial(edit, "C"), "key", size))
    for button, cell in zip(tail, cells[n + 2:], strict=True):
        button.rect = cell
        out.append(button)
    return out


__all__ = ["CODE", "EMAIL", "KeyLayout", "PREFIX", "keyboard", "keyboard_height"]
