"""UI test helpers: a stepping clock, real pygame events posted at button centres."""

from __future__ import annotations

from typing import Any

import pygame
import pytest

from firmware.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def tap(app: Any, button_id: str, finger: bool = False) -> None:
    """Press and release a visible button with real pygame events (mouse, or touch in normalised coords)."""
    rect = app.buttons().get(button_id)
    assert rect is not None, f"no button {button_id!r} on {app.wanted()}; have {sorted(app.buttons())}"
    x, y = rect.center
    if finger:
        w, h = app.size
        down = pygame.event.Event(pygame.FINGERDOWN, x=x / w, y=y / h, touch_id=1, finger_id=0, pressure=1.0, dx=0, dy=0)
        up = pygame.event.Event(pygame.FINGERUP, x=x / w, y=y / h, touch_id=1, finger_id=0, pressure=0.0, dx=0, dy=0)
    else:
        down = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1, touch=False)
        up = pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(x, y), button=1, touch=False)
    pygame.event.post(down)
    pygame.event.post(up)
    app.step()


def key_event(char: str) -> pygame.event.Event:
    keys = {"\r": pygame.K_RETURN, "\b": pygame.K_BACKSPACE, "\x1b": pygame.K_ESCAPE}
    key = keys.get(char, ord(char.lower()) if char else 0)
    return pygame.event.Event(pygame.KEYDOWN, key=key, unicode="" if char in keys else char, mod=0, scancode=0)


def type_keys(app: Any, text: str, clock: ManualClock | None = None, gap: float = 0.0) -> None:
    """Type `text` on the physical keyboard; with `gap` > 0 one key per frame, `gap` seconds apart."""
    if gap <= 0:
        for ch in text:
            pygame.event.post(key_event(ch))
        app.step()
        return
    for ch in text:
        pygame.event.post(key_event(ch))
        app.step()
        assert clock is not None
        clock.advance(gap)
    app.step()
