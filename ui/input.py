"""Turns pygame events into pointer presses, key presses and barcode scans (keyboard-wedge detection)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pygame


@dataclass(frozen=True)
class PointerDown:
    pos: tuple[int, int]


@dataclass(frozen=True)
class PointerUp:
    pos: tuple[int, int]


@dataclass(frozen=True)
class PointerMove:
    """A finger or a held left mouse button moved (drag-to-scroll)."""

    pos: tuple[int, int]


@dataclass(frozen=True)
class KeyPress:
    """A key meant for the screen: `char` is the typed text ('' for Enter, Backspace, Escape...)."""

    key: int
    char: str


@dataclass(frozen=True)
class Scan:
    """A barcode that a keyboard-wedge scanner typed."""

    code: str


UiEvent = PointerDown | PointerUp | PointerMove | KeyPress | Scan
ENTER_KEYS = (pygame.K_RETURN, pygame.K_KP_ENTER)


class WedgeDetector:
    """Tells a scanner's burst of digits and letters from a person typing.

    A scanner types a whole code within milliseconds and ends it with Enter;
    a person needs well over 50 ms per key. Digits and ASCII letters (a loyalty
    card's number may hold letters) are held back while they might be a scan
    and released as typing as soon as a gap or another key shows they are not
    (so typed keys appear at most `gap` seconds late).
    Times come from the caller's clock, so tests need no sleeps.
    """

    def __init__(self, gap: float = 0.05, min_length: int = 6) -> None:
        self.gap = gap
        self.min_length = min_length
        self._held: list[tuple[KeyPress, float]] = []

    def feed(self, press: KeyPress, at: float) -> list[UiEvent]:
        out: list[UiEvent] = []
        if self._held and at - self._held[-1][1] > self.gap:
            out += self._release()
        if press.key in ENTER_KEYS:
            if len(self._held) >= self.min_length:
                code = "".join(p.char for p, _ in self._held)
                self._held.clear()
                return out + [Scan(code)]
            return out + self._release() + [press]
        if len(press.char) == 1 and press.char.isascii() and press.char.isalnum():
            self._held.append((press, at))
            return out
        return out + self._release() + [press]

    def tick(self, now: float) -> list[UiEvent]:
        """Release held digits once the burst has clearly stopped."""
        if self._held and now - self._held[-1][1] > self.gap:
            return self._release()
        return []

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def _release(self) -> list[UiEvent]:
        out: list[UiEvent] = [p for p, _ in self._held]
        self._held.clear()
        return out


class InputMapper:
    """pygame events -> UiEvents: touch in normalised coords, mouse (minus SDL's touch echoes), drags, keys."""

    def __init__(self, size: tuple[int, int], now: Callable[[], float], wedge: WedgeDetector | None = None) -> None:
        self.size = size
        self.now = now
        self.wedge = wedge or WedgeDetector()
        self.quit = False

    def map(self, events: Iterable[pygame.event.Event]) -> list[UiEvent]:
        out: list[UiEvent] = []
        for ev in events:
            t = ev.type
            if t == pygame.QUIT:
                self.quit = True
            elif t in (pygame.FINGERDOWN, pygame.FINGERUP, pygame.FINGERMOTION):
                pos = (max(0, min(self.size[0] - 1, int(ev.x * self.size[0]))),
                       max(0, min(self.size[1] - 1, int(ev.y * self.size[1]))))
                out.append(PointerDown(pos) if t == pygame.FINGERDOWN else
                           PointerUp(pos) if t == pygame.FINGERUP else PointerMove(pos))
            elif t in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
                if getattr(ev, "touch", False) or getattr(ev, "button", 1) != 1:
                    continue  # SDL repeats every touch as a mouse event; the finger event already counted
                out.append(PointerDown(ev.pos) if t == pygame.MOUSEBUTTONDOWN else PointerUp(ev.pos))
            elif t == pygame.MOUSEMOTION:
                if not getattr(ev, "touch", False) and tuple(getattr(ev, "buttons", (0,)))[:1] == (1,):
                    out.append(PointerMove(ev.pos))  # only a drag with the left button held; touch echoes dropped
            elif t == pygame.KEYDOWN:
                out += self.wedge.feed(KeyPress(ev.key, getattr(ev, "unicode", "") or ""), self.now())
        out += self.wedge.tick(self.now())
        return out


def keypad_key(key: int, char: str, press: Callable[[str], None], enter: Callable[[], None],
               escape: Callable[[], None] | None = None) -> bool:
    """A physical keyboard on a digit keypad: digits and Backspace press keys, Enter confirms, Esc cancels."""
    if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
        enter()
    elif key == pygame.K_ESCAPE and escape is not None:
        escape()
    elif key == pygame.K_BACKSPACE:
        press("<")
    elif char.isdigit():
        press(char)
    else:
        return False
    return True
