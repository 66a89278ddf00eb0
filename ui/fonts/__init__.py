"""The UI's font, shipped with the package so every glyph the screens show is there (no system fonts needed).

`DejaVuSansCondensed-Bold.ttf` is DejaVu Sans Condensed Bold 2.37 as Debian's
fonts-dejavu-core ships it (Bitstream Vera licence, public-domain DejaVu
changes: `LICENSE-DejaVu.txt`). It carries ● € £ ¥ ✓ − … “ ” · and the arrows
the screens use; `tests/ui/test_ui_glyphs.py` proves it for every UI string.
"""

from __future__ import annotations

from pathlib import Path

FONT_PATH = Path(__file__).with_name("DejaVuSansCondensed-Bold.ttf")
LICENSE_PATH = Path(__file__).with_name("LICENSE-DejaVu.txt")

__all__ = ["FONT_PATH", "LICENSE_PATH"]
