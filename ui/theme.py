"""Colours, type sizes and spacing of the register screen, scaled from the 800x480 design size."""

from __future__ import annotations

from dataclasses import dataclass

Color = tuple[int, int, int]

BG: Color = (18, 22, 28)
PANEL: Color = (34, 40, 50)
PANEL_LIGHT: Color = (48, 56, 70)
TEXT: Color = (245, 247, 250)
MUTED: Color = (170, 180, 195)
ACCENT: Color = (255, 200, 40)
OK: Color = (40, 170, 90)
WARN: Color = (235, 150, 20)
ERROR: Color = (215, 45, 45)
BANNER: Color = (200, 30, 30)
SELECT: Color = (40, 90, 160)
FLASH: Color = (60, 140, 70)
DIM: tuple[int, int, int, int] = (0, 0, 0, 170)

# button styles: (fill, text)
STYLES: dict[str, tuple[Color, Color]] = {
    "key": ((62, 72, 90), TEXT),
    "normal": ((52, 96, 150), TEXT),
    "primary": ((30, 140, 70), TEXT),
    "danger": ((170, 40, 40), TEXT),
    "warn": ((190, 120, 10), TEXT),
    "quiet": ((44, 50, 62), TEXT),
    "selected": ((255, 200, 40), (20, 20, 20)),
    "disabled": ((40, 44, 52), (110, 115, 125)),
}

DESIGN_SIZE = (800, 480)
MIN_BUTTON = 48


@dataclass(frozen=True)
class Metrics:
    """Sizes for one screen resolution; everything scales with `scale`, buttons never below 48 px."""

    width: int
    height: int
    scale: float

    @classmethod
    def for_size(cls, size: tuple[int, int]) -> "Metrics":
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
        base = {"small": 18, "body": 22, "label": 24, "big": 34, "huge": 72, "title": 28}[role]
        return self.px(base)
