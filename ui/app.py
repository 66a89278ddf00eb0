"""The pygame loop: pump the register, map input, route to a screen, redraw only the regions that changed."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any

import pygame
from pygame import Rect

from firmware.clock import Clock, SystemClock
from firmware.domain.money import format_money
from ui import theme
from ui.input import InputMapper, KeyPress, PointerDown, PointerUp, Scan, UiEvent
from ui.screens.base import Region, Screen
from ui.sound import Tone
from ui.topbar import TopBar

log = logging.getLogger(__name__)
SAFE_TEXT = "Something went wrong on that screen. The sale is kept; please carry on."
_MISSING = object()


def _screen_class(name: str) -> type[Screen]:
    # imported on first use so start-up only pays for the login screen
    if name == "login":
        from ui.screens.login import LoginScreen as cls
    elif name == "sell":
        from ui.screens.sell import SellScreen as cls
    elif name == "tender":
        from ui.screens.tender import TenderScreen as cls
    elif name == "done":
        from ui.screens.done import DoneScreen as cls
    elif name == "status":
        from ui.screens.status import StatusScreen as cls
    elif name == "manager":
        from ui.screens.manager import ManagerScreen as cls
    else:
        raise KeyError(name)
    return cls


class App:
    """One window driving one register. `step(events)` runs a frame; tests call it with posted events."""

    def __init__(self, register: Any, *, size: tuple[int, int] = (800, 480), fullscreen: bool = False,
                 headless: bool = False, clock: Clock | None = None, sound: bool = True) -> None:
        if headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.init()
        pygame.font.init()
        self.display = pygame.display.set_mode(size, pygame.FULLSCREEN if fullscreen and not headless else 0)
        pygame.display.set_caption("Kassa")
        self.size = self.display.get_size()
        self.metrics = theme.Metrics.for_size(self.size)
        self.register = register
        self.clock: Clock = clock or SystemClock()
        self.input = InputMapper(self.size, self.clock.monotonic)
        self.tone = Tone(sound)
        self.view: Any = register.view()
        self.topbar = TopBar(self)
        self.screens: dict[str, Screen] = {}
        self.dialogs: list[Screen] = []
        self.override: str | None = None
        self.current: Screen | None = None
        self.frames = 0
        self.quit = False
        self.failures = 0
        self._seen_message = self.view.message
        self._bg = pygame.Surface(self.size)
        self._keys: dict[str, Hashable] = {}
        self._full = True
        self._layer: Screen | None = None
        self._pressed: tuple[str, Callable[[], None], Rect] | None = None
        self._pressed_drawn: object = None
        self._regions: list[Region] = []
        self._dirty_extra: Rect | None = None
        self._route()

    # ---- frame -------------------------------------------------------------------------------
    def step(self, events: Iterable[pygame.event.Event] | None = None) -> list[Rect]:
        """One frame: pump, handle `events` (default: pygame's queue), route, redraw; returns dirty rects."""
        try:
            self.register.pump()
            if self.register.view().revision != self.view.revision:  # also catches commands from elsewhere
                self.refresh()
        except Exception:
            log.exception("register pump failed")
        raw = list(pygame.event.get() if events is None else events)
        for ev in self.input.map(raw):
            self._guard(self._handle, ev)
        self.quit = self.quit or self.input.quit
        self._guard(self._route)
        dirty = self._guard(self._render) or []
        self.frames += 1
        return dirty

    def refresh(self) -> None:
        """Take a fresh view; a new error from the register (printer, disk, hal scan) becomes a dialog."""
        self.view = self.register.view()
        msg = self.view.message
        if msg is not None and msg is not self._seen_message and msg != self._seen_message:
            self._seen_message = msg
            if msg.level == "error":
                self.tone.error()
                self.alert(msg.text)

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            result = fn(*args)
            self.failures = 0
            return result
        except Exception as exc:  # a screen's bug must never reach the cashier as a traceback
            log.exception("screen %s failed", getattr(self.current, "name", "?"))
            self._recover(exc)
            return None

    def _recover(self, exc: BaseException) -> None:
        self.failures += 1
        name = getattr(self._layer, "name", None)
        self.dialogs.clear()
        self.override = None
        self._pressed = None
        if name in self.screens:
            del self.screens[name]  # a fresh instance: whatever state broke it is gone
        self.current = None
        self._full = True
        if self.failures > 3:  # even the safe screen fails: show a plain frame and try again next frame
            self.display.fill(theme.BG)
            pygame.display.flip()
            return
        try:
            self._route()
            self.alert(SAFE_TEXT)
        except Exception:
            log.exception("recovery failed")

    # ---- routing -----------------------------------------------------------------------------
    def wanted(self) -> str:
        phase = self.view.phase
        if self.override == "status":
            return "status"
        if self.override == "manager" and phase == "sell":
            return "manager"
        if phase == "committing":
            return "tender"
        return phase if phase in ("login", "sell", "tender", "done") else "login"

    def screen(self, name: str) -> Screen:
        s = self.screens.get(name)
        if s is None:
            s = self.screens[name] = _screen_class(name)(self)
        return s

    def _route(self) -> None:
        name = self.wanted()
        if self.override == "manager" and name != "manager":
            self.override = None
        if self.current is None or self.current.name != name:
            self.current = self.screen(name)
            self.current.layout(Rect(0, self.metrics.bar, self.size[0], self.size[1] - self.metrics.bar))
            self.current.on_enter()
            self._full = True
        layer = self.dialogs[-1] if self.dialogs else self.current
        if layer is not self._layer:
            self._layer = layer
            self._full = True

    def relayout(self) -> None:
        """The visible screen's static part changed (e.g. another page of quick keys)."""
        if self.current:
            self.current.layout(self.current.area)
        self._full = True

    def open_status(self) -> None:
        self.override = "status"

    def close_status(self) -> None:
        self.override = None

    def open_manager(self) -> None:
        self.override = "manager"

    # ---- dialogs -----------------------------------------------------------------------------
    def push(self, dialog: Screen) -> None:
        dialog.layout(Rect(0, self.metrics.bar, self.size[0], self.size[1] - self.metrics.bar))
        self.dialogs.append(dialog)
        self._route()

    def pop(self, dialog: Screen | None = None) -> None:
        if self.dialogs and (dialog is None or self.dialogs[-1] is dialog):
            self.dialogs.pop()
        elif dialog in self.dialogs:
            self.dialogs.remove(dialog)
        self._route()

    def alert(self, text: str, title: str = "") -> None:
        from ui.screens.dialogs import Alert

        top = self.dialogs[-1] if self.dialogs else None
        if isinstance(top, Alert):
            top.set_text(text, title)
            return
        self.push(Alert(self, text, title))

    # ---- commands ----------------------------------------------------------------------------
    def run(self, command: str, *args: Any, quiet: bool = False, **kwargs: Any) -> Any:
        """Call a register command; a refusal becomes a dialog (unless `quiet`) and the error tone."""
        outcome = getattr(self.register, command)(*args, **kwargs)
        self.view = self.register.view()
        self._seen_message = self.view.message
        if not outcome.ok:
            self.tone.error()
            if not quiet:
                self.alert(outcome.message or "That did not work.")
        return outcome

    def run_approved(self, command: str, *args: Any, **kwargs: Any) -> bool:
        """Run a command; if it needs a manager's approval, ask for the PIN and run it again with it."""
        outcome = self.run(command, *args, quiet=True, **kwargs)
        if outcome.ok:
            return True
        if "manager" in outcome.message.lower() and "manager_pin" not in kwargs:
            from ui.screens.dialogs import ask_manager_pin

            ask_manager_pin(self, lambda pin: self.run(command, *args, manager_pin=pin, **kwargs), outcome.message)
        else:
            self.alert(outcome.message or "That did not work.")
        return False

    def open_manager_gate(self) -> None:
        """The manager functions, behind a manager's PIN (a logged-in manager goes straight in)."""
        clerk = self.view.clerk
        if clerk is not None and clerk.role == "manager":
            self.screen("manager").pin = None  # type: ignore[attr-defined]
            self.open_manager()
            return
        from ui.screens.dialogs import ask_manager_pin

        def check(pin: str) -> None:
            checker = getattr(self.register, "check_manager", None)  # not every register version has it
            outcome = checker(pin) if checker else None
            if outcome is None or outcome.ok:
                self.screen("manager").pin = pin  # type: ignore[attr-defined]
                self.open_manager()
            else:
                self.tone.error()
                self.alert(outcome.message or "That is not a manager's PIN.")

        ask_manager_pin(self, check, "Manager PIN")

    def scan(self, code: str) -> Any:
        return self.run("scan", code)

    def logout(self) -> None:
        self.override = None
        self.run("logout")

    def money(self, amount: int) -> str:
        return format_money(amount, self.view.currency)

    def local_now(self) -> datetime:
        return self.clock.now().astimezone()

    # ---- input -------------------------------------------------------------------------------
    def _handle(self, ev: UiEvent) -> None:
        layer = self._layer or self.current
        if isinstance(ev, PointerDown):
            self._pressed = self._hit(ev.pos)
        elif isinstance(ev, PointerUp):
            pressed, self._pressed = self._pressed, None
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

    def _hit(self, pos: tuple[int, int]) -> tuple[str, Callable[[], None], Rect] | None:
        layer = self._layer
        if layer is not None:
            found = layer.hit(pos)
            if found or layer.modal:
                return found
        for b in self.topbar.buttons:
            if b.action and b.rect.collidepoint(pos):
                return b.id, b.action, b.rect
        return None

    def press(self, button_id: str) -> None:
        """Run a visible button's action as a tap would (screenshots and scripted demos)."""
        self._route()
        rect = self.buttons().get(button_id)
        if rect is None:
            raise KeyError(f"no button {button_id!r} on {self.wanted()}: {sorted(self.buttons())}")
        found = self._hit(rect.center)
        if found:
            found[1]()
            self.view = self.register.view()

    def buttons(self) -> dict[str, Rect]:
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

    # ---- drawing -----------------------------------------------------------------------------
    def _invalidate(self, rect: Rect) -> None:
        """Take the press highlight off `rect`: background back, regions under it redrawn."""
        self.display.blit(self._bg, rect, rect)
        for r in self._regions:
            if r.rect.colliderect(rect):
                self._keys[r.name] = _MISSING
        self._dirty_extra = rect

    def _build_background(self, layer: Screen) -> None:
        bg = self._bg
        if layer.modal:
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

    def _render(self) -> list[Rect]:
        layer = self._layer
        if layer is None:
            return []
        dirty: list[Rect] = []
        if self._full:
            self._full = False
            self._build_background(layer)
            self.display.blit(self._bg, (0, 0))
            self._keys.clear()
            dirty.append(self.display.get_rect())
        if self._dirty_extra is not None:
            dirty.append(self._dirty_extra)
            self._dirty_extra = None
        regions: list[Region] = self.topbar.regions() + layer.regions()
        self._regions = regions
        for r in regions:
            k = r.key()
            if self._keys.get(r.name, _MISSING) == k:
                continue
            self._keys[r.name] = k
            self.display.set_clip(r.rect)
            self.display.blit(self._bg, r.rect, r.rect)
            try:
                r.draw(self.display, r.rect)
            finally:
                self.display.set_clip(None)
            dirty.append(r.rect)
        if self._pressed and (dirty or self._pressed is not self._pressed_drawn):
            self._pressed_drawn = self._pressed
            rect = self._pressed[2]
            pygame.draw.rect(self.display, theme.ACCENT, rect, width=max(3, self.metrics.px(3)), border_radius=6)
            dirty.append(rect)
        if dirty:
            pygame.display.update(dirty)
        return dirty

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write what is on screen now to a PNG."""
        pygame.image.save(self.display, os.fspath(path))


def run_app(register: Any, *, size: tuple[int, int] = (800, 480), fullscreen: bool = False, headless: bool = False,
            max_frames: int | None = None, on_frame: Callable[[], None] | None = None) -> None:
    """Run the touchscreen until the window closes (or `max_frames`); `on_frame` is the watchdog ping.

    The caller owns the register and shuts it down afterwards.
    """
    app = App(register, size=size, fullscreen=fullscreen, headless=headless)
    ticker = pygame.time.Clock()
    try:
        while not app.quit and (max_frames is None or app.frames < max_frames):
            app.step()
            if on_frame is not None:
                on_frame()
            ticker.tick(60)
    finally:
        pygame.display.quit()
