"""Drawing: the static part of a screen once into a background surface, then only the regions whose key changed."""

from __future__ import annotations

import os
from collections.abc import Hashable
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from ui import theme
from ui.screens.base import Region, Screen

if TYPE_CHECKING:
    from ui.app import App

MISSING = object()


class Renderer:
    """Mixin of `App`: `_bg` holds the static screen, `_keys` the key each region was last drawn with."""

    _keys: dict[str, Hashable | object]

    @property
    def background(self: "App") -> pygame.Surface:  # type: ignore[misc]
        """The static screen under the regions (incremental regions clear their own parts from it)."""
        return self._bg

    def _invalidate(self: "App", rect: Rect) -> None:  # type: ignore[misc]
        """Take the press highlight off `rect`: background back, regions under it redrawn."""
        self.display.blit(self._bg, rect, rect)
        for r in self._regions:
            if r.rect.colliderect(rect):
                self._keys[r.name] = MISSING
        self._dirty_extra = rect if self._dirty_extra is None else self._dirty_extra.union(rect)

    def toast_area(self: "App") -> Rect:  # type: ignore[misc]
        """Where a toast goes: a screen's `toast_area()` (the sell screen: over the cart, clear of its keys), else
        the top of the body, centred."""
        area = getattr(self.current, "toast_area", None)
        if area is not None and not self.dialogs:
            return area()
        m = self.metrics
        w = int(self.size[0] * 0.8)
        return Rect((self.size[0] - w) // 2, m.bar + m.gap * 2, w, self.size[1] - m.bar)

    def _erase_toast(self: "App") -> Rect | None:  # type: ignore[misc]
        """Repaint what the toast covered (background, then the regions under it); returns that rect."""
        rect = self.toasts.rect
        if rect is None:
            return None
        self.toasts.rect = None
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

    def _build_background(self: "App", layer: Screen) -> None:  # type: ignore[misc]
        bg = self._bg
        if layer.modal:
            self._erase_toast()  # a toast is drawn over the layers, never into a dialog's snapshot of them
            bg.blit(self.display, (0, 0))  # the screen below, dimmed
            shade = pygame.Surface((self.size[0], self.size[1] - self.metrics.bar), pygame.SRCALPHA)
            shade.fill(theme.DIM)
            bg.blit(shade, (0, self.metrics.bar))
        else:
            bg.fill(theme.BG)
            self.topbar.layout(layer.name, self.view.clerk is not None)
            self.topbar.draw_static(bg)
        layer.draw_static(bg)
        for b in layer.buttons:
            b.draw(bg)

    def _render(self: "App") -> list[Rect]:  # type: ignore[misc]
        layer = self._layer
        if layer is None:
            return []
        dirty: list[Rect] = []
        full = self._full
        if full:
            self._full = False
            self._build_background(layer)
            self.display.blit(self._bg, (0, 0))
            self._keys.clear()
            dirty.append(self.display.get_rect())
        if self._dirty_extra is not None:
            dirty.append(self._dirty_extra)
            self._dirty_extra = None
        toast_key = self.toasts.key()
        toast_changed = toast_key != self._toast_key
        if full:
            self.toasts.rect = None  # the whole screen was just painted afresh
        if toast_changed:
            self._toast_key = toast_key
            gone = None if full else self._erase_toast()
            if gone is not None:
                dirty.append(gone)
        keys = self._keys
        self._regions = self.topbar.regions() + layer.regions()
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
        covered = self.toasts.rect
        if toast_key is not None and (toast_changed or covered is None or any(d.colliderect(covered) for d in dirty)):
            if not toast_changed and not full:
                self._erase_toast()  # a fading toast is translucent: never blend it over itself
            drawn = self.toasts.draw(self.display, self.toast_area(), self.metrics.font("label"))
            if drawn is not None:
                dirty.append(drawn)
        if self._pressed and (dirty or self._pressed is not self._pressed_drawn):
            self._pressed_drawn = self._pressed
            rect = self._pressed[2]
            pygame.draw.rect(self.display, theme.ACCENT, rect, width=max(3, self.metrics.px(3)), border_radius=6)
            dirty.append(rect)
        if dirty:
            pygame.display.update(dirty)
        return dirty

    def save(self: "App", path: str | os.PathLike[str]) -> None:  # type: ignore[misc]
        """Write what is on screen now to a PNG."""
        pygame.image.save(self.display, os.fspath(path))


__all__ = ["Renderer", "Region", "MISSING"]
