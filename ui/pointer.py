"""Input routing: a tap runs what is under the finger on release, a drag scrolls a list, keys and scans go to the
top layer."""

from __future__ import annotations

from collections.abc import Callable

import pygame
from pygame import Rect

from ui.input import KeyPress, PointerDown, PointerMove, PointerUp, Scan, UiEvent
from ui.routing import Router
from ui.screens.base import Drag
from ui.theme import Metrics
from ui.topbar import TopBar

Target = tuple[str, Callable[[], None], Rect]


class Pointer:
    """The App's input router. A press is held in `pressed` until release; moving further than a small slop
    inside a scrollable list turns it into a drag, and then the release taps nothing.

    `invalidate(rect)` takes a press highlight off the screen; `tapped()` runs after a tap's action.
    """

    def __init__(self, router: Router, topbar: TopBar, metrics: Metrics, invalidate: Callable[[Rect], None],
                 tapped: Callable[[], None]) -> None:
        self._router = router
        self._topbar = topbar
        self._metrics = metrics
        self._invalidate = invalidate
        self._tapped = tapped
        self.pressed: Target | None = None
        self._drag: Drag | None = None
        self._drag_from = self._drag_y = 0
        self._dragging = False

    def handle(self, ev: UiEvent) -> None:
        router = self._router
        layer = router.layer or router.current
        if isinstance(ev, PointerDown):
            self.pressed = self.hit(ev.pos)
            self._drag = self._drag_at(ev.pos)
            self._drag_from = self._drag_y = ev.pos[1]
            self._dragging = False
        elif isinstance(ev, PointerMove):
            self._move(ev.pos)
        elif isinstance(ev, PointerUp):
            pressed, self.pressed = self.pressed, None
            drag, dragging, self._drag, self._dragging = self._drag, self._dragging, None, False
            if dragging and drag is not None:
                drag.end()
                return
            if pressed:
                self._invalidate(pressed[2])
                if pressed[2].collidepoint(ev.pos):
                    pressed[1]()
                    self._tapped()
        elif isinstance(ev, Scan):
            if layer:
                layer.on_scan(ev.code)
        elif isinstance(ev, KeyPress) and layer:
            if not layer.on_key(ev.key, ev.char) and ev.key == pygame.K_ESCAPE and router.dialogs:
                router.pop()

    def cancel(self) -> None:
        """Forget the press (a screen failed: nothing is tapped on release)."""
        self.pressed = None

    def _drag_at(self, pos: tuple[int, int]) -> Drag | None:
        layer = self._router.layer
        if layer is None:
            return None
        return next((d for d in layer.drags() if d.rect.collidepoint(pos)), None)

    def _move(self, pos: tuple[int, int]) -> None:
        drag = self._drag
        if drag is None:
            return
        if not self._dragging:
            if abs(pos[1] - self._drag_from) < max(10, self._metrics.px(12)):
                return  # a finger never lands perfectly still: small moves are still a tap
            self._dragging = True
            self._drag_y = self._drag_from
            if self.pressed is not None:  # the row under the finger is not tapped after all
                self._invalidate(self.pressed[2])
                self.pressed = None
        dy, self._drag_y = pos[1] - self._drag_y, pos[1]
        if dy:
            drag.move(dy)

    def hit(self, pos: tuple[int, int]) -> Target | None:
        layer = self._router.layer
        if layer is not None:
            found = layer.hit(pos)
            if found or layer.modal:
                return found
        for b in self._topbar.buttons:
            if b.action and b.rect.collidepoint(pos):
                return b.id, b.action, b.rect
        return None

    def press(self, button_id: str) -> None:
        """Run a visible button's action as a tap would (screenshots and scripted demos)."""
        self._router.route()
        rect = self.buttons().get(button_id)
        if rect is None:
            raise KeyError(f"no button {button_id!r} on {self._router.wanted()}: {sorted(self.buttons())}")
        found = self.hit(rect.center)
        if found:
            found[1]()
            self._tapped()

    def buttons(self) -> dict[str, Rect]:
        """Every tappable thing on screen now, by id (tests and screenshots find buttons by it)."""
        layer = self._router.layer
        found: dict[str, Rect] = {}
        if layer is not None:
            found.update({b.id: b.rect for b in layer.buttons if b.enabled and b.action})
            for hots in layer.hot.values():
                found.update({h.id: h.rect for h in hots if h.id})
            if layer.modal:
                return found
        found.update({b.id: b.rect for b in self._topbar.buttons})
        return found


__all__ = ["Pointer", "Target"]
