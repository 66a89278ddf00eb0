"""The top bar never contradicts itself, the unsent count shows while there is any, and notices are toasts."""

from __future__ import annotations

import pygame
import pytest

from firmware.register.commands import Scan, SyncNow
from tests.ui.conftest import tap
from tests.ui.fake_register import FakeRegister, Msg, Sync
from ui import theme
from ui.app import App


@pytest.fixture
def fake():
    return FakeRegister()


def logged_in(reg, clock):
    app = App(reg, size=(800, 480), headless=True, clock=clock, sound=False)
    app.step([])
    tap(app, "pin:1")
    tap(app, "login")
    return app


def banner_pixels(app) -> set[tuple[int, int, int]]:
    r = app.topbar.r_banner
    sub = app.display.subsurface(r)
    return {tuple(sub.get_at((x, y)))[:3] for x in range(0, r.w, 3) for y in range(0, r.h, 3)}


def test_going_online_under_a_dialog_leaves_no_trace_of_the_offline_banner(fake, clock):
    """The evidence: "Online" drawn over the red OFFLINE banner while a dialog was up."""
    app = logged_in(fake, clock)
    fake.set(sync=Sync(online=False, pending=0))
    app.step([])
    assert theme.BANNER in banner_pixels(app)
    app.open_manager_gate()  # a dialog: its background is a snapshot of the screen, banner included
    app.step([])
    fake.set(sync=Sync(online=True, pending=0))
    app.step([])
    assert app.topbar.banner() == ("online", "Online · all sent", "")
    assert theme.BANNER not in banner_pixels(app)
    assert any(p[1] > 150 and p[0] < 150 for p in banner_pixels(app))  # the green "Online"


@pytest.mark.parametrize("online", [True, False])
def test_the_unsent_count_is_in_the_bar_whenever_it_is_above_zero_even_with_a_warning(fake, clock, online):
    app = logged_in(fake, clock)
    fake.set(sync=Sync(online=online, pending=7), warnings=("2 receipts refused by the fleet: see Status",))
    app.step([])
    state, head, warning = app.topbar.banner()
    assert "7 unsent" in head and warning.startswith("2 receipts refused")
    assert ("Online" in head) == online and ("OFFLINE" in head) != online
    fake.set(sync=Sync(online=True, pending=0), warnings=())
    app.step([])
    assert app.topbar.banner() == ("online", "Online · all sent", "")


def test_sync_now_while_offline_is_a_toast_that_goes_away_not_a_dialog_that_stays(fake, clock):
    app = logged_in(fake, clock)
    fake.set(sync=Sync(online=False))
    app.open_status()
    app.step([])
    fake.set(message=Msg("info", "Offline: will send when the network is back"))
    tap(app, "sync_now")
    assert SyncNow() in fake.calls
    assert not app.dialogs and app.toasts.current.text == "Offline: will send when the network is back"
    fake.set(sync=Sync(online=True))
    clock.advance(10)
    app.step([])
    assert app.toasts.current is None and app.toasts.rect is None and not app.dialogs


def test_a_refused_scan_buzzes_differently_from_other_refusals_and_never_blocks(fake, clock):
    app = logged_in(fake, clock)
    fake.fail[Scan] = "Unknown barcode 0000000000000"
    app.scan("0000000000000")
    assert app.tone.kinds[-1] == "scan" and app.toasts.current.level == "scan" and not app.dialogs
    app.step([])
    assert app.toasts.rect is not None and app.toasts.rect.colliderect(app.current.r_list)  # over the cart
    tap(app, "quick:0")  # the cashier carries on at once: taps go through
    assert any(type(c).__name__ == "AddQuickKey" for c in fake.calls)
    fake.set(message=Msg("error", "Printer problem: out of paper.", topic=""))
    app.step([])
    assert app.tone.kinds[-1] == "error" and app.toasts.current.level == "error"
    fake.set(message=Msg("error", "Scan not understood: too long.", topic="scan"))
    app.step([])
    assert app.tone.kinds[-1] == "scan"


def test_a_fading_toast_repaints_what_was_under_it(fake, clock):
    app = logged_in(fake, clock)
    before = pygame.Surface.copy(app.display)
    app.toast("Drawer opened", "No sale")
    app.step([])
    rect = app.toasts.rect
    assert rect is not None and app.display.subsurface(rect).get_at((3, 3)) != before.subsurface(rect).get_at((3, 3))
    for _ in range(12):
        clock.advance(0.5)
        app.step([])
    assert app.toasts.current is None
    assert all(app.display.get_at((x, rect.centery)) == before.get_at((x, rect.centery))
               for x in range(rect.x, rect.right, 7))
