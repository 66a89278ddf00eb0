"""Input routing: a tap runs what is under the finger on release, a drag scrolls a list, keys and scans go to the top layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame
from pygame import Rect

from ui.input import KeyPress, PointerDown, PointerMove, PointerUp, Scan, UiEvent
from ui.screens.base import Drag

if TYPE_CHECKING:
    from ui.app import App

Target = tuple[str, Callable[[], None], Rect]


class PointerRouting:
    """Mixin of `App`. A press is held in `_pressed` until release; moving further than a small slop
    inside a scrollable list turns it into a drag, and then the release taps nothing."""

    def _handle(self: "App", ev: UiEvent) -> None:  # type: ignore[misc]
        layer = self._layer or self.current
        if isinstance(ev, PointerDown):
            self._pressed = self._hit(ev.pos)
            self._drag = self._drag_at(ev.pos)
            self._drag_from = self._drag_y = ev.pos[1]
            self._dragging = False
        elif isinstance(ev, PointerMove):
            self._move(ev.pos)
        elif isinstance(ev, PointerUp):
            pressed, self._pressed = self._pressed, None
            drag, dragging, self._drag, self._dragging = self._drag, self._dragging, None, False
            if dragging and drag is not None:
                drag.end()
                return
            if pressed:
                self._invalidate(pressed[2])
                if pressed[2].collidepoint(ev.pos):
                    pressed[1]()
                    self.view = self.register.view()
        elif isinstance(ev, Scan):
            if layer:
                layer.on_scan(ev.code)
        elif isinstance(ev, KeyPress) and layer:
            if not layer.on_key(ev.key, ev.char) and ev.key == pygame.K_ESCAPE and self.dialogs:
                self.pop()

    def _drag_at(self: "App", pos: tuple[int, int]) -> Drag | None:  # type: ignore[misc]
        layer = self._layer
        if layer is None:
            return None
        return next((d for d in layer.drags() if d.rect.collidepoint(pos)), None)

    def _move(self: "App", pos: tuple[int, int]) -> None:  # type: ignore[misc]
        drag = self._drag
        if drag is None:
            return
        if not self._dragging:
            if abs(pos[1] - self._drag_from) < max(10, self.metrics.px(12)):
                return  # a finger never lands perfectly still: small moves are still a tap
            self._dragging = True
            self._drag_y = self._drag_from
            if self._pressed is not None:  # the row under the finger is not tapped after all
                self._invalidate(self._pressed[2])
                self._pressed = None
        dy, self._drag_y = pos[1] - self._drag_y, pos[1]
        if dy:
            drag.move(dy)

    def _hit(self: "App", pos: tuple[int, int]) -> Target | None:  # type: ignore[misc]
        layer = self._layer
        if layer is not None:
            found = layer.hit(pos)
            if found or layer.modal:
                return found
        for b in self.topbar.buttons:
            if b.action and b.rect.collidepoint(pos):
                return b.id, b.action, b.rect
        return None

    def press(self: "App", button_id: str) -> None:  # type: ignore[misc]
        """Run a visible button's action as a tap would (screenshots and scripted demos)."""
        self._route()
        rect = self.buttons().get(button_id)
        if rect is None:
            raise KeyError(f"no button {button_id!r} on {self.wanted()}: {sorted(self.buttons())}")
        found = self._hit(rect.center)
        if found:
            found[1]()
            self.view = self.register.view()

    def buttons(self: "App") -> dict[str, Rect]:  # type: ignore[misc]
        """Every tappable thing on screen now, by id (tests and screenshots find buttons by it)."""
        layer = self._layer
        found: dict[str, Rect] = {}
        if layer is not None:
            found.update({b.id: b.rect for b in layer.buttons if b.enabled and b.action})
            for hots in layer.hot.values():
                found.update({h.id: h.rect for h in hots if h.id})
            if layer.modal:
                return found
        found.update({b.id: b.rect for b in self.topbar.buttons})
        return found
