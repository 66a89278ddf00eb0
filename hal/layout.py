"""The printer's layout vocabulary: Text and Code blocks for 32/42/48 columns, and their plain-text rendering (pure).

The printer takes blocks, as python-escpos takes text and codes: what a
receipt says (money, dates, which lines) is decided by the firmware
(firmware/printout.py), which hands the printer finished text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

DOTS_PER_COLUMN = 12  # font A: 32 columns = 384 dots (58 mm), 48 columns = 576 dots (80 mm)


@dataclass(frozen=True)
class Text:
    """One printed line, never wider than the paper."""

    text: str
    align: str = "left"
    bold: bool = False
    tall: bool = False  # double height: keeps the width, so the column count holds


@dataclass(frozen=True)
class Code:
    """A scannable code of `data`: "code128" when it fits the paper, else "qr"."""

    data: str
    kind: str


Block = Text | Code

__all__ = ["Block", "Code", "DOTS_PER_COLUMN", "Text", "centred", "code_for", "pair", "paired", "plain_lines",
           "render_text", "rule", "wrapped"]


def code_for(data: str, columns: int) -> Code:
    """CODE128 (set B, 2-dot modules) when it fits the paper width, else a QR code."""
    modules = 11 * (len(data) + 2) + 13 + 20  # start, check, stop, quiet zones
    return Code(data, "code128" if data.isascii() and modules * 2 <= columns * DOTS_PER_COLUMN else "qr")


def pair(left: str, right: str, columns: int) -> list[str]:
    """`left` and `right` on one line (right-aligned); a long `left` wraps onto lines above."""
    room = columns - len(right) - 1
    if room < 1:
        return [left[:columns], right.rjust(columns)[-columns:]]
    parts = textwrap.wrap(left, room) or [""]
    return parts[:-1] + [parts[-1].ljust(room) + " " + right]


def rule(columns: int, char: str = "-") -> Text:
    """A line across the paper."""
    return Text(char * columns)


def centred(text: str, columns: int, bold: bool = False, tall: bool = False) -> list[Text]:
    """`text` centred, wrapped to the paper."""
    return [Text(part, "center", bold, tall) for part in (textwrap.wrap(text, columns) or [""])]


def wrapped(text: str, columns: int, bold: bool = False, tall: bool = False) -> list[Text]:
    """`text` left-aligned, wrapped to the paper."""
    return [Text(part, bold=bold, tall=tall) for part in textwrap.wrap(text, columns)]


def paired(left: str, right: str, columns: int, bold: bool = False, tall: bool = False) -> list[Text]:
    """`pair` as blocks: `left` and `right` on one line, `left` wrapping above when long."""
    return [Text(part, bold=bold, tall=tall) for part in pair(left, right, columns)]


def plain_lines(lines: Sequence[str], columns: int, title: str | None = None) -> list[Block]:
    """Report lines as blocks, each wrapped to the paper."""
    out: list[Block] = [*centred(title, columns, bold=True)] if title else []
    for line in lines:
        out.extend(Text(t) for t in (textwrap.wrap(str(line), columns, drop_whitespace=False) or [""]))
    return out


def render_text(blocks: Sequence[Block], columns: int) -> str:
    """The blocks as the plain text a reader would see on paper (the simulated printer's rendering)."""
    out = []
    for block in blocks:
        if isinstance(block, Code):
            label = f"[{block.kind.upper()} {block.data}]"
            out.append(label.center(columns).rstrip() if len(label) <= columns else label)
        elif block.align == "center":
            out.append(block.text.center(columns).rstrip())
        elif block.align == "right":
            out.append(block.text.rjust(columns))
        else:
            out.append(block.text)
    return "\n".join(out) + "\n"
