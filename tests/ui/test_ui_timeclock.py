"""The time clock on screen (issue 17, docs/timeclock.md): from the login screen a clerk picks their name, types
their PIN (the login lockout counts wrong ones), sees where they stand and only the punches allowed, punches and
is back at the login screen with the register's words; managers read (and print) today's hours.

Flows run on the real register (journal writer and all), driven with real pygame events; the dialog's own
wording and buttons are checked on the fake register too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from firmware.clock import ManualClock
from firmware.register.commands import Punch
from firmware.register.view import ClerkInfo, TimeClockView
from tests.ui.conftest import log_in, settle, start, tap, type_keys
from tests.ui.fake_register import FakeRegister, View
from ui import text
from ui.app import App
from ui.days import shop_zone
from ui.screens.timeclock import PunchDialog, TimeClockPin, standing


def forget_drawn() -> None:
    """From now on `drawn()` sees every string rendered (the text cache would hide ones drawn before)."""
    text.TEXT._items.clear()
    text.seen.clear()


def drawn() -> set[str]:
    return {s for s, _size in text.seen}


def open_time_clock(app, clerk: str = "c1", pin: str = "1111", finger: bool = False) -> None:
    """Time clock on the login screen, the clerk, the PIN on the pad, Continue."""
    tap(app, "timeclock", finger)
    assert isinstance(app.dialogs[-1], TimeClockPin)
    tap(app, f"clerk:{clerk}", finger)
    for digit in pin:
        tap(app, f"pin:{digit}", finger)
    tap(app, "timeclock:go", finger)


def punch(app, kind: str, finger: bool = False) -> str:
    """Tap a punch; wait for the journal writer; the toast it leaves (the login screen is back)."""
    tap(app, f"punch:{kind}", finger)
    settle(app, lambda: not app.dialogs)
    assert app.wanted() == "login" and app.view.clerk is None
    toast = app.toasts.current
    assert toast is not None and toast.title == "Time clock"
    said = toast.text
    app.toasts.dismiss()
    return said


def punches_offered(app) -> set[str]:
    return {b for b in app.buttons() if b.startswith("punch:")} - {"punch:cancel"}


@pytest.mark.slow
def test_a_clerk_clocks_in_takes_a_break_and_clocks_out_from_the_login_screen(make_register):
    clock = ManualClock()
    reg = make_register(with_sync=False, clock=clock)
    app = start(reg, clock)
    forget_drawn()
    open_time_clock(app, finger=True)
    dialog = app.dialogs[-1]
    assert isinstance(dialog, PunchDialog) and dialog.clerk.name == "Anna"
    assert punches_offered(app) == {"punch:clock_in"}
    assert {"Anna · Time clock", "Not clocked in", "The time now: 12:00"} <= drawn()
    assert punch(app, "clock_in", finger=True) == "Anna clocked in at 12:00"
    assert app.view.time_clock_of("c1").state == "working"

    clock.advance(3 * 3600)
    open_time_clock(app)
    assert punches_offered(app) == {"punch:break_start", "punch:clock_out"}
    assert {"Clocked in since 12:00", "Working"} <= drawn()
    assert punch(app, "break_start") == "Anna is on a break since 15:00"

    clock.advance(30 * 60)
    open_time_clock(app)
    assert punches_offered(app) == {"punch:break_end"}
    assert {"On a break since 15:00", "Clocked in since 12:00"} <= drawn()
    assert punch(app, "break_end") == "Anna ended the break at 15:30"

    clock.advance(90 * 60)
    open_time_clock(app)
    assert {"Clocked in since 12:00", "Back from a break at 15:30"} <= drawn()
    assert punch(app, "clock_out") == "Anna clocked out at 17:00"
    assert app.view.time_clock_of("c1").allowed == ("clock_in",)
    assert [doc["kind"] for _k, doc in sorted(reg.journal.states("punch").items())] == [
        "clock_in", "break_start", "break_end", "clock_out"]

    log_in(app)  # punching never logged anybody in: selling still starts with a login
    assert app.wanted() == "sell" and app.view.clerk.name == "Anna"


def test_wrong_pins_at_the_time_clock_lock_the_login_too(make_register):
    clock = ManualClock()
    reg = make_register(with_sync=False, clock=clock)
    app = start(reg, clock)
    open_time_clock(app, pin="0000")
    pin_screen = app.dialogs[-1]
    assert isinstance(pin_screen, TimeClockPin) and len(app.dialogs) == 1  # no punches for a wrong PIN
    assert pin_screen.message() == "Wrong PIN. 2 tries left."
    for digit in "0000":
        tap(app, f"pin:{digit}")
    tap(app, "timeclock:go")
    assert pin_screen.message() == "Wrong PIN. 1 try left."
    tap(app, "timeclock:back")
    assert not app.dialogs
    assert app.current.message() == "1 try left before a lockout."  # the login screen: the same gate
    log_in(app, pin="0000")
    assert app.current.message() == "Too many wrong PINs. Try again in 30 s."
    open_time_clock(app)  # the right PIN, while the gate is shut
    assert isinstance(app.dialogs[-1], TimeClockPin)
    assert app.dialogs[-1].message() == "Too many wrong PINs. Try again in 30 s."
    clock.advance(30)
    app.step([])
    assert app.dialogs[-1].message() == "1 try left before a lockout."
    type_keys(app, "1111\r")  # the keyboard works as on the login screen
    assert isinstance(app.dialogs[-1], PunchDialog)
    type_keys(app, "\x1b")
    type_keys(app, "\x1b")
    assert not app.dialogs and app.wanted() == "login"
    assert reg.journal.states("punch") == {}


def test_the_time_clock_takes_the_clerk_and_pin_already_typed_on_the_login_screen(make_register):
    clock = ManualClock()
    reg = make_register(with_sync=False, clock=clock)
    app = start(reg, clock)
    tap(app, "clerk:c2")
    for digit in "2222":
        tap(app, f"pin:{digit}")
    tap(app, "timeclock")
    pin_screen = app.dialogs[-1]
    assert pin_screen.selected == "c2" and pin_screen.entry.text == "2222"
    assert app.current.entry.text == ""  # never left behind on the login screen
    tap(app, "timeclock:go")
    assert app.dialogs[-1].clerk == ClerkInfo("c2", "Ben", "cashier")
    tap(app, "punch:cancel")
    tap(app, "timeclock:back")
    assert not app.dialogs and reg.journal.states("punch") == {}


def test_a_manager_reads_todays_hours_and_prints_them(make_register):
    clock = ManualClock()
    reg = make_register(with_sync=False, clock=clock)
    app = start(reg, clock)
    open_time_clock(app)
    punch(app, "clock_in")
    clock.advance(2 * 3600 + 15 * 60)
    log_in(app, "m1", "9999")
    tap(app, "manager")  # a logged-in manager goes straight in
    assert app.wanted() == "manager"
    forget_drawn()
    tap(app, "hours")
    screen = app.current
    shown = [(r.kind, r.label, r.value) for r in screen.rows]
    assert screen.report_title == "Hours today · so far"
    assert ("section", "Anna", "") in shown and ("row", "Worked, so far", "2 h 15 min") in shown
    assert ("row", "Now", "working since 12:00") in shown and ("row", "Worked (1 clerk)", "2 h 15 min") in shown
    assert {"Hours today · so far", "Anna", "2 h 15 min", "Print"} <= drawn()
    paper = reg.config.device.data_dir / "printer" / "receipts.txt"
    tap(app, "report:print")
    assert app.toasts.current.text == "The hours are printing."
    settle(app, lambda: paper.exists() and "Worked (1 clerk)" in paper.read_text(encoding="utf-8"))
    tap(app, "x_report")  # the X report has no Print button of its own (it prints when asked for)
    assert "report:print" not in app.buttons()


def utc(hour: int) -> datetime:
    return datetime(2026, 11, 25, hour, tzinfo=UTC)


@pytest.mark.parametrize("clock, words, offered", [
    (TimeClockView("c1"), ("Not clocked in", "Clock in to start your shift"), {"punch:clock_in"}),
    (TimeClockView("c1", "working", utc(8), utc(8), ("break_start", "clock_out")),
     ("Clocked in since 08:00", "Working"), {"punch:break_start", "punch:clock_out"}),
    (TimeClockView("c1", "working", utc(13), utc(8), ("break_start", "clock_out")),
     ("Clocked in since 08:00", "Back from a break at 13:00"), {"punch:break_start", "punch:clock_out"}),
    (TimeClockView("c1", "on_break", utc(12), utc(8), ("break_end",)),
     ("On a break since 12:00", "Clocked in since 08:00"), {"punch:break_end"}),
], ids=["off", "working", "back-from-break", "on-break"])
def test_the_dialog_offers_only_what_the_registers_view_allows(clock, words, offered):
    reg = FakeRegister()
    reg.set(time_clock=(clock,), timezone="UTC")
    app = App(reg, size=(800, 480), headless=True, clock=ManualClock(), sound=False)
    app.step([])
    app.push(PunchDialog(app, ClerkInfo("c1", "Anna", "cashier"), "1111", lambda: None))
    app.step([])
    assert standing(app.view.time_clock_of("c1"), shop_zone("UTC")) == words
    assert punches_offered(app) == offered
    kind = sorted(offered)[0].removeprefix("punch:")
    tap(app, f"punch:{kind}")
    assert reg.calls[-1] == Punch(kind, "c1", "1111")
    assert app.dialogs[-1].waiting  # until the register's view says the punch was saved
    assert View(time_clock=(clock,)).time_clock_of("c2") == TimeClockView("c2")  # never punched: off


@pytest.mark.slow
@pytest.mark.parametrize("size", [(800, 480), (1024, 600), (1280, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_time_clock_and_hours_pages_are_legible_and_nothing_overlaps_at_every_size(make_register, size):
    """Each layer of the flow: every button at least 48 px, none over another, no text under 16 px."""
    from ui.theme import MIN_BUTTON, MIN_TEXT

    clock = ManualClock()
    reg = make_register(with_sync=False, clock=clock)
    app = start(reg, clock, size)
    forget_drawn()
    layers: dict[str, dict] = {}

    def look(name: str) -> None:
        app.step([])
        layers[name] = dict(app.buttons())

    tap(app, "timeclock")
    look("pin")
    tap(app, "clerk:c1")
    for digit in "1111":
        tap(app, f"pin:{digit}")
    tap(app, "timeclock:go")
    look("off")
    punch(app, "clock_in")
    open_time_clock(app)
    look("working")
    punch(app, "break_start")
    clock.advance(600)
    log_in(app, "m1", "9999")
    tap(app, "manager")
    look("manager")
    tap(app, "hours")
    look("hours")
    for name, buttons in layers.items():
        small = {b: (r.w, r.h) for b, r in buttons.items() if min(r.w, r.h) < MIN_BUTTON}
        assert small == {}, name
        rects = sorted(buttons.items())
        overlaps = [(a, b) for i, (a, ra) in enumerate(rects) for b, rb in rects[i + 1:] if ra.colliderect(rb)]
        assert overlaps == [], name
    assert min(size for _s, size in text.seen) >= MIN_TEXT
    assert {"Time clock: who are you?", "Not clocked in", "Clocked in since 12:00", "Hours today · so far"} <= drawn()
