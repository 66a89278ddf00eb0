"""Promotions the till's clock holds back (docs/promotions.md, untrusted clock rule) are told on the sell screen: a
note in the message strip, in the warning colour, that a tap spells out; an error still takes the strip."""

from __future__ import annotations

from firmware.clock import ManualClock
from firmware.register.view import Phase
from tests.ui.conftest import log_in, start, tap
from tests.ui.fake_register import FakeRegister, Line, Msg, Totals
from ui import text, theme
from ui.app import App

HAPPY = "Happy hour -20%"


def selling(fake: FakeRegister) -> App:
    app = App(fake, size=(800, 480), headless=True, clock=ManualClock(), sound=False)
    app.step([])
    tap(app, "pin:1")
    tap(app, "login")
    fake.set(lines=(Line(1, "1001", "Beer", 1, 300, 0, 300),), totals=Totals(300, 48, 300, 0, 300),
             message=Msg("info", "Beer added"))
    app.step([])
    return app


def strip_colours(app: App) -> set[tuple[int, int, int]]:
    r = app.current.r_msg
    sub = app.display.subsurface(r)
    return {tuple(sub.get_at((x, y)))[:3] for x in range(r.w) for y in range(r.h)}


def test_the_note_shows_while_promotions_are_held_back_and_a_tap_says_it_all():
    fake = FakeRegister()
    app = selling(fake)
    screen = app.current
    assert screen.held_back_shown() == "" and "promotions:held_back" not in app.buttons()
    assert theme.WARN not in strip_colours(app)
    text.seen.clear()
    fake.set(held_back=(HAPPY,))
    app.step([])
    assert screen.held_back_shown() == f"Clock not set: no {HAPPY}"
    assert any(s == f"Clock not set: no {HAPPY}" for s, _ in text.seen)  # drawn, at a legible size
    assert min(size for s, size in text.seen if s.startswith("Clock not set")) >= theme.MIN_TEXT
    assert theme.WARN in strip_colours(app)  # the warning colour, like a warning message
    tap(app, "promotions:held_back")
    toast = app.toasts.current
    assert toast is not None and toast.title == "Promotions"
    assert toast.text == f"{HAPPY} not applied: the till's clock is not set"
    fake.set(message=Msg("error", "No item with number 99."))  # a refusal takes the strip
    app.step([])
    assert screen.held_back_shown() == "" and "promotions:held_back" not in app.buttons()
    fake.set(message=Msg("info", "Beer added"), held_back=())  # the clock is set: the note goes
    app.step([])
    assert screen.held_back_shown() == "" and theme.WARN not in strip_colours(app)


def test_the_real_register_tells_the_sell_screen_when_the_clock_holds_a_promotion_back(tmp_path):
    from firmware.bootstrap import bootstrap, demo_config, seed_demo
    from firmware.sync.events import CatalogReceived
    from tests.firmware.register.test_register_promotions import MILK, promoted_catalog

    data = tmp_path / "data"
    pins = seed_demo(data)
    reg = bootstrap(demo_config(data, broker_url="mqtt://127.0.0.1:9", hardware={"scanner": "simulated:memory"}),
                    demo_pins=pins, with_sync=False, ntp_synced=lambda: False)  # the till's clock is not set
    try:
        reg.events.put(CatalogReceived(promoted_catalog()))
        reg.pump()
        app = start(reg, ManualClock())
        log_in(app)
        assert app.view.phase == Phase.SELL
        app.scan(MILK)
        app.step([])
        assert app.view.held_back == (HAPPY,)
        assert app.view.totals.total == 119  # not applied
        assert app.current.held_back_shown() == f"Clock not set: no {HAPPY}"
    finally:
        reg.shutdown()
