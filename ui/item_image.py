"""Item pictures on screen (docs/item-images.md): decoded lazily on the UI thread, scaled to fit, kept in a small LRU.

The register hands the picture's bytes (`RegisterApi.item_image`, from the device's image cache, hash-checked);
this module turns them into a surface once per size and draws a plain placeholder when there is none or it does
not decode. Pictures are small (at most 256 KiB, at most 1024 px a side: bigger ones are refused), so one decode
costs a few milliseconds, once.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from firmware.contract.images import ItemImage
from ui import theme
from ui.widgets import draw_panel, label

if TYPE_CHECKING:
    from ui.app import App

__all__ = ["ImageShelf", "MAX_SIDE", "draw_item_image"]

MAX_SIDE = ItemImage.MAX_SIDE  # a picture wider or taller than this is not shown (a decoding bomb guard)
KEEP = 24  # decoded surfaces kept (per picture and size)


class ImageShelf:
    """Decoded, scaled pictures by (sha256, w, h); a picture that failed to decode is remembered as such."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._surfaces: OrderedDict[tuple[str, int, int], pygame.Surface | None] = OrderedDict()

    def get(self, app: App, sha256: str, size: tuple[int, int]) -> pygame.Surface | None:
        key = (sha256, size[0], size[1])
        if key in self._surfaces:
            self._surfaces.move_to_end(key)
            return self._surfaces[key]
        surface = self._decode(app, sha256, size)
        self._surfaces[key] = surface
        while len(self._surfaces) > self.keep:
            self._surfaces.popitem(last=False)
        return surface

    @staticmethod
    def _decode(app: App, sha256: str, size: tuple[int, int]) -> pygame.Surface | None:
        data = app.register.item_image(sha256)
        if not data:
            return None
        try:
            image = pygame.image.load(io.BytesIO(data))
        except (pygame.error, ValueError, OSError):
            return None
        w, h = image.get_size()
        if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
            return None
        scale = min(size[0] / w, size[1] / h)
        target = (max(1, int(w * scale)), max(1, int(h * scale)))
        return pygame.transform.smoothscale(image.convert_alpha() if pygame.display.get_surface() else image,
                                            target)


def draw_item_image(app: App, surf: pygame.Surface, rect: Rect, sha256: str) -> bool:
    """The item's picture scaled to fit `rect` (centred on a light panel), or a plain "No picture" placeholder;
    True when a picture was drawn."""
    draw_panel(surf, rect, theme.PANEL_LIGHT)
    shelf: ImageShelf | None = getattr(app, "image_shelf", None)
    if shelf is None:
        shelf = ImageShelf()
        app.image_shelf = shelf  # type: ignore[attr-defined]  # one per app, made on first use
    picture = shelf.get(app, sha256, (rect.w - 8, rect.h - 8)) if sha256 else None
    if picture is None:
        label(surf, "No picture", rect.center, app.metrics.font("small"), theme.MUTED, "center", rect.w - 8)
        return False
    surf.blit(picture, picture.get_rect(center=rect.center))
    return True
