"""Drawing: the static part of a screen once into a background surface, then only the regions whose key changed."""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable

import pygame
from pygame import Rect

from ui import theme
from ui.pointer import Target
from ui.screens.base import Region, Screen
from ui.toast import Toasts
from ui.topbar import TopBar

MISSING = object()


class Renderer:
    """The App's painter: `background` holds the static screen, `_keys` the key each region was last drawn with."""

    def __init__(self, display: pygame.Surface, topbar: TopBar, toasts: Toasts, metrics: theme.Metrics) -> None:
        self.display = display
        self.size = display.get_size()
        self._topbar = topbar
        self._toasts = toasts
        self._metrics = metrics
        self._bg = pygame.Surface(self.size)
        self._keys: dict[str, Hashable | object] = {}
        self._full = True
        self._regions: list[Region] = []
        self._dirty_extra: Rect | None = None
        self._pressed_drawn: object = None
        self._toast_key: object = None

    @property
    def background(self) -> pygame.Surface:
        """The static screen under the regions (incremental regions clear their own parts from it)."""
        return self._bg

    def redraw(self) -> None:
        """Paint the whole screen from scratch on the next frame."""
        self._full = True

    def invalidate(self, rect: Rect) -> None:
        """Take the press highlight off `rect`: background back, regions under it redrawn."""
        self.display.blit(self._bg, rect, rect)
        for r in self._regions:
            if r.rect.colliderect(rect):
                self._keys[r.name] = MISSING
        self._dirty_extra = rect if self._dirty_extra is None else self._dirty_extra.union(rect)

    def _erase_toast(self) -> Rect | None:
        """Repaint what the toast covered (background, then the regions under it); returns that rect."""
        rect = self._toasts.rect
        if rect is None:
            return None
        self._toasts.rect = None
        self.display.blit(self._bg, rect, rect)
        for r in self._regions:
            if r.rect.colliderect(rect):
                self.display.set_clip(r.rect)
                try:
                    self.display.blit(self._bg, r.rect, r.rect)
                    if r.forget is not None:
                        r.forget()
                    r.draw(self.display, r.rect)
                finally:
                    self.display.set_clip(None)
        return rect

    def _build_background(self, layer: Screen, logged_in: bool) -> None:
        bg = self._bg
        if layer.modal:
            self._erase_toast()  # a toast is drawn over the layers, never into a dialog's snapshot of them
            bg.blit(self.display, (0, 0))  # the screen below, dimmed
            shade = pygame.Surface((self.size[0], self.size[1] - self._metrics.bar), pygame.SRCALPHA)
            shade.fill(theme.DIM)
            bg.blit(shade, (0, self._metrics.bar))
        else:
            bg.fill(theme.BG)
            self._topbar.layout(layer.name, logged_in)
            self._topbar.draw_static(bg)
        layer.draw_static(bg)
        for b in layer.buttons:
            b.draw(bg)

    def render(self, layer: Screen | None, *, pressed: Target | None, logged_in: Callable[[], bool],
               toast_area: Callable[[], Rect]) -> list[Rect]:
        """Draw one frame of `layer` (and the top bar, the toast, the press highlight); returns the dirty rects."""
        if layer is None:
            return []
        dirty: list[Rect] = []
        full = self._full
        if full:
            self._full = False
            self._build_background(layer, logged_in())
            self.display.blit(self._bg, (0, 0))
            self._keys.clear()
            dirty.append(self.display.get_rect())
        if self._dirty_extra is not None:
            dirty.append(self._dirty_extra)
            self._dirty_extra = None
        toasts = self._toasts
        toast_key = toasts.key()
        toast_changed = toast_key != self._toast_key
        if full:
            toasts.rect = None  # the whole screen was just painted afresh
        if toast_changed:
            self._toast_key = toast_key
            gone = None if full else self._erase_toast()
            if gone is not None:
                dirty.append(gone)
        keys = self._keys
        self._regions = self._topbar.regions() + layer.regions()
        for r in self._regions:
            k = r.key()
            before = keys.get(r.name, MISSING)
            if before == k:
                continue
            keys[r.name] = k
            self.display.set_clip(r.rect)
            if r.forget is None or before is MISSING:
                self.display.blit(self._bg, r.rect, r.rect)
                if r.forget is not None:
                    r.forget()
            try:
                r.draw(self.display, r.rect)
            finally:
                self.display.set_clip(None)
            dirty.append(r.rect)
        covered = toasts.rect
        if toast_key is not None and (toast_changed or covered is None or any(d.colliderect(covered) for d in dirty)):
            if not toast_changed and not full:
                self._erase_toast()  # a fading toast is translucent: never blend it over itself
            drawn = toasts.draw(self.display, toast_area(), self._metrics.font("label"))
            if drawn is not None:
                dirty.append(drawn)
        if pressed and (dirty or pressed is not self._pressed_drawn):
            self._pressed_drawn = pressed
            rect = pressed[2]
            pygame.draw.rect(self.display, theme.ACCENT, rect, width=max(3, self._metrics.px(3)), border_radius=6)
            dirty.append(rect)
        if dirty:
            pygame.display.update(dirty)
        return dirty

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write what is on screen now to a PNG."""
        pygame.image.save(self.display, os.fspath(path))


__all__ = ["MISSING", "Region", "Renderer"]
