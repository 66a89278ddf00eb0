"""Colours, type sizes and spacing of the register screen, scaled from the 800x480 design size.

Legibility at arm's length is a rule here, checked by tests/ui/test_ui_legibility.py:
every text colour reaches WCAG AA (4.5:1) on every surface it is drawn on
(`TEXT_COLORS` x `SURFACES`, and each button style's text on its fill), no text
is smaller than `MIN_TEXT` px, and nothing tappable is under `MIN_BUTTON` px.
"""

from __future__ import annotations

from dataclasses import dataclass

Color = tuple[int, int, int]

BG: Color = (18, 22, 28)
PANEL: Color = (34, 40, 50)
PANEL_LIGHT: Color = (48, 56, 70)
TOPBAR: Color = (8, 10, 14)
TEXT: Color = (245, 247, 250)
MUTED: Color = (180, 190, 204)
ACCENT: Color = (255, 200, 40)
OK: Color = (80, 205, 120)
WARN: Color = (240, 160, 40)
ERROR: Color = (255, 140, 130)  # error *text* on the dark surfaces
ERROR_FILL: Color = (185, 35, 35)  # an error bar or toast behind TEXT
BANNER: Color = (185, 30, 30)  # the OFFLINE banner behind TEXT
NOTICE_FILL: Color = (34, 84, 140)  # an info toast behind TEXT
SELECT: Color = (24, 52, 100)
FLASH: Color = (18, 74, 36)
DIM: tuple[int, int, int, int] = (0, 0, 0, 170)

# text colours and the surfaces they are drawn on (the contrast test checks every pair)
TEXT_COLORS: dict[str, Color] = {"TEXT": TEXT, "MUTED": MUTED, "ACCENT": ACCENT, "OK": OK, "WARN": WARN, "ERROR": ERROR}
SURFACES: dict[str, Color] = {"BG": BG, "PANEL": PANEL, "PANEL_LIGHT": PANEL_LIGHT, "TOPBAR": TOPBAR,
                              "SELECT": SELECT, "FLASH": FLASH}
FILLS_UNDER_TEXT: dict[str, Color] = {"BANNER": BANNER, "ERROR_FILL": ERROR_FILL, "NOTICE_FILL": NOTICE_FILL}

# button styles: (fill, text)
STYLES: dict[str, tuple[Color, Color]] = {
    "key": ((62, 72, 90), TEXT),
    "normal": ((46, 88, 142), TEXT),
    "primary": ((24, 118, 58), TEXT),
    "danger": ((170, 40, 40), TEXT),
    "warn": ((200, 130, 20), (20, 20, 20)),
    "quiet": ((44, 50, 62), TEXT),
    "selected": ((255, 200, 40), (20, 20, 20)),
    "disabled": ((40, 44, 52), (150, 156, 166)),
}

DESIGN_SIZE = (800, 480)
MIN_BUTTON = 48
MIN_TEXT = 16


def luminance(c: Color) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = c
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21); text needs 4.5 (AA)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class Metrics:
    """Sizes for one screen resolution; everything scales with `scale`, buttons never below 48 px, text never
    below 16 px."""

    width: int
    height: int
    scale: float

    @classmethod
    def for_size(cls, size: tuple[int, int]) -> Metrics:
        w, h = size
        return cls(w, h, min(w / DESIGN_SIZE[0], h / DESIGN_SIZE[1]))

    def px(self, value: float) -> int:
        return max(1, round(value * self.scale))

    @property
    def gap(self) -> int:
        return self.px(6)

    @property
    def bar(self) -> int:
        return max(self.px(52), 52)

    @property
    def row(self) -> int:
        """Height of a tappable list row or button."""
        return max(self.px(50), MIN_BUTTON)

    def font(self, role: str) -> int:
        """The text size of `role` in px (the font's em size): small 16, body 18, label 20, title 24 at 800x480."""
        base = {"small": 16, "body": 18, "label": 20, "big": 30, "huge": 60, "title": 24}[role]
        return max(MIN_TEXT, self.px(base))
