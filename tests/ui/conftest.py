"""UI test helpers: a stepping clock, real pygame events posted at button centres, a real demo register."""

from __future__ import annotations

import time
from typing import Any

import pygame
import pytest

from firmware.bootstrap import bootstrap, demo_config, seed_demo
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
        down = pygame.event.Event(pygame.FINGERDOWN, x=x / w, y=y / h, touch_id=1, finger_id=0, pressure=1.0,
                                  dx=0, dy=0)
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


PENCIL = "4006381333931"


def sync_available() -> bool:
    try:
        from firmware.sync import SyncService  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def make_register(tmp_path):
    made = []

    def make(broker_url: str = "mqtt://127.0.0.1:9", with_sync: bool | None = None, clock: ManualClock | None = None):
        """A demo register; pass a ManualClock to date its receipts by hand (sales on different days)."""
        data = tmp_path / f"data{len(made)}"
        pins = seed_demo(data)
        config = demo_config(data, broker_url=broker_url, hardware={"scanner": "simulated:memory"})
        reg = bootstrap(config, clock=clock, demo_pins=pins,
                        with_sync=sync_available() if with_sync is None else with_sync)
        made.append(reg)
        return reg

    yield make
    for reg in made:
        reg.shutdown()


@pytest.fixture
def app_clock():
    return ManualClock()


def start(reg, clock, size=(800, 480)) -> Any:
    from ui.app import App

    app = App(reg, size=size, headless=True, clock=clock, sound=False)
    app.step([])
    return app


def settle(app: Any, until, seconds: float = 10.0) -> None:
    """Step frames (real time passes: the journal writer and sync run on their own threads) until `until()`."""
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, f"timed out on {app.wanted()} ({app.view.phase})"
        time.sleep(0.005)
        app.step([])


def log_in(app: Any, clerk_id: str = "c1", pin: str = "1111", finger: bool = False) -> None:
    tap(app, f"clerk:{clerk_id}", finger)
    for digit in pin:
        tap(app, f"pin:{digit}", finger)
    tap(app, "login", finger)


def open_manager(app: Any, pin: str = "9999") -> None:
    """Manager (Maria's PIN typed on the dialog's keypad): the manager screen comes up."""
    tap(app, "manager")
    for digit in pin:
        tap(app, f"dlg:{digit}")
    tap(app, "dlg:ok")
    assert app.wanted() == "manager"


def scan_with_wedge(app: Any, code: str) -> None:
    """A keyboard-wedge scanner: every key of the code and Enter within one frame (no gaps)."""
    for ch in code + "\r":
        pygame.event.post(key_event(ch))
    app.step()
