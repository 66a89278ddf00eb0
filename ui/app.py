"""The pygame loop: pump the register, map input, route to a screen, redraw only the regions that changed."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pygame
from pygame import Rect

from firmware.clock import Clock, SystemClock
from firmware.domain.money import format_money
from firmware.register import Outcome, RegisterApi, RegisterView
from firmware.register.commands import CheckManager, Command, HoldScans, Logout, Scan
from firmware.register.view import ConfirmFirst
from firmware.sync.state import SCREEN
from ui import theme
from ui.input import InputMapper
from ui.pointer import Pointer
from ui.render import Renderer
from ui.routing import Router, screen_class
from ui.screens.base import Screen
from ui.sound import Tone
from ui.toast import Toast, Toasts
from ui.topbar import TopBar

log = logging.getLogger(__name__)
SAFE_TEXT = "Something went wrong on that screen. The sale is kept; please carry on."


class App:
    """One window driving one register. `step(events)` runs a frame; tests call it with posted events.

    It holds three collaborators: `router` (which screen and dialogs are up, ui/routing.py), `pointer` (taps,
    drags, keys and scans to the top layer, ui/pointer.py) and `renderer` (the background and the regions
    that changed, ui/render.py). Screens keep calling the App (`push`, `alert`, `redraw`...), which hands on.
    """

    def __init__(self, register: RegisterApi, *, size: tuple[int, int] = (800, 480), fullscreen: bool = False,
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
        self.toasts = Toasts(self.clock.monotonic)
        self.view: RegisterView = register.view()
        self.topbar = TopBar(self)
        self.renderer = Renderer(self.display, self.topbar, self.toasts, self.metrics)
        self.router = Router(lambda name: screen_class(name)(self), lambda: self.view.phase,
                             Rect(0, self.metrics.bar, self.size[0], self.size[1] - self.metrics.bar),
                             self.renderer.redraw)
        self.pointer = Pointer(self.router, self.topbar, self.metrics, self.renderer.invalidate, self._tapped)
        self.frames = 0
        self.quit = False
        self.failures = 0
        self._seen_message = self.view.message
        self._seen_receipt_scan = self.view.receipt_scan
        self._seen_card_scan = getattr(self.view, "card_scan", None)
        self.router.route()

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
            self._guard(self.pointer.handle, ev)
        self.quit = self.quit or self.input.quit
        self._guard(self.router.route)
        self._guard(self._hold_scans)
        dirty = self._guard(self._render) or []
        self.frames += 1
        SCREEN.frame()  # the screen is in use: sync paces its drain (firmware/sync/service.py, CpuPacer)
        if self.frames == 2:  # the login screen is on the display (the first frame was drawn and shown)
            self._login_screen_shown()
        elif self._deferred is not None and self._deferred.loaded:
            self._deferred = None
            if gc.get_freeze_count():  # the application froze the start-up heap: the catalog belongs to it too
                gc.freeze()
        return dirty

    _deferred: Any = None  # start-up work still under way after the first frame (the catalog)
    _scans_held = False

    def _hold_scans(self) -> None:
        """A layer that takes scans itself (`takes_scans`: the stock-take) is on top: the register hands it the hal
        scanner's codes instead of selling them, until it is gone."""
        wanted = bool(getattr(self.router.top(), "takes_scans", False))
        if wanted != self._scans_held:
            self._scans_held = wanted
            self.register.handle(HoldScans(wanted))

    def _login_screen_shown(self) -> None:
        """The first screen is up: what start-up left for later may begin (the catalog, read on a thread of its
        own by firmware.bootstrap.DeferredCatalog; a register without one has nothing to do here). Not within the
        first frame: the thread's JSON parse holds the GIL for a while and would hold that frame back. Once it
        is loaded, and if the start-up heap was frozen (`freeze_startup_heap`), the catalog is frozen with it:
        50k items left in the collector's sight would make full collections land on scans."""
        catalog = getattr(self.register, "catalog", None)
        load = getattr(catalog, "load_in_background", None)
        if callable(load):
            load()
            self._deferred = catalog

    def refresh(self) -> None:
        """Take a fresh view; a new error (printer, disk, hal scan) or notice (an export done) becomes a toast.

        A toast with the same title takes the new words: "Exporting ..." turns into "120 receipts exported to ...".
        The top layer hears of the change last (`Screen.on_view`: the time clock waits there for its punch).
        """
        self.view = self.register.view()
        scanned = self.view.receipt_scan
        if scanned is not None and scanned != self._seen_receipt_scan:  # a receipt barcode off a serial scanner
            self._seen_receipt_scan = scanned
            layer = self.router.top()
            if layer is not None:
                layer.on_scan(scanned[1])  # as a keyboard-wedge scan of it would go
        self._card_scan()
        msg = self.view.message
        if msg is not None and msg is not self._seen_message and msg != self._seen_message:
            self._seen_message = msg
            if msg.level == "error":
                self.complain(msg.text, scan=getattr(msg, "topic", "") == "scan")
            elif msg.level == "notice":
                self.alert(msg.text, self._notice_title)
        layer = self.router.top()
        if layer is not None:
            layer.on_view()  # news from the register's own threads (a punch saved) for the layer waiting on it

    def _card_scan(self) -> None:
        """A loyalty card several customers hold was scanned (docs/customers.md): the customer panel lists them
        and the cashier picks."""
        card = getattr(self.view, "card_scan", None)
        if card is None or card == self._seen_card_scan:
            return
        self._seen_card_scan = card
        from ui.screens.customers import CustomerDialog

        code = card[1]
        layer = self.router.top()
        if layer is not None and getattr(layer, "name", "") == CustomerDialog.name:
            layer.on_scan(code)  # the panel is up already: it lists them
        else:
            self.push(CustomerDialog(self, code))  # type: ignore[arg-type]

    _notice_title = ""  # the title the last notice toast went under (an export's "Export: ...")

    def toast(self, text: str, title: str = "", level: str = "info") -> Toast:
        """Say `text` without stopping the cashier: a toast that fades by itself."""
        if level == "info" and title:
            self._notice_title = title
        return self.toasts.show(text, title, level)

    def complain(self, text: str, *, scan: bool = False) -> Toast:
        """A refusal or fault: the error toast and its sound (a refused scan has its own, lower buzz)."""
        if scan:
            self.tone.scan_error()
        else:
            self.tone.error()
        return self.toast(text, level="scan" if scan else "error")

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
        self.router.drop_broken()
        self.pointer.cancel()
        self.renderer.redraw()
        if self.failures > 3:  # even the safe screen fails: show a plain frame and try again next frame
            self.display.fill(theme.BG)
            pygame.display.flip()
            return
        try:
            self.router.route()
            self.toast(SAFE_TEXT, level="error")
        except Exception:
            log.exception("recovery failed")

    # ---- commands ----------------------------------------------------------------------------
    def run(self, command: Command, *, quiet: bool = False) -> Outcome:
        """Hand a command to the register; a refusal becomes an error toast (unless `quiet`) and the error tone."""
        outcome = self.register.handle(command)
        self.view = self.register.view()
        self._seen_message = self.view.message
        self._card_scan()  # the view is taken here, not in `refresh`: a wedge scan's news is looked at here
        if not outcome.ok and isinstance(outcome.data, ConfirmFirst):  # a question, not an error: no buzz
            if not quiet:
                self.confirm_first(outcome.data, self.run)
        elif not outcome.ok:
            if quiet:
                self.tone.error()
            else:
                self.complain(outcome.message or "That did not work.", scan=isinstance(command, Scan))
        return outcome

    def confirm_first(self, ask: ConfirmFirst, run: Callable[[Command], object]) -> None:
        """The register asks the cashier first ("Part payment of €10.00?"): Yes sends the confirmed command."""
        from ui.screens.dialogs import Confirm

        self.push(Confirm(self, ask.question, lambda: run(ask.command), ask.yes))

    def run_approved(self, command: Command, on_done: Callable[[], object] | None = None) -> bool:
        """Run a command; if it needs a manager's approval, ask for the PIN and run it again with it. `on_done` runs
        once it went through (at once, or after the PIN)."""
        outcome = self.run(command, quiet=True)
        if outcome.ok:
            if on_done is not None:
                on_done()
            return True
        if isinstance(outcome.data, ConfirmFirst):
            self.confirm_first(outcome.data, self.run_approved)
            return False
        fields = vars(command)  # a frozen dataclass: a command that can carry a PIN has a `manager_pin` field
        if "manager" in outcome.message.lower() and "manager_pin" in fields and fields["manager_pin"] is None:
            from ui.screens.dialogs import ask_manager_pin

            def approved(pin: str) -> None:
                if self.run(dataclasses.replace(command, **{"manager_pin": pin})).ok and on_done is not None:
                    on_done()

            ask_manager_pin(self, approved, outcome.message)
        else:
            self.toast(outcome.message or "That did not work.", level="error")
        return False

    def open_manager_gate(self) -> None:
        """The manager functions, behind a manager's PIN; the register's `check_manager` decides.

        A logged-in manager goes straight in; anyone else is asked for a PIN,
        and a PIN that is not a manager's is refused with the register's words.
        """
        clerk = self.view.clerk
        if clerk is not None and clerk.role == "manager" and self._enter_manager(None, quiet=True):
            return
        from ui.screens.dialogs import ask_manager_pin

        ask_manager_pin(self, self._enter_manager, "Manager PIN")

    def _enter_manager(self, pin: str | None, quiet: bool = False) -> bool:
        outcome = self.run(CheckManager(pin or ""), quiet=quiet)
        if outcome.ok:
            self.screen("manager").pin = pin or None  # type: ignore[attr-defined]
            self.open_manager()
        return bool(outcome.ok)

    def scan(self, code: str) -> Outcome:
        return self.run(Scan(code))

    def logout(self) -> None:
        self.override = None
        self.run(Logout())

    def money(self, amount: int) -> str:
        """`amount` in the shop's currency as the shop shows it ("€12.90", or "CHF 12.90" by the config)."""
        return format_money(amount, self.view.currency, getattr(self.view, "currency_display", None) or "symbol")

    def local_now(self) -> datetime:
        return self.clock.now().astimezone()

    # ---- the collaborators, as screens, tests and tools call them --------------------------------
    @property
    def screens(self) -> dict[str, Screen]:
        return self.router.screens

    @property
    def dialogs(self) -> list[Screen]:
        """The modal stack, top last."""
        return self.router.dialogs

    @property
    def current(self) -> Screen | None:
        """The screen under the dialogs."""
        return self.router.current

    @property
    def override(self) -> str | None:
        """"status" or "manager" when that screen was asked for over the phase's own."""
        return self.router.override

    @override.setter
    def override(self, value: str | None) -> None:
        self.router.override = value

    def wanted(self) -> str:
        """The screen the register's phase and the overrides ask for."""
        return self.router.wanted()

    def screen(self, name: str) -> Screen:
        """The one instance of screen `name`, made on first use."""
        return self.router.screen(name)

    def body(self) -> Rect:
        """The part of the window below the top bar."""
        return self.router.body()

    def relayout(self) -> None:
        """The visible screen's static part changed (e.g. another page of quick keys)."""
        self.router.relayout()

    def redraw(self) -> None:
        """Paint the whole screen from scratch on the next frame."""
        self.renderer.redraw()

    def open_status(self) -> None:
        self.router.override = "status"

    def close_status(self) -> None:
        self.router.override = None

    def open_manager(self) -> None:
        """Show the manager screen now; callers check the PIN first (`open_manager_gate`)."""
        self.router.override = "manager"

    def push(self, dialog: Screen) -> None:
        self.router.push(dialog)

    def pop(self, dialog: Screen | None = None) -> None:
        self.router.pop(dialog)

    def alert(self, text: str, title: str = "") -> None:
        """Say `text` without blocking: a toast that fades (one with the same title just changes its words).

        A dialog that must be tapped away is kept for questions (`dialogs.Confirm`, PIN entry): nothing
        that needs no decision stops the cashier.
        """
        self.toast(text, title)

    def press(self, button_id: str) -> None:
        """Run a visible button's action as a tap would (screenshots and scripted demos)."""
        self.pointer.press(button_id)

    def buttons(self) -> dict[str, Rect]:
        """Every tappable thing on screen now, by id (tests and screenshots find buttons by it)."""
        return self.pointer.buttons()

    @property
    def background(self) -> pygame.Surface:
        """The static screen under the regions (incremental regions clear their own parts from it)."""
        return self.renderer.background

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write what is on screen now to a PNG."""
        self.renderer.save(path)

    def toast_area(self) -> Rect:
        """Where a toast goes: a screen's `toast_area()` (the sell screen: over the cart, clear of its keys), else
        the top of the body, centred."""
        area = getattr(self.current, "toast_area", None)
        if area is not None and not self.dialogs:
            return area()
        m = self.metrics
        w = int(self.size[0] * 0.8)
        return Rect((self.size[0] - w) // 2, m.bar + m.gap * 2, w, self.size[1] - m.bar)

    def _render(self) -> list[Rect]:
        return self.renderer.render(self.router.layer, pressed=self.pointer.pressed,
                                    logged_in=lambda: self.view.clerk is not None, toast_area=self.toast_area)

    def _tapped(self) -> None:
        """After a tap's action: the view it changed."""
        self.view = self.register.view()


def freeze_startup_heap() -> None:
    """Move everything alive after start-up (catalog, journal index, fonts) out of the garbage collector's sight.

    With a 50k-item catalog a full collection walks millions of objects and a
    mid-generation one can take milliseconds, landing on whatever frame is
    running: a scan then misses its 2 ms. Start-up objects live as long as
    the process, so `gc.freeze()` (after one last collection) costs nothing.
    """
    gc.collect()
    gc.freeze()


def run_app(register: RegisterApi, *, size: tuple[int, int] = (800, 480), fullscreen: bool = False,
            headless: bool = False, max_frames: int | None = None, on_frame: Callable[[], None] | None = None) -> None:
    """Run the touchscreen until the window closes (or `max_frames`); `on_frame` is the watchdog ping.

    The caller owns the register and shuts it down afterwards.
    """
    app = App(register, size=size, fullscreen=fullscreen, headless=headless)
    app.step([])
    ticker = pygame.time.Clock()
    try:
        while not app.quit and (max_frames is None or app.frames < max_frames):
            app.step()
            if on_frame is not None:
                on_frame()
            ticker.tick(60)
    finally:
        pygame.display.quit()
